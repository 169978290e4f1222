/**
 * Forward-mode automatic differentiation: the JVP rule of every primitive, and `jvp` built on them.
 *
 * `jvp(f, primals, tangents)` traces `f`, then evaluates its graph once, carrying beside each value its
 * tangent (the directional derivative along `tangents`), computed by each primitive's JVP rule. The rules are
 * written with `bind`, so under an enclosing trace the tangent computation is itself recorded: `jvp` of
 * `grad` gives Hessian-vector products, `jit(jvp(...))` compiles, and `grad`/`vmap` of `jvp` work.
 * @module
 */
import { expandReduced, maxShare, safeLog } from "./autodiff.ts";
import type { Graph, Var } from "./ir/graph.ts";
import type { PrimName, PrimParams } from "./ir/primitives.ts";
import { shapesEqual, showShape } from "./ir/shape.ts";
import { flatten, unflatten } from "./pytree.ts";
import { bind, bindEqn, type Tensor } from "./tensor.ts";
import { traceFlat } from "./trace.ts";

/**
 * The JVP rule of primitive `P`: the tangent of its result from its operands, their tangents (`null` for a
 * zero tangent; at least one is not null when a rule runs), its result and its params. `null` means the
 * result's tangent is zero (integer and boolean results, `stop_gradient`).
 *
 * @example
 * ```ts
 * import { JVP_RULES, type JvpRule } from "./jvp.ts";
 * import { tensor } from "../mod.ts";
 * const rule: JvpRule<"mul"> = JVP_RULES.mul;
 * const t = rule([tensor([2]), tensor([3])], [tensor([1]), null], tensor([6]), {});
 * if (t?.item() !== 3) throw new Error(); // d(a·b) along a = b
 * ```
 */
export type JvpRule<P extends PrimName> = (
  primals: readonly Tensor[],
  tangents: readonly (Tensor | null)[],
  out: Tensor,
  params: PrimParams<P>,
) => Tensor | null;

const add = (a: Tensor, b: Tensor) => bind("add", [a, b]);
const mul = (a: Tensor, b: Tensor) => bind("mul", [a, b]);
const neg = (a: Tensor) => bind("neg", [a]);
const recip = (a: Tensor) => bind("recip", [a]);
const full = (like: Tensor, value: number) =>
  bind("full", [], { shape: [...like.shape], value, dtype: like.dtype });

/**
 * The share of a max reduction's derivative each element gets: spread evenly over the elements that attain
 * the maximum (`mask / count`), as the VJP rule spreads the cotangent.
 */
function maxReductionShare(x: Tensor, y: Tensor, axes: readonly number[]): Tensor {
  const mask = bind("cast", [bind("equal", [x, expandReduced(y, x.shape, axes)])], { dtype: x.dtype });
  const count = bind("reduce_sum", [mask], { axes });
  return mul(mask, expandReduced(recip(count), x.shape, axes));
}

/** Sums tangent terms, skipping zero (null) ones. */
function sum(...terms: (Tensor | null)[]): Tensor | null {
  return terms.reduce<Tensor | null>((acc, t) => (t === null ? acc : acc === null ? t : add(acc, t)), null);
}

/** The tangent of operand i, zeros shaped like the operand where it has none. */
function orZero(tangents: readonly (Tensor | null)[], primals: readonly Tensor[], i: number): Tensor {
  return tangents[i] ?? full(primals[i], 0);
}

/** A unary rule from the tangent of its one operand (never null when it runs). */
const unary =
  <P extends PrimName>(rule: (t: Tensor, x: Tensor, y: Tensor) => Tensor | null): JvpRule<P> =>
  ([x], [t], y) => rule(t!, x, y);

/** A linear primitive's tangent: the primitive itself applied to the tangents (zeros where absent). */
const linear = <P extends PrimName>(prim: P): JvpRule<P> => (primals, tangents, _out, params) =>
  bind(prim as PrimName, primals.map((_, i) => orZero(tangents, primals, i)), params as never);

/**
 * The JVP rule of every primitive. Typed over `PrimName`: a primitive without a rule fails `deno check`.
 * Each rule is the adjoint of the primitive's VJP rule (⟨vjp(u), v⟩ = ⟨u, jvp(v)⟩; tested).
 *
 * @example
 * ```ts
 * import { JVP_RULES } from "./jvp.ts";
 * import { tensor } from "../mod.ts";
 * const x = tensor([0, 1]);
 * const t = JVP_RULES.exp([x], [tensor([1, 1])], x.exp(), {});
 * if (Math.abs(t!.dataSync()[1] - Math.E) > 1e-6) throw new Error();
 * ```
 */
export const JVP_RULES: { readonly [P in PrimName]: JvpRule<P> } = {
  neg: unary((t) => neg(t)),
  exp: unary((t, _x, y) => mul(t, y)),
  log: unary((t, x) => mul(t, recip(x))),
  sqrt: unary((t, _x, y) => mul(t, mul(full(y, 0.5), recip(y)))),
  recip: unary((t, _x, y) => neg(mul(t, mul(y, y)))),
  sin: unary((t, x) => mul(t, bind("cos", [x]))),
  cos: unary((t, x) => neg(mul(t, bind("sin", [x])))),
  tanh: unary((t, _x, y) => mul(t, add(full(y, 1), neg(mul(y, y))))),
  stop_gradient: () => null,
  cast: unary((t, x, y) => (x.dtype === "float32" && y.dtype === "float32" ? t : null)),

  add: (_p, [ta, tb]) => sum(ta, tb),
  mul: ([a, b], [ta, tb]) => sum(ta && mul(ta, b), tb && mul(a, tb)),
  max: ([a, b], [ta, tb]) => {
    const share = maxShare(a, b);
    return sum(ta && mul(ta, share), tb && mul(tb, add(full(share, 1), neg(share))));
  },
  pow: ([a, b], [ta, tb], y) =>
    sum(
      ta && mul(ta, mul(b, bind("pow", [a, add(b, full(b, -1))]))),
      tb && mul(tb, mul(safeLog(a), y)),
    ),
  less: () => null,
  equal: () => null,
  where: ([c, a, b], tangents) =>
    bind("where", [c, orZero(tangents, [c, a, b], 1), orZero(tangents, [c, a, b], 2)]),

  reduce_sum: linear("reduce_sum"),
  reduce_max: ([x], [t], y, { axes }) =>
    bind("reduce_sum", [mul(maxReductionShare(x, y, axes), t!)], { axes }),

  reshape: linear("reshape"),
  transpose: linear("transpose"),
  broadcast: linear("broadcast"),
  slice: linear("slice"),
  // The padding is constant: its tangent is zero whatever value it has.
  pad: ([x], [t], _y, { low, high }) => bind("pad", [t ?? full(x, 0)], { low, high, value: 0 }),
  concat: linear("concat"),

  matmul: ([a, b], [ta, tb]) => sum(ta && bind("matmul", [ta, b]), tb && bind("matmul", [a, tb])),

  gather: ([, idx], [t]) => (t ? bind("gather", [t, idx]) : null),
  scatter_add: ([base, idx, upd], [tb, , tu]) =>
    bind("scatter_add", [tb ?? full(base, 0), idx, tu ?? full(upd, 0)]),
  first_occurrence: () => null,

  full: () => null,
  iota: () => null,
  random_bits: () => null,
};

/** The rule of `prim`, typed for params of any primitive (the table is keyed so that this is sound). */
function jvpRule(prim: PrimName): JvpRule<PrimName> {
  return JVP_RULES[prim] as JvpRule<PrimName>;
}

/** Evaluates `graph` on primals and tangents (null: zero), returning the outputs' values and tangents. */
function forward(
  graph: Graph,
  primals: readonly Tensor[],
  tangents: readonly (Tensor | null)[],
): { outputs: Tensor[]; tangents: (Tensor | null)[] } {
  const env = new Map<Var, Tensor>();
  const tenv = new Map<Var, Tensor | null>();
  graph.inputs.forEach((v, i) => {
    env.set(v, primals[i]);
    tenv.set(v, tangents[i]);
  });
  for (const c of graph.captures) env.set(c.v, c.value as Tensor);
  for (const e of graph.eqns) {
    const args = e.inputs.map((v) => env.get(v)!);
    const ts = e.inputs.map((v) => tenv.get(v) ?? null);
    const out = bindEqn(e, args);
    env.set(e.out, out);
    const active = out.dtype === "float32" && ts.some((t) => t !== null);
    tenv.set(e.out, active ? jvpRule(e.prim)(args, ts, out, e.params) : null);
  }
  return {
    outputs: graph.outputs.map((v) => env.get(v)!),
    tangents: graph.outputs.map((v) => tenv.get(v) ?? null),
  };
}

/** A number given where a tensor is differentiated becomes a float32 scalar, as `grad` accepts. */
function asTensors(tree: unknown): unknown {
  if (typeof tree === "number") return bind("full", [], { shape: [], value: tree, dtype: "float32" });
  if (Array.isArray(tree)) return tree.map(asTensors);
  return tree;
}

/**
 * Forward-mode derivative (JAX's `jvp`): evaluates `f(...primals)` and its directional derivative along
 * `tangents`, returning `[out, tangentOut]`. `primals` and `tangents` are argument lists of the same
 * structure (pytrees allowed) and shapes; tangents of non-float leaves are ignored. `tangentOut` has the
 * structure of `out`, with zeros where the output does not depend on float inputs.
 *
 * @example
 * ```ts
 * import { grad, jvp, tensor, type Tensor } from "../mod.ts";
 * const f = (x: Tensor) => x.sin().mul(x);
 * const [y, dy] = jvp(f, [tensor([1, 2])], [tensor([1, 0])]);
 * const expected = Math.cos(1) * 1 + Math.sin(1); // d/dx x·sin x at 1, along e1
 * if (Math.abs(dy.dataSync()[0] - expected) > 1e-6 || dy.dataSync()[1] !== 0) throw new Error();
 * if (y.shape.join() !== "2") throw new Error();
 * // Hessian-vector product: forward over reverse.
 * const loss = (w: Tensor) => w.pow(3).sum();
 * const [, hv] = jvp((w: Tensor) => grad(loss)(w), [tensor([1, 2])], [tensor([1, 1])]);
 * if (hv.arraySync().toString() !== "6,12") throw new Error(); // 6w ⊙ v
 * ```
 */
export function jvp<F extends (...args: any[]) => any>(
  f: F,
  primals: Parameters<F>,
  tangents: Parameters<F>,
): [ReturnType<F>, ReturnType<F>] {
  if (!Array.isArray(primals) || !Array.isArray(tangents)) {
    throw new TypeError("jvp: primals and tangents are argument lists: jvp(f, [x, y], [dx, dy])");
  }
  const p = flatten(asTensors(primals));
  const t = flatten(asTensors(tangents));
  if (p.def.key !== t.def.key) {
    throw new TypeError(
      `jvp: tangents must have the structure of primals (${p.def.leafCount} tensors in the same nesting), ` +
        `got ${t.def.leafCount} tensors${
          primals.length !== tangents.length
            ? ` for ${tangents.length} of ${primals.length} arguments`
            : " in another nesting"
        }`,
    );
  }
  const leafTangents = p.leaves.map((x, i) => {
    const dx = t.leaves[i];
    if (!shapesEqual(x.shape, dx.shape)) {
      throw new RangeError(
        `jvp: tangent ${i} has shape ${showShape(dx.shape)}, its primal has ${
          showShape(x.shape)
        }; they must match`,
      );
    }
    if (x.dtype !== "float32") return null;
    if (dx.dtype !== "float32") {
      throw new TypeError(`jvp: tangent ${i} is ${dx.dtype}; the tangent of a float32 value must be float32`);
    }
    return dx;
  });
  const { graph, outDef } = traceFlat(f, p.def, p.leaves);
  const result = forward(graph, p.leaves, leafTangents);
  const zeroIfNull = result.tangents.map((dt, i) => dt ?? full(result.outputs[i], 0).cast("float32"));
  return [unflatten(outDef, result.outputs) as ReturnType<F>, unflatten(outDef, zeroIfNull) as ReturnType<F>];
}
