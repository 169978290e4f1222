/**
 * Tracing: records a function as a graph without running it. `traceFlat` is the one entry point every
 * transform (`grad`, `jvp`, `vmap`) and `jit` use; `trace` is its public form, taking example tensors or
 * `{ shape, dtype }` specs.
 * @module
 */
import type { DType } from "./ir/dtype.ts";
import type { Aval, Graph } from "./ir/graph.ts";
import { flatten, flattenWith, type TreeDef, unflatten } from "./pytree.ts";
import { Tensor, Trace, withTrace } from "./tensor.ts";

/**
 * An input given by shape and dtype only.
 *
 * @example
 * ```ts
 * import { type Spec, trace } from "../mod.ts";
 * const input: Spec = { shape: [4], dtype: "float32" };
 * if (trace((x) => x.exp(), input).inputs[0].shape[0] !== 4) throw new Error();
 * ```
 */
export interface Spec {
  /** The input's shape. */
  shape: readonly number[];
  /** The input's dtype (default float32). */
  dtype?: DType;
}

function isSpec(x: unknown): x is Spec {
  return typeof x === "object" && x !== null && !(x instanceof Tensor) && Array.isArray((x as Spec).shape) &&
    Object.keys(x).every((k) => k === "shape" || k === "dtype");
}

/**
 * Traces `f` on fresh tracers, one per aval, passed in the structure `inDef` describes. Returns the graph
 * (inputs in the order of `avals`; tensors `f` closes over become captures) and the structure of the output.
 *
 * @example
 * ```ts
 * import { traceFlat } from "./trace.ts";
 * import { flatten, tensor, type Tensor } from "../mod.ts";
 * const { def } = flatten([{ w: tensor([1, 2]) }]);
 * const { graph, outDef } = traceFlat((p: { w: Tensor }) => [p.w.exp()], def, [{ shape: [2], dtype: "float32" }]);
 * if (graph.eqns[0].prim !== "exp" || outDef.leafCount !== 1) throw new Error();
 * ```
 */
export function traceFlat(
  f: (...args: any[]) => unknown,
  inDef: TreeDef,
  avals: readonly Aval[],
): { graph: Graph; outDef: TreeDef } {
  const t = new Trace();
  const tracers = avals.map((a) => t.newInput(a.shape, a.dtype));
  return withTrace(t, () => {
    const out = f(...(unflatten(inDef, tracers) as unknown[]));
    const flat = flatten(out);
    return { graph: t.finish(flat.leaves), outDef: flat.def };
  });
}

/**
 * Traces `f` on inputs (tensors, or `{ shape, dtype }` specs, in any pytree) and returns its graph, which
 * prints as text (`toString`), JSON (`toJSON`) and Graphviz DOT (`toDot`).
 *
 * @example
 * ```ts
 * import { trace } from "../mod.ts";
 * const g = trace((x, w) => x.matmul(w).relu(), { shape: [8, 4] }, { shape: [4, 2] });
 * if (g.outputs[0].shape.join() !== "8,2") throw new Error();
 * console.log(g.toString());
 * ```
 */
export function trace(f: (...args: any[]) => unknown, ...inputs: unknown[]): Graph {
  const { leaves, def } = flattenWith(inputs, (x): x is Tensor | Spec => x instanceof Tensor || isSpec(x));
  const avals = leaves.map((l) => ({ shape: [...l.shape], dtype: l.dtype ?? "float32" }));
  return traceFlat(f, def, avals).graph;
}
