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

/**
 * A row group's members, as the control block lists them (see `Control.kernel`): each member's kernel id,
 * code type, code address and length, outer rows per group row, and arguments.
 *
 * @example
 * ```ts
 * import { readGroupMembers } from "./jobs.ts";
 * const block = Int32Array.from([2, 10, 5, 7, 0, 64, 9, 3, 1, 100]);
 * const members = readGroupMembers(block, 3, 1); // after the count, rows and chunk
 * if (members[0].id !== 7 || members[0].scale !== 3 || members[0].args.join() !== "100") throw new Error();
 * ```
 */
export function readGroupMembers(
  block: Int32Array,
  at: number,
  count: number,
): { id: number; type: number; ptr: number; length: number; scale: number; args: number[] }[] {
  const members = [];
  for (let m = 0; m < count; m++) {
    const [id, type, ptr, length, scale, argc] = block.subarray(at, at + 6);
    members.push({ id, type, ptr, length, scale, args: Array.from(block.subarray(at + 6, at + 6 + argc)) });
    at += 6 + argc;
  }
  return members;
}

/**
 * The runner of a row group: rows `[lo, hi)` of every member in turn, a member's outer rows scaled from the
 * group's.
 *
 * @example
 * ```ts
 * import { groupRunner } from "./jobs.ts";
 * const seen: string[] = [];
 * const run = groupRunner([
 *   { run: (lo, hi) => void seen.push(`a${lo}-${hi}`), scale: 1, args: [] },
 *   { run: (lo, hi) => void seen.push(`b${lo}-${hi}`), scale: 5, args: [] },
 * ]);
 * run(2, 4, []);
 * if (seen.join() !== "a2-4,b10-20") throw new Error(seen.join());
 * ```
 */
export function groupRunner(
  members: readonly { run: KernelRunner; scale: number; args: readonly number[] }[],
): KernelRunner {
  return (lo, hi) => {
    for (const m of members) m.run(lo * m.scale, hi * m.scale, m.args);
  };
}
