/**
 * The CPU kernels of primitives that run on their own rather than inside a fused loop: row gathers, concats,
 * random bits, and (on the host, through the reference backend's rule) first occurrences. Each compiles an
 * equation into a `Step` that the executable runs in program order.
 * @module
 */
import { BYTES_PER_ELEMENT } from "../passes/memory.ts";
import { executeEqn } from "../reference/mod.ts";
import { threefryWords } from "../reference/threefry.ts";
import { type DType, type Eqn, type PrimName, sizeOf } from "../../dsl/ir/mod.ts";
import type { CpuRuntime } from "./pool.ts";
import { gatherRowsModule, indexBoundModule } from "./rows.ts";
import type { MemoryLimits } from "./wasm.ts";

/**
 * A block of the runtime's memory holding one tensor's elements.
 *
 * @example
 * ```ts
 * import { CpuBuffer } from "./standalone.ts";
 * const block = new CpuBuffer(64, 16);
 * if (block.ptr !== 64 || block.bytes !== 16) throw new Error();
 * ```
 */
export class CpuBuffer {
  /**
   * An untouched JS buffer that one owned block in every 64 MiB of them carries: V8 counts it as external
   * memory, so the garbage collector runs (and frees dead tensors' blocks) as often as WebAssembly
   * allocations warrant. Its pages are never written, so it costs address space, not resident memory.
   */
  ballast?: ArrayBuffer;

  /**
   * Set once a run has returned this buffer as one of its outputs although it was an input (an identity
   * output, or a donated input updated in place): more than one tensor may then hold it, so it is freed only
   * when the garbage collector finds them all, never by `release`.
   */
  shared = false;

  /** Set when `release` has returned the block to the allocator. */
  released = false;

  /** Wraps an allocation of `bytes` bytes at byte address `ptr`. */
  constructor(readonly ptr: number, readonly bytes: number) {}
}

/**
 * A typed-array view of a buffer in the runtime's memory.
 *
 * @example
 * ```ts
 * import type { View } from "./standalone.ts";
 * const view: View = new Int32Array(2);
 * if (view.length !== 2) throw new Error();
 * ```
 */
export type View = Float32Array | Int32Array | Uint8Array;

/**
 * A compiled kernel: reads the buffers of its inputs, writes the buffer of its output (`inPlace` when the
 * memory plan gave the output the buffer of its first input).
 *
 * @example
 * ```ts
 * import { CpuBuffer, type Step } from "./standalone.ts";
 * const nothing: Step = () => {};
 * nothing([], new CpuBuffer(0, 0), false);
 * ```
 */
export type Step = (inputs: readonly CpuBuffer[], output: CpuBuffer, inPlace: boolean) => void;

/**
 * What compiling a kernel needs from the backend: the runtime, typed views of buffers, and the limits of
 * the memory that generated WebAssembly modules import.
 *
 * @example
 * ```ts
 * import type { KernelContext } from "./standalone.ts";
 * const limits: KernelContext["limits"] = { initial: 1 };
 * if (limits.initial !== 1) throw new Error();
 * ```
 */
export interface KernelContext {
  readonly runtime: CpuRuntime;
  readonly limits: MemoryLimits;
  view(buffer: CpuBuffer, dtype: DType, length: number): View;
}

/**
 * A standalone kernel of primitive `P`.
 *
 * @example
 * ```ts
 * import type { StandaloneKernel } from "./standalone.ts";
 * const noop: StandaloneKernel<"concat"> = () => () => {};
 * if (typeof noop !== "function") throw new Error();
 * ```
 */
export type StandaloneKernel<P extends PrimName> = (e: Eqn<P>, ctx: KernelContext) => Step;

/** Views of an equation's input buffers, then of its output buffer. */
function viewsOf(
  e: Eqn,
  ctx: Pick<KernelContext, "view">,
  inputs: readonly CpuBuffer[],
  output: CpuBuffer,
): View[] {
  return [
    ...inputs.map((b, i) => ctx.view(b, e.inputs[i].dtype, sizeOf(e.inputs[i].shape))),
    ctx.view(output, e.out.dtype, sizeOf(e.out.shape)),
  ];
}

function indexError(index: number, rows: number): RangeError {
  return new RangeError(
    `gather (take/embed): index ${index} is out of range for an axis of size ${rows}; indices must be in [0, ${rows})`,
  );
}

/**
 * Throws the error `take` users see when an index of `buffer` (int32 × `count`) is outside `[0, rows)`.
 *
 * @example
 * ```ts
 * import { CpuRuntime } from "./pool.ts";
 * import { checkIndices } from "./standalone.ts";
 * const runtime = await CpuRuntime.create({ threads: 1 });
 * const ptr = runtime.alloc(8);
 * new Int32Array(runtime.memory.buffer, ptr, 2).set([0, 5]);
 * try {
 *   checkIndices(runtime, { ptr }, 2, 3);
 *   throw new Error("unreachable");
 * } catch (e) {
 *   if (!(e instanceof RangeError)) throw e;
 * } finally {
 *   runtime.close();
 * }
 * ```
 */
export function checkIndices(
  runtime: CpuRuntime,
  buffer: Pick<CpuBuffer, "ptr">,
  count: number,
  rows: number,
): void {
  let largest = indexBounds.get(runtime);
  if (!largest) {
    const module = new WebAssembly.Module(indexBoundModule(memoryLimits(runtime)));
    const instance = new WebAssembly.Instance(module, { env: { memory: runtime.memory } });
    indexBounds.set(runtime, largest = instance.exports.largest as (ptr: number, count: number) => number);
  }
  if (largest(buffer.ptr, count) >>> 0 < rows) return;
  // Some index is out of range: find the first, for the message.
  const idx = new Int32Array(runtime.memory.buffer, buffer.ptr, count);
  for (let i = 0; i < count; i++) {
    const r = idx[i];
    if (!(r >= 0 && r < rows)) throw indexError(r, rows);
  }
}

/** Each runtime's compiled {@linkcode indexBoundModule}. */
const indexBounds = new WeakMap<CpuRuntime, (ptr: number, count: number) => number>();

/**
 * The limits of the runtime's memory as generated modules import it: shared where the memory is (threads),
 * plain where the page is not cross-origin isolated and `SharedArrayBuffer` does not even exist.
 *
 * @example
 * ```ts
 * import { CpuRuntime } from "./pool.ts";
 * import { memoryLimits } from "./standalone.ts";
 * const runtime = await CpuRuntime.create({ threads: 2 });
 * if (!memoryLimits(runtime).shared) throw new Error("threads share their memory");
 * runtime.close();
 * ```
 */
export function memoryLimits(runtime: CpuRuntime): MemoryLimits {
  const shared = typeof SharedArrayBuffer !== "undefined" &&
    runtime.memory.buffer instanceof SharedArrayBuffer;
  return shared ? { initial: 1, maximum: 65536, shared: true } : { initial: 1 };
}

/**
 * Row gather (`take` along axis 0): a WebAssembly kernel specialised to the row width, across the pool.
 *
 * @example
 * ```ts
 * import { take, tensor } from "../../mod.ts";
 * const rows = take(tensor([[1, 2], [3, 4]]), tensor([1, 1, 0], { dtype: "int32" }));
 * if (JSON.stringify(rows.arraySync()) !== "[[3,4],[3,4],[1,2]]") throw new Error();
 * ```
 */
export const gatherKernel: StandaloneKernel<"gather"> = (e, { runtime, limits }) => {
  const rows = e.inputs[0].shape[0];
  const width = sizeOf(e.inputs[0].shape.slice(1));
  const count = sizeOf(e.inputs[1].shape);
  const id = runtime.registerKernel({
    wasm: gatherRowsModule(width * BYTES_PER_ELEMENT[e.out.dtype], limits),
  });
  return (inputs, output) => {
    checkIndices(runtime, inputs[1], count, rows);
    runtime.runKernel(id, [inputs[0].ptr, inputs[1].ptr, output.ptr], count, count * width);
  };
};

/**
 * Concatenation: one block copy per part and outer row.
 *
 * @example
 * ```ts
 * import { concat, tensor } from "../../mod.ts";
 * if (JSON.stringify(concat([tensor([[1]]), tensor([[2, 3]])], 1).arraySync()) !== "[[1,2,3]]") throw new Error();
 * ```
 */
export const concatKernel: StandaloneKernel<"concat"> = (e, ctx) => {
  const axis = e.params.axis;
  const outer = sizeOf(e.out.shape.slice(0, axis));
  const inner = sizeOf(e.out.shape.slice(axis + 1));
  const widths = e.inputs.map((v) => v.shape[axis] * inner);
  const total = e.out.shape[axis] * inner;
  return (inputs, output) => {
    const all = viewsOf(e, ctx, inputs, output);
    const out = all[all.length - 1];
    let start = 0;
    widths.forEach((w, p) => {
      const part = all[p];
      for (let o = 0; o < outer; o++) out.set(part.subarray(o * w, (o + 1) * w), o * total + start);
      start += w;
    });
  };
};

/**
 * Random words: Threefry-2x32 of (stream, index) under the key, word for word as the reference computes them.
 *
 * @example
 * ```ts
 * import { random } from "../../mod.ts";
 * const a = random.uniform(random.key(7), [3]).dataSync();
 * const b = random.uniform(random.key(7), [3]).dataSync();
 * if (a.join() !== b.join()) throw new Error();
 * ```
 */
export const randomBitsKernel: StandaloneKernel<"random_bits"> = (e, ctx) => {
  const stream = e.params.stream;
  return (inputs, output) => {
    const [key, out] = viewsOf(e, ctx, inputs, output);
    threefryWords(key[0], key[1], stream, out as Int32Array);
  };
};

/**
 * A primitive run on the host by the reference backend's rule (rare ones fusion leaves alone).
 *
 * @example
 * ```ts
 * import { firstOccurrence, tensor } from "../../mod.ts";
 * if (firstOccurrence(tensor([4, 2, 4], { dtype: "int32" })).arraySync().toString() !== "0,1,0") throw new Error();
 * ```
 */
export const hostKernel: StandaloneKernel<PrimName> = (e, ctx) => (inputs, output) => {
  const all = viewsOf(e, ctx, inputs, output);
  all[all.length - 1].set(executeEqn(e, all.slice(0, -1)));
};
