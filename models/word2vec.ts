/**
 * word2vec (Mikolov et al., 2013): skip-gram with negative sampling. Each word predicts the words around it;
 * the input table (one vector per word) is the embedding. Batches pack the (centre, context) pairs of
 * consecutive centre words densely, so that no compute goes to padding, and the update is sparse: the
 * gradients of both tables are rows (`SparseRows`), and with the params donated an SGD step writes only the
 * rows the batch touched.
 *
 * Training is resumable and never loses data: checkpoints are written atomically (`save`), hold the params,
 * the optimizer state and the batcher's position and random state, and a run resumed from one continues
 * bit for bit as if it had not stopped. A non-finite loss stops the run before anything is saved.
 * @module
 */
import * as L from "../mod.ts";
import { type EncodedCorpus, type Vocabulary, vocabularyOf } from "./corpus.ts";

/** Hyperparameters of a skip-gram run (word2vec.c's names in brackets). */
export interface SkipGramConfig {
  /** Embedding size [-size]. */
  dim: number;
  /** Largest distance of a context word [-window]; each centre word draws its own, from 1 to this. */
  window: number;
  /** Negative samples per pair [-negative], from the unigram distribution to the 3/4. */
  negatives: number;
  /** Frequent-word subsampling threshold [-sample]; 0 keeps every word. */
  subsample: number;
  /** Learning rate at the start [-alpha]; it falls linearly to 10⁻⁴ of itself over the run. */
  lr: number;
  /** Passes over the corpus [-iter]. */
  epochs: number;
  /** (centre, context) pairs per batch (a centre word's pairs all go in one batch). */
  pairs: number;
  /** Seed of the initial vectors and of the batcher's random draws. */
  seed: number;
}

/**
 * word2vec.c's defaults for skip-gram (`-size 100 -window 5 -negative 5 -sample 1e-3 -alpha 0.025 -iter 5`)
 * and batches of 1,536 pairs (about 256 centre words).
 *
 * @example
 * ```ts
 * import { SKIP_GRAM_DEFAULTS } from "./word2vec.ts";
 * if (SKIP_GRAM_DEFAULTS.window !== 5) throw new Error();
 * ```
 */
export const SKIP_GRAM_DEFAULTS: Readonly<SkipGramConfig> = {
  dim: 100,
  window: 5,
  negatives: 5,
  subsample: 1e-3,
  lr: 0.025,
  epochs: 5,
  pairs: 1536,
  seed: 1,
};

/** The two tables: `input` (the embeddings) and `output` (the vectors words are predicted with). */
export interface SkipGramParams {
  /** [vocabulary, dim], uniform in ±0.5/dim as in word2vec.c. */
  input: L.Tensor;
  /** [vocabulary, dim], zeros. */
  output: L.Tensor;
}

/**
 * Initial tables for a vocabulary of `words` words.
 *
 * @example
 * ```ts
 * import { random } from "../mod.ts";
 * import { initSkipGram } from "./word2vec.ts";
 * const p = initSkipGram(10, 4, random.key(0));
 * if (p.input.shape.join() !== "10,4" || p.output.sum().item() !== 0) throw new Error();
 * ```
 */
export function initSkipGram(words: number, dim: number, key: L.Tensor): SkipGramParams {
  return {
    input: L.random.uniform(key, [words, dim], { minval: -0.5 / dim, maxval: 0.5 / dim }),
    output: L.zeros([words, dim]),
  };
}

/**
 * The negative-sampling loss of a batch, summed over its real pairs (`mask` 1): for each pair
 * `-log σ(u·v) - Σ_k log σ(-u·n_k)`, with u the centre's input vector, v the context's output vector and
 * n_k those of the negatives. Shapes: centre and context [P] (int32), negatives [P, K], mask [P].
 *
 * @example
 * ```ts
 * import { tensor } from "../mod.ts";
 * import { skipGramLoss } from "./word2vec.ts";
 * const p = { input: tensor([[1, 0], [0, 1]]), output: tensor([[0, 0], [0, 0]]) };
 * const ids = tensor([0], { dtype: "int32" });
 * const loss = skipGramLoss(p, ids, ids, tensor([[1]], { dtype: "int32" }), tensor([1]));
 * if (Math.abs(loss.item() - 2 * Math.log(2)) > 1e-6) throw new Error(); // σ(0) twice
 * ```
 */
export function skipGramLoss(
  p: SkipGramParams,
  centre: L.Tensor,
  context: L.Tensor,
  negatives: L.Tensor,
  mask: L.Tensor,
): L.Tensor {
  const u = L.take(p.input, centre); // [P, D]
  const positive = L.take(p.output, context).mul(u).sum(-1); // [P]
  const negative = L.take(p.output, negatives).mul(u.unsqueeze(1)).sum(-1); // [P, K]
  return L.softplus(positive.neg()).add(L.softplus(negative).sum(-1)).mul(mask).sum();
}

/** Where a {@linkcode PairBatcher} is: enough to continue exactly from there. */
export interface BatcherState {
  /** Passes completed. */
  epoch: number;
  /** The sentence being read. */
  sentence: number;
  /** The next centre word, as a position in the sentence after subsampling. */
  position: number;
  /** The random state when the sentence was subsampled (to subsample it again the same way). */
  sentenceSeed: number;
  /** The random state now. */
  seed: number;
  /** Tokens read since the start of the run (subsampled ones included), for the learning rate. */
  wordsRead: number;
}

/** One batch, in arrays the batcher reuses (copy them to keep them). */
export interface PairBatch {
  /** [pairs] centre ids; slots past `pairs` are 0 and masked out. */
  centre: Int32Array;
  /** [pairs] context ids. */
  context: Int32Array;
  /** [pairs · negatives] negative ids. */
  negatives: Int32Array;
  /** [pairs] 1 for a real pair, 0 for an empty slot. */
  mask: Float32Array;
  /** Real pairs in the batch. */
  pairs: number;
  /** Corpus tokens read to make it (subsampled ones included). */
  words: number;
}

/**
 * Makes skip-gram batches from an encoded corpus, as word2vec.c reads it: sentence by sentence, frequent
 * words dropped at random (kept with probability `(√(f/t) + 1)·t/f` for a word of frequency f), then for each
 * centre word a window of 1 to `window` words on each side, inside the sentence. Negatives come from the
 * unigram distribution to the 3/4 through an alias table (exact, and two small arrays instead of word2vec.c's
 * 10⁸-entry table). Random draws are a seeded xorshift32, so batches are reproducible and resumable.
 *
 * @example
 * ```ts
 * import { PairBatcher } from "./word2vec.ts";
 * const corpus = { ids: new Int32Array([0, 1, 2, 0, 1]), starts: new Int32Array([0, 5]) };
 * const config = { dim: 2, window: 1, negatives: 2, subsample: 0, lr: 0.1, epochs: 1, pairs: 4, seed: 3 };
 * const batcher = new PairBatcher(corpus, new Int32Array([2, 2, 1]), config);
 * const batch = batcher.next()!;
 * // Window 1: the first centre (0) has one pair, the next ones two each; a batch of 4 takes three centres.
 * if (batch.pairs !== 3 || batch.words !== 2 || batch.centre.slice(0, 3).join() !== "0,1,1") {
 *   throw new Error(`${batch.pairs} ${batch.words} ${batch.centre}`);
 * }
 * ```
 */
export class PairBatcher {
  private readonly keepBelow: Float64Array;
  private readonly aliasKeep: Float32Array;
  private readonly alias: Int32Array;
  private readonly filtered: Int32Array;
  private filteredLength = 0;
  private at: BatcherState;
  private readonly batch: PairBatch;

  constructor(
    private readonly corpus: EncodedCorpus,
    counts: Int32Array,
    private readonly config: SkipGramConfig,
    state?: BatcherState,
  ) {
    const { window, pairs, negatives } = config;
    if (!(Number.isInteger(window) && window >= 1)) {
      throw new RangeError(`window must be >= 1, got ${window}`);
    }
    if (!(pairs >= 2 * window)) {
      throw new RangeError(
        `pairs (${pairs}) must hold one centre word's pairs: at least 2 · window = ${2 * window}`,
      );
    }
    const total = counts.reduce((a, b) => a + b, 0);
    // Keep probability of each word, as a threshold on a uniform 32-bit draw.
    this.keepBelow = Float64Array.from(counts, (c) => {
      if (config.subsample <= 0) return 2 ** 32;
      const threshold = config.subsample * total;
      return Math.min(1, (Math.sqrt(c / threshold) + 1) * threshold / c) * 2 ** 32;
    });
    ({ keep: this.aliasKeep, alias: this.alias } = aliasTable(Array.from(counts, (c) => c ** 0.75)));
    let longest = 0;
    for (let s = 0; s + 1 < corpus.starts.length; s++) {
      longest = Math.max(longest, corpus.starts[s + 1] - corpus.starts[s]);
    }
    this.filtered = new Int32Array(longest);
    this.batch = {
      centre: new Int32Array(pairs),
      context: new Int32Array(pairs),
      negatives: new Int32Array(pairs * negatives),
      mask: new Float32Array(pairs),
      pairs: 0,
      words: 0,
    };
    const seed = (config.seed * 2654435761) >>> 0 || 1;
    this.at = { epoch: 0, sentence: 0, position: 0, sentenceSeed: seed, seed, wordsRead: 0 };
    this.subsampleSentence();
    if (state) this.restore(state);
  }

  /** A copy of where the batcher is. */
  get state(): BatcherState {
    return { ...this.at };
  }

  /** Moves to a state from {@linkcode PairBatcher.state} (of a batcher over the same corpus and config). */
  restore(state: BatcherState): void {
    this.at = { ...state, seed: state.sentenceSeed };
    this.subsampleSentence();
    this.at.seed = state.seed;
    this.at.position = state.position;
  }

  /** The next batch, or undefined once `config.epochs` passes are done. */
  next(): PairBatch | undefined {
    const { window, negatives } = this.config;
    const b = this.batch;
    const sentences = this.corpus.starts.length - 1;
    let [pairs, words] = [0, 0];
    while (this.at.epoch < this.config.epochs) {
      if (this.at.position >= this.filteredLength) {
        // Next sentence (and next pass at the end of the corpus); its dropped words count as read.
        words += this.corpus.starts[this.at.sentence + 1] - this.corpus.starts[this.at.sentence] -
          this.filteredLength;
        this.at.sentence++;
        if (this.at.sentence >= sentences) {
          this.at.sentence = 0;
          this.at.epoch++;
        }
        this.at.sentenceSeed = this.at.seed;
        this.subsampleSentence();
        continue;
      }
      const position = this.at.position;
      const seedBefore = this.at.seed;
      const reach = window - (this.random() % window);
      const first = Math.max(position - reach, 0);
      const last = Math.min(position + reach, this.filteredLength - 1);
      if (pairs + last - first > b.centre.length) {
        this.at.seed = seedBefore; // this word starts the next batch, with the same window
        break;
      }
      const centre = this.filtered[position];
      for (let at = first; at <= last; at++) {
        if (at === position) continue;
        b.centre[pairs] = centre;
        b.context[pairs++] = this.filtered[at];
      }
      this.at.position++;
      words++;
    }
    if (pairs === 0) return undefined;
    b.centre.fill(0, pairs);
    b.context.fill(0, pairs);
    b.mask.fill(1, 0, pairs);
    b.mask.fill(0, pairs);
    for (let i = 0; i < pairs * negatives; i++) {
      const column = this.random() % this.alias.length;
      b.negatives[i] = this.random() * 2 ** -32 < this.aliasKeep[column] ? column : this.alias[column];
    }
    b.negatives.fill(0, pairs * negatives);
    b.pairs = pairs;
    b.words = words;
    this.at.wordsRead += words;
    return b;
  }

  /** Draws the current sentence's kept words into `filtered` and starts at its first word. */
  private subsampleSentence(): void {
    const { starts, ids } = this.corpus;
    let length = 0;
    if (this.at.sentence < starts.length - 1) {
      for (let i = starts[this.at.sentence]; i < starts[this.at.sentence + 1]; i++) {
        const id = ids[i];
        if (this.keepBelow[id] >= 2 ** 32 || this.random() < this.keepBelow[id]) this.filtered[length++] = id;
      }
    }
    this.filteredLength = length;
    this.at.position = 0;
  }

  /** xorshift32: a 32-bit unsigned draw. */
  private random(): number {
    let s = this.at.seed;
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    this.at.seed = s >>> 0;
    return this.at.seed;
  }
}

/**
 * Walker's alias table (Vose's construction) for drawing i with probability weights[i] / Σ weights in O(1):
 * pick a column uniformly, keep it with probability keep[column], else take alias[column].
 *
 * @example
 * ```ts
 * import { aliasTable } from "./word2vec.ts";
 * const { keep, alias } = aliasTable([3, 1]);
 * // Column 1 carries 1/2 of the mass: it keeps word 1 half the time and gives word 0 otherwise.
 * if (keep[1] !== 0.5 || alias[1] !== 0 || keep[0] !== 1) throw new Error(`${keep} ${alias}`);
 * ```
 */
export function aliasTable(weights: readonly number[]): { keep: Float32Array; alias: Int32Array } {
  const n = weights.length;
  const total = weights.reduce((a, b) => a + b, 0);
  const scaled = weights.map((w) => (w * n) / total);
  const keep = new Float32Array(n).fill(1);
  const alias = Int32Array.from({ length: n }, (_, i) => i);
  const small = scaled.flatMap((p, i) => (p < 1 ? [i] : []));
  const large = scaled.flatMap((p, i) => (p >= 1 ? [i] : []));
  while (small.length > 0 && large.length > 0) {
    const [s, l] = [small.pop()!, large.pop()!];
    keep[s] = scaled[s];
    alias[s] = l;
    scaled[l] -= 1 - scaled[s];
    (scaled[l] < 1 ? small : large).push(l);
  }
  return { keep, alias };
}

/** What {@linkcode trainSkipGram} reports every so often and at the end. */
export interface TrainProgress {
  /** Steps done since the start of the run (resumed runs included). */
  step: number;
  /** Passes completed. */
  epoch: number;
  /** Tokens read since the start of the run. */
  wordsRead: number;
  /** Mean loss per pair since the last report. */
  loss: number;
  /** Tokens read per second since the last report. */
  wordsPerSecond: number;
  /** The learning rate of the last step. */
  lr: number;
}

/** Options of {@linkcode trainSkipGram}. */
export interface TrainSkipGramOptions {
  /** The corpus, encoded with `vocabulary`. */
  corpus: EncodedCorpus;
  /** Its vocabulary (saved in checkpoints, so that a checkpoint can be used on its own). */
  vocabulary: Vocabulary;
  /** Hyperparameters (default {@linkcode SKIP_GRAM_DEFAULTS}). */
  config?: Partial<SkipGramConfig>;
  /** Where to write checkpoints (atomically); none when absent. */
  checkpoint?: string;
  /** Continue from `checkpoint` if the file exists. */
  resume?: boolean;
  /** Seconds between checkpoints (default 60); one is always written at the end. */
  checkpointSeconds?: number;
  /** Called about every `reportSeconds` (default 2) and at the end. */
  onProgress?: (progress: TrainProgress) => void;
  /** Seconds between progress reports. */
  reportSeconds?: number;
  /** Stop (and checkpoint) after this many steps in total, as an interrupted run would. */
  maxSteps?: number;
}

/** What {@linkcode trainSkipGram} returns. */
export interface TrainedSkipGram {
  /** The trained tables. */
  params: SkipGramParams;
  /** The config it ran with. */
  config: SkipGramConfig;
  /** Steps done in total. */
  steps: number;
  /** Whether every epoch was done (false after `maxSteps`). */
  finished: boolean;
  /** The last progress report. */
  last: TrainProgress;
}

/**
 * The loss (or, checked before each checkpoint, the params) became NaN or infinite: the run stopped before
 * saving, and the last checkpoint is intact.
 *
 * @example
 * ```ts
 * import { NonFiniteLossError } from "./word2vec.ts";
 * const error = new NonFiniteLossError(7, NaN, "w2v.safetensors");
 * if (!error.message.includes("step 7") || !error.message.includes("w2v.safetensors")) throw error;
 * ```
 */
export class NonFiniteLossError extends Error {
  /** Builds the error; `what` is the value found not finite. */
  constructor(
    readonly step: number,
    readonly value: number,
    checkpoint: string | undefined,
    what: "loss" | "params" = "loss",
  ) {
    super(
      `skip-gram: ${what === "loss" ? "the loss" : "the sum of |params|"} at step ${step} is ${value}; ` +
        "training stopped and nothing was saved. " +
        (checkpoint ? `The last checkpoint, ${checkpoint}, is intact: resume from it ` : "Restart ") +
        "with a lower learning rate (config.lr).",
    );
  }
}

/**
 * Trains skip-gram on a corpus: the loop of word2vec.c with batches, on Loom's current backend. Resumes
 * from `checkpoint` when `resume` is set and the file exists (the config saved there wins over `config`).
 *
 * @example
 * ```ts
 * import { buildVocabulary, encode } from "./corpus.ts";
 * import { trainSkipGram } from "./word2vec.ts";
 * const text = Array.from({ length: 50 }, (_, i) => ["a", "b", "c", "d"].map((w) => w + (i % 2)));
 * const vocabulary = buildVocabulary(text);
 * const run = await trainSkipGram({
 *   corpus: encode(text, vocabulary),
 *   vocabulary,
 *   config: { dim: 8, pairs: 32, epochs: 2, subsample: 0 },
 * });
 * if (!run.finished || !(run.last.loss < 4.2)) throw new Error(JSON.stringify(run.last));
 * ```
 */
export async function trainSkipGram(options: TrainSkipGramOptions): Promise<TrainedSkipGram> {
  const { corpus, vocabulary, checkpoint } = options;
  let config: SkipGramConfig = { ...SKIP_GRAM_DEFAULTS, ...options.config };
  let params = initSkipGram(vocabulary.words.length, config.dim, L.random.key(config.seed));
  let batcherState: BatcherState | undefined;
  let resumedState: L.optim.OptimizerState | undefined;
  if (options.resume && checkpoint && await exists(checkpoint)) {
    const saved = await loadSkipGram(checkpoint);
    if (saved.vocabulary.words.join("\n") !== vocabulary.words.join("\n")) {
      throw new Error(
        `skip-gram: ${checkpoint} was trained with another vocabulary (${saved.vocabulary.words.length} words, ` +
          `this corpus has ${vocabulary.words.length}); resume on the same corpus and minCount, or start anew`,
      );
    }
    ({ config, params, batcherState } = saved);
    resumedState = saved.optimizerState;
  }
  const batcher = new PairBatcher(corpus, vocabulary.counts, config, batcherState);
  // word2vec.c's rate falls with the words read; here with the steps, whose count one dry pass measures.
  const stepsPerEpoch = countBatches(corpus, vocabulary.counts, config);
  const opt = L.optim.sgd({
    lr: L.optim.linearDecay({ from: config.lr, to: config.lr * 1e-4, steps: stepsPerEpoch * config.epochs }),
  });
  let state = resumedState ?? opt.init(params);
  const step = L.jit((p: SkipGramParams, s: L.optim.OptimizerState, ...batch: L.Tensor[]) => {
    const [value, g] = L.valueAndGrad(skipGramLoss)(p, ...batch as [L.Tensor, L.Tensor, L.Tensor, L.Tensor]);
    const next = opt.update(g, s, p);
    return [value, next.params, next.state] as const;
  }, { donate: [0, 1] });

  const reportMs = 1000 * (options.reportSeconds ?? 2);
  const checkpointMs = 1000 * (options.checkpointSeconds ?? 60);
  let steps = state.step.item();
  let [lossSum, pairSum, wordsSince] = [0, 0, 0];
  let [lastReport, lastCheckpoint] = [performance.now(), performance.now()];
  let last: TrainProgress = {
    step: steps,
    epoch: batcher.state.epoch,
    wordsRead: 0,
    loss: NaN,
    wordsPerSecond: 0,
    lr: config.lr,
  };
  const report = () => {
    const now = performance.now();
    last = {
      step: steps,
      epoch: batcher.state.epoch,
      wordsRead: batcher.state.wordsRead,
      loss: lossSum / pairSum,
      wordsPerSecond: wordsSince / ((now - lastReport) / 1000),
      lr: state.lr.item(),
    };
    options.onProgress?.(last);
    [lossSum, pairSum, wordsSince, lastReport] = [0, 0, 0, now];
  };
  const magnitude = L.jit((p: SkipGramParams) => p.input.abs().sum().add(p.output.abs().sum()));
  const save = async () => {
    if (!checkpoint) return;
    // The loss is computed before each update, so an update that overflows shows in the params first.
    const size = magnitude(params).item();
    if (!Number.isFinite(size)) throw new NonFiniteLossError(steps, size, checkpoint, "params");
    const batcherState = batcher.state;
    await saveSkipGram(checkpoint, { params, optimizerState: state, config, vocabulary, batcherState });
    lastCheckpoint = performance.now();
  };
  const { pairs: P, negatives: K } = config;
  let finished = false;
  for (;;) {
    if (options.maxSteps !== undefined && steps >= options.maxSteps) break;
    const batch = batcher.next();
    if (!batch) {
      finished = true;
      break;
    }
    let value: L.Tensor;
    [value, params, state] = step(
      params,
      state,
      L.tensor(batch.centre, { dtype: "int32" }),
      L.tensor(batch.context, { dtype: "int32" }),
      L.tensor(batch.negatives, { shape: [P, K], dtype: "int32" }),
      L.tensor(batch.mask),
    );
    steps++;
    const loss = value.item();
    if (!Number.isFinite(loss)) throw new NonFiniteLossError(steps, loss, checkpoint);
    [lossSum, pairSum, wordsSince] = [lossSum + loss, pairSum + batch.pairs, wordsSince + batch.words];
    const now = performance.now();
    if (now - lastReport >= reportMs) {
      report();
      // A task boundary lets the finalizers return dropped batches' buffers to the allocator.
      await new Promise((resolve) => setTimeout(resolve, 0));
    }
    if (now - lastCheckpoint >= checkpointMs) await save();
  }
  if (pairSum > 0) report();
  await save();
  return { params, config, steps, finished, last };
}

/** How many batches one pass over `corpus` makes with `config` (a dry run of the batcher). */
function countBatches(corpus: EncodedCorpus, counts: Int32Array, config: SkipGramConfig): number {
  const batcher = new PairBatcher(corpus, counts, { ...config, epochs: 1 });
  let batches = 0;
  while (batcher.next()) batches++;
  return Math.max(batches, 1);
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}

/** A skip-gram checkpoint: everything needed to use the embeddings or to continue training. */
export interface SkipGramCheckpoint {
  /** The tables. */
  params: SkipGramParams;
  /** The optimizer state (step and learning rate). */
  optimizerState: L.optim.OptimizerState;
  /** The config of the run. */
  config: SkipGramConfig;
  /** The vocabulary (ids are rows of the tables). */
  vocabulary: Vocabulary;
  /** Where the batcher was. */
  batcherState: BatcherState;
}

/**
 * Writes a skip-gram checkpoint atomically (a safetensors file; the vocabulary, config and batcher state
 * travel in its metadata).
 *
 * @example
 * ```ts ignore
 * import { saveSkipGram } from "./word2vec.ts";
 * await saveSkipGram("checkpoints/w2v.safetensors", checkpoint);
 * ```
 */
export async function saveSkipGram(path: string, c: SkipGramCheckpoint): Promise<void> {
  await L.save(path, { params: c.params, optimizerState: c.optimizerState }, {
    model: "skip-gram",
    config: JSON.stringify(c.config),
    batcher: JSON.stringify(c.batcherState),
    words: c.vocabulary.words.join("\n"),
    counts: Array.from(c.vocabulary.counts).join(","),
  });
}

/**
 * Reads a checkpoint written by {@linkcode saveSkipGram}; errors name the file and what is missing.
 *
 * @example
 * ```ts ignore
 * import { loadSkipGram } from "./word2vec.ts";
 * const { params, vocabulary } = await loadSkipGram("checkpoints/word2vec-brown.safetensors");
 * ```
 */
export async function loadSkipGram(path: string): Promise<SkipGramCheckpoint> {
  const { params, metadata } = await L.load(path);
  const tree = params as { params?: SkipGramParams; optimizerState?: L.optim.OptimizerState };
  if (metadata.model !== "skip-gram" || !tree.params || !tree.optimizerState) {
    throw new Error(
      `loadSkipGram(${path}): not a skip-gram checkpoint (model "${metadata.model ?? "none"}")`,
    );
  }
  const words = metadata.words.split("\n");
  const counts = Int32Array.from(metadata.counts.split(","), Number);
  return {
    params: tree.params,
    optimizerState: tree.optimizerState,
    config: JSON.parse(metadata.config) as SkipGramConfig,
    vocabulary: vocabularyOf(words, counts),
    batcherState: JSON.parse(metadata.batcher) as BatcherState,
  };
}
