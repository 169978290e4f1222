/**
 * The `Tensor` type and the evaluator: every op goes through `bind`, which either records an equation in the
 * innermost active trace (tracing, for `jit`, the transforms and `trace`) or runs it now on the current backend
 * (eager: the backend compiles the one-equation graph once, and the evaluator caches it).
 * @module
 */
import { getBackend } from "./backends.ts";
import type { Backend, DeviceBuffer, Executable } from "./ir/backend.ts";
import type { DType, HostArray } from "./ir/dtype.ts";
import { type Capture, type Eqn, Graph, makeEqn, paramsKey, Var } from "./ir/graph.ts";
import { PRIMITIVES, type PrimName, type PrimParams } from "./ir/primitives.ts";
import { type Shape, showShape, sizeOf } from "./ir/shape.ts";
import * as ops from "./ops.ts";
import type { SparseRows } from "./sparse.ts";

/**
 * Nested JS arrays of numbers or booleans, as `toArray` returns and `tensor` accepts.
 *
 * @example
 * ```ts
 * import { type NestedArray, tensor } from "../mod.ts";
 * const rows: NestedArray = [[1, 2], [3, 4]];
 * if (tensor(rows).shape.join() !== "2,2") throw new Error();
 * ```
 */
export type NestedArray = number | boolean | NestedArray[];

/**
 * A tensor or a plain JS number where an op accepts either (numbers take the other operand's dtype).
 *
 * @example
 * ```ts
 * import { add, tensor, type TensorOrNumber } from "../mod.ts";
 * const two: TensorOrNumber = 2;
 * if (add(tensor([1]), two).item() !== 3) throw new Error();
 * ```
 */
export type TensorOrNumber = Tensor | number;

/**
 * An immutable n-dimensional array. Eager tensors hold data on a backend; traced tensors stand for a variable
 * of a graph being recorded. Ops are available as functions (`add(x, y)`) and as methods (`x.add(y)`).
 *
 * @example
 * ```ts
 * import { tensor } from "../mod.ts";
 * const x = tensor([[1, 2], [3, 4]]);
 * const y = x.mul(2).add(1).sum(1);
 * if (JSON.stringify(await y.toArray()) !== "[8,16]") throw new Error();
 * ```
 */
export class Tensor {
  /** @internal */ readonly _buffer: DeviceBuffer | undefined;
  /** @internal */ readonly _backend: Backend | undefined;
  /** @internal */ readonly _trace: Trace | undefined;
  /** @internal */ readonly _var: Var | undefined;
  /** @internal Set when the tensor was donated to a jit call that may have reused its buffer. */
  _donated = false;

  /** @internal Use `tensor()`, `zeros()`, ... to make tensors. */
  constructor(
    readonly shape: Shape,
    readonly dtype: DType,
    source: { buffer: DeviceBuffer; backend: Backend } | { trace: Trace; v: Var },
  ) {
    if ("buffer" in source) {
      this._buffer = source.buffer;
      this._backend = source.backend;
    } else {
      this._trace = source.trace;
      this._var = source.v;
    }
  }

  /** Number of elements. */
  get size(): number {
    return sizeOf(this.shape);
  }

  /** Number of axes. */
  get rank(): number {
    return this.shape.length;
  }

  /** True while this tensor stands for a graph variable being traced (it has no data). */
  get isTracer(): boolean {
    return this._trace !== undefined;
  }

  /** The elements in row-major order, as a fresh typed array (booleans as bytes 0/1). */
  data(): Promise<HostArray> {
    const { buffer, backend } = concrete(this, "data");
    return backend.read(buffer, this.shape, this.dtype);
  }

  /** Like `data()`, synchronously; not available on backends that only read asynchronously (WebGPU). */
  dataSync(): HostArray {
    const { buffer, backend } = concrete(this, "dataSync");
    if (!backend.readSync) {
      throw new Error(`dataSync: the ${backend.name} backend reads asynchronously; use await t.data()`);
    }
    return backend.readSync(buffer, this.shape, this.dtype);
  }

  /** The elements as nested JS arrays (a number or boolean for a scalar). */
  async toArray(): Promise<NestedArray> {
    return nest(await this.data(), this.shape, this.dtype);
  }

  /** Like `toArray()`, synchronously (see `dataSync`). */
  arraySync(): NestedArray {
    return nest(this.dataSync(), this.shape, this.dtype);
  }

  /** The single value of a one-element tensor, synchronously. */
  item(): number {
    if (this.size !== 1) {
      throw new RangeError(`item: the tensor has shape ${showShape(this.shape)}, not one element`);
    }
    return this.dataSync()[0];
  }

  /** A short description; values are shown for small concrete tensors. */
  toString(): string {
    const head = `Tensor(${this.dtype}${showShape(this.shape)}`;
    if (this._trace) return `${head}, traced)`;
    if (this.size <= 64 && this._backend?.readSync) return `${head}, ${JSON.stringify(this.arraySync())})`;
    return `${head})`;
  }

  /** How Deno's console shows a tensor. */
  [Symbol.for("Deno.customInspect")](): string {
    return this.toString();
  }

  // ---- ops as methods: each one is the function of the same name in ops.ts ----
  /** `this + y` (broadcasting; a sparse gradient `y` adds its rows). */
  add(y: TensorOrNumber | SparseRows): Tensor {
    return ops.add(this, y);
  }
  /** `this - y` (a sparse gradient `y` changes only its rows). */
  sub(y: TensorOrNumber | SparseRows): Tensor {
    return ops.sub(this, y);
  }
  /** `this * y`. */
  mul(y: TensorOrNumber): Tensor {
    return ops.mul(this, y);
  }
  /** `this / y`. */
  div(y: TensorOrNumber): Tensor {
    return ops.div(this, y);
  }
  /** `this ** y`. */
  pow(y: TensorOrNumber): Tensor {
    return ops.pow(this, y);
  }
  /** Elementwise larger of `this` and `y`. */
  maximum(y: TensorOrNumber): Tensor {
    return ops.maximum(this, y);
  }
  /** Elementwise smaller of `this` and `y`. */
  minimum(y: TensorOrNumber): Tensor {
    return ops.minimum(this, y);
  }
  /** `-this`. */
  neg(): Tensor {
    return ops.neg(this);
  }
  /** `e ** this`. */
  exp(): Tensor {
    return ops.exp(this);
  }
  /** Natural logarithm. */
  log(): Tensor {
    return ops.log(this);
  }
  /** Square root. */
  sqrt(): Tensor {
    return ops.sqrt(this);
  }
  /** `this * this`. */
  square(): Tensor {
    return ops.square(this);
  }
  /** Absolute value. */
  abs(): Tensor {
    return ops.abs(this);
  }
  /** Sine. */
  sin(): Tensor {
    return ops.sin(this);
  }
  /** Cosine. */
  cos(): Tensor {
    return ops.cos(this);
  }
  /** Hyperbolic tangent. */
  tanh(): Tensor {
    return ops.tanh(this);
  }
  /** Logistic sigmoid. */
  sigmoid(): Tensor {
    return ops.sigmoid(this);
  }
  /** `max(this, 0)`. */
  relu(): Tensor {
    return ops.relu(this);
  }
  /** Gaussian error linear unit (exact erf form unless `approximate`). */
  gelu(options?: { approximate?: boolean }): Tensor {
    return ops.gelu(this, options);
  }
  /** `log(1 + e ** this)`, computed stably. */
  softplus(): Tensor {
    return ops.softplus(this);
  }
  /** Sum over `axis` (default: all axes). */
  sum(axis?: number | number[], keepDims = false): Tensor {
    return ops.sum(this, axis, keepDims);
  }
  /** Mean over `axis` (default: all axes). */
  mean(axis?: number | number[], keepDims = false): Tensor {
    return ops.mean(this, axis, keepDims);
  }
  /** Maximum over `axis` (default: all axes). */
  max(axis?: number | number[], keepDims = false): Tensor {
    return ops.max(this, axis, keepDims);
  }
  /** Minimum over `axis` (default: all axes). */
  min(axis?: number | number[], keepDims = false): Tensor {
    return ops.min(this, axis, keepDims);
  }
  /** Index of the maximum along `axis` (default: of the flattened tensor). */
  argmax(axis?: number): Tensor {
    return ops.argmax(this, axis);
  }
  /** Index of the minimum along `axis` (default: of the flattened tensor). */
  argmin(axis?: number): Tensor {
    return ops.argmin(this, axis);
  }
  /** `log(sum(exp(this)))` over `axis`, computed stably. */
  logSumExp(axis?: number | number[], keepDims = false): Tensor {
    return ops.logSumExp(this, axis, keepDims);
  }
  /** Softmax along `axis` (default: last). */
  softmax(axis = -1): Tensor {
    return ops.softmax(this, axis);
  }
  /** Log-softmax along `axis` (default: last). */
  logSoftmax(axis = -1): Tensor {
    return ops.logSoftmax(this, axis);
  }
  /** Matrix product with NumPy `matmul` semantics (batch axes broadcast). */
  matmul(y: Tensor): Tensor {
    return ops.matmul(this, y);
  }
  /** Same elements, new shape (one axis may be -1). */
  reshape(shape: readonly number[]): Tensor {
    return ops.reshape(this, shape);
  }
  /** Permutes axes (default: reverses them). */
  transpose(perm?: readonly number[]): Tensor {
    return ops.transpose(this, perm);
  }
  /** Broadcasts to `shape` (NumPy `broadcast_to`). */
  expand(shape: readonly number[]): Tensor {
    return ops.expand(this, shape);
  }
  /** Removes size-1 axes (all of them, or those in `axis`). */
  squeeze(axis?: number | number[]): Tensor {
    return ops.squeeze(this, axis);
  }
  /** Inserts a size-1 axis at `axis`. */
  unsqueeze(axis: number): Tensor {
    return ops.unsqueeze(this, axis);
  }
  /** The block starting at `begin` of extent `size` (-1: to the end). */
  slice(begin: number | readonly number[], size?: number | readonly number[]): Tensor {
    return ops.slice(this, begin, size);
  }
  /** Pads with `value`; `paddings[i] = [before, after]` for axis i. */
  pad(paddings: readonly (readonly [number, number])[], value = 0): Tensor {
    return ops.pad(this, paddings, value);
  }
  /** Picks entries along `axis` at `indices` (int32). */
  take(indices: Tensor | readonly number[], axis = 0): Tensor {
    return ops.take(this, indices, axis);
  }
  /** `this < y`. */
  less(y: TensorOrNumber): Tensor {
    return ops.less(this, y);
  }
  /** `this <= y`. */
  lessEqual(y: TensorOrNumber): Tensor {
    return ops.lessEqual(this, y);
  }
  /** `this > y`. */
  greater(y: TensorOrNumber): Tensor {
    return ops.greater(this, y);
  }
  /** `this >= y`. */
  greaterEqual(y: TensorOrNumber): Tensor {
    return ops.greaterEqual(this, y);
  }
  /** `this == y`. */
  equal(y: TensorOrNumber): Tensor {
    return ops.equal(this, y);
  }
  /** `this != y`. */
  notEqual(y: TensorOrNumber): Tensor {
    return ops.notEqual(this, y);
  }
  /** Converts elements to `dtype` (floats to ints truncate toward zero). */
  cast(dtype: DType): Tensor {
    return ops.cast(this, dtype);
  }
  /** The same value, through which no gradient flows. */
  stopGradient(): Tensor {
    return ops.stopGradient(this);
  }
}

function nest(data: HostArray, shape: Shape, dtype: DType): NestedArray {
  const value = (i: number) => (dtype === "bool" ? data[i] !== 0 : data[i]);
  if (shape.length === 0) return value(0);
  let offset = 0;
  const build = (axis: number): NestedArray[] => {
    const out: NestedArray[] = [];
    for (let i = 0; i < shape[axis]; i++) {
      out.push(axis === shape.length - 1 ? value(offset++) : build(axis + 1));
    }
    return out;
  };
  return build(0);
}

// ---------------------------------------------------------------------------------------------------------
// Tracing

/**
 * A graph being recorded. Traces nest (grad inside jit inside grad): ops record into the innermost one, and
 * values from outer traces or concrete tensors used inside are captured as graph constants.
 *
 * @example
 * ```ts
 * import { Trace, withTrace } from "./tensor.ts";
 * import { tensor } from "../mod.ts";
 * const t = new Trace();
 * const x = t.newInput([2], "float32");
 * const w = tensor([3, 4]); // concrete: captured as a constant
 * const g = withTrace(t, () => t.finish([x.mul(w).exp()]));
 * if (g.inputs.length !== 1 || g.captures.length !== 1) throw new Error(g.toString());
 * if (g.eqns.map((e) => e.prim).join() !== "mul,exp") throw new Error(g.toString());
 * ```
 */
export class Trace {
  /** @internal */ readonly inputs: Var[] = [];
  /** @internal */ readonly captures: Capture[] = [];
  /** @internal */ readonly eqns: Eqn[] = [];
  private readonly captured = new Map<Tensor, Var>();
  private nextId = 0;

  /** A new input variable, as a tracer tensor. */
  newInput(shape: Shape, dtype: DType): Tensor {
    const v = new Var(this.nextId++, shape, dtype);
    this.inputs.push(v);
    return new Tensor(shape, dtype, { trace: this, v });
  }

  /** The variable of this trace that stands for `t` (capturing `t` if it comes from outside). */
  lift(t: Tensor): Var {
    if (t._trace === this) return t._var!;
    if (t._trace && !traceStack.includes(t._trace)) throw leakedTracer();
    let v = this.captured.get(t);
    if (!v) {
      v = new Var(this.nextId++, t.shape, t.dtype);
      this.captured.set(t, v);
      this.captures.push({ v, value: t });
    }
    return v;
  }

  /** Records `prim(inputs)` and returns the tracer of its result. */
  record<P extends PrimName>(
    prim: P,
    inputs: readonly Tensor[],
    params: PrimParams<P>,
    shape: Shape,
    dtype: DType,
  ): Tensor {
    const out = new Var(this.nextId++, shape, dtype);
    this.eqns.push(makeEqn(prim, inputs.map((t) => this.lift(t)), params, out));
    return new Tensor(shape, dtype, { trace: this, v: out });
  }

  /** Ends recording: the graph whose outputs are `outputs`. */
  finish(outputs: readonly Tensor[]): Graph {
    return new Graph(this.inputs, this.captures, this.eqns, outputs.map((t) => this.lift(t)));
  }
}

const traceStack: Trace[] = [];

function leakedTracer(): Error {
  return new Error(
    "A traced value was used outside the jit/grad/trace call that made it (it leaked, e.g. through an outer " +
      "variable). Return values from the traced function instead of storing them.",
  );
}

/**
 * Runs `body` with `trace` as the innermost active trace.
 *
 * @example
 * ```ts
 * import { Trace, withTrace } from "./tensor.ts";
 * import "../mod.ts";
 * const t = new Trace();
 * const x = t.newInput([2], "float32");
 * const g = withTrace(t, () => t.finish([x.exp()]));
 * if (g.eqns[0].prim !== "exp") throw new Error();
 * ```
 */
export function withTrace<T>(trace: Trace, body: () => T): T {
  traceStack.push(trace);
  try {
    return body();
  } finally {
    traceStack.pop();
  }
}

/**
 * True while some trace is recording (inside `jit`, `grad`, `trace`).
 *
 * @example
 * ```ts
 * import { isTracing } from "./tensor.ts";
 * if (isTracing()) throw new Error("nothing is tracing here");
 * ```
 */
export function isTracing(): boolean {
  return traceStack.length > 0;
}

// ---------------------------------------------------------------------------------------------------------
// The evaluator

/**
 * @internal A concrete tensor's buffer on `backend` (moving it there from another backend if needed).
 *
 * @example
 * ```ts
 * import { concrete } from "./tensor.ts";
 * import { tensor, trace } from "../mod.ts";
 * const { buffer, backend } = concrete(tensor([1, 2]), "example");
 * if (backend.readSync!(buffer, [2], "float32").join() !== "1,2") throw new Error();
 * try {
 *   trace((x) => concrete(x, "peek"), { shape: [2] }); // a tracer has no buffer
 *   throw new Error("unreachable");
 * } catch (e) {
 *   if (!(e instanceof Error) || !e.message.startsWith("peek: this tensor is a tracer")) throw e;
 * }
 * ```
 */
export function concrete(
  t: Tensor,
  where: string,
  backend?: Backend,
): { buffer: DeviceBuffer; backend: Backend } {
  if (t._trace) {
    if (!traceStack.includes(t._trace)) throw leakedTracer();
    throw new Error(
      `${where}: this tensor is a tracer inside jit/grad/trace and has no value yet; ` +
        "compute with it and return the result instead of reading it",
    );
  }
  if (t._donated) {
    throw new Error(
      `${where}: this tensor was donated to a jit call (option donate), which may have overwritten its memory; ` +
        "use the values that call returned instead",
    );
  }
  const target = backend ?? t._backend!;
  if (t._backend === target) return { buffer: t._buffer, backend: target };
  if (!t._backend!.readSync) {
    throw new Error(
      `${where}: a tensor on the ${t._backend!.name} backend cannot be moved synchronously to ${target.name}`,
    );
  }
  const host = t._backend!.readSync(t._buffer, t.shape, t.dtype);
  return { buffer: target.fromHost(host, t.shape, t.dtype), backend: target };
}

/**
 * The params argument of `bind`: optional for primitives that take none.
 *
 * @example
 * ```ts
 * import type { BindParams } from "./tensor.ts";
 * const none: BindParams<"exp"> = [];
 * const axes: BindParams<"reduce_sum"> = [{ axes: [0] }];
 * if (none.length !== 0 || axes.length !== 1) throw new Error();
 * ```
 */
export type BindParams<P extends PrimName> = Record<string, never> extends PrimParams<P>
  ? [params?: PrimParams<P>]
  : [params: PrimParams<P>];

const NO_PARAMS = {} as PrimParams<PrimName>;

/**
 * Applies primitive `prim` to `inputs`: records it in the innermost trace, or runs it now.
 * This is the single entry point of every op; shapes and dtypes are checked by the primitive's rule first.
 *
 * @example
 * ```ts
 * import { bind } from "./tensor.ts";
 * import { tensor } from "../mod.ts";
 * const y = bind("exp", [tensor([0])]);
 * const s = bind("reduce_sum", [tensor([[1, 2], [3, 4]])], { axes: [1] });
 * if (y.item() !== 1 || s.arraySync().toString() !== "3,7") throw new Error();
 * ```
 */
export function bind<P extends PrimName>(prim: P, inputs: readonly Tensor[], ...rest: BindParams<P>): Tensor {
  const params = (rest[0] ?? NO_PARAMS) as PrimParams<P>;
  const decl = PRIMITIVES[prim] as {
    infer(inputs: readonly Tensor[], params: PrimParams<P>): { shape: Shape; dtype: DType };
  };
  if (!decl) throw new Error(`unknown primitive "${prim}"`);
  const { shape, dtype } = decl.infer(inputs, params);
  const top = traceStack[traceStack.length - 1];
  if (top) return top.record(prim, inputs, params, shape, dtype);
  const backend = getBackend();
  const buffers = inputs.map((t) => concrete(t, prim, backend).buffer);
  const [buffer] = eagerExecutable(backend, prim, inputs, params, shape, dtype).run(buffers);
  return new Tensor(shape, dtype, { buffer, backend });
}

/** How many one-equation executables each backend keeps for eager ops (least recently made go first). */
const EAGER_CACHE_SIZE = 4096;
const eagerCaches = new WeakMap<Backend, Map<string, Executable>>();

/**
 * The compiled one-equation graph that runs `prim` eagerly on `backend`, cached by the equation's signature:
 * eager execution takes the same lowering path as `jit` on every backend.
 */
function eagerExecutable<P extends PrimName>(
  backend: Backend,
  prim: P,
  inputs: readonly Tensor[],
  params: PrimParams<P>,
  shape: Shape,
  dtype: DType,
): Executable {
  let cache = eagerCaches.get(backend);
  if (!cache) eagerCaches.set(backend, cache = new Map());
  const key = `${prim}|${paramsKey(params)}|${inputs.map((t) => t.dtype + showShape(t.shape)).join(";")}`;
  let executable = cache.get(key);
  if (!executable) {
    const vars = inputs.map((t, i) => new Var(i, t.shape, t.dtype));
    const out = new Var(inputs.length, shape, dtype);
    executable = backend.compile(new Graph(vars, [], [makeEqn(prim, vars, params, out)], [out]));
    if (cache.size >= EAGER_CACHE_SIZE) cache.delete(cache.keys().next().value!);
    cache.set(key, executable);
  }
  return executable;
}

/**
 * @internal Wraps host data as a concrete tensor on the current backend.
 *
 * @example
 * ```ts
 * import { fromHost } from "./tensor.ts";
 * import "../mod.ts"; // registers and selects the backend
 * const t = fromHost(new Int32Array([1, 2, 3, 4]), [2, 2], "int32");
 * if (t.dtype !== "int32" || JSON.stringify(t.arraySync()) !== "[[1,2],[3,4]]") throw new Error();
 * if (t.add(1).sum().item() !== 14) throw new Error();
 * ```
 */
export function fromHost(data: HostArray, shape: Shape, dtype: DType): Tensor {
  const backend = getBackend();
  return new Tensor(shape, dtype, { buffer: backend.fromHost(data, shape, dtype), backend });
}

/**
 * Evaluates a graph on tensors: each equation is re-bound, so under an active trace this inlines the graph
 * and otherwise runs it eagerly. Returns the outputs, and the value of every variable when `keep` is set.
 *
 * @example
 * ```ts
 * import { evalGraph } from "./tensor.ts";
 * import { tensor, trace } from "../mod.ts";
 * const g = trace((x) => x.add(1), tensor([1, 2]));
 * const [y] = evalGraph(g, [tensor([5, 6])]).outputs;
 * if (JSON.stringify(y.arraySync()) !== "[6,7]") throw new Error();
 * ```
 */
export function evalGraph(graph: Graph, inputs: readonly Tensor[], keep = false): {
  outputs: Tensor[];
  env: Map<Var, Tensor>;
} {
  if (inputs.length !== graph.inputs.length) {
    throw new Error(`evalGraph: the graph takes ${graph.inputs.length} inputs, got ${inputs.length}`);
  }
  const env = new Map<Var, Tensor>();
  graph.inputs.forEach((v, i) => env.set(v, inputs[i]));
  for (const c of graph.captures) env.set(c.v, c.value as Tensor);
  const uses = keep ? undefined : countUses(graph);
  for (const e of graph.eqns) {
    const args = e.inputs.map((v) => env.get(v)!);
    env.set(e.out, bindEqn(e, args));
    if (uses) {
      // Drop values nobody needs any more so long graphs run in bounded memory.
      for (const v of e.inputs) if (uses.has(v) && uses.set(v, uses.get(v)! - 1).get(v) === 0) env.delete(v);
    }
  }
  return { outputs: graph.outputs.map((v) => env.get(v)!), env };
}

/**
 * Applies an equation's primitive, with its params, to `inputs` (another graph's values).
 *
 * @example
 * ```ts
 * import { bindEqn } from "./tensor.ts";
 * import { tensor, trace } from "../mod.ts";
 * const [e] = trace((x) => x.sum(0), { shape: [2] }).eqns;
 * if (bindEqn(e, [tensor([3, 4])]).item() !== 7) throw new Error();
 * ```
 */
export function bindEqn(e: Eqn, inputs: readonly Tensor[]): Tensor {
  return bind(e.prim, inputs, e.params as never);
}

function countUses(graph: Graph): Map<Var, number> {
  const uses = new Map<Var, number>();
  for (const e of graph.eqns) for (const v of e.inputs) uses.set(v, (uses.get(v) ?? 0) + 1);
  for (const v of graph.outputs) uses.set(v, (uses.get(v) ?? 0) + Infinity);
  return uses;
}
