/**
 * Neural language models, trained with cross-entropy and evaluated by perplexity (`exp` of the mean negative
 * log-likelihood per token):
 * - `bengio`: the neural probabilistic language model of Bengio, Ducharme, Vincent and Jauvin (2003): the
 *   previous n − 1 words are looked up in a learned embedding table, concatenated, passed through a tanh hidden
 *   layer, and a softmax over the vocabulary gives the next word's distribution.
 * - `lstm`, `gru`, `rnn`: recurrent LMs (Mikolov et al., 2010; Zaremba et al., 2014): embedding, stacked
 *   recurrent layers, a softmax at every step, trained on chunks of `steps` tokens unrolled through time. By
 *   default (`carryState`) the text is cut into `batch` rows read in order and each chunk starts from the
 *   state the previous chunk of its row ended in (truncated backpropagation through time); without it each
 *   chunk starts from zeros.
 * - `transformer`: a decoder-only Transformer (pre-norm blocks of causal self-attention and a GELU MLP, with
 *   residuals, learned positions) over the same chunks.
 *
 * A model is an `nn` combinator (embed → concat → dense tanh → dense); training is resumable with atomic
 * checkpoints (params, Adam state, position in the shuffled epoch) and stops before saving non-finite values.
 * @module
 */
import * as L from "../mod.ts";
import { nn } from "../mod.ts";
import type { Vocabulary } from "./corpus.ts";
import { assertFiniteParams, fileExists, loadRun, NonFiniteLossError, saveRun } from "./guard.ts";

/**
 * Hyperparameters of a neural LM.
 *
 * @example
 * ```ts
 * import { NLM_DEFAULTS, type NlmConfig } from "./nlm.ts";
 * const config: NlmConfig = { ...NLM_DEFAULTS, hidden: 200 };
 * if (config.context !== 4) throw new Error();
 * ```
 */
export interface NlmConfig {
  /** The model: Bengio's feed-forward LM or a recurrent one. */
  architecture: "bengio" | "lstm" | "gru" | "rnn" | "transformer";
  /** Bengio: words of context, n − 1. */
  context: number;
  /** Recurrent: tokens per chunk (steps unrolled through time). */
  steps: number;
  /** Recurrent: stacked recurrent layers; transformer: blocks. */
  layers: number;
  /** Transformer: attention heads (they divide `embedding`). */
  heads: number;
  /** Size of a word's embedding (m in the paper). */
  embedding: number;
  /** Units of the tanh hidden layer (h), or of each recurrent layer. */
  hidden: number;
  /** Adam's learning rate. */
  lr: number;
  /** Examples per batch: positions (Bengio) or chunks (recurrent). */
  batch: number;
  /** Passes over the training stream. */
  epochs: number;
  /** Seed of the initial params and of the order of positions. */
  seed: number;
  /**
   * Recurrent: carry each chunk's final state into the next chunk of its row (truncated backpropagation
   * through time, as in Zaremba et al.). The stream is cut into `batch` rows that are read in order, so a
   * chunk's first token is predicted from everything before it in its row, in training and in
   * {@linkcode perplexity}. When false (and in checkpoints from before this option) every chunk starts from
   * zeros and the chunks come in a random order.
   */
  carryState?: boolean;
}

/**
 * A 5-gram model (4 words of context) with the paper's sizes for Brown (m = 60 in its best runs without
 * direct connections; h = 100), trained with Adam in batches of 256 positions for 2 epochs.
 *
 * @example
 * ```ts
 * import { NLM_DEFAULTS } from "./nlm.ts";
 * if (NLM_DEFAULTS.context !== 4) throw new Error();
 * ```
 */
export const NLM_DEFAULTS: Readonly<NlmConfig> = {
  architecture: "bengio",
  context: 4,
  steps: 35,
  layers: 2,
  heads: 4,
  embedding: 60,
  hidden: 100,
  lr: 1e-3,
  batch: 256,
  epochs: 2,
  seed: 1,
  carryState: false,
};

/**
 * Bengio's model as a layer: ids [batch, context] → logits [batch, vocabulary].
 *
 * @example
 * ```ts
 * import { random, tensor } from "../mod.ts";
 * import { bengioModel } from "./nlm.ts";
 * const model = bengioModel(50, { context: 3, embedding: 8, hidden: 16 });
 * const { params, outputShape } = model.init(random.key(0), [2, 3]);
 * const logits = model.apply(params, tensor([[1, 2, 3], [4, 5, 6]], { dtype: "int32" }));
 * if (outputShape.join() !== "2,50" || logits.shape.join() !== "2,50") throw new Error();
 * ```
 */
export function bengioModel(
  vocabulary: number,
  config: Pick<NlmConfig, "context" | "embedding" | "hidden">,
): nn.Layer<nn.Ids, number> {
  return nn.serial(
    nn.embed(vocabulary, config.embedding),
    nn.fn<number, number>((x) => (x as L.Tensor).reshape([(x as L.Tensor).shape[0], -1]), "concat"),
    nn.dense(config.hidden, { activation: "tanh" }),
    nn.dense(vocabulary),
  ) as nn.Layer<nn.Ids, number>;
}

/**
 * The defaults of an architecture: {@linkcode NLM_DEFAULTS} for Bengio's model; for the recurrent ones the
 * "small" configuration of Zaremba et al. (2014): 2 layers of 200 units, embedding 200, chunks of 35 tokens,
 * batches of 20 chunks (Adam at 1e-3 here, 2 epochs).
 *
 * @example
 * ```ts
 * import { lmDefaultsFor } from "./nlm.ts";
 * const lstm = lmDefaultsFor("lstm");
 * if (lstm.hidden !== 200 || lstm.batch !== 20 || lmDefaultsFor("bengio").hidden !== 100) throw new Error();
 * ```
 */
export function lmDefaultsFor(architecture: NlmConfig["architecture"]): NlmConfig {
  if (architecture === "bengio") return { ...NLM_DEFAULTS };
  if (architecture === "transformer") {
    // nanoGPT's CPU configuration: 4 blocks of 4 heads over 128 features, blocks of 64 tokens, batch 12.
    return {
      ...NLM_DEFAULTS,
      architecture,
      embedding: 128,
      hidden: 512,
      layers: 4,
      heads: 4,
      steps: 64,
      batch: 12,
    };
  }
  return {
    ...NLM_DEFAULTS,
    architecture,
    embedding: 200,
    hidden: 200,
    layers: 2,
    steps: 35,
    batch: 20,
    carryState: true,
  };
}

const RECURRENT_CELLS = { lstm: nn.lstmCell, gru: nn.gruCell, rnn: nn.rnnCell } as const;

/** The layers of a recurrent LM: the cell is shared by every recurrent layer (a cell holds no params). */
function recurrentParts(
  vocabulary: number,
  config: Pick<NlmConfig, "architecture" | "embedding" | "hidden">,
) {
  const makeCell = RECURRENT_CELLS[config.architecture as keyof typeof RECURRENT_CELLS];
  if (!makeCell) {
    throw new RangeError(`languageModel: unknown architecture ${JSON.stringify(config.architecture)}`);
  }
  return {
    embed: nn.embed(vocabulary, config.embedding),
    cell: makeCell(config.hidden),
    dense: nn.dense(vocabulary),
  };
}

/** Whether `config` trains and scores a recurrent LM with carried states. */
const carriesState = (config: NlmConfig) =>
  Boolean(config.carryState) && config.architecture in RECURRENT_CELLS;

/**
 * Applies a recurrent LM (the params of {@linkcode languageModel}) to ids `[rows, steps]` from each layer's
 * state (zeros when `states` is absent), and returns the logits `[rows, steps, vocabulary]` with every layer's
 * state after the last step: the next chunk of the same rows continues from those.
 *
 * @example
 * ```ts
 * import { concat, random, tensor } from "../mod.ts";
 * import { applyRecurrentLm, languageModel, lmDefaultsFor } from "./nlm.ts";
 * const config = { ...lmDefaultsFor("lstm"), embedding: 4, hidden: 6, layers: 2 };
 * const { params } = languageModel(9, config).init(random.key(0), [1, 5]);
 * const ids = tensor([[1, 2, 3, 4, 5]], { dtype: "int32" });
 * const whole = applyRecurrentLm(9, config, params, ids).logits.dataSync();
 * const first = applyRecurrentLm(9, config, params, ids.slice([0, 0], [1, 3]));
 * const rest = applyRecurrentLm(9, config, params, ids.slice([0, 3], [1, 2]), first.states);
 * const joined = concat([first.logits, rest.logits], 1).dataSync();
 * if (joined.some((v, i) => Math.abs(v - whole[i]) > 1e-5)) throw new Error();
 * ```
 */
export function applyRecurrentLm(
  vocabulary: number,
  config: Pick<NlmConfig, "architecture" | "embedding" | "hidden" | "layers">,
  params: nn.Params,
  ids: L.Tensor,
  states?: readonly (readonly L.Tensor[])[],
): { logits: L.Tensor; states: L.Tensor[][] } {
  const carry = nn.carry(states);
  const logits = languageModel(vocabulary, config as NlmConfig).apply(params, ids, { carry }) as L.Tensor;
  return { logits, states: carry.states };
}

/** Zero states of every layer for `rows` rows. */
function zeroStates(config: NlmConfig, rows: number): L.Tensor[][] {
  const { cell } = recurrentParts(1, config);
  return Array.from({ length: config.layers }, () => cell.initialState(rows));
}

/**
 * Chunks per row when a stream is cut into `rows` rows of `ceil(length / rows)` tokens and read `steps`
 * tokens at a time (see {@linkcode fillRowChunks}).
 *
 * @example
 * ```ts
 * import { rowChunkCount } from "./nlm.ts";
 * if (rowChunkCount(100, 4, 10) !== 3) throw new Error(); // rows of 25 tokens: chunks of 10, 10 and 5
 * ```
 */
export function rowChunkCount(length: number, rows: number, steps: number): number {
  return Math.ceil(Math.ceil(length / rows) / steps);
}

/**
 * Fills `inputs` and `targets` (row-major [rows, steps]) with chunk `index` of every row, the stream being cut
 * into `rows` consecutive rows of `ceil(length / rows)` tokens (the last one shorter): the layout in which a
 * carried state follows its row from chunk to chunk. Targets past a row's end are -1 (ignored by the loss);
 * an input is the token before its target (`<eos>`, id 0, before the stream's first). Returns how many
 * targets are real; over the chunks of a pass every token is a target once.
 *
 * @example
 * ```ts
 * import { fillRowChunks } from "./nlm.ts";
 * const [inputs, targets] = [new Int32Array(4), new Int32Array(4)];
 * const stream = new Int32Array([5, 6, 7, 8, 9]); // rows [5 6 7] and [8 9]
 * const real = fillRowChunks(stream, 2, 2, 1, inputs, targets); // the second chunk of each row
 * if (real !== 1 || targets.join() !== "7,-1,-1,-1" || inputs.join() !== "6,0,0,0") throw new Error(`${targets}`);
 * ```
 */
export function fillRowChunks(
  stream: Int32Array,
  rows: number,
  steps: number,
  index: number,
  inputs: Int32Array,
  targets: Int32Array,
): number {
  const rowLength = Math.ceil(stream.length / rows);
  inputs.fill(0);
  targets.fill(-1);
  let real = 0;
  for (let row = 0; row < rows; row++) {
    const end = Math.min(stream.length, (row + 1) * rowLength);
    for (let t = 0; t < steps; t++) {
      const at = row * rowLength + index * steps + t;
      if (at >= end) break;
      targets[row * steps + t] = stream[at];
      inputs[row * steps + t] = at > 0 ? stream[at - 1] : 0;
      real++;
    }
  }
  return real;
}

/**
 * The model a config describes, as a layer from ids to logits: Bengio's ([batch, context] → [batch, vocab])
 * or a recurrent one ([batch, steps] → [batch, steps, vocab]).
 *
 * @example
 * ```ts
 * import { random, type Tensor, zeros } from "../mod.ts";
 * import { languageModel, lmDefaultsFor } from "./nlm.ts";
 * const model = languageModel(30, { ...lmDefaultsFor("gru"), embedding: 8, hidden: 8, layers: 1 });
 * const { params } = model.init(random.key(0), [2, 5]);
 * if ((model.apply(params, zeros([2, 5], "int32")) as Tensor).shape.join() !== "2,5,30") throw new Error();
 * ```
 */
export function languageModel(vocabulary: number, config: NlmConfig): nn.AnyLayer {
  const { architecture, layers } = config;
  if (architecture === "bengio") return bengioModel(vocabulary, config);
  if (architecture === "transformer") return transformerModel(vocabulary, config);
  const { embed, cell, dense } = recurrentParts(vocabulary, config);
  return nn.serial(embed, nn.repeat(layers, () => nn.recur(cell)), dense);
}

/**
 * A decoder-only Transformer LM as a layer, ids [batch, steps] → logits [batch, steps, vocab]: embedding and
 * learned positions, `layers` pre-norm blocks (causal self-attention with `heads` heads, then a GELU MLP of
 * `hidden` units, each in a residual), a final layer norm and the softmax layer.
 *
 * @example
 * ```ts
 * import { random, type Tensor, zeros } from "../mod.ts";
 * import { transformerModel } from "./nlm.ts";
 * const model = transformerModel(20, { embedding: 8, hidden: 16, layers: 1, heads: 2, steps: 6 });
 * const { params } = model.init(random.key(0), [2, 6]);
 * if ((model.apply(params, zeros([2, 6], "int32")) as Tensor).shape.join() !== "2,6,20") throw new Error();
 * ```
 */
export function transformerModel(
  vocabulary: number,
  config: Pick<NlmConfig, "embedding" | "hidden" | "layers" | "heads" | "steps">,
): nn.AnyLayer {
  const { embedding, hidden, layers, heads, steps } = config;
  return nn.serial(
    nn.embed(vocabulary, embedding),
    nn.positional("learned", steps),
    nn.repeat(layers, () =>
      nn.serial(
        nn.residual(nn.serial(nn.layerNorm(), nn.attend({ heads, causal: true }))),
        nn.residual(nn.serial(nn.layerNorm(), nn.dense(hidden, { activation: "gelu" }), nn.dense(embedding))),
      )),
    nn.layerNorm(),
    nn.dense(vocabulary),
  ) as nn.AnyLayer;
}

/**
 * Fills `inputs` and `targets` (row-major [rows, steps]) with the chunks of the stream starting at `starts`:
 * the targets are `stream[s .. s + steps)`, the inputs the same shifted by one (`<eos>`, id 0, before the
 * stream's first token), so that every token of the stream is a target once. Slots past the stream's end and
 * rows past `starts.length` get target -1 (ignored by the loss). Returns how many targets are real.
 *
 * @example
 * ```ts
 * import { fillChunks } from "./nlm.ts";
 * const [inputs, targets] = [new Int32Array(6), new Int32Array(6)];
 * const real = fillChunks(new Int32Array([7, 8, 9, 5]), [0, 3], 3, inputs, targets);
 * if (real !== 4 || inputs.join() !== "0,7,8,9,0,0" || targets.join() !== "7,8,9,5,-1,-1") {
 *   throw new Error(`${real} ${inputs} ${targets}`);
 * }
 * ```
 */
export function fillChunks(
  stream: Int32Array,
  starts: ArrayLike<number>,
  steps: number,
  inputs: Int32Array,
  targets: Int32Array,
): number {
  inputs.fill(0);
  targets.fill(-1);
  let real = 0;
  for (let row = 0; row < starts.length; row++) {
    for (let t = 0; t < steps; t++) {
      const at = starts[row] + t;
      if (at >= stream.length) break;
      targets[row * steps + t] = stream[at];
      inputs[row * steps + t] = at > 0 ? stream[at - 1] : 0;
      real++;
    }
  }
  return real;
}

/** How a config turns a stream into examples and batches. */
function examplesOf(config: NlmConfig) {
  const recurrent = config.architecture !== "bengio";
  const width = recurrent ? config.steps : config.context;
  return {
    /** Examples in a stream: every position, or every chunk start. */
    count: (length: number) => (recurrent ? Math.ceil(length / config.steps) : length),
    /** The shapes of a batch of `rows` examples. */
    inputShape: (rows: number) => [rows, width],
    targetShape: (rows: number) => (recurrent ? [rows, config.steps] : [rows]),
    /** Fills a batch from example indices; returns the number of real targets. */
    fill(stream: Int32Array, indices: ArrayLike<number>, inputs: Int32Array, targets: Int32Array): number {
      if (!recurrent) {
        fillWindows(stream, indices, config.context, inputs, targets);
        return indices.length;
      }
      const starts = Array.from(indices, (i) => i * config.steps);
      return fillChunks(stream, starts, config.steps, inputs, targets);
    },
  };
}

/**
 * Fills `contexts` (row-major [rows, context]) and `targets` with the windows ending at `positions` of the
 * stream: the target is `stream[t]`, the context the `context` ids before it (the first ones padded with id 0,
 * `<eos>`, as if a sentence had just ended). Rows past `positions.length` get target -1 (ignored by the loss).
 *
 * @example
 * ```ts
 * import { fillWindows } from "./nlm.ts";
 * const [contexts, targets] = [new Int32Array(6), new Int32Array(3)];
 * fillWindows(new Int32Array([7, 8, 9]), [0, 2], 2, contexts, targets);
 * if (contexts.join() !== "0,0,7,8,0,0" || targets.join() !== "7,9,-1") throw new Error(`${contexts} ${targets}`);
 * ```
 */
export function fillWindows(
  stream: Int32Array,
  positions: ArrayLike<number>,
  context: number,
  contexts: Int32Array,
  targets: Int32Array,
): void {
  contexts.fill(0);
  targets.fill(-1);
  for (let row = 0; row < positions.length; row++) {
    const t = positions[row];
    targets[row] = stream[t];
    for (let j = 0; j < context; j++) {
      const at = t - context + j;
      if (at >= 0) contexts[row * context + j] = stream[at];
    }
  }
}

/** The positions of one epoch in a seeded random order (Fisher–Yates with xorshift32). */
function epochOrder(length: number, seed: number, epoch: number): Int32Array {
  const order = Int32Array.from({ length }, (_, i) => i);
  let s = ((seed * 2654435761) ^ (epoch * 40503 + 1)) >>> 0 || 1;
  for (let i = length - 1; i > 0; i--) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    const j = s % (i + 1);
    [order[i], order[j]] = [order[j], order[i]];
  }
  return order;
}

/** The mean negative log-likelihood of a batch's targets (rows with target -1 do not count). */
function batchLoss(model: nn.AnyLayer, params: nn.Params, contexts: L.Tensor, targets: L.Tensor): L.Tensor {
  const logits = model.apply(params, contexts) as L.Tensor;
  return L.loss.crossEntropy(logits, targets, { ignoreIndex: -1 });
}

/** The vocabulary size of a recurrent LM's params (its embedding table's rows). */
const vocabularyOfParams = (params: nn.Params) =>
  ((params as nn.Params[])[0] as nn.EmbedParams).table.shape[0];

/**
 * `batchLoss` of a recurrent LM from carried states: `[loss, states after the chunk]`, for `hasAux`
 * (the states pass through undifferentiated, so gradients stop at the chunk's start).
 */
function carriedLoss(
  config: NlmConfig,
  params: nn.Params,
  inputs: L.Tensor,
  targets: L.Tensor,
  states: L.Tensor[][],
): [L.Tensor, L.Tensor[][]] {
  const out = applyRecurrentLm(vocabularyOfParams(params), config, params, inputs, states);
  return [L.loss.crossEntropy(out.logits, targets, { ignoreIndex: -1 }), out.states];
}

/** Perplexity with carried states: the stream cut into `rows` rows, each read in order from zeros. */
function carriedPerplexity(params: nn.Params, stream: Int32Array, config: NlmConfig, rows: number): number {
  const evaluate = L.jit((p: nn.Params, x: L.Tensor, y: L.Tensor, s: L.Tensor[][]) =>
    carriedLoss(config, p, x, y, s)
  );
  const shape = [rows, config.steps];
  const [inputs, targets] = [new Int32Array(rows * config.steps), new Int32Array(rows * config.steps)];
  let states = zeroStates(config, rows);
  let nll = 0;
  for (let index = 0; index < rowChunkCount(stream.length, rows, config.steps); index++) {
    const real = fillRowChunks(stream, rows, config.steps, index, inputs, targets);
    let loss: L.Tensor;
    [loss, states] = evaluate(
      params,
      L.tensor(inputs, { shape, dtype: "int32" }),
      L.tensor(targets, { shape, dtype: "int32" }),
      states,
    );
    nll += loss.item() * real;
  }
  return Math.exp(nll / stream.length);
}

/**
 * Perplexity of `params` on a stream: `exp` of the mean negative log-likelihood of every token, each given
 * the `context` tokens before it (Bengio), the tokens before it in its chunk (Transformer, recurrent without
 * `carryState`), or, with `carryState`, every token before it in its row, the stream being cut into `batch`
 * rows read in order. Batches hold `batch` examples (chunks, or positions for Bengio).
 *
 * @example
 * ```ts
 * import { random } from "../mod.ts";
 * import { languageModel, NLM_DEFAULTS, perplexity } from "./nlm.ts";
 * const config = { ...NLM_DEFAULTS, context: 2, embedding: 4, hidden: 8 };
 * const model = languageModel(10, config);
 * const { params } = model.init(random.key(0), [1, 2]);
 * // An untrained model is about as unsure as a guess among the 10 words (its logits are not all equal).
 * const p = perplexity(model, params, new Int32Array([1, 2, 3, 4, 5]), config, 4);
 * if (!(p > 5 && p < 40)) throw new Error(String(p));
 * ```
 */
export function perplexity(
  model: nn.AnyLayer,
  params: nn.Params,
  stream: Int32Array,
  config: NlmConfig,
  batch = config.architecture === "bengio" ? 1024 : 32,
): number {
  if (carriesState(config)) return carriedPerplexity(params, stream, config, batch);
  const examples = examplesOf(config);
  const evaluate = L.jit((p: nn.Params, x: L.Tensor, y: L.Tensor) => batchLoss(model, p, x, y));
  const [inputShape, targetShape] = [examples.inputShape(batch), examples.targetShape(batch)];
  const inputs = new Int32Array(inputShape[0] * inputShape[1]);
  const targets = new Int32Array(targetShape.reduce((a, b) => a * b, 1));
  const total = examples.count(stream.length);
  let nll = 0;
  for (let start = 0; start < total; start += batch) {
    const indices = Array.from({ length: Math.min(batch, total - start) }, (_, i) => start + i);
    const real = examples.fill(stream, indices, inputs, targets);
    const x = L.tensor(inputs, { shape: inputShape, dtype: "int32" });
    nll += evaluate(params, x, L.tensor(targets, { shape: targetShape, dtype: "int32" })).item() * real;
  }
  return Math.exp(nll / stream.length);
}

/**
 * Where a run is in its epochs.
 *
 * @example
 * ```ts
 * import type { NlmPosition } from "./nlm.ts";
 * const start: NlmPosition = { epoch: 0, offset: 0 };
 * if (start.offset !== 0) throw new Error();
 * ```
 */
export interface NlmPosition {
  /** Passes completed. */
  epoch: number;
  /** Examples (positions or chunks) of the current pass already trained on; with carried states, steps. */
  offset: number;
}

/**
 * What {@linkcode trainNlm} reports every so often.
 *
 * @example
 * ```ts
 * import type { NlmProgress } from "./nlm.ts";
 * const show = (p: NlmProgress) => `step ${p.step}: perplexity ${Math.exp(p.loss).toFixed(0)}`;
 * if (!show({ step: 1, position: { epoch: 0, offset: 5 }, loss: Math.log(100), tokensPerSecond: 1 }).endsWith("100")) {
 *   throw new Error();
 * }
 * ```
 */
export interface NlmProgress {
  /** Steps done since the start of the run. */
  step: number;
  /** Where the run is. */
  position: NlmPosition;
  /** Mean training loss (nats per token) since the last report. */
  loss: number;
  /** Tokens per second since the last report. */
  tokensPerSecond: number;
  /** Validation perplexity, in the report at the end of each epoch. */
  validPerplexity?: number;
}

/**
 * Options of {@linkcode trainNlm}.
 *
 * @example
 * ```ts
 * import { encodeStream, lmVocabulary } from "./corpus.ts";
 * import type { TrainNlmOptions } from "./nlm.ts";
 * const text = [["a", "b"]];
 * const vocabulary = lmVocabulary(text);
 * const options: TrainNlmOptions = { train: encodeStream(text, vocabulary), vocabulary, config: { epochs: 1 } };
 * if (options.train.length !== 3) throw new Error();
 * ```
 */
export interface TrainNlmOptions {
  /** Training stream (from `encodeStream`). */
  train: Int32Array;
  /** Validation stream, scored at the end of each epoch. */
  valid?: Int32Array;
  /** The vocabulary of the streams (saved in checkpoints). */
  vocabulary: Vocabulary;
  /** Hyperparameters (default {@linkcode NLM_DEFAULTS}). */
  config?: Partial<NlmConfig>;
  /** Where to write checkpoints (atomically); none when absent. */
  checkpoint?: string;
  /** Continue from `checkpoint` if the file exists (its config wins over `config`). */
  resume?: boolean;
  /** Seconds between checkpoints (default 60); one is also written at the end of each epoch. */
  checkpointSeconds?: number;
  /** Called about every `reportSeconds` (default 2) and at the end of each epoch. */
  onProgress?: (progress: NlmProgress) => void;
  /** Seconds between progress reports. */
  reportSeconds?: number;
  /** Stop (and checkpoint) after this many steps in total. */
  maxSteps?: number;
}

/**
 * What {@linkcode trainNlm} returns.
 *
 * @example
 * ```ts
 * import { encodeStream, lmVocabulary } from "./corpus.ts";
 * import { type TrainedNlm, trainNlm } from "./nlm.ts";
 * const text = [["a", "b"]];
 * const vocabulary = lmVocabulary(text);
 * const run: TrainedNlm = await trainNlm({ train: encodeStream(text, vocabulary), vocabulary, config: { batch: 4, epochs: 1 } });
 * if (!run.finished || run.steps !== 1) throw new Error();
 * ```
 */
export interface TrainedNlm {
  /** The model (to apply the params with, or to score a test stream with {@linkcode perplexity}). */
  model: nn.AnyLayer;
  /** The trained params. */
  params: nn.Params;
  /** The config it ran with. */
  config: NlmConfig;
  /** Steps done in total. */
  steps: number;
  /** Whether every epoch was done (false after `maxSteps`). */
  finished: boolean;
}

/**
 * Trains a neural LM (`config.architecture`, Bengio's by default) on a stream with Adam (the embedding's
 * gradient is sparse rows, updated lazily), examples in a new random order each epoch; with `carryState` (the
 * recurrent default) the rows are read in order instead, each chunk continuing from its row's state, which a
 * checkpoint saves too.
 *
 * @example
 * ```ts
 * import { encodeStream, lmVocabulary } from "./corpus.ts";
 * import { perplexity, trainNlm } from "./nlm.ts";
 * const text = Array.from({ length: 40 }, () => ["the", "cat", "sat", "down"]);
 * const vocabulary = lmVocabulary(text);
 * const stream = encodeStream(text, vocabulary);
 * const run = await trainNlm({ train: stream, vocabulary, config: { embedding: 8, hidden: 16, batch: 32, epochs: 8, lr: 0.02 } });
 * // The sentence repeats, so a trained model predicts every next word with near certainty.
 * if (!(perplexity(run.model, run.params, stream, run.config) < 1.5)) throw new Error();
 * ```
 */
export async function trainNlm(options: TrainNlmOptions): Promise<TrainedNlm> {
  const { train, valid, vocabulary, checkpoint } = options;
  let config: NlmConfig = { ...lmDefaultsFor(options.config?.architecture ?? "bengio"), ...options.config };
  let model = languageModel(vocabulary.words.length, config);
  let params = model.init(L.random.key(config.seed), examplesOf(config).inputShape(config.batch)).params;
  let position: NlmPosition = { epoch: 0, offset: 0 };
  let resumed: L.optim.OptimizerState | undefined;
  let resumedStates: L.Tensor[][] | undefined;
  if (options.resume && checkpoint && await fileExists(checkpoint)) {
    const saved = await loadNlm(checkpoint);
    if (saved.vocabulary.words.join("\n") !== vocabulary.words.join("\n")) {
      throw new Error(
        `nlm: ${checkpoint} was trained with another vocabulary (${saved.vocabulary.words.length} words, ` +
          `this corpus has ${vocabulary.words.length}); resume on the same corpus and minCount, or start anew`,
      );
    }
    ({ config, params, position } = saved);
    model = languageModel(vocabulary.words.length, config);
    resumed = saved.optimizerState;
    resumedStates = saved.carried;
  }
  const opt = L.optim.adam({ lr: config.lr });
  let state = resumed ?? opt.init(params);
  const carried = carriesState(config);
  // With carried states, each step continues every row from where the last one left it (see fillRowChunks).
  const carriedStep = L.jit(
    (p: nn.Params, s: L.optim.OptimizerState, x: L.Tensor, y: L.Tensor, c: L.Tensor[][]) => {
      const [[value, states], grads] = L.valueAndGrad(
        (q: nn.Params) => carriedLoss(config, q, x, y, c),
        { hasAux: true, sparse: true },
      )(p);
      const next = opt.update(grads, s, p);
      return [value, next.params, next.state, states] as const;
    },
    { donate: [0, 1] },
  );
  const step = L.jit((p: nn.Params, s: L.optim.OptimizerState, x: L.Tensor, y: L.Tensor) => {
    const [value, grads] = L.valueAndGrad((q: nn.Params) => batchLoss(model, q, x, y), { sparse: true })(p);
    const next = opt.update(grads, s, p);
    return [value, next.params, next.state] as const;
  }, { donate: [0, 1] });

  const { batch } = config;
  const examples = examplesOf(config);
  const [inputShape, targetShape] = [examples.inputShape(batch), examples.targetShape(batch)];
  const inputs = new Int32Array(inputShape[0] * inputShape[1]);
  const targets = new Int32Array(targetShape.reduce((a, b) => a * b, 1));
  const total = carried ? rowChunkCount(train.length, batch, config.steps) : examples.count(train.length);
  let steps = state.step.item();
  // Carried states read the rows in order; otherwise the examples come in a new random order each epoch.
  const orderOf = (epoch: number) => carried ? new Int32Array(0) : epochOrder(total, config.seed, epoch);
  let order = orderOf(position.epoch);
  let carriedStates = carried ? (position.offset > 0 && resumedStates) || zeroStates(config, batch) : [];
  let [lossSum, tokensSum, tokensSince] = [0, 0, 0];
  let [lastReport, lastCheckpoint] = [performance.now(), performance.now()];
  const report = (validPerplexity?: number) => {
    const now = performance.now();
    options.onProgress?.({
      step: steps,
      position: { ...position },
      loss: lossSum / tokensSum,
      tokensPerSecond: tokensSince / ((now - lastReport) / 1000),
      validPerplexity,
    });
    [lossSum, tokensSum, tokensSince, lastReport] = [0, 0, 0, now];
  };
  const save = async () => {
    if (!checkpoint) return;
    assertFiniteParams("nlm", params, steps, checkpoint);
    const run = { params, optimizerState: state, config, vocabulary, position };
    await saveNlm(checkpoint, carried ? { ...run, carried: carriedStates } : run);
    lastCheckpoint = performance.now();
  };
  let finished = false;
  for (;;) {
    if (position.epoch >= config.epochs) {
      finished = true;
      break;
    }
    if (options.maxSteps !== undefined && steps >= options.maxSteps) break;
    const count = carried ? 1 : Math.min(batch, total - position.offset);
    const real = carried
      ? fillRowChunks(train, batch, config.steps, position.offset, inputs, targets)
      : examples.fill(train, order.subarray(position.offset, position.offset + count), inputs, targets);
    const x = L.tensor(inputs, { shape: inputShape, dtype: "int32" });
    const y = L.tensor(targets, { shape: targetShape, dtype: "int32" });
    let value: L.Tensor;
    if (carried) [value, params, state, carriedStates] = carriedStep(params, state, x, y, carriedStates);
    else [value, params, state] = step(params, state, x, y);
    steps++;
    const loss = value.item();
    if (!Number.isFinite(loss)) throw new NonFiniteLossError("nlm", steps, loss, checkpoint);
    [lossSum, tokensSum, tokensSince] = [lossSum + loss * real, tokensSum + real, tokensSince + real];
    position.offset += count;
    const now = performance.now();
    if (position.offset >= total) {
      position = { epoch: position.epoch + 1, offset: 0 };
      order = orderOf(position.epoch);
      if (carried) carriedStates = zeroStates(config, batch);
      report(valid ? perplexity(model, params, valid, config) : undefined);
      await save();
      continue;
    }
    if (now - lastReport >= 1000 * (options.reportSeconds ?? 2)) {
      report();
      // A task boundary lets the finalizers return dropped batches' buffers to the allocator.
      await new Promise((resolve) => setTimeout(resolve, 0));
    }
    if (now - lastCheckpoint >= 1000 * (options.checkpointSeconds ?? 60)) await save();
  }
  if (tokensSum > 0) report();
  await save();
  return { model, params, config, steps, finished };
}

/**
 * An NLM checkpoint: everything needed to use the model or to continue training.
 *
 * @example
 * ```ts
 * import type { NlmCheckpoint } from "./nlm.ts";
 * const epochOf = (c: NlmCheckpoint) => c.position.epoch;
 * if (typeof epochOf !== "function") throw new Error();
 * ```
 */
export interface NlmCheckpoint {
  /** The params. */
  params: nn.Params;
  /** Adam's state. */
  optimizerState: L.optim.OptimizerState;
  /** The config of the run. */
  config: NlmConfig;
  /** The vocabulary (ids index the embedding and the softmax). */
  vocabulary: Vocabulary;
  /** Where the run was. */
  position: NlmPosition;
  /** With carried states: each layer's state that the next step continues from. */
  carried?: L.Tensor[][];
}

/**
 * Writes an NLM checkpoint atomically (safetensors; vocabulary, config and position in the metadata).
 *
 * @example
 * ```ts ignore
 * import { saveNlm } from "./nlm.ts";
 * await saveNlm("checkpoints/nlm.safetensors", checkpoint);
 * ```
 */
export async function saveNlm(path: string, c: NlmCheckpoint): Promise<void> {
  await saveRun(path, "bengio-nlm", c, { config: c.config, position: c.position });
}

/**
 * Reads a checkpoint written by {@linkcode saveNlm}; errors name the file and what it holds instead.
 *
 * @example
 * ```ts ignore
 * import { bengioModel, loadNlm } from "./nlm.ts";
 * const { params, config, vocabulary } = await loadNlm("checkpoints/nlm-brown.safetensors");
 * const model = bengioModel(vocabulary.words.length, config);
 * ```
 */
export async function loadNlm(path: string): Promise<NlmCheckpoint> {
  const { extra, ...run } = await loadRun<nn.Params>(path, "bengio-nlm");
  return { ...run, config: extra.config as NlmConfig, position: extra.position as NlmPosition };
}
