/**
 * Guide lesson: word2vec. Skip-gram predicts each context word from the centre word; CBOW predicts the centre
 * word from the mean of its context. Both score the true word against a few "negative" words drawn from the
 * unigram distribution (to the 3/4), and update only the rows of the two tables that a batch touches.
 * The page shows the loss, the nearest neighbours of a few words, and a 2-D PCA map of the vectors.
 * @module
 */
import {
  jit,
  optim,
  random,
  softplus,
  stopGradient,
  take,
  type Tensor,
  tensor,
  valueAndGrad,
  zeros,
} from "../../mod.ts";
import type { Controls, Lesson } from "./lesson.ts";
import { sampleText, seededRandom, tokenize, wordClass } from "./text.ts";
import { nearest, pcaMap } from "./vectors_math.ts";

/** The word2vec lesson's settings; `text` empty means the bundled sample. */
export type Word2vecSettings = {
  model: string;
  dim: number;
  window: number;
  negatives: number;
  epochs: number;
  lr: number;
  seed: number;
  probes: string;
  text: string;
};

/** The two tables: input vectors (the embedding) and output vectors. */
type Tables = { input: Tensor; output: Tensor };

/** `-log σ(h·v) - Σ_k log σ(-h·n_k)` per row, weighted and summed: the negative-sampling objective. */
function sampledLoss(p: Tables, hidden: Tensor, targets: Tensor, negatives: Tensor, weight: Tensor): Tensor {
  const positive = take(p.output, targets).mul(hidden).sum(-1);
  const negative = take(p.output, negatives).mul(hidden.unsqueeze(1)).sum(-1);
  return softplus(positive.neg()).add(softplus(negative).sum(-1)).mul(weight).sum();
}

/**
 * Skip-gram: each (centre, context) pair; `mask` 0 marks padding. Shapes [P], [P], [P, K], [P].
 *
 * @example
 * ```ts
 * import { tensor } from "../../mod.ts";
 * import { skipGramLoss } from "./word2vec.ts";
 * const p = { input: tensor([[1, 0], [0, 1]]), output: tensor([[0, 0], [0, 0]]) };
 * const id = tensor([0], { dtype: "int32" });
 * const l = skipGramLoss(p, id, id, tensor([[1]], { dtype: "int32" }), tensor([1]));
 * if (Math.abs(l.item() - 2 * Math.log(2)) > 1e-6) throw new Error(); // σ(0) = 1/2, twice
 * ```
 */
export function skipGramLoss(
  p: Tables,
  centre: Tensor,
  context: Tensor,
  negatives: Tensor,
  mask: Tensor,
): Tensor {
  return sampledLoss(p, take(p.input, centre), context, negatives, mask);
}

/**
 * CBOW: the mean of each window's context vectors predicts its centre. Shapes [B], [B, C], [B, K], [B, C].
 *
 * @example
 * ```ts
 * import { tensor } from "../../mod.ts";
 * import { cbowLoss } from "./word2vec.ts";
 * const p = { input: tensor([[1, 0], [0, 1]]), output: tensor([[0, 0], [0, 0]]) };
 * const l = cbowLoss(p, tensor([0], { dtype: "int32" }), tensor([[1, 0]], { dtype: "int32" }),
 *   tensor([[1]], { dtype: "int32" }), tensor([[1, 0]]));
 * if (Math.abs(l.item() - 2 * Math.log(2)) > 1e-6) throw new Error();
 * ```
 */
export function cbowLoss(
  p: Tables,
  centre: Tensor,
  context: Tensor,
  negatives: Tensor,
  mask: Tensor,
): Tensor {
  const count = mask.sum(-1, true);
  const sum = take(p.input, context).mul(mask.unsqueeze(-1)).sum(1);
  // Forward the mean; backward, each context word gets the whole gradient, as in word2vec.c.
  const hidden = stopGradient(sum.div(count.maximum(1)).sub(sum)).add(sum);
  return sampledLoss(p, hidden, centre, negatives, count.squeeze(-1).minimum(1));
}

/** One batch as plain arrays: rows of the model's inputs, and how many training examples are real. */
interface Batch {
  centre: Int32Array;
  context: Int32Array;
  negatives: Int32Array;
  mask: Float32Array;
  examples: number;
}

const BATCH = 256;

/** Draws batches of (centre, context) pairs or CBOW windows over the corpus, in order, with seeded negatives. */
function* batches(sentences: number[][], counts: number[], s: Word2vecSettings): Generator<Batch> {
  const random = seededRandom(s.seed + 7);
  // The unigram table to the 3/4, as in word2vec.c.
  const weights = counts.map((c) => c ** 0.75);
  const total = weights.reduce((a, b) => a + b, 0);
  const table = new Int32Array(1 << 16);
  for (let i = 0, w = 0, acc = weights[0] / total; i < table.length; i++) {
    table[i] = w;
    if (i / table.length > acc && w < weights.length - 1) acc += weights[++w] / total;
  }
  const width = 2 * s.window;
  const cbow = s.model === "cbow";
  const fresh = (): Batch => ({
    centre: new Int32Array(BATCH),
    context: new Int32Array(cbow ? BATCH * width : BATCH),
    negatives: new Int32Array(BATCH * s.negatives),
    mask: new Float32Array(cbow ? BATCH * width : BATCH),
    examples: 0,
  });
  let batch = fresh();
  let row = 0;
  for (let epoch = 0; epoch < s.epochs; epoch++) {
    for (const sentence of sentences) {
      for (let i = 0; i < sentence.length; i++) {
        const reach = 1 + Math.floor(random() * s.window); // word2vec.c's shrunk window
        const around: number[] = [];
        for (let j = Math.max(0, i - reach); j <= Math.min(sentence.length - 1, i + reach); j++) {
          if (j !== i) around.push(sentence[j]);
        }
        if (around.length === 0) continue;
        for (const context of cbow ? [around] : around.map((w) => [w])) {
          batch.centre[row] = sentence[i];
          if (cbow) {
            context.forEach((w, k) => [batch.context[row * width + k], batch.mask[row * width + k]] = [w, 1]);
          } else [batch.context[row], batch.mask[row]] = [context[0], 1];
          for (let k = 0; k < s.negatives; k++) {
            batch.negatives[row * s.negatives + k] = table[Math.floor(random() * table.length)];
          }
          batch.examples += cbow ? 1 : 1;
          if (++row === BATCH) {
            yield batch;
            [batch, row] = [fresh(), 0];
          }
        }
      }
    }
  }
  if (row > 0) yield batch;
}

/** A training snapshot: where it is, the tables, and the pace. */
export interface Word2vecProgress {
  /** Steps taken, and how many the run will take (an estimate until the last). */
  step: number;
  /** Mean loss per example over the last batch. */
  loss: number;
  /** Training examples (pairs or windows) per second so far, training time only. */
  rate: number;
  /** The input vectors, one row per word. */
  vectors: Float32Array[];
  /** Whether this is the last one. */
  done: boolean;
}

/**
 * Trains word2vec on `text` (the bundled sample if empty), yielding progress after every `every` steps
 * (and once before the first step, with the initial vectors).
 *
 * @example
 * ```ts
 * import { train, word2vec } from "./word2vec.ts";
 * const settings = { ...word2vec.defaults, epochs: 1 };
 * let first = NaN, last = NaN;
 * for await (const p of train(settings, 5)) {
 *   if (p.step === 1) first = p.loss;
 *   last = p.loss;
 * }
 * if (!(last < first)) throw new Error("the loss should fall");
 * ```
 */
export async function* train(s: Word2vecSettings, every = 10): AsyncGenerator<Word2vecProgress> {
  const corpus = tokenize(s.text || sampleText(), s.text ? 2 : 1);
  const vocab = corpus.words.length;
  if (vocab < 2) {
    throw new Error("word2vec: the text needs at least two words seen twice; paste a longer text");
  }
  let params: Tables = {
    input: random.uniform(random.key(s.seed), [vocab, s.dim], { minval: -0.5 / s.dim, maxval: 0.5 / s.dim }),
    output: zeros([vocab, s.dim]),
  };
  const pairsPerEpoch = corpus.sentences.reduce(
    (n, sentence) => n + sentence.length * (s.model === "cbow" ? 1 : s.window),
    0,
  );
  const steps = Math.max(1, Math.ceil((s.epochs * pairsPerEpoch) / BATCH));
  const opt = optim.sgd({ lr: optim.linearDecay({ from: s.lr, to: s.lr * 1e-3, steps }) });
  let state = opt.init(params);
  const objective = s.model === "cbow" ? cbowLoss : skipGramLoss;
  const step = jit((p: Tables, st: optim.OptimizerState, ...batch: Tensor[]) => {
    const [value, g] = valueAndGrad(objective)(p, ...(batch as [Tensor, Tensor, Tensor, Tensor]));
    const next = opt.update(g, st, p);
    return [value, next.params, next.state] as const;
  }, { donate: [0, 1] });
  const rows = (t: Tensor) => {
    const data = t.dataSync() as Float32Array;
    return Array.from({ length: vocab }, (_, i) => data.slice(i * s.dim, (i + 1) * s.dim));
  };
  yield { step: 0, loss: NaN, rate: 0, vectors: rows(params.input), done: false };
  const width = s.model === "cbow" ? 2 * s.window : 1;
  let [count, examples, busy, loss] = [0, 0, 0, NaN];
  const all = [...batches(corpus.sentences, corpus.counts, s)];
  for (const [index, b] of all.entries()) {
    const started = performance.now();
    const cbow = width > 1;
    const [value, p, st] = step(
      params,
      state,
      tensor(b.centre, { dtype: "int32" }),
      tensor(b.context, { shape: cbow ? [BATCH, width] : [BATCH], dtype: "int32" }),
      tensor(b.negatives, { shape: [BATCH, s.negatives], dtype: "int32" }),
      tensor(b.mask, { shape: cbow ? [BATCH, width] : [BATCH] }),
    );
    [params, state] = [p, st];
    loss = value.item() / b.examples;
    if (!Number.isFinite(loss)) {
      throw new Error(`word2vec diverged at step ${count + 1} (loss ${loss}): lower the learning rate`);
    }
    busy += performance.now() - started;
    [count, examples] = [count + 1, examples + b.examples];
    const done = index === all.length - 1;
    if (count % every === 0 || count === 1 || done) {
      yield { step: count, loss, rate: examples / (busy / 1000), vectors: rows(params.input), done };
    }
  }
}

/** What the page draws. */
export interface Word2vecFrame {
  /** Steps taken. */
  step: number;
  /** [step, loss] so far. */
  losses: [number, number][];
  /** Examples per second (0 before training). */
  rate: number;
  /** Each probe word's nearest neighbours with their cosine similarity. */
  neighbours: { word: string; near: [string, number][] }[];
  /** The most frequent words on a 2-D PCA map, with their class in the sample grammar. */
  map: { word: string; x: number; y: number; kind: string }[];
  /** Whether training has finished. */
  done: boolean;
}

/** Words shown on the map. */
const MAP_WORDS = 60;

/**
 * The word2vec lesson: frames of loss, neighbours and the PCA map.
 *
 * @example
 * ```ts
 * import { fixedControls } from "./lesson.ts";
 * import { word2vec } from "./word2vec.ts";
 * const first = await word2vec.run(fixedControls(word2vec.defaults), false).next();
 * if (first.done || first.value.step !== 0 || first.value.map.length === 0) throw new Error();
 * ```
 */
export const word2vec: Lesson<Word2vecSettings, Word2vecFrame> = {
  slug: "word2vec",
  defaults: {
    model: "skipgram",
    dim: 24,
    window: 3,
    negatives: 5,
    epochs: 4,
    lr: 0.02,
    seed: 0,
    probes: "king,cat,apple,red",
    text: "",
  },
  limits: {
    dim: [2, 128],
    window: [1, 8],
    negatives: [1, 20],
    epochs: [1, 20],
    lr: [0.001, 0.1],
    seed: [0, 1e6],
  },
  choices: { model: ["skipgram", "cbow"] },
  async *run(controls: Controls<Word2vecSettings>, live = true) {
    const s = controls.settings;
    const words = tokenize(s.text || sampleText(), s.text ? 2 : 1).words;
    const probes = s.probes.split(",").map((w) => w.trim().toLowerCase()).filter((w) => words.includes(w));
    const losses: [number, number][] = [];
    let previous: [number, number][] | undefined;
    for await (const p of train(s)) {
      if (p.step > 0) losses.push([p.step, p.loss]);
      const shown = p.vectors.slice(0, MAP_WORDS);
      const points = previous = pcaMap(shown, previous);
      yield {
        step: p.step,
        losses: [...losses],
        rate: p.rate,
        neighbours: probes.map((word) => ({
          word,
          near: nearest(p.vectors, words.indexOf(word), 5).map(([i, sim]) =>
            [words[i], sim] as [string, number]
          ),
        })),
        map: points.map(([x, y], i) => ({ word: words[i], x, y, kind: wordClass(words[i]) ?? "other" })),
        done: p.done,
      };
      if (!live) return;
    }
  },
};
