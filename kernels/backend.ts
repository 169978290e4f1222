/**
 * The interface every Loom backend implements, and the registry that picks the current one.
 * `dsl/` talks to backends only through this file.
 * @module
 */
import type { DType, HostArray } from "../dsl/dtype.ts";
import type { Eqn, Graph } from "../dsl/graph.ts";
import type { Shape } from "../dsl/shape.ts";

/**
 * A backend's own storage for one tensor's elements (a typed array, WebAssembly memory, a GPU buffer).
 *
 * @example
 * ```ts
 * import { type DeviceBuffer, getBackend } from "../mod.ts";
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
 * import { type Executable, getBackend, trace } from "../mod.ts";
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
 * import type { CompileOptions } from "../mod.ts";
 * const options: CompileOptions = { donated: [true, false] };
 * if (!options.donated![0]) throw new Error();
 * ```
 */
export interface CompileOptions {
  /** One flag per graph input: the caller will not use that input again, so its buffer may be reused. */
  donated?: readonly boolean[];
}

/**
 * What a backend must do: hold data, run one primitive eagerly, and compile whole graphs.
 *
 * @example
 * ```ts
 * import { type Backend, getBackend } from "../mod.ts";
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
  /** Runs one equation on concrete inputs (eager mode). */
  execute(eqn: Eqn, inputs: readonly DeviceBuffer[]): DeviceBuffer;
  /**
   * Compiles a graph once; the result runs many times. `donated[i]` marks graph input i as given up by the
   * caller: the backend may write results into its buffer (in-place updates of params and optimizer state).
   */
  compile(graph: Graph, options?: CompileOptions): Executable;
}

const factories = new Map<string, () => Backend | Promise<Backend>>();
const instances = new Map<string, Backend>();
let current: Backend | undefined;
let defaultName: string | undefined;

/**
 * Makes a backend available under `name`. The first registered backend becomes the default.
 *
 * @example
 * ```ts
 * import { listBackends, registerBackend } from "./backend.ts";
 * registerBackend("reference", () => { throw new Error("not needed here"); });
 * if (!listBackends().includes("reference")) throw new Error();
 * ```
 */
export function registerBackend(name: string, factory: () => Backend | Promise<Backend>, options?: {
  /** Make this the backend used until `setBackend` is called. */
  isDefault?: boolean;
}): void {
  factories.set(name, factory);
  instances.delete(name);
  if (defaultName === undefined || options?.isDefault) defaultName = name;
}

/**
 * Names of the registered backends.
 *
 * @example
 * ```ts
 * import { listBackends } from "../mod.ts";
 * if (!listBackends().includes("reference")) throw new Error();
 * ```
 */
export function listBackends(): string[] {
  return [...factories.keys()];
}

/**
 * Selects the backend that eager ops and `jit` use from now on (initialising it on first use).
 *
 * @example
 * ```ts
 * import { getBackend, setBackend } from "../mod.ts";
 * await setBackend("reference");
 * if (getBackend().name !== "reference") throw new Error();
 * ```
 */
export async function setBackend(name: string): Promise<void> {
  current = await initBackend(name);
}

async function initBackend(name: string): Promise<Backend> {
  const existing = instances.get(name);
  if (existing) return existing;
  const factory = factories.get(name);
  if (!factory) {
    throw new Error(
      `setBackend: no backend named "${name}"; registered: ${listBackends().join(", ") || "none"}`,
    );
  }
  const backend = await factory();
  instances.set(name, backend);
  return backend;
}

/**
 * The current backend. Before any `setBackend`, the default one (its factory must be synchronous).
 *
 * @example
 * ```ts
 * import { getBackend } from "../mod.ts";
 * if (typeof getBackend().name !== "string") throw new Error();
 * ```
 */
export function getBackend(): Backend {
  if (current) return current;
  if (defaultName === undefined) {
    throw new Error("Loom: no backend is registered; import mod.ts, not its parts");
  }
  const cached = instances.get(defaultName);
  if (cached) return (current = cached);
  const made = factories.get(defaultName)!();
  if (made instanceof Promise) {
    throw new Error(
      `Loom: the default backend "${defaultName}" initialises asynchronously; await setBackend() first`,
    );
  }
  instances.set(defaultName, made);
  return (current = made);
}
