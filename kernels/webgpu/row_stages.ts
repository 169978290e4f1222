/**
 * The reductions of a row kernel as stages: how each invocation folds its elements of a row into a state,
 * and how the workgroup merges the states. A stage is one reduction (a sum or a max), or two reductions
 * merged so that the row is read once for both:
 *
 * - **online softmax** (Milakov & Gimelshein, 2018): a max `M = max(x)`, then a sum `Σ exp(x - Y)` whose
 *   shift `Y` is any per-row value (`M` itself, or `M` with infinities replaced, as logSoftmax does). The
 *   state is `(m, s)` with `s = Σ exp(x - m)` over the elements seen; two states merge as
 *   `(M, s1·exp(m1 - M) + s2·exp(m2 - M))`; at the end the sum is `s·exp(M - Y)`, exactly `s` when `Y` is `M`.
 * - **mean and variance** (Welford's statistics, merged pairwise as Chan, Golub & LeVeque, 1979): a sum `Σ x`,
 *   then a sum of squares `Σ (x - Y)²` with a per-row shift `Y` (the mean). The state is `(n, mean, M2)`; each
 *   chunk of elements gives its own mean (summing differences from its first element) and
 *   `M2 = Σ (x - mean)²` (two passes over values held in registers); the sum is `n·mean` and the sum of
 *   squares `M2 + n·(mean - Y)²`: no cancellation of large squares.
 * @module
 */
import type { DType } from "../../dsl/ir/mod.ts";
import type { Expr } from "../passes/fuse.ts";
import { sameExpr } from "./expr.ts";

/**
 * A stage of a row kernel. `member` is the (first) reduction's index among the kernel's members; merged
 * stages also name their second reduction (`partner`) and its per-row shift `Y` (an expression reading only
 * per-row members, as loads of negative inputs).
 *
 * @example
 * ```ts
 * import type { RowStage } from "./row_stages.ts";
 * const stage: RowStage = { kind: "sum", member: 0, dtype: "float32" };
 * if (stage.kind !== "sum") throw new Error();
 * ```
 */
export type RowStage =
  | { readonly kind: "sum" | "max"; readonly member: number; readonly dtype: DType }
  | {
    readonly kind: "online" | "welford";
    readonly member: number;
    readonly partner: number;
    readonly shift: Expr;
  };

/**
 * What {@linkcode rowStages} needs of a member: its reduction (if any), its dtype, whether it is per row,
 * and its body with the per-element members before it substituted.
 *
 * @example
 * ```ts
 * import type { StageMember } from "./row_stages.ts";
 * const m: StageMember = { reduce: "sum", dtype: "float32", perRow: true, expr: { kind: "const", dtype: "float32", value: 1 } };
 * if (!m.perRow) throw new Error();
 * ```
 */
export interface StageMember {
  readonly reduce?: "sum" | "max";
  readonly dtype: DType;
  readonly perRow: boolean;
  readonly expr: Expr;
}

type OpNode = Extract<Expr, { kind: "op" }>;
const op = (e: Expr, prim: string, arity: number): OpNode | undefined =>
  e.kind === "op" && e.prim === prim && e.args.length === arity ? e : undefined;

/**
 * `X - Y` written as `X + -Y` (either order): X and Y, or undefined.
 *
 * @example
 * ```ts
 * import { difference } from "./row_stages.ts";
 * import type { Expr } from "../passes/fuse.ts";
 * const x: Expr = { kind: "const", dtype: "float32", value: 2 };
 * const y: Expr = { kind: "const", dtype: "float32", value: 1 };
 * const e: Expr = { kind: "op", dtype: "float32", prim: "add", params: {}, args: [{ kind: "op", dtype: "float32", prim: "neg", params: {}, args: [y] }, x] };
 * if (difference(e)?.x !== x || difference(e)?.y !== y) throw new Error();
 * ```
 */
export function difference(e: Expr): { x: Expr; y: Expr } | undefined {
  const sum = op(e, "add", 2);
  if (!sum) return undefined;
  const [p, q] = sum.args;
  const negQ = op(q, "neg", 1);
  if (negQ) return { x: p, y: negQ.args[0] };
  const negP = op(p, "neg", 1);
  return negP ? { x: q, y: negP.args[0] } : undefined;
}

/**
 * Does `e` read nothing but per-row members (loads of negative inputs `-1 - j` with `isPerRow(j)`) and
 * constants?
 *
 * @example
 * ```ts
 * import { perRowOnly } from "./row_stages.ts";
 * const v: Parameters<typeof perRowOnly>[0] = { kind: "load", dtype: "float32", input: -1, at: { offset: 0, coeffs: [1] } };
 * if (!perRowOnly(v, (j) => j === 0) || perRowOnly({ ...v, input: 0 }, () => true)) throw new Error();
 * ```
 */
export function perRowOnly(e: Expr, isPerRow: (member: number) => boolean): boolean {
  switch (e.kind) {
    case "const":
      return true;
    case "load":
      return e.input < 0 && isPerRow(-1 - e.input);
    case "op":
      return e.args.every((a) => perRowOnly(a, isPerRow));
    default:
      return false;
  }
}

/** Does `e` read member `j`? */
function reads(e: Expr, j: number): boolean {
  if (e.kind === "load") return e.input === -1 - j;
  if (e.kind === "op") return e.args.some((a) => reads(a, j));
  if (e.kind === "pad") return reads(e.inside, j);
  return false;
}

/**
 * The stages of a row kernel's reductions, in member order: a max followed (as the next reduction) by a sum
 * of `exp(X - Y)` over the same `X` becomes an online-softmax stage, a float sum followed by a sum of
 * `(X - Y)²` over the same `X` a mean-and-variance stage, other reductions stages of their own. `Y` must
 * read per-row members only (so it is known once the merged stage and the members between are).
 *
 * @example
 * ```ts
 * import { rowStages } from "./row_stages.ts";
 * import type { Expr } from "../passes/fuse.ts";
 * const x: Expr = { kind: "load", dtype: "float32", input: 0, at: { offset: 0, coeffs: [8, 1] } };
 * const m: Expr = { kind: "load", dtype: "float32", input: -1, at: { offset: 0, coeffs: [1, 0] } };
 * const neg: Expr = { kind: "op", dtype: "float32", prim: "neg", args: [m], params: {} };
 * const shifted: Expr = { kind: "op", dtype: "float32", prim: "add", args: [x, neg], params: {} };
 * const e: Expr = { kind: "op", dtype: "float32", prim: "exp", args: [shifted], params: {} };
 * const stages = rowStages([
 *   { reduce: "max", dtype: "float32", perRow: true, expr: x },
 *   { reduce: "sum", dtype: "float32", perRow: true, expr: e },
 * ]);
 * if (stages.length !== 1 || stages[0].kind !== "online") throw new Error();
 * ```
 */
export function rowStages(members: readonly StageMember[]): RowStage[] {
  const isPerRow = (j: number) => members[j]?.perRow === true;
  const reductions = members.flatMap((m, j) => (m.reduce ? [j] : []));
  const stages: RowStage[] = [];
  for (let r = 0; r < reductions.length; r++) {
    const a = reductions[r];
    const b = reductions[r + 1];
    const first = members[a];
    const second = b === undefined ? undefined : members[b];
    const floats = first.dtype === "float32" && second?.dtype === "float32" && second.reduce === "sum";
    if (floats && second && !reads(first.expr, a)) {
      const shiftOf = (d: { x: Expr; y: Expr } | undefined) =>
        d && sameExpr(d.x, first.expr) && perRowOnly(d.y, isPerRow) && !reads(d.y, b) ? d.y : undefined;
      if (first.reduce === "max") {
        const e = op(second.expr, "exp", 1);
        const shift = e && shiftOf(difference(e.args[0]));
        if (shift) {
          stages.push({ kind: "online", member: a, partner: b, shift });
          r++;
          continue;
        }
      } else {
        const square = op(second.expr, "mul", 2);
        const shift = square && sameExpr(square.args[0], square.args[1])
          ? shiftOf(difference(square.args[0]))
          : undefined;
        if (shift) {
          stages.push({ kind: "welford", member: a, partner: b, shift });
          r++;
          continue;
        }
      }
    }
    stages.push({ kind: first.reduce!, member: a, dtype: first.dtype });
  }
  return stages;
}

/**
 * WGSL functions of the merged stages' states: `online_merge` of two `(m, s)` states, `welford_merge` of two
 * `(n, mean, M2)` states, and `ieee_max`, the max reduction's merge (NaN wins, +0 beats -0).
 *
 * @example
 * ```ts
 * import { STAGE_HELPERS } from "./row_stages.ts";
 * if (!STAGE_HELPERS.includes("fn online_merge")) throw new Error();
 * ```
 */
export const STAGE_HELPERS = `
fn online_merge(a: vec2<f32>, b: vec2<f32>) -> vec2<f32> {
  if (is_nan(a.x) || is_nan(b.x)) { return vec2<f32>(nan_f32(), nan_f32()); }
  let hi = select(a, b, b.x > a.x);
  let lo = select(b, a, b.x > a.x);
  if (lo.y == 0.0) { return hi; }
  return vec2<f32>(hi.x, hi.y + lo.y * exp(lo.x - hi.x));
}
fn welford_merge(a: vec3<f32>, b: vec3<f32>) -> vec3<f32> {
  if (b.x == 0.0) { return a; }
  if (a.x == 0.0) { return b; }
  let n = a.x + b.x;
  let d = b.y - a.y;
  return vec3<f32>(n, a.y + d * (b.x / n), a.z + b.z + d * d * (a.x * (b.x / n)));
}
fn ieee_max(a: f32, b: f32) -> f32 { return select(a, b, takes_max(a, b)); }
`;

/** A value of a chunk and the WGSL condition under which it is an element of the row. */
export interface ChunkValue {
  /** The value's WGSL name. */
  readonly value: string;
  /** "true", or a WGSL condition. */
  readonly valid: string;
}

/**
 * How a stage's state is held, folded and merged, as WGSL.
 *
 * @example
 * ```ts
 * import { stageCode } from "./row_stages.ts";
 * const sum = stageCode({ kind: "sum", member: 0, dtype: "float32" });
 * if (sum.type !== "f32" || sum.merge("a", "b") !== "a + b") throw new Error();
 * ```
 */
export interface StageCode {
  /** The state's WGSL type. */
  readonly type: string;
  /** The state before any element. */
  readonly empty: string;
  /** A WGSL expression merging two states. */
  merge(a: string, b: string): string;
  /** Statements folding a chunk of values into the variable `state` (names made with `prefix`). */
  fold(state: string, values: readonly ChunkValue[], prefix: string): string;
}

const NEG_INF = "f32_bits(0xff800000u)";

/** A chunk value, or `otherwise` outside the row. */
const pick = (v: ChunkValue, otherwise: string) =>
  v.valid === "true" ? v.value : `select(${otherwise}, ${v.value}, ${v.valid})`;

/**
 * Statements setting `${p}_m` to the chunk's float max: the device's max, NaNs noted aside (cheaper than an
 * IEEE maximum per element), so that a NaN still wins.
 */
const chunkMax = (values: readonly ChunkValue[], p: string) => [
  `var ${p}_m = ${NEG_INF};`,
  `var ${p}_nan = false;`,
  ...values.map((v) => `${p}_m = max(${p}_m, ${pick(v, NEG_INF)});`),
  ...values.map((v) => `${p}_nan = ${p}_nan || is_nan(${pick(v, "0.0")});`),
  `if (${p}_nan) { ${p}_m = nan_f32(); }`,
];

/**
 * The WGSL of a stage's state.
 *
 * @example
 * ```ts
 * import { stageCode } from "./row_stages.ts";
 * import type { Expr } from "../passes/fuse.ts";
 * const shift: Expr = { kind: "const", dtype: "float32", value: 0 };
 * const code = stageCode({ kind: "online", member: 0, partner: 1, shift });
 * if (code.type !== "vec2<f32>" || !code.fold("s", [{ value: "x", valid: "true" }], "c").includes("exp(x - c_m)")) {
 *   throw new Error();
 * }
 * ```
 */
export function stageCode(stage: RowStage): StageCode {
  switch (stage.kind) {
    case "sum": {
      const zero = stage.dtype === "float32" ? "0.0" : "0i";
      return {
        type: stage.dtype === "float32" ? "f32" : "i32",
        empty: zero,
        merge: (a, b) => `${a} + ${b}`,
        fold: (state, values) => values.map((v) => `${state} = ${state} + ${pick(v, zero)};`).join("\n  "),
      };
    }
    case "max": {
      if (stage.dtype !== "float32") {
        const low = "bitcast<i32>(0x80000000u)";
        return {
          type: "i32",
          empty: low,
          merge: (a, b) => `max(${a}, ${b})`,
          fold: (state, values) =>
            values.map((v) => `${state} = max(${state}, ${pick(v, low)});`).join("\n  "),
        };
      }
      return {
        type: "f32",
        empty: NEG_INF,
        merge: (a, b) => `ieee_max(${a}, ${b})`,
        fold: (state, values, p) =>
          [...chunkMax(values, p), `${state} = ieee_max(${state}, ${p}_m);`].join("\n  "),
      };
    }
    case "online":
      // The chunk's max m (NaN if any element is), then s = Σ exp(x - m); a chunk of -∞ only adds nothing.
      return {
        type: "vec2<f32>",
        empty: `vec2<f32>(${NEG_INF}, 0.0)`,
        merge: (a, b) => `online_merge(${a}, ${b})`,
        fold: (state, values, p) =>
          [
            ...chunkMax(values, p),
            `var ${p}_s = 0.0;`,
            ...values.map((v) =>
              `${p}_s = ${p}_s + ${pick({ ...v, value: `exp(${v.value} - ${p}_m)` }, "0.0")};`
            ),
            `if (${p}_m == ${NEG_INF}) { ${p}_s = 0.0; }`,
            `${state} = online_merge(${state}, vec2<f32>(${p}_m, ${p}_s));`,
          ].join("\n  "),
      };
    case "welford":
      // The chunk's count and mean, summed relative to its first element (so that a large mean does not
      // swamp the digits of the deviations), then its sum of squared deviations from its own mean.
      return {
        type: "vec3<f32>",
        empty: "vec3<f32>(0.0)",
        merge: (a, b) => `welford_merge(${a}, ${b})`,
        fold: (state, values, p) =>
          [
            `let ${p}_x0 = ${pick(values[0], "0.0")};`,
            `var ${p}_n = 0.0;`,
            `var ${p}_d = 0.0;`,
            ...values.map((v) =>
              v.valid === "true"
                ? `${p}_n = ${p}_n + 1.0; ${p}_d = ${p}_d + (${v.value} - ${p}_x0);`
                : `if (${v.valid}) { ${p}_n = ${p}_n + 1.0; ${p}_d = ${p}_d + (${v.value} - ${p}_x0); }`
            ),
            `let ${p}_mean = ${p}_x0 + ${p}_d / max(${p}_n, 1.0);`,
            `var ${p}_m2 = 0.0;`,
            ...values.map((v) =>
              `${p}_m2 = ${p}_m2 + ${
                pick({ ...v, value: `(${v.value} - ${p}_mean) * (${v.value} - ${p}_mean)` }, "0.0")
              };`
            ),
            `${state} = welford_merge(${state}, vec3<f32>(${p}_n, ${p}_mean, ${p}_m2));`,
          ].join("\n  "),
      };
  }
}
