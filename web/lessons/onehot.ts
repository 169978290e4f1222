/**
 * Guide lesson: one-hot vectors against learned ones. One-hot vectors are fixed by hand, one axis per word,
 * so every two words are equally unlike (cosine 0): exact match only. Word vectors learned by word2vec on the
 * same text put words that share contexts near each other.
 * @module
 */
import type { Controls, Lesson } from "./lesson.ts";
import { tokenize } from "./text.ts";
import { sampleText } from "./text.ts";
import { cosine } from "./vectors_math.ts";
import { train, word2vec } from "./word2vec.ts";

/** The lesson's settings: the words compared (comma-separated) and the training length. */
export type OneHotSettings = { words: string; epochs: number; seed: number };

/** What the page draws: two similarity matrices over the same words. */
export interface OneHotFrame {
  words: string[];
  /** Cosine similarity of one-hot vectors: the identity. */
  oneHot: number[][];
  /** Cosine similarity of the learned vectors now. */
  learned: number[][];
  step: number;
  done: boolean;
}

/**
 * The lesson.
 *
 * @example
 * ```ts
 * import { fixedControls } from "./lesson.ts";
 * import { onehot } from "./onehot.ts";
 * let last;
 * for await (const f of onehot.run(fixedControls(onehot.defaults))) last = f;
 * const [king, queen, cat] = ["king", "queen", "cat"].map((w) => last!.words.indexOf(w));
 * if (last!.oneHot[king][queen] !== 0) throw new Error();
 * if (!(last!.learned[king][queen] > last!.learned[king][cat])) throw new Error("related words should be nearer");
 * ```
 */
export const onehot: Lesson<OneHotSettings, OneHotFrame> = {
  slug: "onehot",
  defaults: { words: "king,queen,prince,cat,dog,horse,apple,bread,red,blue", epochs: 4, seed: 0 },
  limits: { epochs: [1, 20], seed: [0, 1e6] },
  async *run(controls: Controls<OneHotSettings>, live = true) {
    const s = controls.settings;
    const vocab = tokenize(sampleText()).words;
    const words = s.words.split(",").map((w) => w.trim().toLowerCase()).filter((w) => vocab.includes(w))
      .slice(0, 20);
    const ids = words.map((w) => vocab.indexOf(w));
    const oneHot = words.map((_, i) => words.map((_, j) => (i === j ? 1 : 0)));
    for await (const p of train({ ...word2vec.defaults, epochs: s.epochs, seed: s.seed }, 20)) {
      const learned = ids.map((a) => ids.map((b) => cosine(p.vectors[a], p.vectors[b])));
      yield { words, oneHot, learned, step: p.step, done: p.done };
      if (!live) return;
    }
  },
};
