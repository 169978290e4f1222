/**
 * What word2vec's two architectures share (Mikolov et al., 2013): the two tables, the negative-sampling
 * objective, word2vec.c's settings as config fields, and the training run (SGD with word2vec.c's linearly
 * falling rate, in the one training loop). `skipgram.ts` and `cbow.ts` are the models.
 * @module
 */
import * as L from "../../mod.ts";
import type { EncodedCorpus, Vocabulary } from "../data/vocabulary.ts";
import { encode } from "../data/vocabulary.ts";
import type { WindowReader, WindowSettings, WindowState } from "../data/windows.ts";
import { loadCheckpoint } from "../train/checkpoint.ts";
import type { TrainContext, TrainOutcome } from "../train/context.ts";
import { type Batch, type Batcher, trainLoop } from "../train/loop.ts";
import { dataFields, defineModel, int, type ModelSpec, num, type Trained } from "../spec.ts";

/**
 * The two tables: `input` (the embeddings) and `output` (the vectors words are predicted with).
 *
 * @example
 * ```ts
 * import { random } from "../../mod.ts";
 * import { initTables, type Tables } from "./word2vec.ts";
 * const p: Tables = initTables(5, 3, random.key(0));
 * if (p.output.shape.join() !== "5,3") throw new Error();
 * ```
 */
export interface Tables {
  /** [vocabulary, dim], uniform in ±0.5/dim as in word2vec.c. */
  input: L.Tensor;
  /** [vocabulary, dim], zeros. */
  output: L.Tensor;
}

/**
 * Initial tables for a vocabulary of `words` words, as word2vec.c makes them.
 *
 * @example
 * ```ts
 * import { random } from "../../mod.ts";
 * import { initTables } from "./word2vec.ts";
 * const p = initTables(10, 4, random.key(0));
 * if (p.input.shape.join() !== "10,4" || p.output.sum().item() !== 0) throw new Error();
 * ```
 */
export function initTables(words: number, dim: number, key: L.Tensor): Tables {
  return {
    input: L.random.uniform(key, [words, dim], { minval: -0.5 / dim, maxval: 0.5 / dim }),
    output: L.zeros([words, dim]),
  };
}

/**
 * `Σ_i weight_i · (-log σ(h_i·v_i) - Σ_k log σ(-h_i·n_ik))` with v_i = output[targets_i] and
 * n_ik = output[negatives_ik], leaving out the negatives equal to their target: the negative-sampling
 * objective of both architectures (hidden [N, D], targets [N], negatives [N, K], weight [N]).
 *
 * @example
 * ```ts
 * import { tensor, zeros } from "../../mod.ts";
 * import { negativeSamplingLoss } from "./word2vec.ts";
 * const [target, hidden, weight] = [tensor([0], { dtype: "int32" }), tensor([[1, 0]]), tensor([1])];
 * const loss = (negative: number) =>
 *   negativeSamplingLoss(zeros([2, 2]), hidden, target, tensor([[negative]], { dtype: "int32" }), weight).item();
 * if (Math.abs(loss(1) - 2 * Math.log(2)) > 1e-6) throw new Error(); // σ(0) twice
 * if (Math.abs(loss(0) - Math.log(2)) > 1e-6) throw new Error(); // the negative equal to the target is skipped
 * ```
 */
export function negativeSamplingLoss(
  output: L.Tensor,
  hidden: L.Tensor,
  targets: L.Tensor,
  negatives: L.Tensor,
  weight: L.Tensor,
): L.Tensor {
  const positive = L.take(output, targets).mul(hidden).sum(-1); // [N]
  const negative = L.take(output, negatives).mul(hidden.unsqueeze(1)).sum(-1); // [N, K]
  // A negative drawn equal to the target is skipped, as word2vec.c and gensim skip it: it would push the
  // target's vector away from the hidden vector its positive term pulls it to (frequent words draw themselves
  // often: "the" is about 3% of the negatives).
  const distinct = L.where(negatives.notEqual(targets.unsqueeze(1)), L.softplus(negative), 0);
  return L.softplus(positive.neg()).add(distinct.sum(-1)).mul(weight).sum();
}

/**
 * word2vec.c's settings as config fields (its flag in brackets), with `batch` (skip-gram: pairs per batch;
 * CBOW: windows per batch) and the data fields (words seen under 5 times dropped, punctuation dropped, no
 * split).
 *
 * @example
 * ```ts
 * import { word2vecFields } from "./word2vec.ts";
 * const f = word2vecFields({ lr: 0.05, batch: 256 });
 * if (f.lr.default !== 0.05 || f.window.default !== 5) throw new Error();
 * ```
 */
export function word2vecFields(defaults: { lr: number; batch: number }) {
  return {
    dim: int(100, "embedding size [-size]"),
    window: int(5, "largest distance of a context word, drawn from 1 to this per centre word [-window]"),
    negatives: int(5, "negative samples per target, from the unigram distribution to the 3/4 [-negative]"),
    subsample: num(1e-3, "frequent-word subsampling threshold, 0 keeps every word [-sample]"),
    lr: num(defaults.lr, "learning rate at the start, falling linearly to 1e-4 of itself [-alpha]"),
    epochs: int(5, "passes over the corpus [-iter]"),
    batch: int(defaults.batch, "skip-gram: (centre, context) pairs per batch; CBOW: windows per batch"),
    seed: int(1, "seed of the initial vectors and of every random draw", 0),
    ...dataFields({ minCount: 5, punctuation: false, split: "none" }),
  } as const;
}

/**
 * The config of either architecture.
 *
 * @example
 * ```ts
 * import type { Word2vecConfig } from "./word2vec.ts";
 * const lrOf = (c: Word2vecConfig) => c.lr;
 * if (typeof lrOf !== "function") throw new Error();
 * ```
 */
export type Word2vecConfig = WindowSettings & { dim: number; lr: number; batch: number };

/**
 * An int32 tensor of a batcher's ids (the batcher reuses the array, the tensor copies it).
 *
 * @example
 * ```ts
 * import { idTensor } from "./word2vec.ts";
 * if (idTensor(new Int32Array([1, 2, 3, 4]), [2, 2]).dtype !== "int32") throw new Error();
 * ```
 */
export function idTensor(data: Int32Array, shape: number[]): L.Tensor {
  return L.tensor(data, { shape, dtype: "int32" });
}

/**
 * How one architecture trains: its loss over the tables and a batch's tensors, the reader that makes its
 * batches (pairs or windows) and how a batch becomes tensors.
 *
 * @example
 * ```ts
 * import type { Architecture } from "./word2vec.ts";
 * const nameOf = (a: Architecture<unknown>) => a.name;
 * if (typeof nameOf !== "function") throw new Error();
 * ```
 */
export interface Architecture<B> {
  /** The model's name. */
  name: string;
  /** The summed loss of a batch. */
  loss: (tables: Tables, ...batch: L.Tensor[]) => L.Tensor;
  /** A reader over `corpus` with these settings. */
  reader: (corpus: EncodedCorpus, counts: Int32Array, config: Word2vecConfig) => WindowReader & {
    next(): (B & { words: number }) | undefined;
  };
  /** A batch's tensors and how many items (pairs, windows) its loss sums over. */
  tensors: (batch: B, config: Word2vecConfig) => { tensors: L.Tensor[]; items: number };
}

/**
 * How many batches one pass makes (a dry run of the reader), for the learning rate's schedule. It draws no
 * negatives (they do not change where batches end, only the random stream, so the count may differ from
 * the real pass's by a batch or two, which the schedule's floor absorbs).
 */
function countBatches<B>(
  arch: Architecture<B>,
  corpus: EncodedCorpus,
  counts: Int32Array,
  config: Word2vecConfig,
) {
  const reader = arch.reader(corpus, counts, { ...config, epochs: 1, negatives: 0 });
  let batches = 0;
  while (reader.next()) batches++;
  return Math.max(batches, 1);
}

/**
 * Trains either architecture in the one loop: SGD on the summed loss with word2vec.c's rate, falling linearly
 * to 1e-4 of itself over the run; sparse updates (only the rows a batch touches change).
 *
 * @example
 * ```ts ignore
 * import { trainWord2vec } from "./word2vec.ts";
 * await trainWord2vec(skipgramArchitecture, context);
 * ```
 */
export async function trainWord2vec<B>(
  arch: Architecture<B>,
  context: TrainContext<Word2vecConfig & { minCount: number }>,
): Promise<TrainOutcome> {
  const { config, vocabulary } = context;
  const corpus = encode(context.corpus.train, vocabulary);
  const stepsPerEpoch = countBatches(arch, corpus, vocabulary.counts, config);
  const windows = arch.reader(corpus, vocabulary.counts, config);
  const batcher: Batcher = {
    next(): Batch | undefined {
      const b = windows.next();
      return b && { ...arch.tensors(b, config), tokens: b.words };
    },
    get epoch() {
      return windows.epoch;
    },
    progress: () => windows.progress(),
    state: () => windows.state,
    restore: (s) => windows.restore(s as WindowState),
  };
  const lr = L.optim.linearDecay({
    from: config.lr,
    to: config.lr * 1e-4,
    steps: stepsPerEpoch * config.epochs,
  });
  context.log(
    `${arch.name}: ${corpus.ids.length.toLocaleString("en-US")} tokens of ${
      vocabulary.words.length.toLocaleString("en-US")
    } words seen ${config.minCount}+ times; ${stepsPerEpoch.toLocaleString("en-US")} batches an epoch`,
  );
  const result = await trainLoop({
    model: arch.name,
    params: initTables(vocabulary.words.length, config.dim, L.random.key(config.seed)),
    optimizer: L.optim.sgd({ lr }),
    objective: (p, carry, ...batch) => [arch.loss(p, ...batch), carry],
    lossIsSum: true,
    batcher,
    freshBatches: true,
  }, { ...context.loop, checkpoint: context.checkpoint });
  return { finished: result.finished, interrupted: result.interrupted, steps: result.steps };
}

/**
 * A trained word2vec run for eval: its input table as the word vectors.
 *
 * @example
 * ```ts ignore
 * import { loadWord2vec } from "./word2vec.ts";
 * const { vectors } = await loadWord2vec("skipgram", "runs/skipgram-brown/checkpoint.safetensors", config, vocabulary);
 * ```
 */
export async function loadWord2vec(
  model: string,
  checkpoint: string,
  config: { dim: number },
  vocabulary: Vocabulary,
): Promise<Trained> {
  // The checkpoint's layout only: zeros, not initTables' random draws (a million numbers for nothing).
  const shape = [vocabulary.words.length, config.dim];
  const like: Tables = { input: L.zeros(shape), output: L.zeros(shape) };
  const { params } = await loadCheckpoint(checkpoint, model, like);
  return { vectors: () => ({ table: params.input.dataSync() as Float32Array, dim: config.dim }) };
}

/**
 * A word2vec model's spec from its architecture: word2vec.c's settings as fields (with its rate and batch),
 * trained by {@linkcode trainWord2vec}, its input table as the word vectors.
 *
 * @example
 * ```ts
 * import { PairBatcher } from "../data/windows.ts";
 * import { idTensor, word2vecModel } from "./word2vec.ts";
 * import { skipGramLoss } from "./skipgram.ts";
 * const spec = word2vecModel({
 *   name: "sg", loss: (p, ...b) => skipGramLoss(p, b[0], b[1], b[2], b[3]),
 *   reader: (corpus, counts, config) => new PairBatcher(corpus, counts, config, config.batch),
 *   tensors: (b) => ({ tensors: [idTensor(b.centre, [b.centre.length])], items: b.pairs }),
 * }, "a skip-gram", { lr: 0.025, batch: 64 });
 * if (spec.fields.batch.default !== 64 || spec.kind !== "embedding") throw new Error();
 * ```
 */
export function word2vecModel<B>(
  arch: Architecture<B>,
  title: string,
  defaults: { lr: number; batch: number },
): ModelSpec<ReturnType<typeof word2vecFields>> {
  return defineModel({
    name: arch.name,
    title,
    kind: "embedding",
    fields: word2vecFields(defaults),
    train: (context) => trainWord2vec(arch, context),
    load: (checkpoint, config, vocabulary) => loadWord2vec(arch.name, checkpoint, config, vocabulary),
  });
}
