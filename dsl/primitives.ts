/**
 * The primitive table: every primitive Loom's graphs are made of, each with its shape/dtype rule and its
 * vector-Jacobian-product rule. Adding a primitive touches this table and each backend, nothing else.
 *
 * VJP rules are written with `bind`, so they are themselves traceable and differentiable: that is what makes
 * `grad(grad(f))` and `jit(grad(f))` work.
 * @module
 */
import type { DType } from "./dtype.ts";
import type { Aval, Params } from "./graph.ts";
import { type Shape, shapesEqual, showShape, sizeOf } from "./shape.ts";
import { SparseRows } from "./sparse.ts";
import { bind, type Tensor } from "./tensor.ts";

/**
 * A cotangent flowing backwards: dense, or sparse rows (from gathers).
 *
 * @example
 * ```ts
 * import { type Cotangent, grad, tensor } from "../mod.ts";
 * const g: Cotangent = grad((x) => x.sum())(tensor([1, 2]));
 * if (g.shape.join() !== "2") throw new Error();
 * ```
 */
export type Cotangent = Tensor | SparseRows;

/**
 * The classes of primitives, which backends and fusion passes dispatch on.
 *
 * @example
 * ```ts
 * import type { PrimitiveKind } from "./primitives.ts";
 * import { PRIMITIVES } from "../mod.ts";
 * const kinds = new Set<PrimitiveKind>(Object.values(PRIMITIVES).map((p) => p.kind));
 * if (kinds.size !== 6 || PRIMITIVES.matmul.kind !== "contraction") throw new Error();
 * ```
 */
export type PrimitiveKind =
  | "elementwise"
  | "reduce"
  | "movement"
  | "contraction"
  | "indexing"
  | "source";

/**
 * One entry of the primitive table.
 *
 * @example
 * ```ts
 * import { type Primitive, PRIMITIVES } from "../mod.ts";
 * const exp: Primitive = PRIMITIVES.exp;
 * if (exp.kind !== "elementwise") throw new Error();
 * ```
 */
export interface Primitive {
  /** How backends and passes treat it. */
  readonly kind: PrimitiveKind;
  /** The result's shape and dtype; throws a clear error on invalid operands. */
  infer(inputs: readonly Aval[], params: Params): Aval;
  /**
   * Cotangents of the inputs given the output's cotangent `g` (null where an input gets none).
   * `needs[i]` says whether input i's cotangent is wanted, so rules skip work nobody uses.
   */
  vjp(
    g: Tensor,
    inputs: readonly Tensor[],
    out: Tensor,
    params: Params,
    needs: readonly boolean[],
  ): (Cotangent | null)[];
}

// Small binders so rules read like maths. They call bind directly: rules must not depend on user-level ops.
const p = (prim: string, inputs: Tensor[], params: Params = {}) => bind(prim, inputs, params);
const full = (shape: Shape, value: number, dtype: DType) =>
  p("full", [], { shape: [...shape], value, dtype });
const fullLike = (t: Aval, value: number) => full(t.shape, value, t.dtype);
const add = (a: Tensor, b: Tensor) => p("add", [a, b]);
const mul = (a: Tensor, b: Tensor) => p("mul", [a, b]);
const neg = (a: Tensor) => p("neg", [a]);
const recip = (a: Tensor) => p("recip", [a]);
const where = (c: Tensor, a: Tensor, b: Tensor) => p("where", [c, a, b]);
const reshape = (a: Tensor, shape: Shape) =>
  shapesEqual(a.shape, shape) ? a : p("reshape", [a], { shape: [...shape] });
const transpose = (a: Tensor, perm: number[]) => p("transpose", [a], { perm });

/** Sums `g` over the axes where `shape` has size 1 but `g` does not, then reshapes to `shape` (same rank). */
function sumToShape(g: Tensor, shape: Shape): Tensor {
  const axes: number[] = [];
  for (let i = 0; i < shape.length; i++) if (shape[i] === 1 && g.shape[i] !== 1) axes.push(i);
  return reshape(axes.length ? p("sum", [g], { axes }) : g, shape);
}

function fail(prim: string, message: string): never {
  throw new TypeError(`${prim}: ${message}`);
}

function requireDType(prim: string, a: Aval, allowed: readonly DType[], role = "operand"): void {
  if (!allowed.includes(a.dtype)) {
    fail(
      prim,
      `${role} has dtype ${a.dtype}, expected ${allowed.join(" or ")}; convert it with .cast("${
        allowed[0]
      }")`,
    );
  }
}

function sameShapeAndDType(prim: string, inputs: readonly Aval[]): void {
  const [a] = inputs;
  for (const b of inputs.slice(1)) {
    if (!shapesEqual(a.shape, b.shape)) {
      fail(
        prim,
        `operand shapes ${showShape(a.shape)} and ${
          showShape(b.shape)
        } differ (primitives need equal shapes; ops broadcast first)`,
      );
    }
    if (a.dtype !== b.dtype) {
      fail(
        prim,
        `operand dtypes ${a.dtype} and ${b.dtype} differ; cast one of them with .cast("${a.dtype}")`,
      );
    }
  }
}

function arity(prim: string, inputs: readonly Aval[], n: number): void {
  if (inputs.length !== n) fail(prim, `takes ${n} operands, got ${inputs.length}`);
}

const FLOAT: readonly DType[] = ["float32"];
const NUMERIC: readonly DType[] = ["float32", "int32"];

function unary(
  name: string,
  allowed: readonly DType[],
  vjp: (g: Tensor, x: Tensor, y: Tensor) => Tensor | null,
): Primitive {
  return {
    kind: "elementwise",
    infer(inputs) {
      arity(name, inputs, 1);
      requireDType(name, inputs[0], allowed);
      return { shape: inputs[0].shape, dtype: inputs[0].dtype };
    },
    vjp: (g, [x], y) => [vjp(g, x, y)],
  };
}

function binary(
  name: string,
  allowed: readonly DType[],
  vjp: (g: Tensor, a: Tensor, b: Tensor, y: Tensor, needs: readonly boolean[]) => (Tensor | null)[],
  outDType?: DType,
): Primitive {
  return {
    kind: "elementwise",
    infer(inputs) {
      arity(name, inputs, 2);
      sameShapeAndDType(name, inputs);
      requireDType(name, inputs[0], allowed);
      return { shape: inputs[0].shape, dtype: outDType ?? inputs[0].dtype };
    },
    vjp: (g, [a, b], y, _params, needs) => vjp(g, a, b, y, needs),
  };
}

const noGrad = () => null;

/**
 * Every primitive, by name.
 *
 * @example
 * ```ts
 * import { PRIMITIVES } from "../mod.ts";
 * const a = { shape: [2, 3], dtype: "float32" } as const;
 * const b = { shape: [3, 4], dtype: "float32" } as const;
 * if (PRIMITIVES.matmul.infer([a, b], {}).shape.join() !== "2,4") throw new Error();
 * ```
 */
export const PRIMITIVES: Readonly<Record<string, Primitive>> = {
  // ---- elementwise unary ----
  neg: unary("neg", NUMERIC, (g) => neg(g)),
  exp: unary("exp", FLOAT, (g, _x, y) => mul(g, y)),
  log: unary("log", FLOAT, (g, x) => mul(g, recip(x))),
  sqrt: unary("sqrt", FLOAT, (g, _x, y) => mul(g, mul(fullLike(y, 0.5), recip(y)))),
  recip: unary("recip", FLOAT, (g, _x, y) => neg(mul(g, mul(y, y)))),
  sin: unary("sin", FLOAT, (g, x) => mul(g, p("cos", [x]))),
  cos: unary("cos", FLOAT, (g, x) => neg(mul(g, p("sin", [x])))),
  tanh: unary("tanh", FLOAT, (g, _x, y) => mul(g, add(fullLike(y, 1), neg(mul(y, y))))),
  stop_gradient: unary("stop_gradient", ["float32", "int32", "bool"], noGrad),
  cast: {
    kind: "elementwise",
    infer(inputs, params) {
      arity("cast", inputs, 1);
      return { shape: inputs[0].shape, dtype: params.dtype as DType };
    },
    vjp: (g, [x]) => [x.dtype === "float32" && g.dtype === "float32" ? g : null],
  },

  // ---- elementwise binary ----
  add: binary("add", NUMERIC, (g) => [g, g]),
  mul: binary(
    "mul",
    NUMERIC,
    (g, a, b, _y, needs) => [needs[0] ? mul(g, b) : null, needs[1] ? mul(g, a) : null],
  ),
  max: binary("max", NUMERIC, (g, a, b) => {
    // Ties split the cotangent evenly, as JAX does, so finite differences agree on average.
    const share = where(
      p("less", [b, a]),
      fullLike(g, 1),
      where(p("equal", [a, b]), fullLike(g, 0.5), fullLike(g, 0)),
    );
    return [mul(g, share), mul(g, add(fullLike(g, 1), neg(share)))];
  }),
  pow: binary("pow", FLOAT, (g, a, b, y, needs) => {
    const da = needs[0] ? mul(g, mul(b, p("pow", [a, add(b, fullLike(b, -1))]))) : null;
    // d(a^b)/db = log(a) a^b, defined for a > 0; zero elsewhere (where a^b is 0 or not real).
    const safeLog = needs[1]
      ? where(
        p("less", [fullLike(a, 0), a]),
        p("log", [where(p("less", [fullLike(a, 0), a]), a, fullLike(a, 1))]),
        fullLike(a, 0),
      )
      : null;
    return [da, safeLog ? mul(g, mul(safeLog, y)) : null];
  }),
  less: binary("less", NUMERIC, () => [null, null], "bool"),
  equal: binary("equal", ["float32", "int32", "bool"], () => [null, null], "bool"),
  where: {
    kind: "elementwise",
    infer(inputs) {
      arity("where", inputs, 3);
      requireDType("where", inputs[0], ["bool"], "condition");
      sameShapeAndDType("where", inputs.slice(1));
      if (!shapesEqual(inputs[0].shape, inputs[1].shape)) {
        fail(
          "where",
          `condition shape ${showShape(inputs[0].shape)} differs from ${showShape(inputs[1].shape)}`,
        );
      }
      return { shape: inputs[1].shape, dtype: inputs[1].dtype };
    },
    vjp: (g, [c], _y, _params, needs) => {
      const zero = fullLike(g, 0);
      return [null, needs[1] ? where(c, g, zero) : null, needs[2] ? where(c, zero, g) : null];
    },
  },

  // ---- reductions ----
  sum: {
    kind: "reduce",
    infer: (inputs, params) => reduceInfer("sum", inputs, params),
    vjp: (g, [x], _y, params) => [expandReduced(g, x.shape, params.axes as number[])],
  },
  reduce_max: {
    kind: "reduce",
    infer: (inputs, params) => reduceInfer("reduce_max", inputs, params),
    vjp: (g, [x], y, params) => {
      const axes = params.axes as number[];
      const isMax = p("equal", [x, expandReduced(y, x.shape, axes)]);
      const mask = p("cast", [isMax], { dtype: x.dtype });
      const count = p("sum", [mask], { axes });
      return [mul(mask, expandReduced(mul(g, recip(count)), x.shape, axes))];
    },
  },

  // ---- movement ----
  reshape: {
    kind: "movement",
    infer(inputs, params) {
      arity("reshape", inputs, 1);
      const shape = params.shape as number[];
      if (sizeOf(shape) !== sizeOf(inputs[0].shape)) {
        fail(
          "reshape",
          `cannot reshape ${showShape(inputs[0].shape)} (${sizeOf(inputs[0].shape)} elements) into ${
            showShape(shape)
          } (${sizeOf(shape)} elements); the element counts must match`,
        );
      }
      return { shape, dtype: inputs[0].dtype };
    },
    vjp: (g, [x]) => [reshape(g, x.shape)],
  },
  transpose: {
    kind: "movement",
    infer(inputs, params) {
      arity("transpose", inputs, 1);
      const perm = params.perm as number[];
      const rank = inputs[0].shape.length;
      if (perm.length !== rank || [...perm].sort((a, b) => a - b).some((v, i) => v !== i)) {
        fail(
          "transpose",
          `perm ${JSON.stringify(perm)} is not a permutation of the ${rank} axes of ${
            showShape(inputs[0].shape)
          }`,
        );
      }
      return { shape: perm.map((a) => inputs[0].shape[a]), dtype: inputs[0].dtype };
    },
    vjp: (g, _x, _y, params) => {
      const perm = params.perm as number[];
      const inverse = new Array<number>(perm.length);
      perm.forEach((a, i) => (inverse[a] = i));
      return [transpose(g, inverse)];
    },
  },
  broadcast: {
    kind: "movement",
    infer(inputs, params) {
      arity("broadcast", inputs, 1);
      const shape = params.shape as number[];
      const from = inputs[0].shape;
      if (from.length !== shape.length || from.some((d, i) => d !== 1 && d !== shape[i])) {
        fail(
          "broadcast",
          `cannot broadcast ${showShape(from)} to ${
            showShape(shape)
          }: ranks must match and each axis be 1 or equal`,
        );
      }
      return { shape, dtype: inputs[0].dtype };
    },
    vjp: (g, [x]) => [sumToShape(g, x.shape)],
  },
  slice: {
    kind: "movement",
    infer(inputs, params) {
      arity("slice", inputs, 1);
      const { begin, size } = params as { begin: number[]; size: number[] };
      const shape = inputs[0].shape;
      if (begin.length !== shape.length || size.length !== shape.length) {
        fail(
          "slice",
          `begin ${JSON.stringify(begin)} and size ${JSON.stringify(size)} need one entry per axis of ${
            showShape(shape)
          }`,
        );
      }
      shape.forEach((d, i) => {
        if (begin[i] < 0 || size[i] < 0 || begin[i] + size[i] > d) {
          fail(
            "slice",
            `axis ${i}: begin ${begin[i]} + size ${size[i]} exceeds the axis size ${d} of ${
              showShape(shape)
            }`,
          );
        }
      });
      return { shape: [...size], dtype: inputs[0].dtype };
    },
    vjp: (g, [x], _y, params) => {
      const { begin, size } = params as { begin: number[]; size: number[] };
      return [p("pad", [g], { low: begin, high: x.shape.map((d, i) => d - begin[i] - size[i]), value: 0 })];
    },
  },
  pad: {
    kind: "movement",
    infer(inputs, params) {
      arity("pad", inputs, 1);
      const { low, high } = params as { low: number[]; high: number[] };
      const shape = inputs[0].shape;
      if (
        low.length !== shape.length || high.length !== shape.length || [...low, ...high].some((v) => v < 0)
      ) {
        fail(
          "pad",
          `paddings must be non-negative with one [before, after] pair per axis of ${showShape(shape)}`,
        );
      }
      return { shape: shape.map((d, i) => d + low[i] + high[i]), dtype: inputs[0].dtype };
    },
    vjp: (g, [x], _y, params) => [p("slice", [g], { begin: params.low as number[], size: [...x.shape] })],
  },
  concat: {
    kind: "movement",
    infer(inputs, params) {
      const axis = params.axis as number;
      if (inputs.length === 0) fail("concat", "needs at least one tensor");
      const [first] = inputs;
      let total = 0;
      for (const t of inputs) {
        if (t.dtype !== first.dtype) fail("concat", `dtypes ${first.dtype} and ${t.dtype} differ`);
        if (
          t.shape.length !== first.shape.length || t.shape.some((d, i) => i !== axis && d !== first.shape[i])
        ) {
          fail(
            "concat",
            `shapes ${showShape(first.shape)} and ${showShape(t.shape)} must agree on every axis but ${axis}`,
          );
        }
        total += t.shape[axis];
      }
      return { shape: first.shape.map((d, i) => (i === axis ? total : d)), dtype: first.dtype };
    },
    vjp: (g, inputs, _y, params, needs) => {
      const axis = params.axis as number;
      let offset = 0;
      return inputs.map((x, i) => {
        const begin = g.shape.map((_, a) => (a === axis ? offset : 0));
        offset += x.shape[axis];
        return needs[i] ? p("slice", [g], { begin, size: [...x.shape] }) : null;
      });
    },
  },

  // ---- contraction ----
  matmul: {
    kind: "contraction",
    infer(inputs) {
      arity("matmul", inputs, 2);
      const [a, b] = inputs;
      requireDType("matmul", a, FLOAT, "left operand");
      requireDType("matmul", b, FLOAT, "right operand");
      const r = a.shape.length;
      if (r < 2 || b.shape.length !== r || !shapesEqual(a.shape.slice(0, -2), b.shape.slice(0, -2))) {
        fail(
          "matmul",
          `operands ${showShape(a.shape)} and ${showShape(b.shape)} need rank >= 2 and equal batch axes`,
        );
      }
      if (a.shape[r - 1] !== b.shape[r - 2]) {
        fail(
          "matmul",
          `contracting sizes differ: ${showShape(a.shape)} has ${a.shape[r - 1]} columns, ${
            showShape(b.shape)
          } has ${b.shape[r - 2]} rows`,
        );
      }
      return { shape: [...a.shape.slice(0, -1), b.shape[r - 1]], dtype: "float32" };
    },
    vjp: (g, [a, b], _y, _params, needs) => {
      const r = a.shape.length;
      const swap = Array.from({ length: r }, (_, i) => (i === r - 2 ? r - 1 : i === r - 1 ? r - 2 : i));
      return [
        needs[0] ? p("matmul", [g, transpose(b, swap)]) : null,
        needs[1] ? p("matmul", [transpose(a, swap), g]) : null,
      ];
    },
  },

  // ---- indexing ----
  gather: {
    kind: "indexing",
    infer(inputs) {
      arity("gather", inputs, 2);
      const [x, idx] = inputs;
      requireDType("gather", idx, ["int32"], "index tensor");
      if (x.shape.length === 0) fail("gather", "cannot gather rows of a scalar");
      return { shape: [...idx.shape, ...x.shape.slice(1)], dtype: x.dtype };
    },
    vjp: (g, [x, idx]) => {
      // The table's gradient is sparse: only the gathered rows, which optimizers update in place.
      const n = sizeOf(idx.shape);
      const rows = x.shape.slice(1);
      return [new SparseRows(reshape(idx, [n]), reshape(g, [n, ...rows]), x.shape), null];
    },
  },
  scatter_add: {
    kind: "indexing",
    infer(inputs) {
      arity("scatter_add", inputs, 3);
      const [base, idx, upd] = inputs;
      requireDType("scatter_add", idx, ["int32"], "index tensor");
      const want = [...idx.shape, ...base.shape.slice(1)];
      if (!shapesEqual(upd.shape, want) || upd.dtype !== base.dtype) {
        fail(
          "scatter_add",
          `updates must be ${base.dtype}${showShape(want)}, got ${upd.dtype}${showShape(upd.shape)}`,
        );
      }
      return { shape: base.shape, dtype: base.dtype };
    },
    vjp: (
      g,
      [_base, idx],
      _y,
      _params,
      needs,
    ) => [needs[0] ? g : null, null, needs[2] ? p("gather", [g, idx]) : null],
  },

  first_occurrence: {
    // out[i] = the smallest j with indices[j] == indices[i]: how sparse gradients sum repeated rows in O(n).
    kind: "indexing",
    infer(inputs) {
      arity("first_occurrence", inputs, 1);
      requireDType("first_occurrence", inputs[0], ["int32"], "index tensor");
      if (inputs[0].shape.length !== 1) {
        fail("first_occurrence", `indices must be 1-D, got ${showShape(inputs[0].shape)}`);
      }
      return { shape: inputs[0].shape, dtype: "int32" };
    },
    vjp: () => [null],
  },

  // ---- sources ----
  full: {
    kind: "source",
    infer: (inputs, params) => {
      arity("full", inputs, 0);
      return { shape: params.shape as number[], dtype: params.dtype as DType };
    },
    vjp: () => [],
  },
  iota: {
    kind: "source",
    infer: (inputs, params) => {
      arity("iota", inputs, 0);
      return { shape: params.shape as number[], dtype: params.dtype as DType };
    },
    vjp: () => [],
  },
  random_bits: {
    kind: "source",
    infer(inputs, params) {
      arity("random_bits", inputs, 1);
      const [key] = inputs;
      if (key.dtype !== "int32" || !shapesEqual(key.shape, [2])) {
        fail(
          "random_bits",
          `a key is an int32[2] tensor from random.key(seed), got ${key.dtype}${showShape(key.shape)}`,
        );
      }
      return { shape: params.shape as number[], dtype: "int32" };
    },
    vjp: () => [null],
  },
};

function reduceInfer(prim: string, inputs: readonly Aval[], params: Params): Aval {
  arity(prim, inputs, 1);
  requireDType(prim, inputs[0], NUMERIC);
  const axes = params.axes as number[];
  const shape = inputs[0].shape;
  if (axes.some((a) => a < 0 || a >= shape.length)) {
    fail(prim, `axes ${JSON.stringify(axes)} out of range for ${showShape(shape)}`);
  }
  return { shape: shape.filter((_, i) => !axes.includes(i)), dtype: inputs[0].dtype };
}

/** Reshapes a reduced tensor to keep the reduced axes as size 1, then broadcasts it back to `shape`. */
function expandReduced(g: Tensor, shape: Shape, axes: readonly number[]): Tensor {
  const kept = shape.map((d, i) => (axes.includes(i) ? 1 : d));
  const r = reshape(g, kept);
  return shapesEqual(kept, shape) ? r : p("broadcast", [r], { shape: [...shape] });
}
