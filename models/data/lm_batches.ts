/**
 * How a language model reads a stream of ids, as batches of int32 inputs and targets (target -1: no target):
 * - {@linkcode WindowBatches}: every position once an epoch, in a seeded random order, with the `width` ids
 *   before it (Bengio's n-gram windows);
 * - {@linkcode ChunkBatches}: chunks of `width` tokens, inputs shifted by one from the targets, at an offset
 *   and in an order drawn anew each epoch (Transformers; masked LMs);
 * - {@linkcode RowBatches}: the stream cut into `rows` rows read in order, chunk after chunk, so that a
 *   recurrent state can follow its row (truncated backpropagation through time, Zaremba et al.).
 * Each says where it is as JSON and goes back there, so a resumed run reads what an uninterrupted one would.
 * @module
 */
import { Rng, seedState } from "./random.ts";

/**
 * One batch: inputs [rows, width], targets [rows] (windows) or [rows, width], and the real targets' count.
 *
 * @example
 * ```ts
 * import type { IdBatch } from "./lm_batches.ts";
 * const b: IdBatch = { inputs: new Int32Array(2), targets: new Int32Array(1), real: 1 };
 * if (b.real !== 1) throw new Error();
 * ```
 */
export interface IdBatch {
  /** Row-major inputs. */
  inputs: Int32Array;
  /** Row-major targets, -1 where there is none. */
  targets: Int32Array;
  /** How many targets are real. */
  real: number;
}

/**
 * Where a batcher is: epochs done and batches into the current one.
 *
 * @example
 * ```ts
 * import type { IdBatchState } from "./lm_batches.ts";
 * const s: IdBatchState = { epoch: 1, offset: 3 };
 * if (s.offset !== 3) throw new Error();
 * ```
 */
export interface IdBatchState {
  /** Epochs completed. */
  epoch: number;
  /** Batches of the current epoch already made. */
  offset: number;
}

/**
 * What every LM batcher offers.
 *
 * @example
 * ```ts
 * import { RowBatches, type IdBatcher } from "./lm_batches.ts";
 * const b: IdBatcher = new RowBatches(new Int32Array([1, 2, 3]), { width: 2, rows: 1, epochs: 1 });
 * if (b.batchesPerEpoch !== 2) throw new Error();
 * ```
 */
export interface IdBatcher {
  /** The next batch (arrays reused from call to call), or undefined when every epoch is done. */
  next(): IdBatch | undefined;
  /** Batches in one epoch. */
  readonly batchesPerEpoch: number;
  /** Where it is. */
  state: IdBatchState;
  /** The input shape of a batch. */
  readonly inputShape: number[];
  /** The target shape of a batch. */
  readonly targetShape: number[];
}

/**
 * Fills `contexts` (row-major [rows, width]) and `targets` with the windows ending at `positions`: the target
 * is `stream[t]`, the context the `width` ids before it (id 0, the end-of-sentence token, before the stream's
 * start). Rows past `positions.length` get target -1.
 *
 * @example
 * ```ts
 * import { fillWindows } from "./lm_batches.ts";
 * const [contexts, targets] = [new Int32Array(6), new Int32Array(3)];
 * fillWindows(new Int32Array([7, 8, 9]), [0, 2], 2, contexts, targets);
 * if (contexts.join() !== "0,0,7,8,0,0" || targets.join() !== "7,9,-1") throw new Error(`${contexts} ${targets}`);
 * ```
 */
export function fillWindows(
  stream: Int32Array,
  positions: ArrayLike<number>,
  width: number,
  contexts: Int32Array,
  targets: Int32Array,
): number {
  contexts.fill(0);
  targets.fill(-1);
  for (let row = 0; row < positions.length; row++) {
    const t = positions[row];
    targets[row] = stream[t];
    for (let j = 0; j < width; j++) {
      const at = t - width + j;
      if (at >= 0) contexts[row * width + j] = stream[at];
    }
  }
  return positions.length;
}

/**
 * Fills `inputs` and `targets` (row-major [rows, width]) with the chunks starting at `starts`: targets
 * `stream[s .. s + width)`, inputs the same shifted by one (id 0 before the stream's first). Slots past the
 * stream's end and rows past `starts.length` get target -1. Returns the real targets' count.
 *
 * @example
 * ```ts
 * import { fillChunks } from "./lm_batches.ts";
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
  width: number,
  inputs: Int32Array,
  targets: Int32Array,
): number {
  inputs.fill(0);
  targets.fill(-1);
  let real = 0;
  for (let row = 0; row < starts.length; row++) {
    for (let t = 0; t < width; t++) {
      const at = starts[row] + t;
      if (at < 0) continue; // a chunk that starts before the stream (a shifted grid's first)
      if (at >= stream.length) break;
      targets[row * width + t] = stream[at];
      inputs[row * width + t] = at > 0 ? stream[at - 1] : 0;
      real++;
    }
  }
  return real;
}

/**
 * Fills chunk `index` of every row, the stream being cut into `rows` rows of `ceil(length / rows)` tokens (the
 * last one shorter): the layout in which a carried state follows its row. Targets past a row's end are -1.
 * Over the chunks of a pass every token is a target once.
 *
 * @example
 * ```ts
 * import { fillRowChunks } from "./lm_batches.ts";
 * const [inputs, targets] = [new Int32Array(4), new Int32Array(4)];
 * const stream = new Int32Array([5, 6, 7, 8, 9]); // rows [5 6 7] and [8 9]
 * const real = fillRowChunks(stream, 2, 2, 1, inputs, targets); // the second chunk of each row
 * if (real !== 1 || targets.join() !== "7,-1,-1,-1" || inputs.join() !== "6,0,0,0") throw new Error(`${targets}`);
 * ```
 */
export function fillRowChunks(
  stream: Int32Array,
  rows: number,
  width: number,
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
    for (let t = 0; t < width; t++) {
      const at = row * rowLength + index * width + t;
      if (at >= end) break;
      targets[row * width + t] = stream[at];
      inputs[row * width + t] = at > 0 ? stream[at - 1] : 0;
      real++;
    }
  }
  return real;
}

/**
 * Settings every LM batcher takes.
 *
 * @example
 * ```ts
 * import type { BatchSettings } from "./lm_batches.ts";
 * const s: BatchSettings = { width: 35, rows: 20, epochs: 13 };
 * if (s.rows !== 20) throw new Error();
 * ```
 */
export interface BatchSettings {
  /** Context (windows) or chunk length. */
  width: number;
  /** Examples per batch. */
  rows: number;
  /** Passes over the stream. */
  epochs: number;
  /** Seed of the order (shuffled batchers). */
  seed?: number;
}

/** What the three batchers share: the buffers, the epoch loop and the state. */
abstract class Batches implements IdBatcher {
  state: IdBatchState = { epoch: 0, offset: 0 };
  protected readonly batch: IdBatch;
  readonly inputShape: number[];

  constructor(
    protected readonly stream: Int32Array,
    protected readonly settings: BatchSettings,
    readonly targetShape: number[],
    readonly batchesPerEpoch: number,
  ) {
    const { width, rows, epochs } = settings;
    for (const [name, v] of [["width", width], ["rows", rows], ["epochs", epochs]] as const) {
      if (!(Number.isInteger(v) && v >= 1)) {
        throw new RangeError(`${name} must be a whole number >= 1, got ${v}`);
      }
    }
    if (stream.length === 0) throw new RangeError("the stream to batch is empty");
    this.inputShape = [rows, width];
    const targets = new Int32Array(targetShape.reduce((a, b) => a * b, 1));
    this.batch = { inputs: new Int32Array(rows * width), targets, real: 0 };
  }

  /** Fills batch `index` of epoch `epoch`; returns the real targets. */
  protected abstract fill(epoch: number, index: number): number;

  next(): IdBatch | undefined {
    if (this.state.epoch >= this.settings.epochs) return undefined;
    this.batch.real = this.fill(this.state.epoch, this.state.offset);
    this.state = this.state.offset + 1 >= this.batchesPerEpoch
      ? { epoch: this.state.epoch + 1, offset: 0 }
      : { epoch: this.state.epoch, offset: this.state.offset + 1 };
    return this.batch;
  }
}

/**
 * Bengio's windows: each epoch every position of the stream once, in a seeded random order, `rows` a batch.
 *
 * @example
 * ```ts
 * import { WindowBatches } from "./lm_batches.ts";
 * const batches = new WindowBatches(new Int32Array([4, 5, 6]), { width: 2, rows: 2, epochs: 1, seed: 1 });
 * let targets = 0;
 * for (let b = batches.next(); b; b = batches.next()) targets += b.real;
 * if (targets !== 3 || batches.state.epoch !== 1) throw new Error();
 * ```
 */
export class WindowBatches extends Batches {
  private orderEpoch = -1;
  private order: Int32Array = new Int32Array(0);

  /** Batches of `stream` with these settings. */
  constructor(stream: Int32Array, settings: BatchSettings) {
    super(stream, settings, [settings.rows], Math.ceil(stream.length / settings.rows));
  }

  /** Fills batch `index` of epoch `epoch`; returns the real targets. */
  protected override fill(epoch: number, index: number): number {
    if (this.orderEpoch !== epoch) {
      this.order = new Rng(seedState(this.settings.seed ?? 1, epoch)).shuffle(
        Int32Array.from({ length: this.stream.length }, (_, i) => i),
      );
      this.orderEpoch = epoch;
    }
    const { rows, width } = this.settings;
    const positions = this.order.subarray(index * rows, Math.min((index + 1) * rows, this.stream.length));
    return fillWindows(this.stream, positions, width, this.batch.inputs, this.batch.targets);
  }
}

/**
 * Chunks of `width` tokens: each epoch the chunk grid moves by a seeded offset in [0, width) and the chunks
 * come in a seeded random order, `rows` a batch; every token is a target once an epoch.
 *
 * @example
 * ```ts
 * import { ChunkBatches } from "./lm_batches.ts";
 * const batches = new ChunkBatches(new Int32Array([1, 2, 3, 4, 5]), { width: 2, rows: 2, epochs: 1, seed: 1 });
 * let targets = 0;
 * for (let b = batches.next(); b; b = batches.next()) targets += b.real;
 * if (targets !== 5) throw new Error(String(targets));
 * ```
 */
export class ChunkBatches extends Batches {
  private orderEpoch = -1;
  private starts: Int32Array = new Int32Array(0);

  /** Batches of `stream` with these settings. */
  constructor(stream: Int32Array, settings: BatchSettings) {
    // One chunk more than the stream needs, for the part before the offset.
    const chunks = Math.ceil(stream.length / settings.width) + 1;
    super(stream, settings, [settings.rows, settings.width], Math.ceil(chunks / settings.rows));
  }

  /** Chunk starts of an epoch: the part before the offset first, then every `width` tokens, shuffled. */
  private startsOf(epoch: number): Int32Array {
    const { width } = this.settings;
    const rng = new Rng(seedState(this.settings.seed ?? 1, epoch));
    const offset = rng.below(width);
    const starts: number[] = offset > 0 ? [offset - width] : [];
    for (let s = offset; s < this.stream.length; s += width) starts.push(s);
    return rng.shuffle(Int32Array.from(starts));
  }

  /** Fills batch `index` of epoch `epoch`; returns the real targets. */
  protected override fill(epoch: number, index: number): number {
    if (this.orderEpoch !== epoch) [this.starts, this.orderEpoch] = [this.startsOf(epoch), epoch];
    const { rows, width } = this.settings;
    const chunkStarts = this.starts.subarray(index * rows, Math.min((index + 1) * rows, this.starts.length));
    return fillChunks(this.stream, chunkStarts, width, this.batch.inputs, this.batch.targets);
  }
}

/**
 * The stream cut into `rows` rows read in order, one chunk of `width` tokens of every row a batch (see
 * {@linkcode fillRowChunks}).
 *
 * @example
 * ```ts
 * import { RowBatches } from "./lm_batches.ts";
 * const batches = new RowBatches(new Int32Array([5, 6, 7, 8, 9]), { width: 2, rows: 2, epochs: 1 });
 * if (batches.next()!.targets.join() !== "5,6,8,9") throw new Error();
 * ```
 */
export class RowBatches extends Batches {
  /** Batches of `stream` with these settings. */
  constructor(stream: Int32Array, settings: BatchSettings) {
    const perRow = Math.ceil(stream.length / settings.rows);
    super(stream, settings, [settings.rows, settings.width], Math.ceil(perRow / settings.width));
  }

  /** Fills batch `index` of epoch `epoch`; returns the real targets. */
  protected override fill(_epoch: number, index: number): number {
    const { rows, width } = this.settings;
    return fillRowChunks(this.stream, rows, width, index, this.batch.inputs, this.batch.targets);
  }
}
