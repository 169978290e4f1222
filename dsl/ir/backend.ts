/**
 * The interface every Loom backend implements. `dsl/` reaches backends only through it (and the registry in
 * `dsl/backends.ts`); backends see only this folder, `dsl/ir/`.
 * @module
 */
import type { DType, HostArray } from "./dtype.ts";
import type { Graph } from "./graph.ts";
import type { Shape } from "./shape.ts";

/**
 * A backend's own storage for one tensor's elements (a typed array, WebAssembly memory, a GPU buffer).
 *
 * @example
 * ```ts
 * import { type DeviceBuffer, getBackend } from "../../mod.ts";
 * const buffer: DeviceBuffer = getBackend().fromHost(new Float32Array([1]), [1], "float32");
 * if (buffer === undefined) throw new Error();
 * ```
 */
export type DeviceBuffer = unknown;

/**
 * A compiled graph: takes one buffer per graph input then per capture, returns one per output.
 *
 * @example
 * ```ts
 * import { type Executable, getBackend, trace } from "../../mod.ts";
 * const backend = getBackend();
 * const negate: Executable = backend.compile(trace((x) => x.neg(), { shape: [2] }));
 * const [out] = negate.run([backend.fromHost(new Float32Array([1, 2]), [2], "float32")]);
 * if (backend.readSync!(out, [2], "float32").join() !== "-1,-2") throw new Error();
 * ```
 */
export interface Executable {
  /** Runs the compiled graph. */
  run(inputs: readonly DeviceBuffer[]): DeviceBuffer[];
}

/**
 * Options of `Backend.compile`.
 *
 * @example
 * ```ts
 * import type { CompileOptions } from "../../mod.ts";
 * const options: CompileOptions = { donated: [true, false] };
 * if (!options.donated![0]) throw new Error();
 * ```
 */
export interface CompileOptions {
  /** One flag per graph input: the caller will not use that input again, so its buffer may be reused. */
  donated?: readonly boolean[];
}

/**
 * Generated code, as a backend reports it: JavaScript or WGSL source, or a WebAssembly module's bytes (whose
 * text form a disassembler gives), or `none` with a description where nothing is generated.
 *
 * @example
 * ```ts
 * import type { KernelCode } from "../../mod.ts";
 * const code: KernelCode = { language: "wgsl", text: "@compute @workgroup_size(64) fn main() {}" };
 * if (code.language !== "wgsl") throw new Error();
 * ```
 */
export interface KernelCode {
  /** The language of `text` (or of `bytes` for WebAssembly). */
  readonly language: "javascript" | "wasm" | "wgsl" | "none";
  /** The source, or a description (empty for WebAssembly, whose module is in `bytes`). */
  readonly text: string;
  /** A WebAssembly module's bytes. */
  readonly bytes?: Uint8Array;
}

/**
 * One kernel of a compiled graph, as a backend reports it.
 *
 * @example
 * ```ts
 * import { explain, type KernelReport } from "../../mod.ts";
 * const [kernel]: readonly KernelReport[] = explain((x) => x.exp().add(1), { shape: [4] }).kernels;
 * if (kernel.eqns.length !== 3) throw new Error(); // exp, the constant 1 and add fused into one loop
 * ```
 */
export interface KernelReport {
  /** The kind of kernel: `elementwise`, `reduce`, `matmul`, `scatter`, or `opaque` (a standalone primitive). */
  readonly kind: string;
  /** One line: its shape, operands and fused expression. */
  readonly summary: string;
  /** Indices into the optimized graph's equations of those this kernel computes. */
  readonly eqns: readonly number[];
  /** The variables it reads and writes, named as the optimized graph prints them. */
  readonly inputs: readonly string[];
  /** The variable it writes. */
  readonly output: string;
  /** What the backend generated for it. */
  readonly code: KernelCode;
}

/**
 * What a backend makes of a graph: the graph after its clean-up passes, and its kernels in execution order.
 *
 * @example
 * ```ts
 * import { explain } from "../../mod.ts";
 * const report = explain((x, w) => x.matmul(w).relu().sum(), { shape: [2, 3] }, { shape: [3, 4] });
 * if (report.kernels.map((k) => k.kind).join() !== "matmul,reduce") throw new Error();
 * ```
 */
export interface CompileReport {
  /** The backend's name. */
  readonly backend: string;
  /** The graph after simplification (what the kernels' `eqns` index). */
  readonly optimized: Graph;
  /** The kernels, in execution order. */
  readonly kernels: readonly KernelReport[];
}

/**
 * What a backend must do: hold data and compile graphs. Eager ops compile one-equation graphs, cached by
 * the evaluator, so a backend has one lowering path.
 *
 * @example
 * ```ts
 * import { type Backend, getBackend } from "../../mod.ts";
 * const backend: Backend = getBackend();
 * if (typeof backend.compile !== "function") throw new Error();
 * ```
 */
export interface Backend {
  /** The name `setBackend` knows it by. */
  readonly name: string;
  /** Copies host data into backend storage; the backend may not keep a reference to `data`. */
  fromHost(data: HostArray, shape: Shape, dtype: DType): DeviceBuffer;
  /** Reads a buffer back to the host (a fresh array the caller owns). */
  read(buffer: DeviceBuffer, shape: Shape, dtype: DType): Promise<HostArray>;
  /** Synchronous read, where the backend can do it (not WebGPU). */
  readSync?(buffer: DeviceBuffer, shape: Shape, dtype: DType): HostArray;
  /**
   * Compiles a graph once; the result runs many times. `donated[i]` marks graph input i as given up by the
   * caller: the backend may write results into its buffer (in-place updates of params and optimizer state).
   */
  compile(graph: Graph, options?: CompileOptions): Executable;
  /** Reports how it would compile `graph` (kernels and their code), without running anything. */
  explain?(graph: Graph): CompileReport;
  /**
   * The caller gives up a buffer it donated to a run, which no output of the run is: the backend may reuse
   * its memory now rather than when the garbage collector finds its tensor (a training loop's batches, each
   * step's new inputs, then cost no fresh memory). A backend frees it only where no other tensor can hold it.
   */
  release?(buffer: DeviceBuffer): void;
  /**
   * Runs `task` on the calling thread during the next compiled run, while other threads compute its first
   * parallel job (at the run's end if it has none): a training loop makes its next batch meanwhile. The task
   * may create tensors and run eager ops. A backend without it leaves the caller to run the task itself.
   */
  aside?(task: () => void): void;
}
