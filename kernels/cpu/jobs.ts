/**
 * Generated kernels that the pool runs across threads: a kernel's code (a WebAssembly module exporting
 * `kernel(lo, hi, ...pointers)`, or the source of a JavaScript loop `(views, lo, hi)`) lives in the shared
 * memory, so a worker that meets an unknown kernel compiles it itself, synchronously, and caches it. The
 * rows `[0, outer)` of the kernel's outer loop are cut into chunks that threads take from a shared counter;
 * every row is computed by exactly one thread with the same code, so results do not depend on the thread
 * count.
 * @module
 */

/**
 * Kernel code types, as stored in a job.
 *
 * @example
 * ```ts
 * import { KernelType } from "./jobs.ts";
 * if (new Set(Object.values(KernelType)).size !== 2) throw new Error();
 * ```
 */
export const KernelType = { wasm: 0, js: 1 } as const;

/**
 * A runnable kernel: rows `[lo, hi)` with its arguments (pointers, or pointer/length/dtype triples for JS).
 *
 * @example
 * ```ts
 * import type { KernelRunner } from "./jobs.ts";
 * const rows: number[] = [];
 * const run: KernelRunner = (lo, hi) => void rows.push(hi - lo);
 * run(0, 3, []);
 * if (rows[0] !== 3) throw new Error();
 * ```
 */
export type KernelRunner = (lo: number, hi: number, args: readonly number[]) => void;

/**
 * Compiles kernel code read from `memory` (type, byte address and length of the code).
 *
 * @example
 * ```ts
 * import { compileKernel, KernelType } from "./jobs.ts";
 * const memory = new WebAssembly.Memory({ initial: 1 });
 * const source = new TextEncoder().encode("for (let i = lo; i < hi; i++) views[1][i] = views[0][i] * 2;");
 * new Uint8Array(memory.buffer, 256, source.length).set(source);
 * const run = compileKernel(KernelType.js, 256, source.length, memory);
 * new Float32Array(memory.buffer, 0, 2).set([1, 2]);
 * run(0, 2, [0, 2, 0, 64, 2, 0]);
 * if (new Float32Array(memory.buffer, 64, 2).join() !== "2,4") throw new Error();
 * ```
 */
export function compileKernel(
  type: number,
  codePtr: number,
  codeLength: number,
  memory: WebAssembly.Memory,
): KernelRunner {
  // Copy out of the (possibly shared) memory: compilers take ordinary buffers.
  const code = new Uint8Array(codeLength);
  // Addresses travel through int32 slots: read them back as unsigned (memories may exceed 2 GiB).
  code.set(new Uint8Array(memory.buffer, codePtr >>> 0, codeLength));
  if (type === KernelType.wasm) {
    const instance = new WebAssembly.Instance(new WebAssembly.Module(code), { env: { memory } });
    const kernel = instance.exports.kernel as (...args: number[]) => void;
    return (lo, hi, args) => kernel(lo, hi, ...args);
  }
  const body = new TextDecoder().decode(code);
  const kernel = new Function("views", "lo", "hi", `"use strict";\n${body}`) as (
    views: ArrayLike<number>[],
    lo: number,
    hi: number,
  ) => void;
  return (lo, hi, args) => {
    const views: ArrayLike<number>[] = [];
    const buffer = memory.buffer;
    for (let i = 0; i < args.length; i += 3) {
      const [ptr, length, type] = [args[i] >>> 0, args[i + 1], args[i + 2]];
      views.push(
        type === 0
          ? new Float32Array(buffer, ptr, length)
          : type === 1
          ? new Int32Array(buffer, ptr, length)
          : new Uint8Array(buffer, ptr, length),
      );
    }
    kernel(views, lo, hi);
  };
}

/**
 * The dtype code of a JavaScript kernel argument.
 *
 * @example
 * ```ts
 * import { viewType } from "./jobs.ts";
 * if (viewType("float32") !== 0 || viewType("bool") !== 2) throw new Error();
 * ```
 */
export function viewType(dtype: "float32" | "int32" | "bool"): number {
  return dtype === "float32" ? 0 : dtype === "int32" ? 1 : 2;
}

/**
 * Takes chunks of rows from `next()` until none are left.
 *
 * @example
 * ```ts
 * import { runChunks } from "./jobs.ts";
 * const seen: number[][] = [];
 * let next = 0;
 * runChunks((lo, hi) => void seen.push([lo, hi]), 10, 4, [], () => next++);
 * if (JSON.stringify(seen) !== "[[0,4],[4,8],[8,10]]") throw new Error(JSON.stringify(seen));
 * ```
 */
export function runChunks(
  run: KernelRunner,
  outer: number,
  chunk: number,
  args: readonly number[],
  next: () => number,
): void {
  const chunks = Math.ceil(outer / chunk);
  for (let c = next(); c < chunks; c = next()) run(c * chunk, Math.min(outer, (c + 1) * chunk), args);
}
