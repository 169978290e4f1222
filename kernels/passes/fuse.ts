/**
 * Fusion: turns a graph into a list of kernels. Chains of elementwise ops — with the movement ops between
 * them (broadcast, transpose, slice, reshape, pad) folded into index arithmetic — become one loop that reads
 * each input once and writes one output; reductions absorb the elementwise chain that feeds them (prologue);
 * matmuls absorb transposes of their operands as flags. A value is materialized (gets a buffer) only when it
 * is a graph input or output, feeds a non-fusible op, is used by several consumers, or would be recomputed
 * under an expanding broadcast.
 *
 * The kernels are backend-neutral: the CPU backend emits JavaScript/WebAssembly from them, the WebGPU backend
 * WGSL.
 * @module
 */
import {
  type DType,
  type ElementwisePrim,
  type Eqn,
  type Graph,
  kindOf,
  type PrimName,
  type PrimParams,
  type PrimsOfKind,
  type Shape,
  shapesEqual,
  showShape,
  sizeOf,
  stridesOf,
  type Var,
} from "../../dsl/ir/mod.ts";

/**
 * `offset + Σ_d coeffs[d] · i[d]` over the kernel's iteration index `i`.
 *
 * @example
 * ```ts
 * import type { Affine } from "./fuse.ts";
 * // Element (i, j) of a row-major [3, 4] tensor, read transposed over a [4, 3] loop: 4·j + i.
 * const at: Affine = { offset: 0, coeffs: [1, 4] };
 * if (at.coeffs[0] * 2 + at.coeffs[1] * 1 !== 6) throw new Error();
 * ```
 */
export interface Affine {
  /** The constant term. */
  readonly offset: number;
  /** One coefficient per iteration axis. */
  readonly coeffs: readonly number[];
}

/**
 * An expression computed per element of a kernel's iteration space.
 *
 * @example
 * ```ts
 * import { type Expr, showExpr } from "./fuse.ts";
 * const e: Expr = { kind: "op", prim: "neg", dtype: "float32", params: {}, args: [{ kind: "const", value: 2, dtype: "float32" }] };
 * if (showExpr(e, []) !== "neg(2)") throw new Error();
 * ```
 */
export type Expr =
  | { readonly kind: "load"; readonly dtype: DType; readonly input: number; readonly at: Affine }
  | { readonly kind: "const"; readonly dtype: DType; readonly value: number }
  | { readonly kind: "iota"; readonly dtype: DType; readonly at: Affine }
  | OpExpr
  | {
    readonly kind: "pad";
    readonly dtype: DType;
    readonly guards: readonly { readonly at: Affine; readonly size: number }[];
    readonly inside: Expr;
    readonly value: number;
  }
  | { readonly kind: "acc"; readonly dtype: DType }
  | GatherExpr;

/**
 * An element of a table row picked by an index: `table[index · rowSize + at]`, where `index` (an int32
 * expression, a load of the indices) picks the row and `at` walks inside it. A row gather (`take` along axis
 * 0) read where it is used, when {@linkcode FuseOptions.gatherLoads} allows it: a reduction over gathered
 * rows (word2vec's dot products with its negatives' output vectors) reads the table instead of a copy.
 *
 * @example
 * ```ts
 * import { type GatherExpr, showExpr } from "./fuse.ts";
 * const index = { kind: "load", dtype: "int32", input: 1, at: { offset: 0, coeffs: [1, 0] } } as const;
 * const e: GatherExpr = { kind: "gather", dtype: "float32", input: 0, index, rowSize: 4, at: { offset: 0, coeffs: [0, 1] } };
 * if (showExpr(e, ["table", "ids"]) !== "table[ids]") throw new Error(showExpr(e, ["table", "ids"]));
 * ```
 */
export interface GatherExpr {
  readonly kind: "gather";
  readonly dtype: DType;
  /** The table's buffer, among the kernel's inputs. */
  readonly input: number;
  /** The row, an int32 expression (a load of the indices; the backend checks them before the kernel runs). */
  readonly index: Expr;
  /** Elements per table row. */
  readonly rowSize: number;
  /** The offset inside the row. */
  readonly at: Affine;
}

/**
 * An elementwise primitive applied to sub-expressions, in a fused loop. `OpExpr<P>` has `P`'s params;
 * `OpExpr` is the union over every elementwise primitive, discriminated by `prim`.
 *
 * @example
 * ```ts
 * import type { OpExpr } from "./fuse.ts";
 * const cast: OpExpr<"cast"> = {
 *   kind: "op", prim: "cast", dtype: "int32", params: { dtype: "int32" },
 *   args: [{ kind: "const", value: 1.5, dtype: "float32" }],
 * };
 * if (cast.params.dtype !== "int32") throw new Error();
 * ```
 */
export type OpExpr<P extends ElementwisePrim = ElementwisePrim> = P extends ElementwisePrim ? {
    readonly kind: "op";
    readonly dtype: DType;
    readonly prim: P;
    readonly args: readonly Expr[];
    readonly params: PrimParams<P>;
  }
  : never;

/**
 * One loop over `shape` computing `expr` into `output`.
 *
 * @example
 * ```ts
 * import { trace, tensor } from "../../mod.ts";
 * import { type ElementwiseKernel, fuse } from "./fuse.ts";
 * const k = fuse(trace((x) => x.mul(2).neg(), tensor([1, 2]))).kernels[0] as ElementwiseKernel;
 * if (k.kind !== "elementwise" || k.shape.join() !== "2") throw new Error();
 * ```
 */
export interface ElementwiseKernel {
  readonly kind: "elementwise";
  readonly shape: Shape;
  readonly inputs: readonly Var[];
  readonly output: Var;
  /** The equations of the graph this kernel computes, in graph order (for tools that show the fusion). */
  readonly eqns: readonly Eqn[];
  readonly expr: Expr;
}

/**
 * A reduction of `prologue` (computed over `inShape`) over `axes`, then `epilogue` (over the output).
 *
 * @example
 * ```ts
 * import { trace, tensor } from "../../mod.ts";
 * import { fuse, type ReduceKernel } from "./fuse.ts";
 * const k = fuse(trace((x) => x.square().sum(1), tensor([[1, 2]]))).kernels[0] as ReduceKernel;
 * if (k.kind !== "reduce" || k.axes.join() !== "1") throw new Error();
 * ```
 */
export interface ReduceKernel {
  readonly kind: "reduce";
  readonly op: "sum" | "max";
  readonly inShape: Shape;
  readonly axes: readonly number[];
  readonly inputs: readonly Var[];
  readonly output: Var;
  /** The equations of the graph this kernel computes, in graph order (for tools that show the fusion). */
  readonly eqns: readonly Eqn[];
  readonly prologue: Expr;
}

/**
 * A batched matmul `out[b] = op(a[b]) · op(b[b])` on materialized operands.
 *
 * @example
 * ```ts
 * import { trace, tensor } from "../../mod.ts";
 * import { fuse, type MatmulKernel } from "./fuse.ts";
 * const a = tensor([[1, 2], [3, 4]]);
 * const k = fuse(trace((x, y) => x.matmul(y.transpose()), a, a)).kernels[0] as MatmulKernel;
 * if (k.kind !== "matmul" || !k.transB || k.k !== 2) throw new Error(); // the transpose became a flag
 * ```
 */
export interface MatmulKernel {
  readonly kind: "matmul";
  readonly inputs: readonly [Var, Var];
  readonly output: Var;
  /** The equations of the graph this kernel computes, in graph order (for tools that show the fusion). */
  readonly eqns: readonly Eqn[];
  readonly transA: boolean;
  readonly transB: boolean;
  readonly batch: number;
  readonly m: number;
  readonly n: number;
  readonly k: number;
}

/**
 * A scatter-add of rows into a table: `out = base`, then for each row i of the updates, in order, row
 * `indices[i]` of `out` += row i. The updates are computed on the fly from `updates` (an elementwise
 * expression over `shape`), so a sparse gradient step never writes its scaled gradient rows to memory.
 *
 * @example
 * ```ts
 * import { SparseRows, trace, tensor } from "../../mod.ts";
 * import { fuse, type ScatterKernel } from "./fuse.ts";
 * const ids = tensor([1], { dtype: "int32" });
 * const g = trace((t, u) => new SparseRows(ids, u.mul(-0.1), t.shape).addTo(t), tensor([[0, 0], [0, 0]]), tensor([[1, 2]]));
 * const k = fuse(g).kernels.find((k) => k.kind === "scatter") as ScatterKernel;
 * if (k.rowAxes !== 1 || k.updates.kind !== "op") throw new Error(); // -0.1·u computed in the kernel
 * ```
 */
export interface ScatterKernel {
  readonly kind: "scatter";
  /** The updates' iteration space: its first `rowAxes` axes count the rows, one per index; the rest span a row. */
  readonly shape: Shape;
  /** How many leading axes of `shape` count rows. */
  readonly rowAxes: number;
  /** `[base, indices, ...]`: the table added into, the row indices, then the buffers `updates` loads. */
  readonly inputs: readonly Var[];
  readonly output: Var;
  /** The equations of the graph this kernel computes, in graph order (for tools that show the fusion). */
  readonly eqns: readonly Eqn[];
  /** The updates; its loads name positions in `inputs` (from 2 on). */
  readonly updates: Expr;
}

/**
 * Any other primitive, run on its own (gather, concat, random bits).
 *
 * @example
 * ```ts
 * import { take, tensor, trace } from "../../mod.ts";
 * import { fuse, type OpaqueKernel } from "./fuse.ts";
 * const g = trace((t) => take(t, tensor([1], { dtype: "int32" })), tensor([[1, 2], [3, 4]]));
 * const k = fuse(g).kernels.find((k) => k.kind === "opaque") as OpaqueKernel;
 * if (k.eqn.prim !== "gather") throw new Error();
 * ```
 */
export interface OpaqueKernel {
  readonly kind: "opaque";
  /** The buffers it reads, one per input of `eqn`: a reshaped operand is read in its source's buffer. */
  readonly inputs: readonly Var[];
  readonly output: Var;
  /** The equations of the graph this kernel computes: its one equation. */
  readonly eqns: readonly Eqn[];
  readonly eqn: Eqn;
}

/**
 * A kernel of a fused program.
 *
 * @example
 * ```ts
 * import { trace, tensor } from "../../mod.ts";
 * import { fuse, type Kernel } from "./fuse.ts";
 * const kernels: readonly Kernel[] = fuse(trace((x) => x.matmul(x).exp().sum(), tensor([[1]]))).kernels;
 * if (kernels.map((k) => k.kind).join() !== "matmul,reduce") throw new Error(kernels.map((k) => k.kind).join());
 * ```
 */
export type Kernel = ElementwiseKernel | ReduceKernel | MatmulKernel | ScatterKernel | OpaqueKernel;

/**
 * How {@linkcode fuse} adapts to what a backend can generate.
 *
 * @example
 * ```ts
 * import { SparseRows, trace, tensor } from "../../mod.ts";
 * import { fuse, type FuseOptions } from "./fuse.ts";
 * // A backend that only scatters rows already in memory: the updates get a kernel of their own.
 * const options: FuseOptions = { scatterUpdates: (k) => k.updates.kind === "load" };
 * const ids = tensor([0], { dtype: "int32" });
 * const g = trace((t, u) => new SparseRows(ids, u.mul(2), t.shape).addTo(t), tensor([[0, 0]]), tensor([[1, 2]]));
 * if (fuse(g, options).kernels.length !== 2) throw new Error();
 * ```
 */
export interface FuseOptions {
  /**
   * Whether the backend computes a scatter-add's updates on the fly from this kernel's expression; when it
   * does not, the updates are written to a buffer first and the scatter-add loads them. Default: always.
   */
  readonly scatterUpdates?: (kernel: ScatterKernel) => boolean;
  /**
   * Give every equation a kernel of its own (every value is materialized), so that no kernel reads more
   * buffers than its equation has operands: for backends that bind each buffer a kernel reads and have a
   * limit on bindings. Default: fuse.
   */
  readonly isolate?: boolean;
  /**
   * Values to write to memory besides those the pass chooses, splitting the kernels that would compute them
   * inline: for a backend that must cut a kernel reading more buffers than it can bind, and only that one.
   * Default: none.
   */
  readonly materialize?: ReadonlySet<Var>;
  /**
   * Whether a row gather (`take` along axis 0) whose consumers are all fused loops (reductions, elementwise
   * chains) is read in them through its indices ({@linkcode GatherExpr}) rather than copied to a buffer first.
   * Default: copied (the backend must then emit `gather` expressions and check the indices).
   */
  readonly gatherLoads?: boolean;
}

/** The movement primitives that are index maps: a fused loop reads through them with affine arithmetic. */
const INDEX_MAPS: ReadonlySet<PrimName> = new Set<PrimsOfKind<"movement">>([
  "broadcast",
  "reshape",
  "transpose",
  "slice",
  "pad",
]);
/** Elementwise primitives cheap enough to recompute in each kernel that uses them (no transcendental). */
const CHEAP: ReadonlySet<PrimName> = new Set<ElementwisePrim>([
  "neg",
  "add",
  "mul",
  "max",
  "less",
  "equal",
  "where",
  "cast",
  "stop_gradient",
]);
/** Sources a fused loop computes from the index (a constant, an iota). */
const INDEX_SOURCES: ReadonlySet<PrimName> = new Set<PrimsOfKind<"source">>(["full", "iota"]);
/** A value used by several kernels is recomputed in each when it costs at most this many cheap ops. */
const RECOMPUTE_OPS = 3;

/** How many times smaller than a shared value a computed part of it must be to be stored instead of it. */
const SMALL_PART = 8;

function fusible(e: Eqn): boolean {
  return kindOf(e.prim) === "elementwise" || INDEX_MAPS.has(e.prim) || INDEX_SOURCES.has(e.prim);
}

/** Is the transpose a swap of the last two axes (batch axes in place)? */
function swapsLastTwo(e: Eqn): boolean {
  if (e.prim !== "transpose") return false;
  const perm = e.params.perm;
  const r = perm.length;
  return r >= 2 && perm[r - 1] === r - 2 && perm[r - 2] === r - 1 &&
    perm.slice(0, -2).every((a, i) => a === i);
}

/**
 * The common refinement of two shapes of the same size: the shape whose axis boundaries (in row-major flat
 * order) are those of both, with no axes of size 1; undefined when the boundaries cross
 * ([6, 4] and [4, 6]).
 *
 * @example
 * ```ts
 * import { refineShape } from "./fuse.ts";
 * if (refineShape([12800, 100], [256, 50, 100])?.join() !== "256,50,100") throw new Error();
 * if (refineShape([6, 4], [4, 6]) !== undefined) throw new Error();
 * ```
 */
export function refineShape(a: Shape, b: Shape): Shape | undefined {
  const size = sizeOf(a);
  if (size === 0 || size !== sizeOf(b)) return undefined;
  const cuts = new Set<number>();
  for (const s of [a, b]) {
    let span = 1;
    for (let d = s.length - 1; d >= 0; d--) cuts.add(span *= s[d]);
  }
  const refined: number[] = [];
  let inner = 1;
  for (const cut of [...cuts].sort((x, y) => x - y)) {
    if (cut % inner !== 0) return undefined;
    if (cut !== inner) refined.unshift(cut / inner);
    inner = cut;
  }
  return refined;
}

/** The index map of a tensor of `shape` over an iteration space `finer` that refines it (same flat order). */
function splitMap(shape: Shape, finer: Shape): IndexMap {
  const map: IndexMap = new Array(shape.length);
  let r = finer.length;
  for (let a = shape.length - 1; a >= 0; a--) {
    const coeffs = new Array<number>(finer.length).fill(0);
    for (let span = 1; span < shape[a];) {
      coeffs[--r] = span;
      span *= finer[r];
    }
    map[a] = { offset: 0, coeffs };
  }
  return map;
}

/** A multi-index map: index along each axis of a tensor as an affine function of the iteration index. */
type IndexMap = Affine[];

function identityMap(shape: Shape): IndexMap {
  return shape.map((_, a) => ({ offset: 0, coeffs: shape.map((_, d) => (d === a ? 1 : 0)) }));
}

function flatAffine(map: IndexMap, shape: Shape, rootRank: number): Affine {
  const strides = stridesOf(shape);
  let offset = 0;
  const coeffs = new Array<number>(rootRank).fill(0);
  map.forEach((row, a) => {
    offset += row.offset * strides[a];
    row.coeffs.forEach((c, d) => (coeffs[d] += c * strides[a]));
  });
  return { offset, coeffs };
}

/**
 * The index map of a reshape's input, if it stays affine: each iteration axis must land inside one axis of the
 * input without carries. `undefined` when the reshape needs division (then its input is materialized).
 */
function reshapeMap(map: IndexMap, outShape: Shape, inShape: Shape, rootShape: Shape): IndexMap | undefined {
  const flat = flatAffine(map, outShape, rootShape.length);
  const inStrides = stridesOf(inShape);
  const rows: { offset: number; coeffs: number[] }[] = inShape.map(() => ({
    offset: 0,
    coeffs: new Array<number>(rootShape.length).fill(0),
  }));
  let rest = flat.offset;
  inShape.forEach((d, a) => {
    rows[a].offset = Math.floor(rest / inStrides[a]) % d;
    rest -= rows[a].offset * inStrides[a];
  });
  if (rest !== 0) return undefined;
  for (let d = 0; d < rootShape.length; d++) {
    const c = flat.coeffs[d];
    if (c === 0 || rootShape[d] === 1) continue;
    const a = inStrides.findIndex((s, ax) => inShape[ax] > 1 && c % s === 0 && c / s < inShape[ax]);
    if (a < 0) return undefined;
    rows[a].coeffs[d] = c / inStrides[a];
  }
  // No carries: along every input axis the largest index reached must stay inside the axis.
  for (let a = 0; a < inShape.length; a++) {
    const max = rows[a].offset + rows[a].coeffs.reduce((s, c, d) => s + c * (rootShape[d] - 1), 0);
    if (max >= inShape[a]) return undefined;
  }
  return rows;
}

/**
 * A fused program: kernels in execution order, over the variables of the (optimized) graph.
 *
 * @example
 * ```ts
 * import { trace, tensor } from "../../mod.ts";
 * import { fuse, type Program } from "./fuse.ts";
 * const program: Program = fuse(trace((x) => x.exp().add(1), tensor([1])));
 * if (!program.toString().startsWith("k0 elementwise[1]")) throw new Error(program.toString());
 * ```
 */
export class Program {
  /** Builds a program (see {@linkcode fuse}). */
  constructor(readonly graph: Graph, readonly kernels: readonly Kernel[]) {}

  /** One line per kernel, with its expression: what the docs site shows as "the fused graph". */
  toString(): string {
    const names = this.graph.names();
    return this.kernels.map((k, i) => `k${i} ${this.describe(k, names)}`).join("\n");
  }

  /** One kernel as a line of `toString` (without its number), naming variables as `names` does. */
  describe(k: Kernel, names: Map<Var, string> = this.graph.names()): string {
    const name = (v: Var) => names.get(v) ?? `v${v.id}`;
    const ins = k.inputs.map(name).join(", ");
    const head = `${k.kind}${showShape(k.output.shape)} ${name(k.output)} <- (${ins})`;
    switch (k.kind) {
      case "elementwise":
        return `${head}: ${showExpr(k.expr, k.inputs.map(name))}`;
      case "reduce":
        return `${head}: ${k.op}[axes=${JSON.stringify(k.axes)}] ${showExpr(k.prologue, k.inputs.map(name))}`;
      case "matmul":
        return `${head}: batch=${k.batch} m=${k.m} n=${k.n} k=${k.k}${k.transA ? " transA" : ""}${
          k.transB ? " transB" : ""
        }`;
      case "scatter":
        return `${head}: rows += ${showExpr(k.updates, k.inputs.map(name))}`;
      case "opaque":
        return `${head}: ${k.eqn.prim}`;
    }
  }
}

/**
 * Readable form of an expression: `exp(add(a, b[bcast]))`.
 *
 * @example
 * ```ts
 * import { showExpr } from "./fuse.ts";
 * const e = { kind: "op", prim: "exp", dtype: "float32", params: {}, args: [{ kind: "const", value: 1, dtype: "float32" }] } as const;
 * if (showExpr(e, []) !== "exp(1)") throw new Error(showExpr(e, []));
 * ```
 */
export function showExpr(e: Expr, inputNames: readonly string[]): string {
  switch (e.kind) {
    case "load":
      return inputNames[e.input] ?? `in${e.input}`;
    case "const":
      return String(e.value);
    case "iota":
      return "iota";
    case "acc":
      return "acc";
    case "op":
      return `${e.prim}(${e.args.map((a) => showExpr(a, inputNames)).join(", ")})`;
    case "pad":
      return `pad(${showExpr(e.inside, inputNames)}, ${e.value})`;
    case "gather":
      return `${inputNames[e.input] ?? `in${e.input}`}[${showExpr(e.index, inputNames)}]`;
  }
}

/**
 * Groups a graph's equations into kernels.
 *
 * @example
 * ```ts
 * import { trace, tensor } from "../../mod.ts";
 * import { fuse } from "./fuse.ts";
 * const p = fuse(trace((x, b) => x.mul(2).add(b).relu().sum(1), tensor([[1, 2]]), tensor([3, 4])));
 * // One reduction whose prologue computes relu(x * 2 + b) on the fly: no intermediate buffers.
 * if (p.kernels.length !== 1 || p.kernels[0].kind !== "reduce") throw new Error(p.toString());
 * ```
 */
export function fuse(graph: Graph, options: FuseOptions = {}): Program {
  const producer = new Map<Var, Eqn>();
  for (const e of graph.eqns) producer.set(e.out, e);
  const consumers = new Map<Var, Eqn[]>();
  for (const e of graph.eqns) {
    for (const v of new Set(e.inputs)) {
      const list = consumers.get(v) ?? [];
      list.push(e);
      consumers.set(v, list);
    }
  }
  const materialized = new Set<Var>([...graph.inputs, ...graph.captures.map((c) => c.v), ...graph.outputs]);
  if (options.isolate) {
    for (const e of graph.eqns) materialized.add(e.out);
    return new Program(graph, buildKernels(graph, producer, materialized, options));
  }
  for (const v of options.materialize ?? []) materialized.add(v);

  const computed = (v: Var) => {
    const p = producer.get(v);
    return p !== undefined && !INDEX_MAPS.has(p.prim) && !INDEX_SOURCES.has(p.prim);
  };
  /** Would computing `v` in a fused loop evaluate a costly op (exp, log, ...) that is not yet in memory? */
  const expensiveMemo = new Map<Var, boolean>();
  const expensive = (v: Var): boolean => {
    if (materialized.has(v)) return false;
    const p = producer.get(v);
    if (!p || !fusible(p)) return false;
    let result = expensiveMemo.get(v);
    if (result === undefined) {
      result = (computed(v) && !CHEAP.has(p.prim)) || p.inputs.some(expensive);
      expensiveMemo.set(v, result);
    }
    return result;
  };
  for (const e of graph.eqns) {
    if (kindOf(e.prim) === "reduce") {
      // A reduction writes its result, but reads its operand through the fused prologue.
      materialized.add(e.out);
      continue;
    }
    if (options.gatherLoads && e.prim === "gather") {
      // Read where it is used, through its indices: the table and the indices are buffers. A consumer that
      // needs the rows in memory (a matmul, a scatter-add's updates) materializes them.
      for (const v of e.inputs) materialized.add(reshapeSource(v, producer));
      continue;
    }
    if (!fusible(e)) {
      materialized.add(e.out);
      for (const [i, v] of e.inputs.entries()) {
        // A scatter-add computes its updates on the fly when it can.
        if (e.prim === "scatter_add" && i === 2) continue;
        const p = producer.get(v);
        // A matmul reads the source of a swapped operand directly, with a transpose flag; any other kernel
        // reads a reshaped value in the buffer of its source (row-major order is the same).
        materialized.add(
          e.prim === "matmul" && p && swapsLastTwo(p) ? p.inputs[0] : reshapeSource(v, producer),
        );
      }
      continue;
    }
    if (e.prim === "broadcast" && sizeOf(e.out.shape) > sizeOf(e.inputs[0].shape) && expensive(e.inputs[0])) {
      // Fusing through an expanding broadcast would recompute an expensive value once per copy.
      materialized.add(e.inputs[0]);
    }
  }

  /**
   * The elementwise ops a fused loop evaluates to compute `v` from buffers, or Infinity when one of them is
   * costly. Movement ops are index arithmetic and cost nothing.
   */
  const recomputeCost = (v: Var, seen = new Set<Var>()): number => {
    // Buffers cost nothing to read, except the value judged itself (the first call).
    if ((seen.size > 0 && materialized.has(v)) || seen.has(v)) return 0;
    seen.add(v);
    const p = producer.get(v);
    if (!p || !fusible(p)) return 0;
    const own = !computed(v) ? 0 : CHEAP.has(p.prim) ? 1 : Infinity;
    return p.inputs.reduce((total, x) => total + recomputeCost(x, seen), own);
  };
  /**
   * Whether the mask `v` becomes cheap to recompute once the much smaller computed values it expands from are
   * stored (then they are): a one-hot mask `equal(iota, labels')` over [tokens, classes] costs one comparison
   * per element when `labels'` ([tokens], itself a few ops) is in memory, where storing the mask would write
   * and read back a byte per element. Values other than masks keep the usual rule (a backend may match them:
   * WebGPU's attention reads stored scores).
   */
  const cheapOnceSmallPartsStored = (v: Var): boolean => {
    if (v.dtype !== "bool") return false;
    const small: Var[] = [];
    const seen = new Set<Var>();
    const visit = (x: Var) => {
      if (seen.has(x) || materialized.has(x)) return;
      seen.add(x);
      const p = producer.get(x);
      if (!p || !fusible(p)) return;
      if (x !== v && computed(x) && sizeOf(x.shape) * SMALL_PART <= sizeOf(v.shape)) {
        small.push(x);
        return;
      }
      p.inputs.forEach(visit);
    };
    visit(v);
    if (small.length === 0) return false;
    small.forEach((x) => materialized.add(x));
    if (recomputeCost(v) <= RECOMPUTE_OPS) return true;
    small.forEach((x) => materialized.delete(x));
    return false;
  };
  // A computed value that flows into several kernels is materialized once rather than recomputed in each,
  // unless a few cheap ops recompute it (a comparison, a negation): writing and reading it back would cost
  // more, and its kernel's launch. Walk backwards, collecting for every value the kernel outputs it flows
  // into.
  const roots = new Map<Var, Set<Var>>();
  /** Values materialized because several kernels use them. */
  const shared = new Set<Var>();
  for (let i = graph.eqns.length - 1; i >= 0; i--) {
    const v = graph.eqns[i].out;
    const reached = new Set<Var>();
    for (const c of consumers.get(v) ?? []) for (const r of roots.get(c.out) ?? [c.out]) reached.add(r);
    if (reached.size > 1 && computed(v) && !materialized.has(v)) {
      if (!(recomputeCost(v) <= RECOMPUTE_OPS) && !cheapOnceSmallPartsStored(v)) shared.add(v);
      if (shared.has(v)) materialized.add(v);
    }
    roots.set(v, materialized.has(v) ? new Set([v]) : reached);
  }
  // The walk judged each value before its inputs, so costs counted inputs that were materialized after:
  // in graph order, recompute what has become cheap given what its inputs now are.
  for (const e of graph.eqns) {
    if (shared.has(e.out) && recomputeCost(e.out) <= RECOMPUTE_OPS) materialized.delete(e.out);
  }

  for (;;) {
    try {
      return new Program(graph, buildKernels(graph, producer, materialized, options));
    } catch (e) {
      if (!(e instanceof NeedsMaterialization) || materialized.has(e.v)) throw e;
      materialized.add(e.v);
    }
  }
}

/** The value a chain of reshapes starts from: its buffer holds `v`'s elements in the same order. */
function reshapeSource(v: Var, producer: Map<Var, Eqn>): Var {
  let source = v;
  for (let p = producer.get(source); p?.prim === "reshape"; p = producer.get(source)) source = p.inputs[0];
  return source;
}

class NeedsMaterialization extends Error {
  constructor(readonly v: Var) {
    super("internal: materialize and retry");
  }
}

function buildKernels(
  graph: Graph,
  producer: Map<Var, Eqn>,
  materialized: Set<Var>,
  options: FuseOptions,
): Kernel[] {
  const kernels: Kernel[] = [];
  /**
   * The iteration space of a kernel computing `v`: `v`'s shape, split further where an elementwise chain
   * into `v` reshapes a computed value (a [B·C, D] gradient made of a [B, C, D] one). Over the finer axes
   * the reshape is affine and fuses; the flat order, and so the output's layout, is the same.
   */
  const iterationShape = (v: Var): Shape => {
    let shape: Shape = v.shape;
    const seen = new Set<Var>();
    const visit = (x: Var) => {
      const p = producer.get(x);
      if (seen.has(x) || !p) return;
      seen.add(x);
      if (p.prim === "reshape") {
        const [source] = p.inputs;
        if (materialized.has(source) || !producer.has(source)) return;
        shape = refineShape(shape, source.shape) ?? shape;
      } else if (kindOf(p.prim) === "elementwise") {
        for (const y of p.inputs) if (!materialized.has(y) && shapesEqual(y.shape, v.shape)) visit(y);
      }
    };
    visit(v);
    return shape;
  };
  const order = new Map<Eqn, number>(graph.eqns.map((e, i) => [e, i]));
  const inGraphOrder = (eqns: readonly Eqn[]) =>
    [...new Set(eqns)].sort((a, b) => order.get(a)! - order.get(b)!);
  const rootMap = (v: Var, shape: Shape) => shape === v.shape ? identityMap(shape) : splitMap(v.shape, shape);
  for (const e of graph.eqns) {
    if (!materialized.has(e.out)) continue;
    if (e.prim === "matmul") {
      const operand = (v: Var): [Var, boolean] => {
        const p = producer.get(v);
        return p && swapsLastTwo(p) && !materialized.has(v)
          ? [p.inputs[0], true]
          : [materialized.has(v) ? v : reshapeSource(v, producer), false];
      };
      const absorbed = (v: Var): Eqn[] => {
        const p = producer.get(v);
        return p && swapsLastTwo(p) && !materialized.has(v) ? [p] : [];
      };
      const [a, transA] = operand(e.inputs[0]);
      const [b, transB] = operand(e.inputs[1]);
      const s = e.out.shape;
      const r = s.length;
      kernels.push({
        kind: "matmul",
        eqns: inGraphOrder([e, ...[e.inputs[0], e.inputs[1]].flatMap((v) => absorbed(v))]),
        inputs: [a, b],
        output: e.out,
        transA,
        transB,
        batch: sizeOf(s.slice(0, -2)),
        m: s[r - 2],
        n: s[r - 1],
        k: e.inputs[0].shape[r - 1],
      });
      continue;
    }
    if (e.prim === "reduce_sum" || e.prim === "reduce_max") {
      const builder = new ExprBuilder(producer, materialized, e.inputs[0].shape);
      const prologue = builder.build(e.inputs[0], identityMap(e.inputs[0].shape));
      kernels.push({
        kind: "reduce",
        eqns: inGraphOrder([...builder.fused, e]),
        op: e.prim === "reduce_sum" ? "sum" : "max",
        inShape: e.inputs[0].shape,
        axes: e.params.axes,
        inputs: builder.inputs,
        output: e.out,
        prologue,
      });
      continue;
    }
    if (e.prim === "scatter_add") {
      const [base, indices, values] = e.inputs;
      const shape = iterationShape(values);
      const width = sizeOf(base.shape.slice(1));
      let rowAxes = shape.length - (base.shape.length - 1);
      if (shape !== values.shape) {
        // A split shape has no axes of size 1: the row axes are those left of the trailing ones that make a row.
        rowAxes = shape.length;
        for (let span = 1; span < width;) span *= shape[--rowAxes];
      }
      const bufferOf = (v: Var) => (materialized.has(v) ? v : reshapeSource(v, producer));
      const builder = new ExprBuilder(
        producer,
        materialized,
        shape,
        [bufferOf(base), bufferOf(indices)],
        false,
      );
      const updates = builder.build(values, rootMap(values, shape));
      const kernel: ScatterKernel = {
        kind: "scatter",
        eqns: inGraphOrder([...builder.fused, e]),
        shape,
        rowAxes,
        inputs: builder.inputs,
        output: e.out,
        updates,
      };
      if (options.scatterUpdates && !options.scatterUpdates(kernel)) {
        throw new NeedsMaterialization(reshapeSource(values, producer));
      }
      kernels.push(kernel);
      continue;
    }
    if (!fusible(e)) {
      const inputs = e.inputs.map((v) => (materialized.has(v) ? v : reshapeSource(v, producer)));
      kernels.push({ kind: "opaque", inputs, output: e.out, eqn: e, eqns: [e] });
      continue;
    }
    const shape = iterationShape(e.out);
    const builder = new ExprBuilder(producer, materialized, shape);
    const expr = builder.buildEqn(e, rootMap(e.out, shape));
    kernels.push({
      kind: "elementwise",
      shape,
      inputs: builder.inputs,
      output: e.out,
      expr,
      eqns: inGraphOrder([...builder.fused]),
    });
  }
  return kernels;
}

/** Builds the expression of a fused value at an index map, memoizing shared subexpressions. */
class ExprBuilder {
  private readonly memo = new Map<string, Expr>();
  /** The equations this builder computed inside the kernel. */
  readonly fused = new Set<Eqn>();
  /** Loads number the buffers they read from here on: the ones before are the kernel's own operands. */
  private readonly first: number;

  constructor(
    private readonly producer: Map<Var, Eqn>,
    private readonly materialized: Set<Var>,
    private readonly root: Shape,
    readonly inputs: Var[] = [],
    /** Whether a gather may be read through its indices here (a scatter-add's updates read rows in memory). */
    private readonly gathers = true,
  ) {
    this.first = inputs.length;
  }

  build(v: Var, map: IndexMap): Expr {
    const key = `${v.id}|${map.map((r) => `${r.offset}:${r.coeffs}`).join(";")}`;
    const hit = this.memo.get(key);
    if (hit) return hit;
    let expr: Expr;
    if (this.isBuffer(v)) {
      expr = this.load(v, flatAffine(map, v.shape, this.root.length));
    } else {
      expr = this.buildEqn(this.producer.get(v)!, map);
    }
    this.memo.set(key, expr);
    return expr;
  }

  private isBuffer(v: Var): boolean {
    return this.materialized.has(v) || !this.producer.has(v);
  }

  private load(v: Var, at: Affine): Expr {
    return { kind: "load", dtype: v.dtype, input: this.inputOf(v), at };
  }

  private inputOf(v: Var): number {
    const input = this.inputs.indexOf(v, this.first);
    return input < 0 ? this.inputs.push(v) - 1 : input;
  }

  buildEqn(e: Eqn, map: IndexMap): Expr {
    this.fused.add(e);
    const dtype = e.out.dtype;
    const [x] = e.inputs;
    switch (e.prim) {
      case "full":
        return { kind: "const", dtype, value: e.params.value };
      case "iota":
        return { kind: "iota", dtype, at: map[e.params.axis] };
      case "broadcast":
        return this.build(
          x,
          map.map((row, a) => (x.shape[a] === 1 ? { offset: 0, coeffs: row.coeffs.map(() => 0) } : row)),
        );
      case "transpose": {
        const perm = e.params.perm;
        const inner: IndexMap = new Array(perm.length);
        perm.forEach((src, k) => (inner[src] = map[k]));
        return this.build(x, inner);
      }
      case "slice": {
        const begin = e.params.begin;
        return this.build(x, map.map((row, a) => ({ offset: row.offset + begin[a], coeffs: row.coeffs })));
      }
      case "reshape": {
        const inner = reshapeMap(map, e.out.shape, x.shape, this.root);
        if (inner) return this.build(x, inner);
        // A reshape keeps row-major order, so a buffer is read at the same flat offsets as its reshape.
        if (this.isBuffer(x)) return this.load(x, flatAffine(map, e.out.shape, this.root.length));
        throw new NeedsMaterialization(x);
      }
      case "gather": {
        // Only when the pass chose to (FuseOptions.gatherLoads); a kernel that cannot read it so stores it.
        if (!this.gathers) throw new NeedsMaterialization(e.out);
        const [table, indices] = e.inputs;
        const rank = indices.shape.length;
        const index = this.build(indices, map.slice(0, rank));
        if (index.kind !== "load") throw new NeedsMaterialization(indices);
        const rowShape = table.shape.slice(1);
        return {
          kind: "gather",
          dtype,
          input: this.inputOf(this.isBuffer(table) ? table : reshapeSource(table, this.producer)),
          index,
          rowSize: sizeOf(rowShape),
          at: flatAffine(map.slice(rank), rowShape, this.root.length),
        };
      }
      case "pad": {
        const { low, high } = e.params;
        const shifted = map.map((row, a) => ({ offset: row.offset - low[a], coeffs: row.coeffs }));
        const guards = shifted.flatMap((at, a) =>
          high[a] === 0 && low[a] === 0 ? [] : [{ at, size: x.shape[a] }]
        );
        return {
          kind: "pad",
          dtype,
          guards,
          inside: this.build(x, shifted),
          value: e.params.value,
        };
      }
      default: {
        if (kindOf(e.prim) !== "elementwise") {
          throw new Error(`fuse: ${e.prim} is not elementwise and cannot be computed inside a fused loop`);
        }
        const op = {
          kind: "op",
          dtype,
          prim: e.prim,
          params: e.params,
          args: e.inputs.map((v) => this.build(v, map)),
        };
        return op as OpExpr;
      }
    }
  }
}
