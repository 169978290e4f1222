/**
 * How a batched matmul is split between threads: into units (bands of one output matrix) that
 * the main thread and the workers take from a shared counter. A unit is a disjoint set of whole
 * output elements, so no other synchronisation is needed inside a job, and the result does not
 * depend on which thread computed what.
 * @module
 */

import {
  DEFAULT_TILING,
  GemmFlags,
  type GemmFunction,
  type GemmTiling,
  packedBElements,
  packedBOffset,
  type PackFunction,
} from "./matmul.ts";

/**
 * One batched matmul with every stride resolved; pointers in bytes, strides in elements.
 *
 * @example
 * ```ts
 * import type { MatmulJob } from "./partition.ts";
 * const job: MatmulJob = { a: 64, b: 128, c: 192, batch: 1, m: 2, n: 2, k: 2, lda: 2, ldb: 2, ldc: 2,
 *   strideA: 4, strideB: 4, strideC: 4, flags: 0, threads: 1, packed: 0 };
 * ```
 */
export interface MatmulJob {
  /** Byte address of A's first batch. */
  a: number;
  /** Byte address of B's first batch. */
  b: number;
  /** Byte address of C's first batch. */
  c: number;
  /** Number of matrices. */
  batch: number;
  /** Rows of op(A) and C. */
  m: number;
  /** Columns of op(B) and C. */
  n: number;
  /** The contracted dimension. */
  k: number;
  /** Row stride of A as stored (elements). */
  lda: number;
  /** Row stride of B as stored. */
  ldb: number;
  /** Row stride of C. */
  ldc: number;
  /** Elements between consecutive matrices of A. */
  strideA: number;
  /** Elements between consecutive matrices of B. */
  strideB: number;
  /** Elements between consecutive matrices of C. */
  strideC: number;
  /** {@linkcode GemmFlags} bits. */
  flags: number;
  /** Threads taking part in this job (indices 0..threads-1). */
  threads: number;
  /**
   * Byte address of a buffer of {@linkcode packedBBytes} where the threads first pack op(B)
   * together, or 0 to let each unit pack the B it needs.
   */
  packed: number;
}

/**
 * Bits of {@linkcode MatmulJob.flags} beyond the {@linkcode GemmFlags} the kernel reads; they are stripped
 * before the kernel is called. `prepackedB`: {@linkcode MatmulJob.packed} already holds all of op(B), packed
 * by {@linkcode packOperandB} (once for several products with the same B): no thread packs, and C is cut
 * into bands of rows as narrow as the register tile, each read against the whole packed B.
 *
 * @example
 * ```ts
 * import { GemmFlags } from "./matmul.ts";
 * import { JobFlags } from "./partition.ts";
 * if ((JobFlags.prepackedB & (GemmFlags.transA | GemmFlags.transB | GemmFlags.accumulate | GemmFlags.packedB)) !== 0) {
 *   throw new Error();
 * }
 * ```
 */
export const JobFlags = { prepackedB: 1 << 8 } as const;

/**
 * Packs all of op(B) (`k x n`; stored as `n x k` when `transB`, with row stride `ldb`) at byte `b` into
 * byte `dst` in the layout the kernel reads with {@linkcode GemmFlags}.packedB (see
 * {@linkcode packedBOffset}), `dst` holding {@linkcode packedBElements} floats.
 *
 * @example
 * ```ts
 * import { packOperandB } from "./partition.ts";
 * const calls: number[][] = [];
 * packOperandB((...args) => void calls.push(args), { b: 0, k: 4, n: 300, ldb: 300, transB: false }, 4096);
 * if (calls.length !== 2 || calls[1][3] !== 44) throw new Error(); // columns 256..299 in a second call
 * ```
 */
export function packOperandB(
  packB: PackFunction,
  operand: { b: number; k: number; n: number; ldb: number; transB: boolean },
  dst: number,
  tiling: GemmTiling = DEFAULT_TILING,
): void {
  const { b, k, n, ldb, transB } = operand;
  const [ws, ds] = transB ? [4 * ldb, 4] : [4, 4 * ldb];
  for (let depthStart = 0; depthStart < k; depthStart += tiling.kc) {
    for (let col = 0; col < n; col += PACK_COLUMNS) {
      const src = b + 4 * (transB ? col * ldb + depthStart : depthStart * ldb + col);
      const at = dst + 4 * packedBOffset({ n, k, depthStart, col }, tiling);
      packB(src, ws, ds, Math.min(PACK_COLUMNS, n - col), Math.min(tiling.kc, k - depthStart), at);
    }
  }
}

/**
 * Field order of a {@linkcode MatmulJob} when it travels through shared memory as int32s.
 *
 * @example
 * ```ts
 * import { JOB_FIELDS } from "./partition.ts";
 * if (JOB_FIELDS[0] !== "a") throw new Error();
 * ```
 */
export const JOB_FIELDS = [
  "a",
  "b",
  "c",
  "batch",
  "m",
  "n",
  "k",
  "lda",
  "ldb",
  "ldc",
  "strideA",
  "strideB",
  "strideC",
  "flags",
  "threads",
  "packed",
] as const satisfies readonly (keyof MatmulJob)[];

/**
 * Writes `job` into `ints` at `offset` (pointers are stored as their 32-bit pattern).
 *
 * @example
 * ```ts
 * import { readJob, writeJob, type MatmulJob } from "./partition.ts";
 * const job: MatmulJob = { a: 64, b: 128, c: 3e9, batch: 1, m: 2, n: 2, k: 2, lda: 2, ldb: 2, ldc: 2,
 *   strideA: 4, strideB: 4, strideC: 4, flags: 0, threads: 1, packed: 0 };
 * const ints = new Int32Array(32);
 * writeJob(ints, 0, job);
 * if (readJob(ints, 0).c !== 3e9) throw new Error();
 * ```
 */
export function writeJob(ints: Int32Array, offset: number, job: MatmulJob): void {
  JOB_FIELDS.forEach((field, i) => ints[offset + i] = job[field]);
}

/**
 * Reads a job written by {@linkcode writeJob}; addresses of 2 GiB and more come back positive.
 *
 * @example
 * ```ts
 * import { readJob } from "./partition.ts";
 * const ints = new Int32Array(16).fill(1);
 * ints[2] = -1; // c = 0xffffffff
 * if (readJob(ints, 0).c !== 2 ** 32 - 1) throw new Error();
 * ```
 */
export function readJob(ints: Int32Array, offset: number): MatmulJob {
  const job = {} as MatmulJob;
  JOB_FIELDS.forEach((field, i) => job[field] = ints[offset + i] >>> 0);
  return job;
}

/**
 * Smallest band of rows (or columns) worth a unit of its own. A band packs the other operand
 * unless the threads share one packed B, which makes narrower row bands pay.
 */
const MIN_PIECE = 128, MIN_PIECE_SHARED_B = 48;
/** Units per thread to aim for, so that a thread slowed by other work is helped by the rest. */
const UNITS_PER_THREAD = 4;
/** Columns of B one packing unit packs (a multiple of NR). */
const PACK_COLUMNS = 256;

/** How `job` is cut into units: `pieces` bands per matrix, each `pieceSize` rows or columns. */
function plan(job: MatmulJob, tiling: GemmTiling) {
  const prepacked = (job.flags & JobFlags.prepackedB) !== 0;
  const splitRows = prepacked || job.m >= job.n;
  const extent = splitRows ? job.m : job.n;
  const tile = splitRows ? tiling.mr : 4 * tiling.nv;
  const wanted = job.threads === 1 ? 1 : Math.ceil(UNITS_PER_THREAD * job.threads / job.batch);
  const sharedB = prepacked || (splitRows && (job.batch === 1 || job.strideB === 0));
  // With B packed beforehand a band costs only its rows' work, so bands as narrow as the tile pay.
  const minPiece = prepacked ? tiling.mr : sharedB ? MIN_PIECE_SHARED_B : MIN_PIECE;
  const pieces = Math.max(1, Math.min(wanted, Math.floor(extent / minPiece)));
  const pieceSize = Math.ceil(Math.ceil(extent / tile) / pieces) * tile;
  const packGroups = Math.ceil(job.n / PACK_COLUMNS);
  const packUnits = job.packed && !prepacked ? packGroups * Math.ceil(job.k / tiling.kc) : 0;
  return {
    splitRows,
    sharedB,
    extent,
    pieceSize,
    pieces: Math.ceil(extent / pieceSize),
    packGroups,
    packUnits,
  };
}

/**
 * Bytes of the shared packed-B buffer `job` should use, or 0 when sharing does not pay: it does
 * when several threads compute row bands of the same B (one matrix, or B reused across the
 * batch), since each band would otherwise pack all of B again.
 *
 * @example
 * ```ts
 * import { packedBBytes } from "./partition.ts";
 * const job = { a: 0, b: 0, c: 0, batch: 1, m: 1024, n: 1024, k: 1024, lda: 1024, ldb: 1024, ldc: 1024,
 *   strideA: 0, strideB: 0, strideC: 0, flags: 0, threads: 2, packed: 0 };
 * if (packedBBytes(job) !== 4 * 1024 * 1024) throw new Error();
 * if (packedBBytes({ ...job, threads: 1 }) !== 0) throw new Error();
 * ```
 */
export function packedBBytes(job: MatmulJob, tiling: GemmTiling = DEFAULT_TILING): number {
  const { sharedB, pieces } = plan(job, tiling);
  return job.threads > 1 && sharedB && pieces > 1 && job.k > 0
    ? 4 * packedBElements(job.k, job.n, tiling)
    : 0;
}

/**
 * The number of units `job` is cut into. Units are independent: each is a band of rows (or of
 * columns, when C is wider than tall) of one matrix of the batch, aligned to the register tile,
 * except that with a shared packed B ({@linkcode MatmulJob.packed}) the first units pack B.
 *
 * @example
 * ```ts
 * import { unitCount } from "./partition.ts";
 * const job = { a: 0, b: 0, c: 0, batch: 3, m: 1024, n: 512, k: 64, lda: 64, ldb: 512, ldc: 512,
 *   strideA: 0, strideB: 0, strideC: 0, flags: 0, threads: 2, packed: 0 };
 * if (unitCount(job) !== 9) throw new Error(); // 3 bands of rows in each of 3 matrices
 * ```
 */
export function unitCount(job: MatmulJob, tiling: GemmTiling = DEFAULT_TILING): number {
  const { pieces, packUnits } = plan(job, tiling);
  return packUnits + job.batch * pieces;
}

/**
 * What one thread runs units with.
 *
 * @example
 * ```ts
 * import { soloContext, type ThreadContext } from "./partition.ts";
 * const context: ThreadContext = soloContext(() => {}, () => {}, 0);
 * context.packed();
 * if (context.packedCount() !== 1) throw new Error();
 * ```
 */
export interface ThreadContext {
  /** The sgemm kernel. */
  gemm: GemmFunction;
  /** The B packer, for packing units. */
  packB: PackFunction;
  /** Byte address of this thread's packing scratch. */
  work: number;
  /** Claims the next unit (a counter shared by all threads of the job). */
  next(): number;
  /** Records that a packing unit is finished. */
  packed(): void;
  /** Packing units finished so far, by all threads. */
  packedCount(): number;
}

/**
 * A {@linkcode ThreadContext} for running a whole job on the calling thread.
 *
 * @example
 * ```ts
 * import { soloContext } from "./partition.ts";
 * const context = soloContext(() => {}, () => {}, 0);
 * if (context.next() !== 0 || context.next() !== 1) throw new Error();
 * ```
 */
export function soloContext(gemm: GemmFunction, packB: PackFunction, work: number): ThreadContext {
  let unit = 0, packs = 0;
  return { gemm, packB, work, next: () => unit++, packed: () => void packs++, packedCount: () => packs };
}

/**
 * Runs units of `job` until the shared counter passes the last one (see {@linkcode unitCount}).
 * A unit is computed by exactly one thread and the same way whoever takes it, so results do
 * not depend on the number of threads or on timing.
 *
 * @example
 * ```ts
 * import { runUnits, soloContext } from "./partition.ts";
 * const calls: number[][] = [];
 * const job = { a: 0, b: 0, c: 0, batch: 1, m: 100, n: 8, k: 4, lda: 4, ldb: 8, ldc: 8,
 *   strideA: 0, strideB: 0, strideC: 0, flags: 0, threads: 2, packed: 0 };
 * const context = soloContext((_a, _b, c, m) => calls.push([c, m]), () => {}, 0);
 * context.next(); // pretend another thread took unit 0
 * runUnits(job, context);
 * if (calls.join(";") !== "1600,50") throw new Error(calls.join(";")); // rows 50..99
 * ```
 */
export function runUnits(job: MatmulJob, context: ThreadContext, tiling: GemmTiling = DEFAULT_TILING): void {
  const { m, n, k, lda, ldb, ldc, packed } = job;
  const { splitRows, extent, pieceSize, pieces, packGroups, packUnits } = plan(job, tiling);
  const transB = (job.flags & GemmFlags.transB) !== 0;
  const flags = (job.flags & ~JobFlags.prepackedB) | (packed ? GemmFlags.packedB : 0);
  const units = packUnits + job.batch * pieces;
  let packsSeen = packUnits === 0;
  for (let unit = context.next(); unit < units; unit = context.next()) {
    if (unit < packUnits) {
      // Pack PACK_COLUMNS columns of one kc-slice of B into their place in the shared buffer.
      const depthStart = Math.floor(unit / packGroups) * tiling.kc, col = (unit % packGroups) * PACK_COLUMNS;
      const src = job.b + 4 * (transB ? col * ldb + depthStart : depthStart * ldb + col);
      const dst = packed + 4 * packedBOffset({ n, k, depthStart, col }, tiling);
      const [ws, ds] = transB ? [4 * ldb, 4] : [4, 4 * ldb];
      context.packB(src, ws, ds, Math.min(PACK_COLUMNS, n - col), Math.min(tiling.kc, k - depthStart), dst);
      context.packed();
      continue;
    }
    // Claimed units follow all packing units, which are claimed and being finished by others.
    while (!packsSeen) packsSeen = context.packedCount() >= packUnits;
    const index = unit - packUnits;
    const matrix = Math.floor(index / pieces);
    const start = (index % pieces) * pieceSize;
    const size = Math.min(extent, start + pieceSize) - start;
    let a = job.a + 4 * matrix * job.strideA;
    let b = packed || job.b + 4 * matrix * job.strideB;
    let c = job.c + 4 * matrix * job.strideC;
    if (splitRows) {
      a += 4 * start * (flags & GemmFlags.transA ? 1 : lda);
      c += 4 * start * ldc;
      context.gemm(a, b, c, size, n, k, lda, ldb, ldc, flags, context.work);
    } else {
      b += 4 * start * (transB ? ldb : 1);
      c += 4 * start;
      context.gemm(a, b, c, m, size, k, lda, ldb, ldc, flags, context.work);
    }
  }
}
