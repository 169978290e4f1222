/**
 * What the neural language models share: the fields of their training (optimizer, rate and its decay,
 * clipping, loss), the objective (cross-entropy, or the squared error between the predicted distribution and
 * the one-hot target, for the course's comparison), training in the one loop with a validation perplexity at
 * the end of each epoch, perplexity, and next-token distributions for sampling. A model file gives only its
 * network ({@linkcode LmNetwork}): how it reads the stream and how its params turn ids into logits.
 * @module
 */
import * as L from "../../mod.ts";
import type { nn } from "../../mod.ts";
import {
  ChunkBatches,
  fillChunks,
  fillRowChunks,
  fillWindows,
  type IdBatch,
  type IdBatcher,
  type IdBatchState,
  RandomChunkBatches,
  RowBatches,
  WindowBatches,
} from "../data/lm_batches.ts";
import { encodeStream, type Vocabulary } from "../data/vocabulary.ts";
import { perplexityOf } from "../eval/perplexity.ts";
import { loadCheckpoint } from "../train/checkpoint.ts";
import type { TrainContext, TrainOutcome } from "../train/context.ts";
import { type Batch, type Batcher, trainLoop } from "../train/loop.ts";
import {
  choice,
  type ConfigOf,
  dataFields,
  defineModel,
  type Fields,
  int,
  type ModelSpec,
  num,
  type Trained,
} from "../spec.ts";

/**
 * A language model's network, as its model file defines it.
 *
 * @example
 * ```ts
 * import type { LmNetwork } from "./language_model.ts";
 * const layoutOf = (n: LmNetwork<unknown>) => n.layout;
 * if (typeof layoutOf !== "function") throw new Error();
 * ```
 */
export interface LmNetwork<P> {
  /**
   * How it reads the stream: `window` (the `width` ids before each target; logits [rows, vocab]), `chunk`
   * (chunks of `width` tokens; logits [rows, width, vocab]) or `rows` (chunks that carry a state from one to
   * the next).
   */
  layout: "window" | "chunk" | "rows";
  /** Context size (window) or chunk length. */
  width: number;
  /** Initial params for batches of `rows` examples. */
  init(key: L.Tensor, rows: number): P;
  /**
   * Logits of a batch of ids, from (and with) the carried state (`[]` for models without one). `key`, given
   * while training a network with dropout, draws its masks; without it the network is deterministic.
   */
  forward(
    params: P,
    inputs: L.Tensor,
    carry: L.Tensor[][],
    key?: L.Tensor,
  ): { logits: L.Tensor; carry: L.Tensor[][] };
  /** Whether training draws random masks (dropout): the loop then gives `forward` a key every step. */
  stochastic?: boolean;
  /** The zero state of `rows` rows (layout `rows`). */
  zeroCarry?(rows: number): L.Tensor[][];
  /** The input embedding table [vocabulary, dim], written as vectors.txt. */
  embedding?(params: P): L.Tensor;
}

/**
 * The training fields every neural LM has, with a model's defaults, and the data fields (words seen under 4
 * times become `<unk>`, punctuation kept, a single file split 80/10/10).
 *
 * @example
 * ```ts
 * import { lmFields } from "./language_model.ts";
 * const f = lmFields({ lr: 1e-3, batch: 256, epochs: 2 });
 * if (f.optimizer.default !== "adam" || f.loss.default !== "cross-entropy") throw new Error();
 * ```
 */
export function lmFields(defaults: { lr: number; batch: number; epochs: number }) {
  return {
    loss: choice(
      "cross-entropy",
      ["cross-entropy", "mse"],
      "training loss: cross-entropy, or squared error of the distribution",
    ),
    optimizer: choice("adam", ["adam", "adamw", "sgd"], "optimizer"),
    beta2: num(0.999, "Adam's second-moment decay"),
    weightDecay: num(0.1, "adamw: decoupled weight decay of the matrices and tables (not biases and gains)"),
    lr: num(defaults.lr, "learning rate"),
    schedule: choice(
      "step",
      ["step", "cosine"],
      "rate schedule: step (lrDecay per epoch) or cosine (to lr/10 over the run after the warm-up)",
    ),
    warmup: int(0, "steps of linear warm-up to lr", 0),
    lrDecay: num(
      1,
      "step schedule: multiply the rate by this at the end of each epoch from decayAfter on (1: constant)",
    ),
    decayAfter: int(1, "the first epoch whose end decays the rate"),
    clip: num(0, "clip the gradients' global norm to this (0: no clipping)"),
    batch: int(defaults.batch, "examples per batch (windows, or chunks)"),
    epochs: int(defaults.epochs, "passes over the training text"),
    iterations: int(0, "stop after this many steps (0: after the epochs)", 0),
    seed: int(1, "seed of the initial params and of the order of examples", 0),
    ...dataFields({ minCount: 4, punctuation: true, split: "0.8,0.1" }),
  } as const;
}

/**
 * The training settings of a neural LM ({@linkcode lmFields}' training fields).
 *
 * @example
 * ```ts
 * import type { LmTraining } from "./language_model.ts";
 * const lrOf = (c: LmTraining) => c.lr;
 * if (typeof lrOf !== "function") throw new Error();
 * ```
 */
export type LmTraining = {
  loss: "cross-entropy" | "mse";
  sentenceEnds: boolean;
  optimizer: "adam" | "adamw" | "sgd";
  beta2: number;
  weightDecay: number;
  schedule: "step" | "cosine";
  warmup: number;
  lr: number;
  lrDecay: number;
  decayAfter: number;
  clip: number;
  batch: number;
  /** Chunked LMs only (the Transformer's field): how chunks are drawn; default "shuffle". */
  sampling?: "shuffle" | "random";
  epochs: number;
  iterations: number;
  seed: number;
};

/**
 * The mean loss over the real targets (label -1: none): cross-entropy, or `Σ_v (p_v - y_v)²` of the softmax
 * against the one-hot target (the course's squared error).
 *
 * @example
 * ```ts
 * import { tensor } from "../../mod.ts";
 * import { lmLoss } from "./language_model.ts";
 * const logits = tensor([[0, 0], [9, 9]]);
 * const labels = tensor([1, -1], { dtype: "int32" });
 * if (Math.abs(lmLoss(logits, labels, "mse").item() - 0.5) > 1e-6) throw new Error(); // (0.5-0)² + (0.5-1)²
 * if (Math.abs(lmLoss(logits, labels, "cross-entropy").item() - Math.LN2) > 1e-6) throw new Error();
 * ```
 */
export function lmLoss(logits: L.Tensor, labels: L.Tensor, loss: "cross-entropy" | "mse"): L.Tensor {
  if (loss === "cross-entropy") return L.loss.crossEntropy(logits, labels, { ignoreIndex: -1 });
  const keep = labels.notEqual(-1);
  const probs = L.softmax(logits, -1);
  const target = L.takeAlongAxis(probs, L.where(keep, labels, 0).unsqueeze(-1), -1).squeeze(-1);
  const perPosition = probs.square().sum(-1).sub(target.mul(2)).add(1);
  const weights = keep.cast("float32");
  return perPosition.mul(weights).sum().div(weights.sum().maximum(1));
}

/** Where the dropout masks' keys branch off the run's seed (apart from the init's and the batches' draws). */
const DROPOUT_STREAM = 0x64726f70;

/**
 * The fill of a batch (the share of its targets that are real: below 1 only in an epoch's last, partial
 * batch) as a scalar input of the step, by which the objective multiplies its mean loss.
 *
 * @example
 * ```ts
 * import { fillTensor } from "./language_model.ts";
 * if (fillTensor(1, 4).item() !== 0.25) throw new Error();
 * ```
 */
export function fillTensor(real: number, room: number): L.Tensor {
  return L.tensor(real / room);
}

/** The batcher of a layout (chunks in a shuffled order, or drawn at random). */
function batcherFor(
  layout: LmNetwork<unknown>["layout"],
  sampling: LmTraining["sampling"] = "shuffle",
  stream: Int32Array,
  settings: ConstructorParameters<typeof RowBatches>[1],
): IdBatcher {
  if (sampling === "random" && layout !== "chunk") {
    throw new Error(
      `--sampling random draws chunks that start anywhere (the Transformer's batches); this model reads ` +
        `${
          layout === "window" ? "windows of a fixed context" : "rows in order, its state carried"
        }: drop --sampling`,
    );
  }
  if (layout === "window") return new WindowBatches(stream, settings);
  if (layout === "chunk") {
    return sampling === "random"
      ? new RandomChunkBatches(stream, settings)
      : new ChunkBatches(stream, settings);
  }
  return new RowBatches(stream, settings);
}

/**
 * The learning rate of a step: `lr`, multiplied by `lrDecay` at the end of each epoch from `decayAfter` on
 * (TensorFlow's PTB tutorial runs Zaremba et al.'s small LSTM with `lrDecay 0.5 decayAfter 4`; the authors' Torch code
 * decays from the end of the 5th epoch, `decayAfter 5`).
 *
 * @example
 * ```ts
 * import { tensor } from "../../mod.ts";
 * import { epochDecay } from "./language_model.ts";
 * const schedule = epochDecay({ lr: 1, lrDecay: 0.5, decayAfter: 2, epochs: 4 }, 10);
 * const at = (step: number) => schedule(tensor(step, { dtype: "int32" })).item();
 * if (at(0) !== 1 || at(19) !== 1 || at(20) !== 0.5 || at(30) !== 0.25) throw new Error();
 * ```
 */
export function epochDecay(
  config: { lr: number; lrDecay: number; decayAfter: number; epochs: number },
  stepsPerEpoch: number,
): L.optim.Schedule {
  const { lr, lrDecay, decayAfter, epochs } = config;
  if (lrDecay === 1) return () => L.tensor(lr);
  return (step) => {
    let decays = L.tensor(0);
    for (let e = decayAfter; e < epochs; e++) {
      decays = decays.add(step.greaterEqual(e * stepsPerEpoch).cast("float32"));
    }
    return L.pow(lrDecay, decays).mul(lr);
  };
}

/** Steps in the whole run: the epochs' batches, or `iterations` when fewer. */
function stepsOf(ids: IdBatcher, config: { epochs: number; iterations: number }): number {
  const all = ids.batchesPerEpoch * config.epochs;
  return config.iterations > 0 ? Math.min(config.iterations, all) : all;
}

/**
 * The loop's batcher over an LM batcher: `convert` makes each batch's tensors; the run ends after the epochs
 * or `iterations` steps, and the state holds the batcher's position and the steps done.
 *
 * @example
 * ```ts
 * import { tensor } from "../../mod.ts";
 * import { RowBatches } from "../data/lm_batches.ts";
 * import { loopBatcher } from "./language_model.ts";
 * const ids = new RowBatches(new Int32Array([1, 2, 3, 4]), { width: 1, rows: 1, epochs: 5 });
 * const batcher = loopBatcher(ids, { epochs: 5, iterations: 3 }, (b) => ({ tensors: [tensor(b.targets)], items: b.real, tokens: b.real }));
 * let steps = 0;
 * while (batcher.next()) steps++;
 * if (steps !== 3) throw new Error(String(steps));
 * ```
 */
export function loopBatcher(
  ids: IdBatcher,
  config: { epochs: number; iterations: number },
  convert: (batch: IdBatch, at: IdBatchState) => Batch,
): Batcher {
  const totalSteps = stepsOf(ids, config);
  let steps = 0;
  return {
    next() {
      if (steps >= totalSteps) return undefined;
      const at = ids.state;
      const b = ids.next();
      if (!b) return undefined;
      steps++;
      return convert(b, at);
    },
    get epoch() {
      return steps >= totalSteps ? Math.max(ids.state.epoch, 1) : ids.state.epoch;
    },
    progress: () => steps / totalSteps,
    state: () => ({ ...ids.state, steps }),
    restore(s) {
      const saved = s as IdBatchState & { steps: number };
      ids.state = { epoch: saved.epoch, offset: saved.offset };
      steps = saved.steps;
    },
  };
}

/**
 * The optimizer a config asks for (Adam, AdamW or SGD), with its rate's schedule and gradient clipping.
 * AdamW decays the params of 2 or more dimensions (matrices, embedding tables) and not the biases and gains,
 * as nanoGPT. The cosine schedule starts after the warm-up and reaches lr/10 at the end of the run, as
 * nanoGPT's.
 *
 * @example
 * ```ts
 * import { tensor } from "../../mod.ts";
 * import { optimizerFor } from "./language_model.ts";
 * const opt = optimizerFor({ optimizer: "sgd", beta2: 0.999, weightDecay: 0, schedule: "step", warmup: 0, lr: 1, lrDecay: 0.5, decayAfter: 4, epochs: 13, iterations: 0, clip: 5 }, 100);
 * if (typeof opt.update !== "function") throw new Error();
 * // AdamW with warm-up and cosine: lr/10 after the 20 steps; the vector b does not decay.
 * const adamw = optimizerFor({ optimizer: "adamw", beta2: 0.99, weightDecay: 0.1, schedule: "cosine", warmup: 5, lr: 1, lrDecay: 1, decayAfter: 1, epochs: 1, iterations: 0, clip: 0 }, 20);
 * let params = { w: tensor([[1]]), b: tensor([1]) };
 * let state = adamw.init(params);
 * for (let i = 0; i < 20; i++) {
 *   ({ params, state } = adamw.update({ w: tensor([[0]]), b: tensor([0]) }, state, params));
 * }
 * if (Math.abs(state.lr.item() - 0.1) > 1e-6 || params.b.item() !== 1 || !(params.w.item() < 1)) throw new Error();
 * ```
 */
export function optimizerFor(
  config: Pick<
    LmTraining,
    | "optimizer"
    | "beta2"
    | "weightDecay"
    | "schedule"
    | "warmup"
    | "lr"
    | "lrDecay"
    | "decayAfter"
    | "epochs"
    | "iterations"
    | "clip"
  >,
  batchesPerEpoch: number,
): L.optim.Optimizer {
  const total = config.iterations > 0
    ? Math.min(config.iterations, batchesPerEpoch * config.epochs)
    : batchesPerEpoch * config.epochs;
  const main = config.schedule === "cosine"
    ? L.optim.cosineDecay({
      from: config.lr,
      to: config.lr / 10,
      steps: Math.max(total - config.warmup, 1),
    })
    : epochDecay(config, batchesPerEpoch);
  const lr = config.warmup > 0 ? L.optim.warmup({ steps: config.warmup, then: main }) : main;
  const common = { lr, ...(config.clip > 0 ? { clipGlobalNorm: config.clip } : {}) };
  if (config.optimizer === "sgd") return L.optim.sgd(common);
  if (config.optimizer === "adam") return L.optim.adam({ ...common, beta2: config.beta2 });
  return L.optim.adamw({
    ...common,
    beta2: config.beta2,
    weightDecay: config.weightDecay,
    mask: (param) => param.rank >= 2,
  });
}

/**
 * Trains a neural LM in the one loop, scoring the validation part at the end of each epoch.
 *
 * @example
 * ```ts ignore
 * import { trainLm } from "./language_model.ts";
 * await trainLm("bengio", network, context);
 * ```
 */
export async function trainLm<P>(
  model: string,
  network: LmNetwork<P>,
  context: TrainContext<LmTraining>,
): Promise<TrainOutcome> {
  const { config, vocabulary } = context;
  const [train, valid] = [context.corpus.train, context.corpus.valid].map((part) =>
    encodeStream(part, vocabulary, config.sentenceEnds)
  );
  const ids = batcherFor(network.layout, config.sampling, train, {
    width: network.width,
    rows: config.batch,
    epochs: config.epochs,
    seed: config.seed,
  });
  const toTensor = (data: Int32Array, shape: number[]) => L.tensor(data, { shape, dtype: "int32" });
  const masks = L.random.fold(L.random.key(config.seed), DROPOUT_STREAM);
  const batcher = loopBatcher(ids, config, (b, at) => ({
    tensors: [
      toTensor(b.inputs, ids.inputShape),
      toTensor(b.targets, ids.targetShape),
      fillTensor(b.real, b.targets.length),
      // The batch's position picks its masks, so a resumed run draws what the uninterrupted one would.
      ...(network.stochastic ? [L.random.fold(L.random.fold(masks, at.epoch), at.offset)] : []),
    ],
    items: b.real,
    tokens: b.real,
    fill: b.real / b.targets.length,
  }));
  const optimizer = optimizerFor(config, ids.batchesPerEpoch);
  const totalSteps = stepsOf(ids, config);
  context.log(
    `${model}: ${train.length.toLocaleString("en-US")} training and ${
      valid.length.toLocaleString("en-US")
    } ` +
      `validation tokens over ${vocabulary.words.length.toLocaleString("en-US")} tokens of vocabulary; ` +
      `${totalSteps.toLocaleString("en-US")} steps of ${config.batch}`,
  );
  const result = await trainLoop({
    model,
    params: network.init(L.random.key(config.seed), config.batch),
    optimizer,
    objective: (p, carry, inputs, targets, fill, key) => {
      const out = network.forward(p, inputs, carry, key);
      return [lmLoss(out.logits, targets, config.loss).mul(fill), out.carry];
    },
    ...(network.zeroCarry ? { initialCarry: () => network.zeroCarry!(config.batch) } : {}),
    batcher,
    freshBatches: true,
    evaluate: valid.length > 0
      ? (params) => {
        const ppl = perplexity(network, params, valid);
        return { valid_perplexity: ppl, valid_loss: Math.log(ppl) };
      }
      : undefined,
  }, { ...context.loop, checkpoint: context.checkpoint });
  // The last report scored the final params when it closed the last epoch.
  const evaluation = result.finished ? result.last?.evaluation : undefined;
  return { finished: result.finished, interrupted: result.interrupted, steps: result.steps, evaluation };
}

/**
 * The log-probability of every token of a stream given what the layout shows it (the `width` ids before it;
 * the tokens before it in its chunk; everything before it in its row, the stream cut into `rows` rows read in
 * order).
 *
 * @example
 * ```ts
 * import { nn, random } from "../../mod.ts";
 * import { layerNetwork, tokenLogProbs } from "./language_model.ts";
 * const network = layerNetwork(nn.serial(nn.embed(5, 4), nn.dense(5)), "chunk", 3, true);
 * const logp = tokenLogProbs(network, network.init(random.key(0), 2), new Int32Array([1, 2, 3, 4, 0]));
 * if (logp.length !== 5 || !logp.every((v) => v < 0)) throw new Error(String(logp));
 * ```
 */
export function tokenLogProbs<P>(
  network: LmNetwork<P>,
  params: P,
  stream: Int32Array,
  rows = 32,
): Float64Array {
  const out = new Float64Array(stream.length);
  if (stream.length === 0) return out;
  const { layout, width } = network;
  const evaluate = L.jit((p: P, x: L.Tensor, y: L.Tensor, c: L.Tensor[][]) => {
    const res = network.forward(p, x, c);
    const logp = L.loss.crossEntropy(res.logits, y, { ignoreIndex: -1, reduction: "none" }).neg();
    return [logp, res.carry] as const;
  });
  const batch = layout === "window" ? 1024 : rows;
  const inputs = new Int32Array(batch * width);
  const targets = new Int32Array(layout === "window" ? batch : batch * width);
  const inputShape = [batch, width];
  const targetShape = layout === "window" ? [batch] : [batch, width];
  const rowLength = Math.ceil(stream.length / batch);
  let carry = network.zeroCarry?.(batch) ?? [];
  const count = layout === "window"
    ? Math.ceil(stream.length / batch)
    : layout === "chunk"
    ? Math.ceil(stream.length / (width * batch))
    : Math.ceil(rowLength / width);
  for (let index = 0; index < count; index++) {
    // Where each slot's target sits in the stream (-1: none).
    const at = new Int32Array(targets.length).fill(-1);
    if (layout === "window") {
      const positions = Int32Array.from(
        { length: Math.min(batch, stream.length - index * batch) },
        (_, i) => index * batch + i,
      );
      fillWindows(stream, positions, width, inputs, targets);
      at.set(positions);
    } else if (layout === "chunk") {
      const starts = [];
      for (let r = 0; r < batch && (index * batch + r) * width < stream.length; r++) {
        starts.push((index * batch + r) * width);
      }
      fillChunks(stream, starts, width, inputs, targets);
      starts.forEach((s, r) => {
        for (let t = 0; t < width && s + t < stream.length; t++) at[r * width + t] = s + t;
      });
    } else {
      fillRowChunks(stream, batch, width, index, inputs, targets);
      for (let r = 0; r < batch; r++) {
        for (let t = 0; t < width; t++) {
          const position = r * rowLength + index * width + t;
          if (targets[r * width + t] >= 0) at[r * width + t] = position;
        }
      }
    }
    const x = L.tensor(inputs, { shape: inputShape, dtype: "int32" });
    const y = L.tensor(targets, { shape: targetShape, dtype: "int32" });
    const [logp, next] = evaluate(params, x, y, carry) as unknown as [L.Tensor, L.Tensor[][]];
    carry = next;
    const values = logp.dataSync() as Float32Array;
    for (let i = 0; i < at.length; i++) if (at[i] >= 0) out[at[i]] = values[i];
  }
  return out;
}

/**
 * Perplexity of a network on a stream: `exp` of the mean negative log-likelihood of its tokens
 * ({@linkcode tokenLogProbs}).
 *
 * @example
 * ```ts
 * import { nn, random } from "../../mod.ts";
 * import { layerNetwork, perplexity } from "./language_model.ts";
 * const network = layerNetwork(nn.serial(nn.embed(5, 4), nn.dense(5)), "chunk", 2, true);
 * // An untrained model is about as unsure as a uniform guess among the 5 ids.
 * const ppl = perplexity(network, network.init(random.key(0), 2), new Int32Array([1, 2, 3, 4, 0]));
 * if (!(ppl > 2.5 && ppl < 10)) throw new Error(String(ppl));
 * ```
 */
export function perplexity<P>(network: LmNetwork<P>, params: P, stream: Int32Array): number {
  return stream.length === 0 ? NaN : perplexityOf(tokenLogProbs(network, params, stream));
}

/**
 * A trained LM for `eval` and `sample`: perplexity, next-token log-probabilities and, where it has an
 * embedding table, its vectors.
 *
 * @example
 * ```ts ignore
 * import { loadLm } from "./language_model.ts";
 * const trained = await loadLm("bengio", network, "runs/bengio-brown/checkpoint.safetensors", config);
 * ```
 */
export async function loadLm<P>(
  model: string,
  network: LmNetwork<P>,
  checkpoint: string,
  config: { batch: number; seed: number },
  vocabulary: Vocabulary,
): Promise<Trained> {
  const like = network.init(L.random.key(config.seed), config.batch);
  const { params } = await loadCheckpoint(checkpoint, model, like);
  const embedding = network.embedding;
  return {
    perplexity: (stream) => perplexity(network, params, stream),
    tokenLogProbs: (stream) => tokenLogProbs(network, params, stream),
    ...(embedding
      ? {
        vectors: () => {
          const table = embedding(params);
          return { table: table.dataSync() as Float32Array, dim: table.shape[1] };
        },
      }
      : {}),
    nextLogProbs: nextTokenScorer(network, params, vocabulary.words.length),
  };
}

/** The log-probabilities of the token after a context (the start of a sentence before it). */
function nextTokenScorer<P>(network: LmNetwork<P>, params: P, words: number) {
  const { layout, width } = network;
  return (context: Int32Array): Float64Array => {
    const history = [0, ...context]; // the end-of-sentence token: a sentence starts
    let inputs: number[];
    if (layout === "window") {
      inputs = history.slice(-width);
      while (inputs.length < width) inputs.unshift(0);
    } else if (layout === "chunk") inputs = history.slice(-width);
    else inputs = history;
    const x = L.tensor(Int32Array.from(inputs), { shape: [1, inputs.length], dtype: "int32" });
    const carry = network.zeroCarry?.(1) ?? [];
    const logits = network.forward(params, x, carry).logits;
    const last = logits.reshape([-1, words]);
    const row = L.logSoftmax(last.slice([last.shape[0] - 1, 0], [1, words]), -1).dataSync();
    return Float64Array.from(row as Float32Array);
  };
}

/**
 * The network of a model that is one layer from ids to logits (no carried state): Bengio's, the one-hot
 * LM's, the Transformer's. `embedded`: the layer's first params are an embedding table (vectors.txt);
 * `stochastic`: the layer has dropout (training applies it with `{ training: true, key }`).
 *
 * @example
 * ```ts
 * import { nn, random, zeros } from "../../mod.ts";
 * import { layerNetwork } from "./language_model.ts";
 * const network = layerNetwork(nn.serial(nn.embed(10, 4), nn.dense(10)), "chunk", 3, true);
 * const params = network.init(random.key(0), 2);
 * if (network.forward(params, zeros([2, 3], "int32"), []).logits.shape.join() !== "2,3,10") throw new Error();
 * ```
 */
export function layerNetwork(
  layer: nn.AnyLayer,
  layout: "window" | "chunk",
  width: number,
  embedded: boolean,
  stochastic = false,
): LmNetwork<nn.Params> {
  return {
    layout,
    width,
    init: (key, rows) => layer.init(key, [rows, width]).params,
    forward: (params, inputs, carry, key) => ({
      logits: layer.apply(params, inputs, key ? { training: true, key } : {}) as L.Tensor,
      carry,
    }),
    stochastic,
    ...(embedded ? { embedding: (params: nn.Params) => (params as [nn.EmbedParams])[0].table } : {}),
  };
}

/**
 * The spec of a neural LM from its network: trained by {@linkcode trainLm}, loaded by {@linkcode loadLm}.
 *
 * @example
 * ```ts
 * import { nn } from "../../mod.ts";
 * import { int } from "../spec.ts";
 * import { layerNetwork, lmFields, neuralLm } from "./language_model.ts";
 * const tiny = neuralLm({
 *   name: "tiny", title: "a tiny LM",
 *   fields: { width: int(3, "context"), ...lmFields({ lr: 1e-3, batch: 8, epochs: 1 }) },
 *   network: (vocabulary, config) => layerNetwork(nn.serial(nn.embed(vocabulary, 4), nn.dense(vocabulary)), "chunk", config.width, true),
 * });
 * if (tiny.kind !== "lm") throw new Error();
 * ```
 */
export function neuralLm<F extends Fields>(options: {
  name: string;
  title: string;
  fields: F;
  network: (vocabulary: number, config: ConfigOf<F>) => LmNetwork<nn.Params>;
}): ModelSpec<F> {
  const { name, network } = options;
  return defineModel({
    name,
    title: options.title,
    kind: "lm",
    fields: options.fields,
    train: (context) =>
      trainLm(
        name,
        network(context.vocabulary.words.length, context.config),
        context as unknown as TrainContext<LmTraining>,
      ),
    load: (checkpoint, config, vocabulary) =>
      loadLm(
        name,
        network(vocabulary.words.length, config),
        checkpoint,
        config as unknown as LmTraining,
        vocabulary,
      ),
  });
}
