/**
 * Reverse-mode automatic differentiation as a transform of traced graphs: `vjp`, `grad`, `valueAndGrad`.
 *
 * `vjp(f, x)` traces `f` into a graph, evaluates it on `x` keeping every intermediate, and returns a function
 * that walks the graph backwards applying each primitive's VJP rule. The rules are written with ops, so under
 * an enclosing trace (`jit`, another `grad`) the backward pass is itself recorded: that gives compiled training
 * steps and higher-order derivatives from one mechanism.
 * @module
 */
import type { Graph, Var } from "./graph.ts";
import { type Cotangent, PRIMITIVES } from "./primitives.ts";
import { flatten, type TreeDef, unflatten } from "./pytree.ts";
import { showShape } from "./shape.ts";
import { SparseRows } from "./sparse.ts";
import { bind, evalGraph, Tensor, Trace, withTrace } from "./tensor.ts";

/**
 * Which arguments to differentiate: one index (one gradient) or a list (a list of gradients, in that order).
 *
 * @example
 * ```ts
 * import { type ArgNums, grad, tensor } from "../mod.ts";
 * const argnums: ArgNums = [1];
 * const [g] = grad((a, b) => a.mul(b).sum(), { argnums })(tensor([2]), tensor([3]));
 * if (g.item() !== 2) throw new Error();
 * ```
 */
export type ArgNums = number | readonly number[];

/**
 * Options of `grad` and `valueAndGrad`.
 *
 * @example
 * ```ts
 * import { type GradOptions, tensor, valueAndGrad } from "../mod.ts";
 * const options: GradOptions = { hasAux: true };
 * const [[, aux], g] = valueAndGrad((x) => [x.sum(), "aux"], options)(tensor([1]));
 * if (aux !== "aux" || g.item() !== 1) throw new Error();
 * ```
 */
export interface GradOptions {
  /** Arguments to differentiate with respect to (default 0). */
  argnums?: ArgNums;
  /** When set, `f` returns `[value, aux]`; aux is passed through undifferentiated. */
  hasAux?: boolean;
}

function combine(a: Cotangent, b: Cotangent): Cotangent {
  if (a instanceof SparseRows) return b instanceof SparseRows ? a.concat(b) : a.addTo(b);
  if (b instanceof SparseRows) return b.addTo(a);
  return bind("add", [a, b]);
}

/**
 * Walks `graph` backwards from output cotangents; returns one cotangent per graph input (null where none
 * arrives). Only variables that depend on an input with `wrt[i]` set are visited.
 */
function backward(
  graph: Graph,
  env: Map<Var, Tensor>,
  outCts: readonly (Tensor | null)[],
  wrt: readonly boolean[],
) {
  const active = new Set<Var>();
  graph.inputs.forEach((v, i) => {
    if (wrt[i] && v.dtype === "float32") active.add(v);
  });
  for (const e of graph.eqns) {
    if (e.out.dtype === "float32" && e.inputs.some((v) => active.has(v))) active.add(e.out);
  }
  const cts = new Map<Var, Cotangent>();
  const accumulate = (v: Var, c: Cotangent) => {
    if (!active.has(v)) return;
    const prev = cts.get(v);
    cts.set(v, prev === undefined ? c : combine(prev, c));
  };
  graph.outputs.forEach((v, i) => {
    const c = outCts[i];
    if (c) accumulate(v, c);
  });
  for (let k = graph.eqns.length - 1; k >= 0; k--) {
    const e = graph.eqns[k];
    const g = cts.get(e.out);
    if (g === undefined) continue;
    cts.delete(e.out);
    const needs = e.inputs.map((v) => active.has(v));
    const dense = g instanceof SparseRows ? g.toDense() : g;
    const inputs = e.inputs.map((v) => env.get(v)!);
    const results = PRIMITIVES[e.prim].vjp(dense, inputs, env.get(e.out)!, e.params, needs);
    e.inputs.forEach((v, i) => {
      const c = results[i];
      if (needs[i] && c) accumulate(v, c);
    });
  }
  return graph.inputs.map((v) => cts.get(v) ?? null);
}

/** Traces `f` on tracers shaped like `leaves`, returning the graph and the output structure. */
function traceFlat(f: (...args: any[]) => unknown, argsDef: TreeDef, leaves: readonly Tensor[]) {
  const trace = new Trace();
  const tracers = leaves.map((t) => trace.newInput(t.shape, t.dtype));
  return withTrace(trace, () => {
    const out = f(...(unflatten(argsDef, tracers) as unknown[]));
    const flat = flatten(out);
    return { graph: trace.finish(flat.leaves), outDef: flat.def, out };
  });
}

function linearize(
  f: (...args: any[]) => unknown,
  args: readonly unknown[],
  wrtArg: (argIndex: number) => boolean,
) {
  const { leaves, def } = flatten(args);
  const wrt: boolean[] = [];
  args.forEach((a, i) => {
    const n = flatten(a).leaves.length;
    for (let j = 0; j < n; j++) wrt.push(wrtArg(i));
  });
  const { graph, outDef } = traceFlat(f, def, leaves);
  const { outputs, env } = evalGraph(graph, leaves, true);
  const pullback = (outCts: readonly (Tensor | null)[]) => backward(graph, env, outCts, wrt);
  return { outputs, outDef, pullback, leaves };
}

/**
 * Runs `f(...primals)` and returns its output with a function that maps an output cotangent (same structure
 * as the output) to the cotangents of every primal (a list, one per primal, each shaped like its primal;
 * sparse rows where a table was read through `take`). Non-float leaves get `null`.
 *
 * @example
 * ```ts
 * import { tensor, vjp } from "../mod.ts";
 * const [y, back] = vjp((x) => x.mul(x), tensor([1, 2, 3]));
 * const [dx] = back(tensor([1, 1, 1]));
 * if ((dx as { arraySync(): unknown }).arraySync()!.toString() !== "2,4,6") throw new Error();
 * if (y.arraySync().toString() !== "1,4,9") throw new Error();
 * ```
 */
export function vjp<Out>(
  f: (...args: any[]) => Out,
  ...primals: unknown[]
): [Out, (cotangent: unknown) => unknown[]] {
  const { outputs, outDef, pullback } = linearize(f, primals, () => true);
  const back = (cotangent: unknown) => {
    const ct = flatten(cotangent);
    if (ct.def.key !== outDef.key) {
      throw new Error("vjp: the cotangent must have the same structure as the output");
    }
    ct.leaves.forEach((c, i) => {
      if (c.shape.join() !== outputs[i].shape.join()) {
        throw new RangeError(
          `vjp: cotangent ${i} has shape ${showShape(c.shape)}, the output has ${
            showShape(outputs[i].shape)
          }`,
        );
      }
    });
    const flatCts = pullback(ct.leaves);
    let offset = 0;
    return primals.map((p) => {
      const { leaves, def } = flatten(p);
      const part = flatCts.slice(offset, offset + leaves.length);
      offset += leaves.length;
      return unflatten(def, part as Tensor[]);
    });
  };
  return [unflatten(outDef, outputs) as Out, back];
}

function asArgs(args: unknown[], argnums: readonly number[], where: string): unknown[] {
  for (const a of argnums) {
    if (!Number.isInteger(a) || a < 0 || a >= args.length) {
      throw new RangeError(
        `${where}: argnums ${a} is out of range; the function was called with ${args.length} arguments`,
      );
    }
  }
  // A plain number to differentiate by becomes a float32 scalar, so grad(x => x*x)(3) works.
  return args.map((
    a,
    i,
  ) => (argnums.includes(i) && typeof a === "number"
    ? bind("full", [], { shape: [], value: a, dtype: "float32" })
    : a)
  );
}

/**
 * Returns a function computing `[f(...args), gradient]`: the gradient of the scalar `f` with respect to the
 * argument(s) in `argnums`, shaped like them (pytrees come back as pytrees; tables read through `take` get
 * `SparseRows`). With `hasAux`, `f` returns `[value, aux]` and the result is `[[value, aux], gradient]`.
 *
 * @example
 * ```ts
 * import { tensor, valueAndGrad } from "../mod.ts";
 * const [loss, g] = valueAndGrad((p: { w: any }) => p.w.square().sum())({ w: tensor([1, 2]) });
 * if (loss.item() !== 5 || g.w.arraySync().toString() !== "2,4") throw new Error();
 * ```
 */
export function valueAndGrad(
  f: (...args: any[]) => any,
  options: GradOptions = {},
): (...args: any[]) => [any, any] {
  const argnums = options.argnums ?? 0;
  const list = typeof argnums === "number" ? [argnums] : [...argnums];
  return (...rawArgs: unknown[]) => {
    const args = asArgs(rawArgs, list, "grad");
    for (const i of list) {
      const { leaves } = flatten(args[i]);
      const bad = leaves.find((t) => t.dtype !== "float32");
      if (bad) {
        throw new TypeError(
          `grad: argument ${i} has a ${bad.dtype}${
            showShape(bad.shape)
          } leaf; only float32 values can be differentiated. ` +
            "Pass integer data (token ids, labels) in an argument that is not in argnums.",
        );
      }
    }
    const { outputs, outDef, pullback } = linearize(f, args, (i) => list.includes(i));
    const out = unflatten(outDef, outputs) as unknown;
    const value = options.hasAux ? (Array.isArray(out) ? out[0] : undefined) : out;
    if (options.hasAux && (!Array.isArray(out) || out.length !== 2)) {
      throw new TypeError("grad with hasAux: the function must return [value, aux]");
    }
    if (!(value instanceof Tensor) || value.size !== 1 || value.dtype !== "float32") {
      const what = value instanceof Tensor
        ? `a ${value.dtype}${showShape(value.shape)} tensor`
        : typeof value;
      throw new TypeError(
        `grad: the function must return a scalar float32 tensor (a loss), but it returned ${what}. ` +
          "Reduce it first (e.g. .sum() or .mean()), or use vjp for non-scalar outputs.",
      );
    }
    const seedAt = outputs.indexOf(value);
    const seeds = outputs.map((
      o,
      i,
    ) => (i === seedAt ? bind("full", [], { shape: [...o.shape], value: 1, dtype: "float32" }) : null));
    const flatCts = pullback(seeds);
    // Split the flat cotangents back per argument and rebuild each argument's structure.
    let offset = 0;
    const grads: unknown[] = [];
    args.forEach((a, i) => {
      const { leaves, def } = flatten(a);
      if (list.includes(i)) {
        const part = leaves.map((t, j) =>
          flatCts[offset + j] ?? bind("full", [], { shape: [...t.shape], value: 0, dtype: "float32" })
        );
        grads[i] = unflatten(def, part as Tensor[]);
      }
      offset += leaves.length;
    });
    const gradient = typeof argnums === "number" ? grads[argnums] : list.map((i) => grads[i]);
    return [out, gradient];
  };
}

/**
 * Returns a function computing the gradient of the scalar `f` with respect to argument `argnums` (default 0),
 * or a list of gradients when `argnums` is a list. `grad(grad(f))` gives second derivatives.
 *
 * @example
 * ```ts
 * import { grad, tensor } from "../mod.ts";
 * const f = (x: any) => x.pow(3).sum();
 * const d2 = grad((x: any) => grad(f)(x).sum())(tensor([2]));
 * if (d2.item() !== 12) throw new Error(String(d2.item()));
 * ```
 */
export function grad(f: (...args: any[]) => any, options: GradOptions = {}): (...args: any[]) => any {
  const vg = valueAndGrad(f, options);
  return (...args: unknown[]) => vg(...args)[1];
}
