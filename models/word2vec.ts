/**
 * word2vec (Mikolov et al., 2013) with negative sampling, in its two architectures: skip-gram (each word
 * predicts the words around it) and CBOW (the mean of the words around a word predicts it). The input table
 * (one vector per word) is the embedding. Skip-gram batches pack the (centre, context) pairs of consecutive
 * centre words densely, so that no compute goes to padding; CBOW batches hold one window per centre word. The
 * update is sparse: the gradients of both tables are rows (`SparseRows`), and with the params donated an SGD
 * step writes only the rows the batch touched.
 *
 * Training is resumable and never loses data: checkpoints are written atomically (`save`), hold the params,
 * the optimizer state and the batcher's position and random state, and a run resumed from one continues
 * bit for bit as if it had not stopped. A non-finite loss stops the run before anything is saved.
 * @module
 */
import * as L from "../mod.ts";
import type { EncodedCorpus, Vocabulary } from "./corpus.ts";
import { assertFiniteParams, fileExists, loadRun, NonFiniteLossError, saveRun } from "./guard.ts";

/**
 * Hyperparameters of a word2vec run (word2vec.c's names in brackets).
 *
 * @example
 * ```ts
 * import { defaultsFor, type Word2vecConfig } from "./word2vec.ts";
 * const config: Word2vecConfig = { ...defaultsFor("cbow"), dim: 50 };
 * if (config.lr !== 0.05) throw new Error();
 * ```
 */
export interface Word2vecConfig {
  /** The architecture [-cbow 0 or 1]. */
  model: "skip-gram" | "cbow";
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
  /** Skip-gram: (centre, context) pairs per batch (a centre word's pairs all go in one batch). */
  pairs: number;
  /** CBOW: centre words (windows) per batch. */
  centres: number;
  /** Seed of the initial vectors and of the batcher's random draws. */
  seed: number;
}

/**
 * word2vec.c's defaults for skip-gram (`-size 100 -window 5 -negative 5 -sample 1e-3 -alpha 0.025 -iter 5`)
 * and batches of 1,536 pairs (about 256 centre words); CBOW batches hold 256 windows. (word2vec.c starts CBOW
 * at a rate of 0.05: {@linkcode defaultsFor} gives that.)
 *
 * @example
 * ```ts
 * import { WORD2VEC_DEFAULTS } from "./word2vec.ts";
 * if (WORD2VEC_DEFAULTS.window !== 5 || WORD2VEC_DEFAULTS.model !== "skip-gram") throw new Error();
 * ```
 */
export const WORD2VEC_DEFAULTS: Readonly<Word2vecConfig> = {
  model: "skip-gram",
  dim: 100,
  window: 5,
  negatives: 5,
  subsample: 1e-3,
  lr: 0.025,
  epochs: 5,
  pairs: 1536,
  centres: 256,
  seed: 1,
};

/**
 * The defaults of an architecture: {@linkcode WORD2VEC_DEFAULTS}, with word2vec.c's starting rate of 0.05
 * for CBOW.
 *
 * @example
 * ```ts
 * import { defaultsFor } from "./word2vec.ts";
 * if (defaultsFor("cbow").lr !== 0.05 || defaultsFor("skip-gram").lr !== 0.025) throw new Error();
 * ```
 */
export function defaultsFor(model: Word2vecConfig["model"]): Word2vecConfig {
  return { ...WORD2VEC_DEFAULTS, model, lr: model === "cbow" ? 0.05 : WORD2VEC_DEFAULTS.lr };
}

/**
 * The two tables: `input` (the embeddings) and `output` (the vectors words are predicted with).
 *
 * @example
 * ```ts
 * import { random } from "../mod.ts";
 * import { initWord2vec, type Word2vecParams } from "./word2vec.ts";
 * const p: Word2vecParams = initWord2vec(5, 3, random.key(0));
 * if (p.output.shape.join() !== "5,3") throw new Error();
 * ```
 */
export interface Word2vecParams {
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
 * import { initWord2vec } from "./word2vec.ts";
 * const p = initWord2vec(10, 4, random.key(0));
 * if (p.input.shape.join() !== "10,4" || p.output.sum().item() !== 0) throw new Error();
 * ```
 */
export function initWord2vec(words: number, dim: number, key: L.Tensor): Word2vecParams {
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
  p: Word2vecParams,
  centre: L.Tensor,
  context: L.Tensor,
  negatives: L.Tensor,
  mask: L.Tensor,
): L.Tensor {
  return sampledLoss(p.output, L.take(p.input, centre), context, negatives, mask);
}

/**
 * `Σ_i weight_i · (-log σ(h_i·v_i) - Σ_k log σ(-h_i·n_ik))` with v_i = output[targets_i] and
 * n_ik = output[negatives_ik]: the negative-sampling objective both architectures share (hidden [N, D],
 * targets [N], negatives [N, K], weight [N]).
 */
function sampledLoss(
  output: L.Tensor,
  hidden: L.Tensor,
  targets: L.Tensor,
  negatives: L.Tensor,
  weight: L.Tensor,
): L.Tensor {
  const positive = L.take(output, targets).mul(hidden).sum(-1); // [N]
  const negative = L.take(output, negatives).mul(hidden.unsqueeze(1)).sum(-1); // [N, K]
  return L.softplus(positive.neg()).add(L.softplus(negative).sum(-1)).mul(weight).sum();
}

/**
 * The CBOW negative-sampling loss of a batch, summed over its windows: for each centre word,
 * `-log σ(h·v) - Σ_k log σ(-h·n_k)`, with h the mean of the input vectors of its context words (`mask` 1),
 * v the centre's output vector and n_k those of the negatives. Windows with no context word (padding) count
 * nothing. Shapes: centre [B] (int32), context [B, C], negatives [B, K], mask [B, C]. As in word2vec.c, each
 * context word receives the whole gradient of h (not its share of the mean's): h's gradient passes through
 * the sum, while the forward value is the mean.
 *
 * @example
 * ```ts
 * import { tensor } from "../mod.ts";
 * import { cbowLoss } from "./word2vec.ts";
 * const p = { input: tensor([[1, 0], [0, 1]]), output: tensor([[0, 0], [0, 0]]) };
 * const loss = cbowLoss(p, tensor([0], { dtype: "int32" }), tensor([[1, 0]], { dtype: "int32" }),
 *   tensor([[1]], { dtype: "int32" }), tensor([[1, 0]]));
 * if (Math.abs(loss.item() - 2 * Math.log(2)) > 1e-6) throw new Error(); // σ(0) twice
 * ```
 */
export function cbowLoss(
  p: Word2vecParams,
  centre: L.Tensor,
  context: L.Tensor,
  negatives: L.Tensor,
  mask: L.Tensor,
): L.Tensor {
  const count = mask.sum(-1, true); // [B, 1]
  const sum = L.take(p.input, context).mul(mask.unsqueeze(-1)).sum(1); // [B, D]
  // The mean forward; backward, each context word gets the whole gradient of h, as word2vec.c updates them.
  const h = L.stopGradient(sum.div(count.maximum(1)).sub(sum)).add(sum);
  const real = count.squeeze(-1).minimum(1); // 1 for a window with context words, 0 for padding
  return sampledLoss(p.output, h, centre, negatives, real);
}

/**
 * Where a batcher is: enough to continue exactly from there.
 *
 * @example
 * ```ts
 * import { type BatcherState, PairBatcher, WORD2VEC_DEFAULTS } from "./word2vec.ts";
 * const corpus = { ids: new Int32Array([0, 1]), starts: new Int32Array([0, 2]) };
 * const state: BatcherState = new PairBatcher(corpus, new Int32Array([1, 1]), WORD2VEC_DEFAULTS).state;
 * if (state.epoch !== 0 || state.sentence !== 0) throw new Error();
 * ```
 */
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

/**
 * One skip-gram batch, in arrays the batcher reuses (copy them to keep them).
 *
 * @example
 * ```ts
 * import { type PairBatch, PairBatcher, WORD2VEC_DEFAULTS } from "./word2vec.ts";
 * const corpus = { ids: new Int32Array([0, 1]), starts: new Int32Array([0, 2]) };
 * const config = { ...WORD2VEC_DEFAULTS, subsample: 0, epochs: 1 }; // keep every word, one pass
 * const batch: PairBatch = new PairBatcher(corpus, new Int32Array([1, 1]), config).next()!;
 * if (batch.pairs !== 2) throw new Error(); // (0, 1) and (1, 0)
 * ```
 */
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
 * One CBOW batch, in arrays the batcher reuses (copy them to keep them).
 *
 * @example
 * ```ts
 * import { CbowBatcher, defaultsFor, type WindowBatch } from "./word2vec.ts";
 * const corpus = { ids: new Int32Array([0, 1]), starts: new Int32Array([0, 2]) };
 * const config = { ...defaultsFor("cbow"), subsample: 0, epochs: 1 }; // keep every word, one pass
 * const batch: WindowBatch = new CbowBatcher(corpus, new Int32Array([1, 1]), config).next()!;
 * if (batch.windows !== 2) throw new Error();
 * ```
 */
export interface WindowBatch {
  /** [centres] centre ids; rows past `windows` are 0 and have no context. */
  centre: Int32Array;
  /** [centres · 2·window] context ids, each row's first ones real. */
  context: Int32Array;
  /** [centres · negatives] negative ids. */
  negatives: Int32Array;
  /** [centres · 2·window] 1 for a real context word, 0 for an empty slot. */
  mask: Float32Array;
  /** Real windows (rows) in the batch. */
  windows: number;
  /** Corpus tokens read to make it (subsampled ones included). */
  words: number;
}

/**
 * Reads an encoded corpus as word2vec.c does: sentence by sentence, frequent words dropped at random (kept
 * with probability `(√(f/t) + 1)·t/f` for a word of frequency f), then for each centre word a window of 1 to
 * `window` words on each side, inside the sentence. Negatives come from the unigram distribution to the 3/4
 * through an alias table (exact, and two small arrays instead of word2vec.c's 10⁸-entry table). Random draws
 * are a seeded xorshift32, so batches are reproducible and resumable. {@linkcode PairBatcher} and
 * {@linkcode CbowBatcher} pack the windows into batches.
 *
 * @example
 * ```ts
 * import { PairBatcher, WindowReader } from "./word2vec.ts";
 * const corpus = { ids: new Int32Array([0, 1]), starts: new Int32Array([0, 2]) };
 * const config = { model: "skip-gram", dim: 2, window: 1, negatives: 1, subsample: 0, lr: 0.1, epochs: 1,
 *   pairs: 2, centres: 1, seed: 3 } as const;
 * const reader: WindowReader = new PairBatcher(corpus, new Int32Array([1, 1]), config);
 * if (reader.state.epoch !== 0) throw new Error();
 * ```
 */
export abstract class WindowReader {
  private readonly keepBelow: Float64Array;
  private readonly aliasKeep: Float32Array;
  private readonly alias: Int32Array;
  /** The current sentence after subsampling. */
  protected readonly filtered: Int32Array;
  private filteredLength = 0;
  private at: BatcherState;

  constructor(
    private readonly corpus: EncodedCorpus,
    counts: Int32Array,
    protected readonly config: Word2vecConfig,
    state?: BatcherState,
  ) {
    const { window } = config;
    if (!(Number.isInteger(window) && window >= 1)) {
      throw new RangeError(`window must be >= 1, got ${window}`);
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
    const seed = (config.seed * 2654435761) >>> 0 || 1;
    this.at = { epoch: 0, sentence: 0, position: 0, sentenceSeed: seed, seed, wordsRead: 0 };
    this.subsampleSentence();
    if (state) this.restore(state);
  }

  /** A copy of where the reader is. */
  get state(): BatcherState {
    return { ...this.at };
  }

  /** Moves to a state from {@linkcode WindowReader.state} (of a reader over the same corpus and config). */
  restore(state: BatcherState): void {
    this.at = { ...state, seed: state.sentenceSeed };
    this.subsampleSentence();
    this.at.seed = state.seed;
    this.at.position = state.position;
  }

  /**
   * Reads centre words until one does not `fit` (it then starts the next batch, with the same window) or the
   * epochs are done. `take(position, first, last)` gets each centre's position and window `[first, last]` in
   * `filtered`. Returns the tokens read (subsampled ones included).
   */
  protected read(
    fits: (first: number, last: number) => boolean,
    take: (position: number, first: number, last: number) => void,
  ): number {
    const sentences = this.corpus.starts.length - 1;
    let words = 0;
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
      const reach = this.config.window - (this.random() % this.config.window);
      const first = Math.max(position - reach, 0);
      const last = Math.min(position + reach, this.filteredLength - 1);
      if (!fits(first, last)) {
        this.at.seed = seedBefore; // this word starts the next batch, with the same window
        break;
      }
      take(position, first, last);
      this.at.position++;
      words++;
    }
    this.at.wordsRead += words;
    return words;
  }

  /** Fills `out[0, count)` with negatives drawn from the unigram distribution to the 3/4, the rest with 0. */
  protected drawNegatives(out: Int32Array, count: number): void {
    for (let i = 0; i < count; i++) {
      const column = this.random() % this.alias.length;
      out[i] = this.random() * 2 ** -32 < this.aliasKeep[column] ? column : this.alias[column];
    }
    out.fill(0, count);
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
 * Skip-gram batches: the (centre, context) pairs of consecutive centre words, packed densely (see
 * {@linkcode WindowReader} for how the corpus is read).
 *
 * @example
 * ```ts
 * import { PairBatcher } from "./word2vec.ts";
 * const corpus = { ids: new Int32Array([0, 1, 2, 0, 1]), starts: new Int32Array([0, 5]) };
 * const config = { model: "skip-gram", dim: 2, window: 1, negatives: 2, subsample: 0, lr: 0.1, epochs: 1,
 *   pairs: 4, centres: 1, seed: 3 } as const;
 * const batcher = new PairBatcher(corpus, new Int32Array([2, 2, 1]), config);
 * const batch = batcher.next()!;
 * // Window 1: the first centre (0) has one pair, the next ones two each; a batch of 4 takes three centres.
 * if (batch.pairs !== 3 || batch.words !== 2 || batch.centre.slice(0, 3).join() !== "0,1,1") {
 *   throw new Error(`${batch.pairs} ${batch.words} ${batch.centre}`);
 * }
 * ```
 */
export class PairBatcher extends WindowReader {
  private readonly batch: PairBatch;

  constructor(corpus: EncodedCorpus, counts: Int32Array, config: Word2vecConfig, state?: BatcherState) {
    if (!(config.pairs >= 2 * config.window)) {
      throw new RangeError(
        `pairs (${config.pairs}) must hold one centre word's pairs: at least 2 · window = ${
          2 * config.window
        }`,
      );
    }
    super(corpus, counts, config, state);
    const { pairs, negatives } = config;
    this.batch = {
      centre: new Int32Array(pairs),
      context: new Int32Array(pairs),
      negatives: new Int32Array(pairs * negatives),
      mask: new Float32Array(pairs),
      pairs: 0,
      words: 0,
    };
  }

  /** The next batch, or undefined once `config.epochs` passes are done. */
  next(): PairBatch | undefined {
    const b = this.batch;
    let pairs = 0;
    const words = this.read(
      (first, last) => pairs + last - first <= b.centre.length,
      (position, first, last) => {
        const centre = this.filtered[position];
        for (let at = first; at <= last; at++) {
          if (at === position) continue;
          b.centre[pairs] = centre;
          b.context[pairs++] = this.filtered[at];
        }
      },
    );
    if (pairs === 0) return undefined;
    b.centre.fill(0, pairs);
    b.context.fill(0, pairs);
    b.mask.fill(1, 0, pairs);
    b.mask.fill(0, pairs);
    this.drawNegatives(b.negatives, pairs * this.config.negatives);
    b.pairs = pairs;
    b.words = words;
    return b;
  }
}

/**
 * CBOW batches: one row per centre word with its window's context words (see {@linkcode WindowReader} for
 * how the corpus is read). Centre words whose window holds no other word (one-word sentences) are read but
 * make no row, as in word2vec.c.
 *
 * @example
 * ```ts
 * import { CbowBatcher } from "./word2vec.ts";
 * const corpus = { ids: new Int32Array([0, 1, 2]), starts: new Int32Array([0, 3]) };
 * const config = { model: "cbow", dim: 2, window: 1, negatives: 1, subsample: 0, lr: 0.1, epochs: 1,
 *   pairs: 2, centres: 2, seed: 3 } as const;
 * const batch = new CbowBatcher(corpus, new Int32Array([1, 1, 1]), config).next()!;
 * // Rows of 2 · window = 2 slots: centre 0 sees [1], centre 1 sees [0, 2].
 * if (batch.windows !== 2 || batch.context.join() !== "1,0,0,2" || batch.mask.join() !== "1,0,1,1") {
 *   throw new Error(`${batch.windows} ${batch.context} ${batch.mask}`);
 * }
 * ```
 */
export class CbowBatcher extends WindowReader {
  private readonly batch: WindowBatch;

  constructor(corpus: EncodedCorpus, counts: Int32Array, config: Word2vecConfig, state?: BatcherState) {
    if (!(Number.isInteger(config.centres) && config.centres >= 1)) {
      throw new RangeError(`centres must be a whole number >= 1, got ${config.centres}`);
    }
    super(corpus, counts, config, state);
    const { centres, negatives, window } = config;
    this.batch = {
      centre: new Int32Array(centres),
      context: new Int32Array(centres * 2 * window),
      negatives: new Int32Array(centres * negatives),
      mask: new Float32Array(centres * 2 * window),
      windows: 0,
      words: 0,
    };
  }

  /** The next batch, or undefined once `config.epochs` passes are done. */
  next(): WindowBatch | undefined {
    const b = this.batch;
    const width = 2 * this.config.window;
    let rows = 0;
    b.context.fill(0);
    b.mask.fill(0);
    const words = this.read(
      () => rows < b.centre.length,
      (position, first, last) => {
        if (last === first) return; // no context word
        let slot = rows * width;
        for (let at = first; at <= last; at++) {
          if (at === position) continue;
          b.context[slot] = this.filtered[at];
          b.mask[slot++] = 1;
        }
        b.centre[rows++] = this.filtered[position];
      },
    );
    if (rows === 0) return undefined;
    b.centre.fill(0, rows);
    this.drawNegatives(b.negatives, rows * this.config.negatives);
    b.windows = rows;
    b.words = words;
    return b;
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

/**
 * What {@linkcode trainWord2vec} reports every so often and at the end.
 *
 * @example
 * ```ts
 * import type { TrainProgress } from "./word2vec.ts";
 * const line = (p: TrainProgress) => `epoch ${p.epoch}: ${p.loss.toFixed(2)}`;
 * if (line({ step: 1, epoch: 0, wordsRead: 9, loss: 4.159, wordsPerSecond: 1, lr: 0.025 }) !== "epoch 0: 4.16") {
 *   throw new Error();
 * }
 * ```
 */
export interface TrainProgress {
  /** Steps done since the start of the run (resumed runs included). */
  step: number;
  /** Passes completed. */
  epoch: number;
  /** Tokens read since the start of the run. */
  wordsRead: number;
  /** Mean loss per pair (skip-gram) or per window (CBOW) since the last report. */
  loss: number;
  /** Tokens read per second since the last report. */
  wordsPerSecond: number;
  /** The learning rate of the last step. */
  lr: number;
}

/**
 * Options of {@linkcode trainWord2vec}.
 *
 * @example
 * ```ts
 * import { buildVocabulary, encode } from "./corpus.ts";
 * import type { TrainWord2vecOptions } from "./word2vec.ts";
 * const text = [["a", "b"]];
 * const vocabulary = buildVocabulary(text);
 * const options: TrainWord2vecOptions = { corpus: encode(text, vocabulary), vocabulary, config: { epochs: 1 } };
 * if (options.config?.epochs !== 1) throw new Error();
 * ```
 */
export interface TrainWord2vecOptions {
  /** The corpus, encoded with `vocabulary`. */
  corpus: EncodedCorpus;
  /** Its vocabulary (saved in checkpoints, so that a checkpoint can be used on its own). */
  vocabulary: Vocabulary;
  /** Hyperparameters (default {@linkcode WORD2VEC_DEFAULTS}). */
  config?: Partial<Word2vecConfig>;
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

/**
 * What {@linkcode trainWord2vec} returns.
 *
 * @example
 * ```ts
 * import { buildVocabulary, encode } from "./corpus.ts";
 * import { type TrainedWord2vec, trainWord2vec } from "./word2vec.ts";
 * const text = [["a", "b"]];
 * const vocabulary = buildVocabulary(text);
 * const run: TrainedWord2vec = await trainWord2vec({ corpus: encode(text, vocabulary), vocabulary, config: { epochs: 1 } });
 * if (!run.finished || run.params.input.shape[0] !== 2) throw new Error();
 * ```
 */
export interface TrainedWord2vec {
  /** The trained tables. */
  params: Word2vecParams;
  /** The config it ran with. */
  config: Word2vecConfig;
  /** Steps done in total. */
  steps: number;
  /** Whether every epoch was done (false after `maxSteps`). */
  finished: boolean;
  /** The last progress report. */
  last: TrainProgress;
}

/**
 * Trains word2vec (`config.model`: skip-gram or CBOW) on a corpus: the loop of word2vec.c with batches, on
 * Loom's current backend. Resumes
 * from `checkpoint` when `resume` is set and the file exists (the config saved there wins over `config`).
 *
 * @example
 * ```ts
 * import { buildVocabulary, encode } from "./corpus.ts";
 * import { trainWord2vec } from "./word2vec.ts";
 * const text = Array.from({ length: 50 }, (_, i) => ["a", "b", "c", "d"].map((w) => w + (i % 2)));
 * const vocabulary = buildVocabulary(text);
 * const run = await trainWord2vec({
 *   corpus: encode(text, vocabulary),
 *   vocabulary,
 *   config: { dim: 8, pairs: 32, epochs: 2, subsample: 0 },
 * });
 * if (!run.finished || !(run.last.loss < 4.2)) throw new Error(JSON.stringify(run.last));
 * ```
 */
export async function trainWord2vec(options: TrainWord2vecOptions): Promise<TrainedWord2vec> {
  const { corpus, vocabulary, checkpoint } = options;
  let config: Word2vecConfig = { ...WORD2VEC_DEFAULTS, ...options.config };
  if (config.model !== "skip-gram" && config.model !== "cbow") {
    throw new RangeError(
      `word2vec: config.model must be "skip-gram" or "cbow", got ${JSON.stringify(config.model)}`,
    );
  }
  let params = initWord2vec(vocabulary.words.length, config.dim, L.random.key(config.seed));
  let batcherState: BatcherState | undefined;
  let resumedState: L.optim.OptimizerState | undefined;
  if (options.resume && checkpoint && await fileExists(checkpoint)) {
    const saved = await loadWord2vec(checkpoint);
    if (saved.vocabulary.words.join("\n") !== vocabulary.words.join("\n")) {
      throw new Error(
        `word2vec: ${checkpoint} was trained with another vocabulary (${saved.vocabulary.words.length} words, ` +
          `this corpus has ${vocabulary.words.length}); resume on the same corpus and minCount, or start anew`,
      );
    }
    ({ config, params, batcherState } = saved);
    resumedState = saved.optimizerState;
  }
  const batcher = feedFor(corpus, vocabulary.counts, config, batcherState);
  // word2vec.c's rate falls with the words read; here with the steps, whose count one dry pass measures.
  const stepsPerEpoch = countBatches(corpus, vocabulary.counts, config);
  const opt = L.optim.sgd({
    lr: L.optim.linearDecay({ from: config.lr, to: config.lr * 1e-4, steps: stepsPerEpoch * config.epochs }),
  });
  let state = resumedState ?? opt.init(params);
  const objective = config.model === "cbow" ? cbowLoss : skipGramLoss;
  const step = L.jit((p: Word2vecParams, s: L.optim.OptimizerState, ...batch: L.Tensor[]) => {
    const [value, g] = L.valueAndGrad(objective, { sparse: true })(
      p,
      ...batch as [L.Tensor, L.Tensor, L.Tensor, L.Tensor],
    );
    const next = opt.update(g, s, p);
    return [value, next.params, next.state] as const;
  }, { donate: [0, 1] });

  const reportMs = 1000 * (options.reportSeconds ?? 2);
  const checkpointMs = 1000 * (options.checkpointSeconds ?? 60);
  let steps = state.step.item();
  let [lossSum, countSum, wordsSince] = [0, 0, 0];
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
      loss: lossSum / countSum,
      wordsPerSecond: wordsSince / ((now - lastReport) / 1000),
      lr: state.lr.item(),
    };
    options.onProgress?.(last);
    [lossSum, countSum, wordsSince, lastReport] = [0, 0, 0, now];
  };
  const save = async () => {
    if (!checkpoint) return;
    assertFiniteParams("word2vec", params, steps, checkpoint);
    const batcherState = batcher.state;
    await saveWord2vec(checkpoint, { params, optimizerState: state, config, vocabulary, batcherState });
    lastCheckpoint = performance.now();
  };
  let finished = false;
  for (;;) {
    if (options.maxSteps !== undefined && steps >= options.maxSteps) break;
    const batch = batcher.next();
    if (!batch) {
      finished = true;
      break;
    }
    let value: L.Tensor;
    [value, params, state] = step(params, state, ...batch.tensors);
    steps++;
    const loss = value.item();
    if (!Number.isFinite(loss)) throw new NonFiniteLossError("word2vec", steps, loss, checkpoint);
    [lossSum, countSum, wordsSince] = [lossSum + loss, countSum + batch.count, wordsSince + batch.words];
    const now = performance.now();
    if (now - lastReport >= reportMs) {
      report();
      // A task boundary lets the finalizers return dropped batches' buffers to the allocator.
      await new Promise((resolve) => setTimeout(resolve, 0));
    }
    if (now - lastCheckpoint >= checkpointMs) await save();
  }
  if (countSum > 0) report();
  await save();
  return { params, config, steps, finished, last };
}

/** The batcher of `config.model`. */
function batcherFor(corpus: EncodedCorpus, counts: Int32Array, config: Word2vecConfig, state?: BatcherState) {
  return config.model === "cbow"
    ? new CbowBatcher(corpus, counts, config, state)
    : new PairBatcher(corpus, counts, config, state);
}

/** Batches as the step's tensors, with their pairs (skip-gram) or windows (CBOW) and the words read. */
function feedFor(corpus: EncodedCorpus, counts: Int32Array, config: Word2vecConfig, state?: BatcherState) {
  const batcher = batcherFor(corpus, counts, config, state);
  const { negatives: K, window } = config;
  const ids = (data: Int32Array, shape: number[]) => L.tensor(data, { shape, dtype: "int32" });
  return {
    get state(): BatcherState {
      return batcher.state;
    },
    next(): { tensors: L.Tensor[]; count: number; words: number } | undefined {
      const b = batcher.next();
      if (!b) return undefined;
      if ("pairs" in b) {
        const P = b.centre.length;
        const tensors = [ids(b.centre, [P]), ids(b.context, [P]), ids(b.negatives, [P, K]), L.tensor(b.mask)];
        return { tensors, count: b.pairs, words: b.words };
      }
      const [B, C] = [b.centre.length, 2 * window];
      const tensors = [ids(b.centre, [B]), ids(b.context, [B, C]), ids(b.negatives, [B, K])];
      return { tensors: [...tensors, L.tensor(b.mask, { shape: [B, C] })], count: b.windows, words: b.words };
    },
  };
}

/** How many batches one pass over `corpus` makes with `config` (a dry run of the batcher). */
function countBatches(corpus: EncodedCorpus, counts: Int32Array, config: Word2vecConfig): number {
  const batcher = batcherFor(corpus, counts, { ...config, epochs: 1 });
  let batches = 0;
  while (batcher.next()) batches++;
  return Math.max(batches, 1);
}

/**
 * A word2vec checkpoint: everything needed to use the embeddings or to continue training.
 *
 * @example
 * ```ts
 * import type { Word2vecCheckpoint } from "./word2vec.ts";
 * const wordsOf = (c: Word2vecCheckpoint) => c.vocabulary.words;
 * if (typeof wordsOf !== "function") throw new Error();
 * ```
 */
export interface Word2vecCheckpoint {
  /** The tables. */
  params: Word2vecParams;
  /** The optimizer state (step and learning rate). */
  optimizerState: L.optim.OptimizerState;
  /** The config of the run. */
  config: Word2vecConfig;
  /** The vocabulary (ids are rows of the tables). */
  vocabulary: Vocabulary;
  /** Where the batcher was. */
  batcherState: BatcherState;
}

/**
 * Writes a word2vec checkpoint atomically (a safetensors file; the vocabulary, config and batcher state
 * travel in its metadata).
 *
 * @example
 * ```ts ignore
 * import { saveWord2vec } from "./word2vec.ts";
 * await saveWord2vec("checkpoints/w2v.safetensors", checkpoint);
 * ```
 */
export async function saveWord2vec(path: string, c: Word2vecCheckpoint): Promise<void> {
  await saveRun(path, "word2vec", c, { config: c.config, batcher: c.batcherState });
}

/**
 * Reads a checkpoint written by {@linkcode saveWord2vec}; errors name the file and what it holds instead.
 *
 * @example
 * ```ts ignore
 * import { loadWord2vec } from "./word2vec.ts";
 * const { params, vocabulary } = await loadWord2vec("checkpoints/word2vec-brown.safetensors");
 * ```
 */
export async function loadWord2vec(path: string): Promise<Word2vecCheckpoint> {
  const { extra, ...run } = await loadRun<Word2vecParams>(path, "word2vec");
  return { ...run, config: extra.config as Word2vecConfig, batcherState: extra.batcher as BatcherState };
}
