/**
 * `trace(f, ...inputs)`: records a function as a graph without running it.
 * @module
 */
import type { DType } from "./dtype.ts";
import type { Graph } from "./graph.ts";
import { flatten } from "./pytree.ts";
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
  const t = new Trace();
  const mapped = inputs.map(function toTracers(node: unknown): unknown {
    if (node instanceof Tensor) return t.newInput(node.shape, node.dtype);
    if (isSpec(node)) return t.newInput([...node.shape], node.dtype ?? "float32");
    if (Array.isArray(node)) return node.map(toTracers);
    if (node && typeof node === "object") {
      return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, toTracers(v)]));
    }
    return node;
  });
  return withTrace(t, () => {
    const out = f(...mapped);
    return t.finish(flatten(out).leaves);
  });
}
