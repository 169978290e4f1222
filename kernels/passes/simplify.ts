/**
 * Graph-to-graph clean-ups shared by the compiling backends: constant folding of splats, algebraic rewrites,
 * common-subexpression elimination and dead-code elimination. Each returns an equivalent, smaller graph.
 * @module
 */
import {
  type Eqn,
  Graph,
  kindOf,
  makeEqn,
  paramsKey,
  type PrimName,
  type PrimParams,
  shapesEqual,
  sizeOf,
  Var,
} from "../../dsl/ir/mod.ts";
import { mergeMatmulSums } from "./matmul_sums.ts";

/** A graph rebuilt equation by equation: variables may be replaced by earlier ones. */
class Rewriter {
  readonly eqns: Eqn[] = [];
  private readonly replaced = new Map<Var, Var>();
  private nextId: number;

  constructor(readonly graph: Graph) {
    let max = 0;
    for (const v of [...graph.inputs, ...graph.captures.map((c) => c.v)]) max = Math.max(max, v.id);
    for (const e of graph.eqns) max = Math.max(max, e.out.id);
    this.nextId = max + 1;
  }

  get(v: Var): Var {
    return this.replaced.get(v) ?? v;
  }

  replace(from: Var, to: Var): void {
    this.replaced.set(from, to);
  }

  emit<P extends PrimName>(prim: P, inputs: Var[], params: PrimParams<P>, like: Var): Var {
    const out = new Var(this.nextId++, like.shape, like.dtype);
    this.eqns.push(makeEqn(prim, inputs, params, out));
    return out;
  }

  /** Emits `e` again over new inputs. */
  reemit(e: Eqn, inputs: Var[], like: Var = e.out): Var {
    const out = new Var(this.nextId++, like.shape, like.dtype);
    this.eqns.push({ ...e, inputs, out });
    return out;
  }

  finish(): Graph {
    return new Graph(
      this.graph.inputs,
      this.graph.captures,
      this.eqns,
      this.graph.outputs.map((v) => this.get(v)),
    );
  }
}

/** Primitives that turn a splat (every element equal) into a splat of the same value. */
const SPLAT_PRESERVING: ReadonlySet<PrimName> = new Set<PrimName>([
  "reshape",
  "broadcast",
  "transpose",
  "slice",
  "stop_gradient",
]);

/** The value of elementwise `e` on scalar operands `xs` (of dtype `dtype`), where folding it is exact. */
function evalScalar(e: Eqn, xs: number[], dtype: string): number | undefined {
  const [a, b] = xs;
  const int = dtype === "int32";
  switch (e.prim) {
    case "neg":
      return int ? -a | 0 : -a;
    case "exp":
      return Math.exp(a);
    case "log":
      return Math.log(a);
    case "sqrt":
      return Math.sqrt(a);
    case "recip":
      return 1 / a;
    case "tanh":
      return Math.tanh(a);
    case "add":
      return int ? (a + b) | 0 : a + b;
    case "mul":
      return int ? Math.imul(a, b) : a * b;
    case "max":
      return a !== a || b !== b ? NaN : Math.max(a, b);
    case "less":
      return a < b ? 1 : 0;
    case "equal":
      return a === b ? 1 : 0;
    case "cast": {
      const to = e.params.dtype;
      if (to === "bool") return a !== 0 ? 1 : 0;
      if (to === "int32") return Number.isFinite(a) ? Math.trunc(a) | 0 : 0;
      return a;
    }
  }
  return undefined;
}

/**
 * Folds constants and applies algebraic rewrites:
 * - a splat (`full`) through reshape/broadcast/transpose/slice, through elementwise ops with other splats, or
 *   through a reduction, becomes one `full` of the result's shape (float results rounded to float32 as a
 *   kernel would round them);
 * - `x + 0`, `x * 1`, `max(x, -inf)`, `neg(neg(x))`, `cast` to the same dtype, `stop_gradient`,
 *   `reshape` to the same shape and `transpose(transpose(x))` reduce to simpler forms.
 *
 * @example
 * ```ts
 * import { trace, tensor } from "../../mod.ts";
 * import { simplify } from "./simplify.ts";
 * const g = simplify(trace((x) => x.mul(1).add(0).transpose().transpose(), tensor([[1, 2]])));
 * if (g.eqns.length !== 0) throw new Error(g.toString());
 * ```
 */
export function simplify(graph: Graph): Graph {
  const r = new Rewriter(graph);
  const splat = new Map<Var, number>();
  const producer = new Map<Var, Eqn>();
  const pieces = new Map<Var, Placement>();
  for (const e of graph.eqns) {
    const inputs = e.inputs.map((v) => r.get(v));
    const constants = inputs.map((v) => splat.get(v));
    const allConst = inputs.length > 0 && constants.every((c) => c !== undefined);
    // Constant folding of splats.
    if (e.prim === "full") {
      const v = r.emit("full", [], e.params, e.out);
      splat.set(v, e.out.dtype === "float32" ? Math.fround(e.params.value) : e.params.value);
      r.replace(e.out, v);
      continue;
    }
    if (allConst && (SPLAT_PRESERVING.has(e.prim) || e.prim === "where")) {
      const value = e.prim === "where" ? (constants[0] ? constants[1]! : constants[2]!) : constants[0]!;
      r.replace(e.out, foldedSplat(r, splat, e.out, value));
      continue;
    }
    if (allConst && (e.prim === "reduce_sum" || e.prim === "reduce_max")) {
      // The sum of n equal values is n times the value; their maximum is the value.
      const count = e.params.axes.reduce((n, a) => n * inputs[0].shape[a], 1);
      const value = e.prim === "reduce_sum" ? constants[0]! * count : count === 0 ? -Infinity : constants[0]!;
      r.replace(
        e.out,
        foldedSplat(r, splat, e.out, e.out.dtype === "float32" ? Math.fround(value) : value | 0),
      );
      continue;
    }
    if (allConst) {
      const value = evalScalar(e, constants as number[], inputs[0].dtype);
      if (value !== undefined) {
        r.replace(
          e.out,
          foldedSplat(r, splat, e.out, e.out.dtype === "float32" ? Math.fround(value) : value),
        );
        continue;
      }
    }
    // A sum of zero-pads that place blocks side by side along one axis (the gradient of many slices, e.g.
    // one per time step) is a concat: one copy instead of a loop testing every pad at every element.
    const placed = placement(e, inputs, pieces, (a, b) => r.emit("add", [a, b], {}, a));
    if (placed) {
      const v = emitPlacement(r, placed, e.out);
      pieces.set(v, placed);
      r.replace(e.out, v);
      continue;
    }
    const moved = scalarBeforeReshape(r, e, inputs, producer);
    if (moved) {
      r.replace(e.out, moved);
      continue;
    }
    const simpler = rewrite(e, inputs, splat, producer);
    if (simpler) {
      r.replace(e.out, simpler);
      continue;
    }
    const v = r.reemit(e, inputs);
    producer.set(v, r.eqns[r.eqns.length - 1]);
    r.replace(e.out, v);
  }
  return eliminateDeadCode(r.finish());
}

/** Disjoint blocks along one axis of an otherwise zero tensor: `parts[i]` fills `[start, start + size)`. */
interface Placement {
  readonly axis: number;
  readonly parts: readonly { readonly start: number; readonly size: number; readonly v: Var }[];
}

/** The placement an equation computes, if it is a one-axis zero pad or a sum of disjoint placements. */
function placement(
  e: Eqn,
  inputs: readonly Var[],
  pieces: ReadonlyMap<Var, Placement>,
  add: (a: Var, b: Var) => Var,
): Placement | undefined {
  if (e.prim === "pad" && e.params.value === 0 && e.out.dtype === "float32") {
    const { low, high } = e.params;
    const padded = low.map((l, i) => l + high[i]).flatMap((p, i) => (p > 0 ? [i] : []));
    if (padded.length !== 1) return undefined;
    const axis = padded[0];
    return { axis, parts: [{ start: low[axis], size: inputs[0].shape[axis], v: inputs[0] }] };
  }
  if (e.prim !== "add") return undefined;
  const [a, b] = inputs.map((v) => pieces.get(v));
  if (!a || !b || a.axis !== b.axis) return undefined;
  const parts: Placement["parts"][number][] = [];
  for (const part of [...a.parts, ...b.parts].sort((x, y) => x.start - y.start)) {
    const last = parts[parts.length - 1];
    if (last && last.start === part.start && last.size === part.size) {
      // The same block placed twice (a slice used twice): its two gradients add up.
      parts[parts.length - 1] = { ...last, v: add(last.v, part.v) };
    } else if (last && part.start < last.start + last.size) {
      return undefined;
    } else {
      parts.push(part);
    }
  }
  return { axis: a.axis, parts };
}

/** Emits a placement as one concat, with zero blocks in the gaps. */
function emitPlacement(r: Rewriter, placed: Placement, like: Var): Var {
  const { axis, parts } = placed;
  const blocks: Var[] = [];
  const zeros = (start: number, size: number) => {
    const shape = like.shape.map((d, i) => (i === axis ? size : d));
    blocks.push(r.emit("full", [], { shape, value: 0, dtype: like.dtype }, new Var(-1, shape, like.dtype)));
    return start + size;
  };
  let at = 0;
  for (const part of parts) {
    if (part.start > at) at = zeros(at, part.start - at);
    blocks.push(part.v);
    at += part.size;
  }
  if (at < like.shape[axis]) zeros(at, like.shape[axis] - at);
  return blocks.length === 1 ? blocks[0] : r.emit("concat", blocks, { axis }, like);
}

function foldedSplat(r: Rewriter, splat: Map<Var, number>, like: Var, value: number): Var {
  const v = r.emit("full", [], { shape: [...like.shape], value, dtype: like.dtype }, like);
  splat.set(v, value);
  return v;
}

/**
 * `op(reshape(x), broadcast(s))` with a one-element `s` as `reshape(op(x, broadcast(s)))`: the op then fuses
 * with whatever computes x (a reshape that merges broadcast axes would otherwise make x a buffer of its
 * own). This is how a sparse gradient, reshaped to rows, takes its learning rate in the same loop that
 * computes it.
 */
function scalarBeforeReshape(r: Rewriter, e: Eqn, inputs: Var[], producer: Map<Var, Eqn>): Var | undefined {
  if (inputs.length !== 2 || kindOf(e.prim) !== "elementwise") return undefined;
  const side = inputs.findIndex((v) => producer.get(v)?.prim === "reshape");
  if (side < 0) return undefined;
  const scalar = producer.get(inputs[1 - side]);
  if (scalar?.prim !== "broadcast" || sizeOf(scalar.inputs[0].shape) !== 1) return undefined;
  const x = producer.get(inputs[side])!.inputs[0];
  const record = (v: Var) => {
    producer.set(v, r.eqns[r.eqns.length - 1]);
    return v;
  };
  const ones = x.shape.map(() => 1);
  const s = scalar.inputs[0];
  const small = record(r.emit("reshape", [s], { shape: ones }, new Var(-1, ones, s.dtype)));
  const wide = record(r.emit("broadcast", [small], { shape: [...x.shape] }, new Var(-1, x.shape, s.dtype)));
  const args = side === 0 ? [x, wide] : [wide, x];
  const y = record(r.reemit(e, args, new Var(-1, x.shape, e.out.dtype)));
  return record(r.emit("reshape", [y], { shape: [...e.out.shape] }, e.out));
}

/** An input already equal to the result, if the equation is an identity. */
function rewrite(e: Eqn, inputs: Var[], splat: Map<Var, number>, producer: Map<Var, Eqn>): Var | undefined {
  const [a, b] = inputs;
  const same = (v: Var) => shapesEqual(v.shape, e.out.shape) && v.dtype === e.out.dtype;
  switch (e.prim) {
    case "stop_gradient":
      return a;
    case "cast":
      return a.dtype === e.params.dtype ? a : undefined;
    case "reshape":
      return shapesEqual(a.shape, e.out.shape) ? a : undefined;
    case "broadcast":
      return shapesEqual(a.shape, e.out.shape) ? a : undefined;
    case "neg": {
      const p = producer.get(a);
      return p?.prim === "neg" ? p.inputs[0] : undefined;
    }
    case "transpose": {
      const perm = e.params.perm;
      if (perm.every((x, i) => x === i)) return a;
      const p = producer.get(a);
      if (p?.prim === "transpose") {
        const inner = p.params.perm;
        if (perm.every((x, i) => inner[x] === i)) return p.inputs[0];
      }
      return undefined;
    }
    case "add":
      if (splat.get(b) === 0 && same(a)) return a;
      if (splat.get(a) === 0 && same(b)) return b;
      return undefined;
    case "mul":
      if (splat.get(b) === 1 && same(a)) return a;
      if (splat.get(a) === 1 && same(b)) return b;
      return undefined;
    case "max":
      if (splat.get(b) === -Infinity) return a;
      if (splat.get(a) === -Infinity) return b;
      return undefined;
  }
  return undefined;
}

/**
 * Common-subexpression elimination: equations with the same primitive, parameters and operands are computed
 * once. (Random bits are pure functions of their key, so they merge too.)
 *
 * @example
 * ```ts
 * import { trace, tensor } from "../../mod.ts";
 * import { eliminateCommonSubexpressions } from "./simplify.ts";
 * const g = eliminateCommonSubexpressions(trace((x) => x.exp().add(x.exp()), tensor([1])));
 * if (g.eqns.filter((e) => e.prim === "exp").length !== 1) throw new Error(g.toString());
 * ```
 */
export function eliminateCommonSubexpressions(graph: Graph): Graph {
  const r = new Rewriter(graph);
  const seen = new Map<string, Var>();
  for (const e of graph.eqns) {
    const inputs = e.inputs.map((v) => r.get(v));
    const key = `${e.prim}|${paramsKey(e.params)}|${
      inputs.map((v) => v.id).join(",")
    }|${e.out.dtype}${e.out.shape}`;
    const existing = seen.get(key);
    if (existing) {
      r.replace(e.out, existing);
      continue;
    }
    const v = r.reemit(e, inputs);
    seen.set(key, v);
    r.replace(e.out, v);
  }
  return eliminateDeadCode(r.finish());
}

/**
 * Dead-code elimination: keeps only equations some output depends on.
 *
 * @example
 * ```ts
 * import { trace, tensor } from "../../mod.ts";
 * import { eliminateDeadCode } from "./simplify.ts";
 * const g = eliminateDeadCode(trace((x) => { x.exp(); return x.neg(); }, tensor([1])));
 * if (g.eqns.length !== 1) throw new Error(g.toString());
 * ```
 */
export function eliminateDeadCode(graph: Graph): Graph {
  const live = new Set<Var>(graph.outputs);
  const kept: Eqn[] = [];
  for (let i = graph.eqns.length - 1; i >= 0; i--) {
    const e = graph.eqns[i];
    if (!live.has(e.out)) continue;
    kept.push(e);
    for (const v of e.inputs) live.add(v);
  }
  kept.reverse();
  return new Graph(graph.inputs, graph.captures, kept, graph.outputs);
}

/**
 * The standard clean-up pipeline: simplify (folding and rewrites), sums of thin products merged into one
 * product (`matmul_sums.ts`), then CSE, then DCE (both inside).
 *
 * @example
 * ```ts
 * import { trace, tensor } from "../../mod.ts";
 * import { optimize } from "./simplify.ts";
 * const g = optimize(trace((x) => x.exp().mul(1).add(x.exp()), tensor([1])));
 * if (g.eqns.length !== 2) throw new Error(g.toString());
 * ```
 */
export function optimize(graph: Graph): Graph {
  return eliminateCommonSubexpressions(mergeMatmulSums(simplify(graph)));
}
