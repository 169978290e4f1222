/**
 * The control block through which {@linkcode CpuRuntime} talks to its workers: a few int32s in
 * the shared memory, used with `Atomics` only.
 * @module
 */

/**
 * Int32 indices inside the control block. `generation` counts posted jobs, `members` counts the
 * workers inside the current one (with {@linkcode CLOSED} set once the caller has closed it),
 * `nextUnit` hands out units of work, `packedCount` counts finished B-packing units, and `job` is
 * where the {@linkcode MatmulJob} is written.
 *
 * @example
 * ```ts
 * import { Control } from "./control.ts";
 * if (Control.job + 15 > Control.ints) throw new Error("a job must fit in the block");
 * ```
 */
export const Control = {
  generation: 0,
  members: 1,
  quit: 2,
  ready: 3,
  error: 4,
  nextUnit: 5,
  packedCount: 6,
  /**
   * What the current job is: 0 a matmul (at `job`), 1 a generated kernel, 2 a row group of kernels (both at
   * `kernel`).
   */
  kind: 7,
  job: 8,
  /**
   * A kernel job: id, code type, code address, code length, outer rows, chunk, argument count, arguments. A
   * row group: member count, rows, chunk, then per member id, code type, code address, code length, outer
   * rows per group row, argument count, arguments.
   */
  kernel: 32,
  ints: 416,
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

/**
 * The bit of `members` that says the current job is closed: its caller has run out of units, and a
 * worker that wakes only now must not join it. Below it, the number of workers inside the job.
 *
 * @example
 * ```ts
 * import { CLOSED } from "./control.ts";
 * if ((CLOSED & (CLOSED - 1)) !== 0) throw new Error("one bit");
 * ```
 */
export const CLOSED = 1 << 30;

/**
 * Opens a posted job (its description already written) to the workers: from now on a worker that
 * joins takes units of it.
 *
 * @example
 * ```ts
 * import { CLOSED, Control, openJob } from "./control.ts";
 * const control = new Int32Array(new SharedArrayBuffer(4 * Control.ints));
 * control[Control.members] = CLOSED;
 * openJob(control);
 * if (control[Control.members] !== 0 || control[Control.generation] !== 1) throw new Error();
 * ```
 */
export function openJob(control: Int32Array): void {
  Atomics.store(control, Control.members, 0);
  Atomics.add(control, Control.generation, 1);
  Atomics.notify(control, Control.generation);
}

/**
 * A worker's attempt to take part in the current job: true when it joined (it must then
 * {@linkcode leaveJob}), false when the job is closed already, its caller having done every unit.
 *
 * @example
 * ```ts
 * import { CLOSED, Control, joinJob, leaveJob } from "./control.ts";
 * const control = new Int32Array(new SharedArrayBuffer(4 * Control.ints));
 * if (!joinJob(control) || control[Control.members] !== 1) throw new Error();
 * leaveJob(control);
 * control[Control.members] = CLOSED;
 * if (joinJob(control)) throw new Error("a closed job takes no one");
 * ```
 */
export function joinJob(control: Int32Array): boolean {
  for (
    let s = Atomics.load(control, Control.members);
    (s & CLOSED) === 0;
    s = Atomics.load(control, Control.members)
  ) {
    if (Atomics.compareExchange(control, Control.members, s, s + 1) === s) return true;
  }
  return false;
}

/**
 * A worker leaves the job it joined; the last to leave a closed job wakes its caller.
 *
 * @example
 * ```ts
 * import { Control, joinJob, leaveJob } from "./control.ts";
 * const control = new Int32Array(new SharedArrayBuffer(4 * Control.ints));
 * joinJob(control);
 * leaveJob(control);
 * if (control[Control.members] !== 0) throw new Error();
 * ```
 */
export function leaveJob(control: Int32Array): void {
  if (Atomics.sub(control, Control.members, 1) === (CLOSED | 1)) Atomics.notify(control, Control.members);
}

/**
 * The caller closes its job once it finds no unit left, then waits only for the workers that joined
 * (each finishing the unit it holds); a worker that has not woken yet is not waited for, so a
 * thread that the machine does not run now costs the caller nothing.
 *
 * @example
 * ```ts
 * import { closeJob, Control, joinJob } from "./control.ts";
 * const control = new Int32Array(new SharedArrayBuffer(4 * Control.ints));
 * closeJob(control, 10);
 * if (joinJob(control)) throw new Error("closed");
 * ```
 */
export function closeJob(control: Int32Array, spin: number): void {
  Atomics.or(control, Control.members, CLOSED);
  const inside = () => Atomics.load(control, Control.members) & ~CLOSED;
  for (let i = 0; i < spin && inside() !== 0; i++);
  for (let s; ((s = Atomics.load(control, Control.members)) & ~CLOSED) !== 0;) {
    Atomics.wait(control, Control.members, s);
  }
}
