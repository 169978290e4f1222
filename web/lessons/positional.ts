/**
 * Guide lesson: positional embeddings. Self-attention compares words by content only, so without a position
 * signal a word cannot tell "before me" from "three words before me": the same model is trained with
 * sinusoidal positions added to its inputs and without, and their attention over one sentence is shown
 * side by side, with the sinusoidal table itself.
 * @module
 */
import { nn } from "../../mod.ts";
import { attention, type AttentionSettings, headWeights, knownWords, trainAttention } from "./attention.ts";
import type { Controls, Lesson } from "./lesson.ts";

/** The lesson's settings. */
export type PositionalSettings = {
  sentence: string;
  length: number;
  dim: number;
  steps: number;
  seed: number;
};

/** What the page draws. */
export interface PositionalFrame {
  /** The sinusoidal table [length][dim]: sin and cos at geometrically spaced frequencies. */
  table: number[][];
  step: number;
  losses: { with: [number, number][]; without: [number, number][] };
  words: string[];
  /** Attention weights averaged over heads, [T][T], for each model. */
  maps: { with: number[][]; without: number[][] };
  done: boolean;
}

/** The mean over heads of [heads][T][T]. */
function meanOverHeads(heads: number[][][]): number[][] {
  return heads[0].map((row, i) => row.map((_, j) => heads.reduce((s, h) => s + h[i][j], 0) / heads.length));
}

/**
 * The lesson.
 *
 * @example
 * ```ts
 * import { fixedControls } from "./lesson.ts";
 * import { positional } from "./positional.ts";
 * const { value } = await positional.run(fixedControls(positional.defaults), false).next();
 * if (value!.table.length !== positional.defaults.length) throw new Error();
 * if (Math.abs(value!.table[0][1] - 1) > 1e-6) throw new Error(); // cos(0)
 * ```
 */
export const positional: Lesson<PositionalSettings, PositionalFrame> = {
  slug: "positional",
  defaults: { sentence: "the cat and the dog play in the garden", length: 48, dim: 32, steps: 300, seed: 0 },
  limits: { length: [4, 256], dim: [8, 128], steps: [10, 3000], seed: [0, 1e6] },
  async *run(controls: Controls<PositionalSettings>, live = true) {
    const s = controls.settings;
    const table = nn.sinusoidalTable(s.length, s.dim).arraySync() as number[][];
    const base: AttentionSettings = { ...attention.defaults, dim: s.dim, steps: s.steps, seed: s.seed };
    const withSettings = { ...base, positions: "sinusoidal" };
    const withoutSettings = { ...base, positions: "none" };
    const runs = [trainAttention(withSettings), trainAttention(withoutSettings)];
    const losses = { with: [] as [number, number][], without: [] as [number, number][] };
    for (;;) {
      const [a, b] = await Promise.all(runs.map((r) => r.next()));
      if (a.done || b.done) break;
      if (a.value.step > 0) {
        losses.with.push([a.value.step, a.value.loss]);
        losses.without.push([b.value.step, b.value.loss]);
      }
      const { words, ids } = knownWords(controls.settings.sentence);
      yield {
        table,
        step: a.value.step,
        losses: { with: [...losses.with], without: [...losses.without] },
        words,
        maps: {
          with: meanOverHeads(headWeights(a.value.params, ids, withSettings)),
          without: meanOverHeads(headWeights(b.value.params, ids, withoutSettings)),
        },
        done: a.value.done,
      };
      if (!live) return;
    }
  },
};
