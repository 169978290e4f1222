/**
 * The control block through which {@linkcode CpuRuntime} talks to its workers: a few int32s in
 * the shared memory, used with `Atomics` only.
 * @module
 */

/**
 * Int32 indices inside the control block. `generation` counts posted jobs, `pending` the
 * workers still busy with the current one, `nextUnit` hands out units of work, `packedCount`
 * counts finished B-packing units, and `job` is where the {@linkcode MatmulJob} is written.
 *
 * @example
 * ```ts
 * import { Control } from "./control.ts";
 * if (Control.job + 15 > Control.ints) throw new Error("a job must fit in the block");
 * ```
 */
export const Control = {
  generation: 0,
  pending: 1,
  quit: 2,
  ready: 3,
  error: 4,
  nextUnit: 5,
  packedCount: 6,
  /** What the current job is: 0 a matmul (at `job`), 1 a generated kernel (at `kernel`). */
  kind: 7,
  job: 8,
  /** A kernel job: id, code type, code address, code length, outer rows, chunk, argument count, arguments. */
  kernel: 32,
  ints: 160,
} as const;

/**
 * What a worker receives at start-up.
 *
 * @example
 * ```ts
 * import type { WorkerInit } from "./control.ts";
 * const describe = (init: WorkerInit) => `thread ${init.thread}, scratch at ${init.work}`;
 * ```
 */
export interface WorkerInit {
  /** The runtime's shared memory. */
  memory: WebAssembly.Memory;
  /** The compiled sgemm module (instantiated once per worker). */
  module: WebAssembly.Module;
  /** Byte offset of the control block. */
  control: number;
  /** This worker's thread index (the main thread is 0). */
  thread: number;
  /** Byte offset of this worker's packing scratch. */
  work: number;
  /** Polls of the job counter before sleeping in `Atomics.wait`. */
  spin: number;
}
