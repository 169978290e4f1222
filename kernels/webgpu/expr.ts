/**
 * Fused expressions (`Expr` of the fusion pass) as WGSL: one `let` per node, shared nodes once, elementwise
 * primitives through `WEBGPU_LOWERING`.
 * @module
 */
import type { Affine, Expr } from "../passes/fuse.ts";
import type { ElementwisePrim } from "../../dsl/ir/mod.ts";
import { WEBGPU_LOWERING, type WgslElementwise } from "./lowering.ts";
import { literal, load } from "./wgsl.ts";

/** A load of the fused expression language. */
type LoadExpr = Extract<Expr, { kind: "load" }>;

/**
 * How {@linkcode emitExpr} reads: the i32 names of the iteration axes, and optionally a replacement for some
 * loads and the name of the accumulator.
 *
 * @example
 * ```ts
 * import type { EmitOptions } from "./expr.ts";
 * const options: EmitOptions = { indices: ["q0"], acc: "acc" };
 * if (options.acc !== "acc") throw new Error();
 * ```
 */
export interface EmitOptions {
  /** The i32 names of the iteration axes the affine forms' coefficients refer to. */
  readonly indices: readonly string[];
  /** A WGSL expression for a load, or undefined to read its binding `in${input}`. */
  readonly loadOf?: (e: LoadExpr, affine: (a: Affine) => string) => string | undefined;
  /** The name an `acc` node reads (a matmul's or reduction's result in an epilogue). */
  readonly acc?: string;
}

/**
 * `(offset + Σ indices[d] * coeffs[d])` as an i32 expression.
 *
 * @example
 * ```ts
 * import { affineExpr } from "./expr.ts";
 * if (affineExpr({ offset: 1, coeffs: [0, 4] }, ["a", "b"]) !== "(1i + b * 4i)") throw new Error();
 * ```
 */
export function affineExpr(a: Affine, indices: readonly string[]): string {
  const terms = a.coeffs.flatMap((c, d) => (c === 0 ? [] : [`${indices[d]} * ${c}i`]));
  return `(${[`${a.offset}i`, ...terms].join(" + ")})`;
}

/**
 * `expr` evaluated at the iteration index: its statements and the name (or literal) of its value.
 *
 * @example
 * ```ts
 * import { emitExpr } from "./expr.ts";
 * const { value } = emitExpr({ kind: "const", value: 2, dtype: "int32" }, { indices: [] });
 * if (value !== "bitcast<i32>(2u)") throw new Error(value);
 * ```
 */
export function emitExpr(expr: Expr, options: EmitOptions, prefix = "t"): { code: string; value: string } {
  const lines: string[] = [];
  const names = new Map<Expr, string>();
  const affine = (a: Affine) => affineExpr(a, options.indices);
  const emit = (e: Expr): string => {
    const known = names.get(e);
    if (known) return known;
    let code: string;
    switch (e.kind) {
      case "const":
        return literal(e.value, e.dtype);
      case "load":
        code = options.loadOf?.(e, affine) ?? load(`in${e.input}`, `u32(${affine(e.at)})`, e.dtype);
        break;
      case "iota":
        code = e.dtype === "float32" ? `f32(${affine(e.at)})` : affine(e.at);
        break;
      case "op": {
        const args = e.args.map(emit);
        const lowering = WEBGPU_LOWERING[e.prim] as WgslElementwise<ElementwisePrim>;
        code = lowering.wgsl(args, e.args[0]?.dtype ?? e.dtype, e.dtype, e.params);
        break;
      }
      case "pad": {
        // Outside, the inner expression reads clamped addresses (WGSL's bounds behaviour); select drops it.
        const inside = emit(e.inside);
        const guards = e.guards.map((g) => `(${affine(g.at)} >= 0i && ${affine(g.at)} < ${g.size}i)`);
        code = `select(${literal(e.value, e.dtype)}, ${inside}, ${guards.join(" && ") || "true"})`;
        break;
      }
      case "acc":
        if (options.acc === undefined) throw new Error("webgpu backend: an accumulator outside a reduction");
        return options.acc;
      case "gather":
        throw new Error("webgpu backend: a gather read in a fused loop (fuse without gatherLoads)");
    }
    const name = `${prefix}${names.size}`;
    names.set(e, name);
    lines.push(`let ${name} = ${code};`);
    return name;
  };
  const value = emit(expr);
  return { code: lines.join("\n    "), value };
}

/**
 * Rewrites the loads of `e` (sharing preserved: a node used twice is rewritten once).
 *
 * @example
 * ```ts
 * import { mapLoads } from "./expr.ts";
 * const e = mapLoads({ kind: "load", dtype: "float32", input: 0, at: { offset: 0, coeffs: [] } }, (l) => ({ ...l, input: 3 }));
 * if (e.kind !== "load" || e.input !== 3) throw new Error();
 * ```
 */
export function mapLoads(e: Expr, f: (l: Extract<Expr, { kind: "load" }>) => Expr): Expr {
  const memo = new Map<Expr, Expr>();
  const walk = (x: Expr): Expr => {
    let y = memo.get(x);
    if (y) return y;
    switch (x.kind) {
      case "load":
        y = f(x);
        break;
      case "op":
        y = { ...x, args: x.args.map(walk) } as Expr;
        break;
      case "pad":
        y = { ...x, inside: walk(x.inside) };
        break;
      default:
        y = x;
    }
    memo.set(x, y);
    return y;
  };
  return walk(e);
}

/**
 * Whether `a` and `b` compute the same value: the same tree of loads (input and affine form), constants
 * (`Object.is`, so NaN equals NaN and -0 differs from 0), iotas, operations (primitive and params) and pads.
 *
 * @example
 * ```ts
 * import { sameExpr } from "./expr.ts";
 * const x = { kind: "load", dtype: "float32", input: 0, at: { offset: 0, coeffs: [1] } } as const;
 * const twice = { kind: "op", dtype: "float32", prim: "add", args: [x, x], params: {} } as const;
 * if (!sameExpr(twice, { ...twice, args: [{ ...x }, x] }) || sameExpr(x, { ...x, input: 1 })) throw new Error();
 * ```
 */
export function sameExpr(a: Expr, b: Expr): boolean {
  if (a === b) return true;
  if (a.kind !== b.kind || a.dtype !== b.dtype) return false;
  const sameAffine = (p: Affine, q: Affine) =>
    p.offset === q.offset && p.coeffs.length === q.coeffs.length &&
    p.coeffs.every((c, d) => c === q.coeffs[d]);
  switch (a.kind) {
    case "const":
      return Object.is(a.value, (b as typeof a).value);
    case "load": {
      const l = b as typeof a;
      return a.input === l.input && sameAffine(a.at, l.at);
    }
    case "iota":
      return sameAffine(a.at, (b as typeof a).at);
    case "op": {
      const o = b as typeof a;
      return a.prim === o.prim && JSON.stringify(a.params) === JSON.stringify(o.params) &&
        a.args.length === o.args.length && a.args.every((x, i) => sameExpr(x, o.args[i]));
    }
    case "pad": {
      const p = b as typeof a;
      return Object.is(a.value, p.value) && a.guards.length === p.guards.length &&
        a.guards.every((g, i) => g.size === p.guards[i].size && sameAffine(g.at, p.guards[i].at)) &&
        sameExpr(a.inside, p.inside);
    }
    case "acc":
      return true;
    case "gather": {
      const g = b as typeof a;
      return a.input === g.input && a.rowSize === g.rowSize && sameAffine(a.at, g.at) &&
        sameExpr(a.index, g.index);
    }
  }
}

/**
 * The loads of `e`, in order (a node shared by several parents once per parent).
 *
 * @example
 * ```ts
 * import { loadsOf } from "./expr.ts";
 * const x = { kind: "load", dtype: "float32", input: 1, at: { offset: 0, coeffs: [1] } } as const;
 * if (loadsOf({ kind: "op", dtype: "float32", prim: "neg", args: [x], params: {} })[0] !== x) throw new Error();
 * ```
 */
export function loadsOf(e: Expr, out: LoadExpr[] = []): LoadExpr[] {
  if (e.kind === "load") out.push(e);
  else if (e.kind === "op") e.args.forEach((a) => loadsOf(a, out));
  else if (e.kind === "pad") loadsOf(e.inside, out);
  return out;
}
