/**
 * Reverse-mode automatic differentiation as a transform of traced graphs: the VJP rule of every primitive,
 * and `vjp`, `grad`, `valueAndGrad` built on them.
 *
 * `vjp(f, x)` traces `f` into a graph, evaluates it on `x` keeping every intermediate, and returns a function
 * that walks the graph backwards applying each primitive's VJP rule. The rules are written with `bind`, so
 * under an enclosing trace (`jit`, another `grad`, `jvp`, `vmap`) the backward pass is itself recorded: that
 * gives compiled training steps, higher-order derivatives and per-example gradients from one mechanism.
 * @module
 */
import type { DType } from "./ir/dtype.ts";
import type { Aval, Graph, Var } from "./ir/graph.ts";
import type { PrimName, PrimParams } from "./ir/primitives.ts";
import { type Shape, shapesEqual, showShape, sizeOf } from "./ir/shape.ts";
import { flatten, type PyTree, unflatten } from "./pytree.ts";
import { type Cotangent, SparseRows } from "./sparse.ts";
import { bind, evalGraph, Tensor } from "./tensor.ts";
import { traceFlat } from "./trace.ts";

/**
 * The VJP rule of primitive `P`: the cotangents of its inputs given the output's cotangent `g` (null where an
 * input gets none). `needs[i]` says whether input i's cotangent is wanted, so rules skip work nobody uses.
 *
 * @example
 * ```ts
 * import { VJP_RULES, type VjpRule } from "./autodiff.ts";
 * import { tensor } from "../mod.ts";
 * const rule: VjpRule<"exp"> = VJP_RULES.exp;
 * const x = tensor([0, 1]);
 * const [dx] = rule(tensor([1, 1]), [x], x.exp(), {}, [true]);
 * if (Math.abs((dx as ReturnType<typeof tensor>).dataSync()[1] - Math.E) > 1e-6) throw new Error();
 * ```
 */
export type VjpRule<P extends PrimName> = (
  g: Tensor,
  inputs: readonly Tensor[],
  out: Tensor,
  params: PrimParams<P>,
  needs: readonly boolean[],
) => (Cotangent | null)[];

// Small binders so rules read like maths. They call bind directly: rules must not depend on user-level ops.
const full = (shape: Shape, value: number, dtype: DType) =>
  bind("full", [], { shape: [...shape], value, dtype });
const fullLike = (t: Aval, value: number) => full(t.shape, value, t.dtype);
const add = (a: Tensor, b: Tensor) => bind("add", [a, b]);
const mul = (a: Tensor, b: Tensor) => bind("mul", [a, b]);
const neg = (a: Tensor) => bind("neg", [a]);
const recip = (a: Tensor) => bind("recip", [a]);
const where = (c: Tensor, a: Tensor, b: Tensor) => bind("where", [c, a, b]);
const reshape = (a: Tensor, shape: Shape) =>
  shapesEqual(a.shape, shape) ? a : bind("reshape", [a], { shape: [...shape] });
const transpose = (a: Tensor, perm: readonly number[]) => bind("transpose", [a], { perm });

/** Sums `g` over the axes where `shape` has size 1 but `g` does not, then reshapes to `shape` (same rank). */
function sumToShape(g: Tensor, shape: Shape): Tensor {
  const axes: number[] = [];
  for (let i = 0; i < shape.length; i++) if (shape[i] === 1 && g.shape[i] !== 1) axes.push(i);
  return reshape(axes.length ? bind("reduce_sum", [g], { axes }) : g, shape);
}

/**
 * @internal A reduced tensor with the reduced axes back as size 1, broadcast to `shape`.
 *
 * @example
 * ```ts
 * import { expandReduced } from "./autodiff.ts";
 * import { tensor } from "../mod.ts";
 * const y = expandReduced(tensor([1, 2]), [2, 3], [1]);
 * if (JSON.stringify(y.arraySync()) !== "[[1,1,1],[2,2,2]]") throw new Error();
 * ```
 */
export function expandReduced(g: Tensor, shape: Shape, axes: readonly number[]): Tensor {
  const kept = shape.map((d, i) => (axes.includes(i) ? 1 : d));
  const r = reshape(g, kept);
  return shapesEqual(kept, shape) ? r : bind("broadcast", [r], { shape: [...shape] });
}

/**
 * @internal The share of a `max(a, b)`'s derivative that goes to `a`: 1 where a > b, 0 where a < b, 1/2 at
 * ties (as JAX does, so finite differences agree on average). JVP and VJP both use it, so they stay adjoint.
 *
 * @example
 * ```ts
 * import { maxShare } from "./autodiff.ts";
 * import { tensor } from "../mod.ts";
 * if (maxShare(tensor([3, 1, 2]), tensor([1, 3, 2])).arraySync().toString() !== "1,0,0.5") throw new Error();
 * ```
 */
export function maxShare(a: Tensor, b: Tensor): Tensor {
  return where(
    bind("less", [b, a]),
    fullLike(a, 1),
    where(bind("equal", [a, b]), fullLike(a, 0.5), fullLike(a, 0)),
  );
}

/**
 * @internal log(a) where a > 0, else 0: the factor of d(a^b)/db (a^b is 0 or not real elsewhere).
 *
 * @example
 * ```ts
 * import { safeLog } from "./autodiff.ts";
 * import { tensor } from "../mod.ts";
 * if (safeLog(tensor([1, 0, -1])).arraySync().toString() !== "0,0,0") throw new Error();
 * ```
 */
export function safeLog(a: Tensor): Tensor {
  const positive = bind("less", [fullLike(a, 0), a]);
  return where(positive, bind("log", [where(positive, a, fullLike(a, 1))]), fullLike(a, 0));
}

const noGrad = () => [null];

const unary = <P extends PrimName>(rule: (g: Tensor, x: Tensor, y: Tensor) => Tensor | null): VjpRule<P> =>
(
  g,
  [x],
  y,
) => [rule(g, x, y)];

/**
 * The VJP rule of every primitive. Typed over `PrimName`: a primitive without a rule fails `deno check`.
 *
 * @example
 * ```ts
 * import { VJP_RULES } from "./autodiff.ts";
 * import { tensor } from "../mod.ts";
 * const [da, db] = VJP_RULES.mul(tensor([1]), [tensor([2]), tensor([3])], tensor([6]), {}, [true, true]);
 * if ((da as ReturnType<typeof tensor>).item() !== 3 || (db as ReturnType<typeof tensor>).item() !== 2) throw new Error();
 * ```
 */
export const VJP_RULES: { readonly [P in PrimName]: VjpRule<P> } = {
  neg: unary((g) => neg(g)),
  exp: unary((g, _x, y) => mul(g, y)),
  log: unary((g, x) => mul(g, recip(x))),
  sqrt: unary((g, _x, y) => mul(g, mul(fullLike(y, 0.5), recip(y)))),
  recip: unary((g, _x, y) => neg(mul(g, mul(y, y)))),
  sin: unary((g, x) => mul(g, bind("cos", [x]))),
  cos: unary((g, x) => neg(mul(g, bind("sin", [x])))),
  tanh: unary((g, _x, y) => mul(g, add(fullLike(y, 1), neg(mul(y, y))))),
  stop_gradient: noGrad,
  cast: unary((g, x) => (x.dtype === "float32" && g.dtype === "float32" ? g : null)),

  add: (g, _inputs, _y, _params, needs) => [needs[0] ? g : null, needs[1] ? g : null],
  mul: (g, [a, b], _y, _params, needs) => [needs[0] ? mul(g, b) : null, needs[1] ? mul(g, a) : null],
  max: (g, [a, b], _y, _params, needs) => {
    const share = maxShare(a, b);
    return [needs[0] ? mul(g, share) : null, needs[1] ? mul(g, add(fullLike(g, 1), neg(share))) : null];
  },
  pow: (g, [a, b], y, _params, needs) => [
    needs[0] ? mul(g, mul(b, bind("pow", [a, add(b, fullLike(b, -1))]))) : null,
    needs[1] ? mul(g, mul(safeLog(a), y)) : null,
  ],
  less: () => [null, null],
  equal: () => [null, null],
  where: (g, [c], _y, _params, needs) => {
    const zero = fullLike(g, 0);
    return [null, needs[1] ? where(c, g, zero) : null, needs[2] ? where(c, zero, g) : null];
  },

  reduce_sum: (g, [x], _y, { axes }) => [expandReduced(g, x.shape, axes)],
  reduce_max: (g, [x], y, { axes }) => {
    // The cotangent spreads evenly over the maxima: g / count where x attains the maximum, else 0.
    const mask = bind("cast", [bind("equal", [x, expandReduced(y, x.shape, axes)])], { dtype: x.dtype });
    const count = bind("reduce_sum", [mask], { axes });
    return [mul(mask, expandReduced(mul(g, recip(count)), x.shape, axes))];
  },

  reshape: (g, [x]) => [reshape(g, x.shape)],
  transpose: (g, _x, _y, { perm }) => {
    const inverse = new Array<number>(perm.length);
    perm.forEach((a, i) => (inverse[a] = i));
    return [transpose(g, inverse)];
  },
  broadcast: (g, [x]) => [sumToShape(g, x.shape)],
  slice: (g, [x], _y, { begin, size }) => [
    bind("pad", [g], { low: begin, high: x.shape.map((d, i) => d - begin[i] - size[i]), value: 0 }),
  ],
  pad: (g, [x], _y, { low }) => [bind("slice", [g], { begin: low, size: [...x.shape] })],
  concat: (g, inputs, _y, { axis }, needs) => {
    let offset = 0;
    return inputs.map((x, i) => {
      const begin = g.shape.map((_, a) => (a === axis ? offset : 0));
      offset += x.shape[axis];
      return needs[i] ? bind("slice", [g], { begin, size: [...x.shape] }) : null;
    });
  },

  matmul: (g, [a, b], _y, _params, needs) => {
    const r = a.shape.length;
    const swap = Array.from({ length: r }, (_, i) => (i === r - 2 ? r - 1 : i === r - 1 ? r - 2 : i));
    return [
      needs[0] ? bind("matmul", [g, transpose(b, swap)]) : null,
      needs[1] ? bind("matmul", [transpose(a, swap), g]) : null,
    ];
  },

  gather: (g, [x, idx]) => {
    // The table's gradient is sparse: only the gathered rows, which optimizers update in place.
    const n = sizeOf(idx.shape);
    return [new SparseRows(reshape(idx, [n]), reshape(g, [n, ...x.shape.slice(1)]), x.shape), null];
  },
  scatter_add: (g, [_base, idx], _y, _params, needs) => [
    needs[0] ? g : null,
    null,
    needs[2] ? bind("gather", [g, idx]) : null,
  ],
  first_occurrence: noGrad,

  full: () => [],
  iota: () => [],
  random_bits: noGrad,
};

/** The rule of `prim`, typed for params of any primitive (the table is keyed so that this is sound). */
function vjpRule(prim: PrimName): VjpRule<PrimName> {
  return VJP_RULES[prim] as VjpRule<PrimName>;
}

/**
 * Which arguments to differentiate: one index (one gradient) or a list (a list of gradients, in that order).
 *
 * @example
 * ```ts
 * import { type ArgNums, grad, tensor, type Tensor } from "../mod.ts";
 * const argnums: ArgNums = [1];
 * const [g] = grad((a: Tensor, b: Tensor) => a.mul(b).sum(), { argnums })(tensor([2]), tensor([3]));
 * if (g.item() !== 2) throw new Error();
 * ```
 */
export type ArgNums = number | readonly number[];

/**
 * Options of `grad` and `valueAndGrad`.
 *
 * @example
 * ```ts
 * import { type GradOptions, tensor, type Tensor, valueAndGrad } from "../mod.ts";
 * const options: GradOptions = { hasAux: true };
 * const [[, aux], g] = valueAndGrad((x: Tensor) => [x.sum(), "aux"] as const, options)(tensor([1]));
 * if (aux !== "aux" || (g as Tensor).item() !== 1) throw new Error();
 * ```
 */
export interface GradOptions<A extends ArgNums = ArgNums, S extends boolean = boolean> {
  /** Arguments to differentiate with respect to (default 0). */
  argnums?: A;
  /** When set, `f` returns `[value, aux]`; aux is passed through undifferentiated. */
  hasAux?: boolean;
  /**
   * Keep the gradients of tables read through `take` (embeddings) sparse: `SparseRows` holding only the
   * rows read, which optimizers and `param.sub(g.mul(lr))` update in place (as PyTorch's sparse embedding
   * gradients). Default false: every gradient is a dense tensor of its argument's shape, as in JAX.
   */
  sparse?: S;
}

type IsAny<T> = 0 extends 1 & T ? true : false;

/**
 * The gradient of a value of type `T`: the same structure, where each tensor (or number differentiated by)
 * becomes a `Tensor`, or, with `S` true (the `sparse` option), a `Cotangent` (`Tensor | SparseRows`).
 *
 * @example
 * ```ts
 * import { type GradOf, grad, tensor } from "../mod.ts";
 * const params = { w: tensor([1, 2]), b: tensor([0]) };
 * const g: GradOf<typeof params> = grad((p: typeof params) => p.w.sum().add(p.b.sum()))(params);
 * if (g.w.sum().item() !== 2) throw new Error();
 * ```
 */
export type GradOf<T, S extends boolean = false> = IsAny<T> extends true ? any
  // An untyped pytree (nn.Params) keeps its loose type rather than being expanded without end.
  : PyTree extends T ? T
  : T extends Tensor | number ? (S extends true ? Cotangent : Tensor)
  : T extends readonly unknown[] ? { -readonly [K in keyof T]: GradOf<T[K], S> }
  : T extends object ? { -readonly [K in keyof T]: GradOf<T[K], S> }
  : T;

/**
 * The gradients `grad` returns for argument types `Args` and `argnums` `A`: one `GradOf` for a number, a
 * tuple of them for a list.
 *
 * @example
 * ```ts
 * import type { GradsOf, Tensor } from "../mod.ts";
 * type Equal<X, Y> = (<T>() => T extends X ? 1 : 2) extends (<T>() => T extends Y ? 1 : 2) ? true : false;
 * const one: Equal<GradsOf<[{ w: Tensor }, Tensor], 0>, { w: Tensor }> = true;
 * const both: Equal<GradsOf<[{ w: Tensor }, Tensor], [1, 0]>, [Tensor, { w: Tensor }]> = true;
 * if (!one || !both) throw new Error();
 * ```
 */
export type GradsOf<Args extends readonly unknown[], A extends ArgNums, S extends boolean = false> =
  IsAny<Args> extends true ? any
    : A extends number ? GradOf<Args[A], S>
    : { -readonly [K in keyof A]: A[K] extends number ? GradOf<Args[A[K]], S> : never };

/**
 * The arguments a differentiated function takes: its own, where a scalar tensor may also be given as a
 * plain number (`grad(f)(3)`).
 *
 * @example
 * ```ts
 * import { type DiffArgs, grad, type Tensor } from "../mod.ts";
 * const args: DiffArgs<[Tensor]> = [3];
 * if (grad((x: Tensor) => x.square())(...args).item() !== 6) throw new Error();
 * ```
 */
export type DiffArgs<P extends readonly unknown[]> = {
  [K in keyof P]: P[K] extends Tensor ? P[K] | number : P[K];
};

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
): (Cotangent | null)[] {
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
    const results = vjpRule(e.prim)(dense, inputs, env.get(e.out)!, e.params, needs);
    e.inputs.forEach((v, i) => {
      const c = results[i];
      if (needs[i] && c) accumulate(v, c);
    });
  }
  return graph.inputs.map((v) => cts.get(v) ?? null);
}

/** Traces `f` at `args`, evaluates it keeping every value, and returns the pullback of its flat outputs. */
function linearize(
  f: (...args: any[]) => unknown,
  args: readonly unknown[],
  wrtArg: (argIndex: number) => boolean,
) {
  const { leaves, def } = flatten(args);
  const wrt = args.flatMap((a, i) => flatten(a).leaves.map(() => wrtArg(i)));
  const { graph, outDef } = traceFlat(f, def, leaves);
  const { outputs, env } = evalGraph(graph, leaves, true);
  const pullback = (outCts: readonly (Tensor | null)[]) => backward(graph, env, outCts, wrt);
  return { outputs, outDef, pullback };
}

/** Splits flat per-leaf values back into one pytree per argument (those `keep` selects). */
function perArgument(args: readonly unknown[], flat: readonly unknown[], keep: (i: number) => boolean) {
  let offset = 0;
  const out: unknown[] = [];
  args.forEach((a, i) => {
    const { def } = flatten(a);
    if (keep(i)) out[i] = unflatten(def, flat.slice(offset, offset + def.leafCount));
    offset += def.leafCount;
  });
  return out;
}

/**
 * Runs `f(...primals)` and returns its output with a function that maps an output cotangent (same structure
 * as the output) to the cotangents of every primal (a list, one per primal, each shaped like its primal;
 * sparse rows where a table was read through `take`). Non-float leaves get `null`.
 *
 * @example
 * ```ts
 * import { tensor, type Tensor, vjp } from "../mod.ts";
 * const [y, back] = vjp((x: Tensor) => x.mul(x), tensor([1, 2, 3]));
 * const [dx] = back(tensor([1, 1, 1]));
 * if ((dx as Tensor).arraySync().toString() !== "2,4,6") throw new Error();
 * if (y.arraySync().toString() !== "1,4,9") throw new Error();
 * ```
 */
export function vjp<F extends (...args: any[]) => any>(
  f: F,
  ...primals: Parameters<F>
): [ReturnType<F>, (cotangent: ReturnType<F>) => GradOf<Parameters<F>, true>] {
  const { outputs, outDef, pullback } = linearize(f, primals, () => true);
  const back = (cotangent: unknown) => {
    const ct = flatten(cotangent);
    if (ct.def.key !== outDef.key) {
      throw new Error("vjp: the cotangent must have the same structure as the output");
    }
    ct.leaves.forEach((c, i) => {
      if (!shapesEqual(c.shape, outputs[i].shape)) {
        throw new RangeError(
          `vjp: cotangent ${i} has shape ${showShape(c.shape)}, the output has ${
            showShape(outputs[i].shape)
          }`,
        );
      }
    });
    return perArgument(primals, pullback(ct.leaves), () => true);
  };
  return [
    unflatten(outDef, outputs) as ReturnType<F>,
    back as (ct: ReturnType<F>) => GradOf<Parameters<F>, true>,
  ];
}

function asArgs(args: readonly unknown[], argnums: readonly number[], where: string): unknown[] {
  for (const a of argnums) {
    if (!Number.isInteger(a) || a < 0 || a >= args.length) {
      throw new RangeError(
        `${where}: argnums ${a} is out of range; the function was called with ${args.length} arguments`,
      );
    }
  }
  // A plain number to differentiate by becomes a float32 scalar, so grad(x => x*x)(3) works.
  return args.map((a, i) => (argnums.includes(i) && typeof a === "number" ? full([], a, "float32") : a));
}

/**
 * Returns a function computing `[f(...args), gradient]`: the gradient of the scalar `f` with respect to the
 * argument(s) in `argnums`, shaped like them (pytrees come back as pytrees; with `sparse`, tables read
 * through `take` get `SparseRows`). With `hasAux`, `f` returns `[value, aux]` and the result is
 * `[[value, aux], gradient]`.
 *
 * @example
 * ```ts
 * import { tensor, type Tensor, valueAndGrad } from "../mod.ts";
 * const [loss, g] = valueAndGrad((p: { w: Tensor }) => p.w.square().sum())({ w: tensor([1, 2]) });
 * if (loss.item() !== 5 || g.w.arraySync().toString() !== "2,4") throw new Error();
 * ```
 */
export function valueAndGrad<
  F extends (...args: any[]) => any,
  const A extends ArgNums = 0,
  S extends boolean = false,
>(
  f: F,
  options: GradOptions<A, S> = {},
): (...args: DiffArgs<Parameters<F>>) => [ReturnType<F>, GradsOf<Parameters<F>, A, S>] {
  const argnums: ArgNums = options.argnums ?? 0;
  const list = typeof argnums === "number" ? [argnums] : [...argnums];
  return (...rawArgs: DiffArgs<Parameters<F>>) => {
    const args = asArgs(rawArgs, list, "grad");
    for (const i of list) {
      const bad = flatten(args[i]).leaves.find((t) => t.dtype !== "float32");
      if (bad) {
        throw new TypeError(
          `grad: argument ${i} has a ${bad.dtype}${showShape(bad.shape)} leaf; only float32 values can be ` +
            "differentiated. Pass integer data (token ids, labels) in an argument that is not in argnums.",
        );
      }
    }
    const { outputs, outDef, pullback } = linearize(f, args, (i) => list.includes(i));
    const out = unflatten(outDef, outputs);
    if (options.hasAux && (!Array.isArray(out) || out.length !== 2)) {
      throw new TypeError("grad with hasAux: the function must return [value, aux]");
    }
    const value = options.hasAux ? (out as unknown[])[0] : out;
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
    const flatCts = pullback(outputs.map((o, i) => (i === seedAt ? fullLike(o, 1) : null)));
    // Leaves that no cotangent reached get zeros of their shape; sparse rows become dense unless asked for.
    const { leaves } = flatten(args);
    const cts = leaves.map((t, j) => {
      const ct = flatCts[j] ?? full(t.shape, 0, "float32");
      return ct instanceof SparseRows && !options.sparse ? ct.toDense() : ct;
    });
    const grads = perArgument(args, cts, (i) => list.includes(i));
    const gradient = typeof argnums === "number" ? grads[argnums] : list.map((i) => grads[i]);
    return [out as ReturnType<F>, gradient as GradsOf<Parameters<F>, A, S>];
  };
}

/**
 * Returns a function computing the gradient of the scalar `f` with respect to argument `argnums` (default 0),
 * or a list of gradients when `argnums` is a list. `grad(grad(f))` gives second derivatives.
 *
 * @example
 * ```ts
 * import { grad, tensor, type Tensor } from "../mod.ts";
 * const f = (x: Tensor) => x.pow(3).sum();
 * const d2 = grad((x: Tensor) => grad(f)(x).sum())(tensor([2]));
 * if (d2.item() !== 12) throw new Error(String(d2.item()));
 * ```
 */
export function grad<
  F extends (...args: any[]) => any,
  const A extends ArgNums = 0,
  S extends boolean = false,
>(
  f: F,
  options: GradOptions<A, S> = {},
): (...args: DiffArgs<Parameters<F>>) => GradsOf<Parameters<F>, A, S> {
  const vg = valueAndGrad<F, A, S>(f, options);
  return (...args: DiffArgs<Parameters<F>>) => vg(...args)[1];
}
