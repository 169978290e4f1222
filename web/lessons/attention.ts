/**
 * Guide lessons: self-attention and positional embeddings. A one-layer causal Transformer language model small
 * enough to train in a page: word vectors (plus sinusoidal positions, unless turned off), multi-head
 * self-attention written out so that each head's weights can be shown, a residual path and a softmax over the
 * words. Every word is matched against the words before it; the softmax of the match scores weights a sum of
 * their values, which becomes the word's new representation.
 * @module
 */
import { jit, loss, nn, optim, random, softmax, take, type Tensor, tensor, valueAndGrad } from "../../mod.ts";
import type { Controls, Lesson } from "./lesson.ts";
import { sampleText, seededRandom, tokenize } from "./text.ts";

/** The model's sizes and training settings. */
export type AttentionSettings = {
  sentence: string;
  heads: number;
  dim: number;
  steps: number;
  lr: number;
  seed: number;
  positions: string;
};

/** The model's parameters. */
export type AttentionParams = {
  embed: Tensor;
  query: Tensor;
  key: Tensor;
  value: Tensor;
  mix: Tensor;
  out: Tensor;
};

/**
 * Each head's attention weights for a batch of token ids [B, T], as [B, heads, T, T] (row t: how much
 * position t draws from each position, causal), and the model's logits [B, T, vocab].
 *
 * @example
 * ```ts
 * import { tensor } from "../../mod.ts";
 * import { attentionModel, initAttention } from "./attention.ts";
 * const p = initAttention(5, 8, 0);
 * const { weights } = attentionModel(p, tensor([[1, 2, 3]], { dtype: "int32" }), 2, true);
 * if (weights.shape.join() !== "1,2,3,3") throw new Error();
 * if ((weights.arraySync() as number[][][][])[0][0][0][1] !== 0) throw new Error(); // the first word sees only itself
 * ```
 */
export function attentionModel(
  p: AttentionParams,
  ids: Tensor,
  heads: number,
  positions: boolean,
): { weights: Tensor; logits: Tensor } {
  const [batch, length] = ids.shape;
  const dim = p.embed.shape[1];
  const size = dim / heads;
  let x = take(p.embed, ids); // [B, T, D]
  if (positions) x = x.add(nn.sinusoidalTable(length, dim));
  // [B, T, D] -> [B, heads, T, D / heads]
  const split = (t: Tensor) => t.reshape([batch, length, heads, size]).transpose([0, 2, 1, 3]);
  const [q, k, v] = [p.query, p.key, p.value].map((w) => split(x.matmul(w)));
  const causal = tensor(
    Array.from({ length: length * length }, (_, i) => (i % length > i / length ? -1e9 : 0)),
    {
      shape: [length, length],
    },
  );
  const weights = softmax(q.matmul(k.transpose([0, 1, 3, 2])).mul(1 / Math.sqrt(size)).add(causal));
  const mixed = weights.matmul(v).transpose([0, 2, 1, 3]).reshape([batch, length, dim]);
  const h = x.add(mixed.matmul(p.mix)); // the residual path around attention
  return { weights, logits: h.matmul(p.out) };
}

/**
 * Random initial parameters for `vocab` words of `dim` features.
 *
 * @example
 * ```ts
 * import { initAttention } from "./attention.ts";
 * if (initAttention(10, 8, 0).out.shape.join() !== "8,10") throw new Error();
 * ```
 */
export function initAttention(vocab: number, dim: number, seed: number): AttentionParams {
  const k = random.split(random.key(seed), 6);
  const square = (key: Tensor) => random.normal(key, [dim, dim]).mul(1 / Math.sqrt(dim));
  return {
    embed: random.normal(k[0], [vocab, dim]).mul(0.5),
    query: square(k[1]),
    key: square(k[2]),
    value: square(k[3]),
    mix: square(k[4]),
    out: random.normal(k[5], [dim, vocab]).mul(1 / Math.sqrt(dim)),
  };
}

const BLOCK = 12;
const BATCH = 16;

/** A training snapshot. */
export interface AttentionProgress {
  step: number;
  loss: number;
  params: AttentionParams;
  done: boolean;
}

/**
 * Trains the model on the sample text (windows of 12 words, Adam), yielding progress before the first step
 * and every `every` steps.
 *
 * @example
 * ```ts
 * import { attention } from "./attention.ts";
 * import { trainAttention } from "./attention.ts";
 * const seen = [];
 * for await (const p of trainAttention({ ...attention.defaults, steps: 60 }, 20)) seen.push(p.loss);
 * if (!(seen.at(-1)! < seen[1])) throw new Error("the loss should fall");
 * ```
 */
export async function* trainAttention(s: AttentionSettings, every = 10): AsyncGenerator<AttentionProgress> {
  const corpus = tokenize(sampleText());
  const stream = corpus.sentences.flat();
  const vocab = corpus.words.length;
  let params = initAttention(vocab, s.dim, s.seed);
  const opt = optim.adam({ lr: s.lr });
  let state = opt.init(params);
  const positions = s.positions !== "none";
  const objective = (p: AttentionParams, x: Tensor, y: Tensor) =>
    loss.crossEntropy(attentionModel(p, x, s.heads, positions).logits, y);
  const step = jit((p: AttentionParams, st: optim.OptimizerState, x: Tensor, y: Tensor) => {
    const [value, g] = valueAndGrad(objective)(p, x, y);
    const next = opt.update(g, st, p);
    return [value, next.params, next.state] as const;
  });
  const random = seededRandom(s.seed + 3);
  let last = NaN;
  for (let i = 0; i <= s.steps; i++) {
    if (i % every === 0 || i === s.steps) yield { step: i, loss: last, params, done: i === s.steps };
    if (i === s.steps) break;
    const xs: number[] = [], ys: number[] = [];
    for (let b = 0; b < BATCH; b++) {
      const start = Math.floor(random() * (stream.length - BLOCK - 1));
      xs.push(...stream.slice(start, start + BLOCK));
      ys.push(...stream.slice(start + 1, start + BLOCK + 1));
    }
    const [value, p, st] = step(
      params,
      state,
      tensor(xs, { shape: [BATCH, BLOCK], dtype: "int32" }),
      tensor(ys, { shape: [BATCH, BLOCK], dtype: "int32" }),
    );
    [params, state, last] = [p, st, value.item()];
  }
}

/**
 * The words of `sentence` the model knows (lower case, at most 16), with their ids.
 *
 * @example
 * ```ts
 * import { knownWords } from "./attention.ts";
 * if (knownWords("The KING zzz eats").words.join(" ") !== "the king eats") throw new Error();
 * ```
 */
export function knownWords(sentence: string): { words: string[]; ids: number[] } {
  const vocab = tokenize(sampleText()).words;
  const words = (sentence.toLowerCase().match(/[\p{L}']+/gu) ?? []).filter((w) => vocab.includes(w)).slice(
    0,
    16,
  );
  return {
    words: words.length ? words : ["the"],
    ids: (words.length ? words : ["the"]).map((w) => vocab.indexOf(w)),
  };
}

/**
 * Each head's weights over the sentence, as plain arrays [heads][T][T].
 *
 * @example
 * ```ts
 * import { attention, headWeights, initAttention } from "./attention.ts";
 * const maps = headWeights(initAttention(60, 16, 0), [1, 2], { ...attention.defaults, dim: 16 });
 * if (maps.length !== attention.defaults.heads || maps[0][1].length !== 2) throw new Error();
 * ```
 */
export function headWeights(p: AttentionParams, ids: number[], s: AttentionSettings): number[][][] {
  const ids2 = tensor(ids, { shape: [1, ids.length], dtype: "int32" });
  return (attentionModel(p, ids2, s.heads, s.positions !== "none").weights.arraySync() as number[][][][])[0];
}

/** What the attention page draws. */
export interface AttentionFrame {
  step: number;
  losses: [number, number][];
  words: string[];
  heads: number[][][];
  done: boolean;
}

/**
 * The self-attention lesson; while it runs, a new sentence is shown at once.
 *
 * @example
 * ```ts
 * import { attention } from "./attention.ts";
 * import { fixedControls } from "./lesson.ts";
 * const { value } = await attention.run(fixedControls(attention.defaults), false).next();
 * if (value!.heads.length !== attention.defaults.heads) throw new Error();
 * ```
 */
export const attention: Lesson<AttentionSettings, AttentionFrame> = {
  slug: "attention",
  defaults: {
    sentence: "the queen eats the cake with the king",
    heads: 2,
    dim: 32,
    steps: 300,
    lr: 0.01,
    seed: 0,
    positions: "sinusoidal",
  },
  limits: { heads: [1, 8], dim: [8, 128], steps: [10, 3000], lr: [0.0001, 0.1], seed: [0, 1e6] },
  choices: { positions: ["sinusoidal", "none"] },
  async *run(controls: Controls<AttentionSettings>, live = true) {
    const s = controls.settings;
    if (s.dim % s.heads !== 0) {
      throw new Error(`attention: dim ${s.dim} must be a multiple of heads ${s.heads}`);
    }
    const losses: [number, number][] = [];
    let params: AttentionParams | undefined;
    const frame = (step: number, done: boolean): AttentionFrame => {
      const { words, ids } = knownWords(controls.settings.sentence);
      return { step, losses: [...losses], words, heads: headWeights(params!, ids, s), done };
    };
    for await (const p of trainAttention(s)) {
      params = p.params;
      if (p.step > 0) losses.push([p.step, p.loss]);
      yield frame(p.step, p.done);
      if (!live) return;
    }
    // Trained: show each new sentence the page sends.
    for (;;) {
      await controls.changed();
      yield frame(s.steps, true);
    }
  },
};
