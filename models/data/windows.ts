/**
 * word2vec's reading of a corpus (Mikolov et al., 2013, as word2vec.c does it): sentence by sentence, frequent
 * words dropped at random, then for each centre word a window of 1 to `window` words on each side inside its
 * sentence, and negatives from the unigram distribution to the 3/4. {@linkcode PairBatcher} packs skip-gram's
 * (centre, context) pairs densely; {@linkcode CbowBatcher} makes one row per centre word. Random draws come
 * from the one seeded generator ({@linkcode Rng}), so batches are reproducible and resumable.
 * @module
 */
import { Rng, seedState } from "./random.ts";
import type { EncodedCorpus } from "./vocabulary.ts";

/**
 * The settings a window reader needs.
 *
 * @example
 * ```ts
 * import type { WindowSettings } from "./windows.ts";
 * const s: WindowSettings = { window: 5, negatives: 5, subsample: 1e-3, epochs: 1, seed: 1 };
 * if (s.window !== 5) throw new Error();
 * ```
 */
export interface WindowSettings {
  /** Largest distance of a context word; each centre word draws its own, from 1 to this. */
  window: number;
  /** Negatives per target. */
  negatives: number;
  /** Frequent-word subsampling threshold t (0 keeps every word). */
  subsample: number;
  /** Passes over the corpus. */
  epochs: number;
  /** Seed of the draws. */
  seed: number;
}

/**
 * Where a reader is: enough to continue exactly from there.
 *
 * @example
 * ```ts
 * import type { WindowState } from "./windows.ts";
 * const s: WindowState = { epoch: 0, sentence: 0, position: 0, sentenceSeed: 1, seed: 1, wordsRead: 0 };
 * if (s.epoch !== 0) throw new Error();
 * ```
 */
export interface WindowState {
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
  /** Tokens read since the start of the run (subsampled ones included). */
  wordsRead: number;
}

/**
 * Walker's alias table (Vose's construction) for drawing i with probability weights[i] / Σ weights in O(1):
 * pick a column uniformly, keep it with probability keep[column], else take alias[column].
 *
 * @example
 * ```ts
 * import { aliasTable } from "./windows.ts";
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
 * The common reader of {@linkcode PairBatcher} and {@linkcode CbowBatcher}: a word of frequency f is kept
 * with probability `(√(f/t) + 1)·t/f`, windows stay inside their sentence, and negatives come from an alias
 * table (exact, and two small arrays instead of word2vec.c's 10⁸-entry table).
 *
 * @example
 * ```ts
 * import { PairBatcher, WindowReader } from "./windows.ts";
 * const corpus = { ids: new Int32Array([0, 1]), starts: new Int32Array([0, 2]) };
 * const reader: WindowReader = new PairBatcher(corpus, new Int32Array([1, 1]), { window: 1, negatives: 1, subsample: 0, epochs: 1, seed: 3 }, 2);
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
  private at: WindowState;
  private readonly rng = new Rng(1);

  /** A reader of `corpus` (word counts `counts`, in id order) with these settings. */
  constructor(
    private readonly corpus: EncodedCorpus,
    counts: Int32Array,
    protected readonly settings: WindowSettings,
  ) {
    const { window } = settings;
    if (!(Number.isInteger(window) && window >= 1)) {
      throw new RangeError(`window must be >= 1, got ${window}`);
    }
    const total = counts.reduce((a, b) => a + b, 0);
    // Keep probability of each word, as a threshold on a uniform 32-bit draw.
    this.keepBelow = Float64Array.from(counts, (c) => {
      if (settings.subsample <= 0) return 2 ** 32;
      const threshold = settings.subsample * total;
      return Math.min(1, (Math.sqrt(c / threshold) + 1) * threshold / c) * 2 ** 32;
    });
    ({ keep: this.aliasKeep, alias: this.alias } = aliasTable(Array.from(counts, (c) => c ** 0.75)));
    let longest = 0;
    for (let s = 0; s + 1 < corpus.starts.length; s++) {
      longest = Math.max(longest, corpus.starts[s + 1] - corpus.starts[s]);
    }
    this.filtered = new Int32Array(longest);
    const seed = seedState(settings.seed);
    this.at = { epoch: 0, sentence: 0, position: 0, sentenceSeed: seed, seed, wordsRead: 0 };
    this.rng.state = seed;
    this.subsampleSentence();
  }

  /** A copy of where the reader is. */
  get state(): WindowState {
    return { ...this.at, seed: this.rng.state };
  }

  /** Moves to a state from {@linkcode WindowReader.state} (of a reader over the same corpus and settings). */
  restore(state: WindowState): void {
    this.at = { ...state };
    this.rng.state = state.sentenceSeed;
    this.subsampleSentence();
    this.rng.state = state.seed;
    this.at.position = state.position;
  }

  /** Fraction of the run's words read. */
  progress(): number {
    return this.at.wordsRead / Math.max(1, this.corpus.ids.length * this.settings.epochs);
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
    while (this.at.epoch < this.settings.epochs) {
      if (this.at.position >= this.filteredLength) {
        // Next sentence (and next pass at the end of the corpus); its dropped words count as read.
        words += this.corpus.starts[this.at.sentence + 1] - this.corpus.starts[this.at.sentence] -
          this.filteredLength;
        this.at.sentence++;
        if (this.at.sentence >= sentences) {
          this.at.sentence = 0;
          this.at.epoch++;
        }
        this.at.sentenceSeed = this.rng.state;
        this.subsampleSentence();
        continue;
      }
      const position = this.at.position;
      const seedBefore = this.rng.state;
      const reach = this.settings.window - this.rng.below(this.settings.window);
      const first = Math.max(position - reach, 0);
      const last = Math.min(position + reach, this.filteredLength - 1);
      if (!fits(first, last)) {
        this.rng.state = seedBefore; // this word starts the next batch, with the same window
        break;
      }
      take(position, first, last);
      this.at.position++;
      words++;
    }
    this.at.wordsRead += words;
    return words;
  }

  /** Epochs completed. */
  get epoch(): number {
    return this.at.epoch;
  }

  /**
   * Fills `out[0, count)` with negatives drawn from the unigram distribution to the 3/4, the rest with 0.
   * One 32-bit draw per negative: scaled to [0, columns), its integer part picks the alias column and its
   * fraction decides between the column and its alias. This is the batcher's hot loop (five draws per pair),
   * so it keeps the generator's state in a local and chooses without a branch (a coin flip's branch is
   * mispredicted half the time; `Rng.below`'s modulo of a double costs more than the rest together).
   */
  protected drawNegatives(out: Int32Array, count: number): void {
    const { alias, aliasKeep } = this;
    const scale = alias.length * 2 ** -32;
    let s = this.rng.state | 0;
    for (let i = 0; i < count; i++) {
      s ^= s << 13; // xorshift32, as Rng.next
      s ^= s >>> 17;
      s ^= s << 5;
      const u = (s >>> 0) * scale;
      const column = u | 0;
      const other = alias[column];
      const keep = -(+(u - column < aliasKeep[column])); // all ones to keep the column, else 0
      out[i] = other + ((column - other) & keep);
    }
    this.rng.state = s >>> 0;
    out.fill(0, count);
  }

  /** Draws the current sentence's kept words into `filtered` and starts at its first word. */
  private subsampleSentence(): void {
    const { starts, ids } = this.corpus;
    let length = 0;
    if (this.at.sentence < starts.length - 1) {
      for (let i = starts[this.at.sentence]; i < starts[this.at.sentence + 1]; i++) {
        const id = ids[i];
        if (this.keepBelow[id] >= 2 ** 32 || this.rng.next() < this.keepBelow[id]) {
          this.filtered[length++] = id;
        }
      }
    }
    this.filteredLength = length;
    this.at.position = 0;
  }
}

/**
 * One skip-gram batch, in arrays the batcher reuses (copy them to keep them).
 *
 * @example
 * ```ts
 * import { type PairBatch, PairBatcher } from "./windows.ts";
 * const corpus = { ids: new Int32Array([0, 1]), starts: new Int32Array([0, 2]) };
 * const settings = { window: 5, negatives: 5, subsample: 0, epochs: 1, seed: 1 };
 * const batch: PairBatch = new PairBatcher(corpus, new Int32Array([1, 1]), settings, 16).next()!;
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
 * Skip-gram batches: the (centre, context) pairs of consecutive centre words, packed densely into `size`
 * slots (a centre word's pairs all go in one batch).
 *
 * @example
 * ```ts
 * import { PairBatcher } from "./windows.ts";
 * const corpus = { ids: new Int32Array([0, 1, 2, 0, 1]), starts: new Int32Array([0, 5]) };
 * const batcher = new PairBatcher(corpus, new Int32Array([2, 2, 1]), { window: 1, negatives: 2, subsample: 0, epochs: 1, seed: 3 }, 4);
 * const batch = batcher.next()!;
 * // Window 1: the first centre (0) has one pair, the next ones two each; a batch of 4 takes three centres.
 * if (batch.pairs !== 3 || batch.words !== 2 || batch.centre.slice(0, 3).join() !== "0,1,1") {
 *   throw new Error(`${batch.pairs} ${batch.words} ${batch.centre}`);
 * }
 * ```
 */
export class PairBatcher extends WindowReader {
  private readonly batch: PairBatch;

  /** Batches of `size` slots over `corpus` (word counts `counts`) with these settings. */
  constructor(corpus: EncodedCorpus, counts: Int32Array, settings: WindowSettings, size: number) {
    if (!(size >= 2 * settings.window)) {
      throw new RangeError(
        `pairs (${size}) must hold one centre word's pairs: at least 2 · window = ${2 * settings.window}`,
      );
    }
    super(corpus, counts, settings);
    this.batch = {
      centre: new Int32Array(size),
      context: new Int32Array(size),
      negatives: new Int32Array(size * settings.negatives),
      mask: new Float32Array(size),
      pairs: 0,
      words: 0,
    };
  }

  /** The next batch, or undefined once every epoch is done. */
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
    this.drawNegatives(b.negatives, pairs * this.settings.negatives);
    b.pairs = pairs;
    b.words = words;
    return b;
  }
}

/**
 * One CBOW batch, in arrays the batcher reuses (copy them to keep them).
 *
 * @example
 * ```ts
 * import { CbowBatcher, type WindowBatch } from "./windows.ts";
 * const corpus = { ids: new Int32Array([0, 1]), starts: new Int32Array([0, 2]) };
 * const batch: WindowBatch = new CbowBatcher(corpus, new Int32Array([1, 1]), { window: 5, negatives: 5, subsample: 0, epochs: 1, seed: 1 }, 8).next()!;
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
 * CBOW batches: one row per centre word with its window's context words, `size` rows a batch. Centre words
 * whose window holds no other word (one-word sentences) are read but make no row, as in word2vec.c.
 *
 * @example
 * ```ts
 * import { CbowBatcher } from "./windows.ts";
 * const corpus = { ids: new Int32Array([0, 1, 2]), starts: new Int32Array([0, 3]) };
 * const batch = new CbowBatcher(corpus, new Int32Array([1, 1, 1]), { window: 1, negatives: 1, subsample: 0, epochs: 1, seed: 3 }, 2).next()!;
 * // Rows of 2 · window = 2 slots: centre 0 sees [1], centre 1 sees [0, 2].
 * if (batch.windows !== 2 || batch.context.join() !== "1,0,0,2" || batch.mask.join() !== "1,0,1,1") {
 *   throw new Error(`${batch.windows} ${batch.context} ${batch.mask}`);
 * }
 * ```
 */
export class CbowBatcher extends WindowReader {
  private readonly batch: WindowBatch;

  /** Batches of `size` slots over `corpus` (word counts `counts`) with these settings. */
  constructor(corpus: EncodedCorpus, counts: Int32Array, settings: WindowSettings, size: number) {
    if (!(Number.isInteger(size) && size >= 1)) {
      throw new RangeError(`centres must be a whole number >= 1, got ${size}`);
    }
    super(corpus, counts, settings);
    const { negatives, window } = settings;
    this.batch = {
      centre: new Int32Array(size),
      context: new Int32Array(size * 2 * window),
      negatives: new Int32Array(size * negatives),
      mask: new Float32Array(size * 2 * window),
      windows: 0,
      words: 0,
    };
  }

  /** The next batch, or undefined once every epoch is done. */
  next(): WindowBatch | undefined {
    const b = this.batch;
    const width = 2 * this.settings.window;
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
    this.drawNegatives(b.negatives, rows * this.settings.negatives);
    b.windows = rows;
    b.words = words;
    return b;
  }
}
