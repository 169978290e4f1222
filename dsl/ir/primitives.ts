/**
 * The primitive declarations: every primitive Loom's graphs are made of, declared once with what every
 * interpreter needs — its kind, the type of its params, and its shape/dtype rule — and nothing else.
 *
 * `PrimName` (the union of the names) and `PrimParams<P>` (each primitive's params) are derived from this
 * one declaration. Each transform (VJP, JVP, batching) and each backend (reference, CPU, WebGPU) keeps one
 * table of rules typed `{ [P in PrimName]: Rule<P> }`, so adding a primitive here makes every table that
 * lacks its rule fail `deno check`.
 * @module
 */
import type { DType } from "./dtype.ts";
import type { Aval } from "./graph.ts";
import { type Shape, shapesEqual, showShape, sizeOf } from "./shape.ts";

/**
 * The classes of primitives, which passes and backends dispatch on.
 *
 * @example
 * ```ts
 * import { PRIMITIVES, type PrimitiveKind } from "./primitives.ts";
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
 * One declaration: the primitive's kind and its shape/dtype rule over params of type `P`.
 *
 * @example
 * ```ts
 * import { type PrimitiveDecl, PRIMITIVES } from "./primitives.ts";
 * const sum: PrimitiveDecl<"reduce", { readonly axes: readonly number[] }> = PRIMITIVES.reduce_sum;
 * const out = sum.infer([{ shape: [2, 3], dtype: "float32" }], { axes: [1] });
 * if (out.shape.join() !== "2") throw new Error();
 * ```
 */
export interface PrimitiveDecl<K extends PrimitiveKind = PrimitiveKind, P = unknown> {
  /** How passes and backends treat it. */
  readonly kind: K;
  /** The result's shape and dtype; throws an error naming the primitive on invalid operands. */
  readonly infer: (inputs: readonly Aval[], params: P) => Aval;
}

/**
 * The params of a primitive that takes none.
 *
 * @example
 * ```ts
 * import type { NoParams } from "./primitives.ts";
 * const none: NoParams = {};
 * if (Object.keys(none).length !== 0) throw new Error();
 * ```
 */
export type NoParams = Readonly<Record<string, never>>;

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
const ANY: readonly DType[] = ["float32", "int32", "bool"];

function unary(name: string, allowed: readonly DType[]): PrimitiveDecl<"elementwise", NoParams> {
  return {
    kind: "elementwise",
    infer(inputs) {
      arity(name, inputs, 1);
      requireDType(name, inputs[0], allowed);
      return { shape: inputs[0].shape, dtype: inputs[0].dtype };
    },
  };
}

function binary(
  name: string,
  allowed: readonly DType[],
  outDType?: DType,
): PrimitiveDecl<"elementwise", NoParams> {
  return {
    kind: "elementwise",
    infer(inputs) {
      arity(name, inputs, 2);
      sameShapeAndDType(name, inputs);
      requireDType(name, inputs[0], allowed);
      return { shape: inputs[0].shape, dtype: outDType ?? inputs[0].dtype };
    },
  };
}

function reduce(name: string): PrimitiveDecl<"reduce", { readonly axes: readonly number[] }> {
  return {
    kind: "reduce",
    infer(inputs, { axes }) {
      arity(name, inputs, 1);
      requireDType(name, inputs[0], NUMERIC);
      const shape = inputs[0].shape;
      if (axes.some((a) => !Number.isInteger(a) || a < 0 || a >= shape.length)) {
        fail(name, `axes ${JSON.stringify(axes)} out of range for ${showShape(shape)}`);
      }
      return { shape: shape.filter((_, i) => !axes.includes(i)), dtype: inputs[0].dtype };
    },
  };
}

function source<P extends { readonly shape: Shape }>(
  name: string,
  dtypeOf: (params: P) => DType,
  operands = 0,
): PrimitiveDecl<"source", P> {
  return {
    kind: "source",
    infer(inputs, params) {
      arity(name, inputs, operands);
      return { shape: params.shape, dtype: dtypeOf(params) };
    },
  };
}

/**
 * The declaration of every primitive: its name, its kind and the type of its params. `PrimName`,
 * `PrimParams` and `KindOf` are read off this interface; the shape rules of `PRIMITIVES` and every rule table
 * of the transforms and backends are typed over its keys.
 *
 * @example
 * ```ts
 * import type { PrimitiveSignatures } from "./primitives.ts";
 * const kind: PrimitiveSignatures["gather"]["kind"] = "indexing";
 * if (kind !== "indexing") throw new Error();
 * ```
 */
export interface PrimitiveSignatures {
  // elementwise: one result element from the operands' elements at the same index
  neg: { kind: "elementwise"; params: NoParams };
  exp: { kind: "elementwise"; params: NoParams };
  log: { kind: "elementwise"; params: NoParams };
  sqrt: { kind: "elementwise"; params: NoParams };
  recip: { kind: "elementwise"; params: NoParams };
  sin: { kind: "elementwise"; params: NoParams };
  cos: { kind: "elementwise"; params: NoParams };
  tanh: { kind: "elementwise"; params: NoParams };
  stop_gradient: { kind: "elementwise"; params: NoParams };
  cast: { kind: "elementwise"; params: { readonly dtype: DType } };
  add: { kind: "elementwise"; params: NoParams };
  mul: { kind: "elementwise"; params: NoParams };
  max: { kind: "elementwise"; params: NoParams };
  pow: { kind: "elementwise"; params: NoParams };
  less: { kind: "elementwise"; params: NoParams };
  equal: { kind: "elementwise"; params: NoParams };
  where: { kind: "elementwise"; params: NoParams };
  // reductions over `axes`
  reduce_sum: { kind: "reduce"; params: { readonly axes: readonly number[] } };
  reduce_max: { kind: "reduce"; params: { readonly axes: readonly number[] } };
  // movement: the same elements in a new arrangement
  reshape: { kind: "movement"; params: { readonly shape: Shape } };
  transpose: { kind: "movement"; params: { readonly perm: readonly number[] } };
  broadcast: { kind: "movement"; params: { readonly shape: Shape } };
  slice: {
    kind: "movement";
    params: { readonly begin: readonly number[]; readonly size: readonly number[] };
  };
  pad: {
    kind: "movement";
    params: { readonly low: readonly number[]; readonly high: readonly number[]; readonly value: number };
  };
  concat: { kind: "movement"; params: { readonly axis: number } };
  // contraction: batched matrix product over equal batch axes
  matmul: { kind: "contraction"; params: NoParams };
  // indexing: rows chosen by int32 indices
  gather: { kind: "indexing"; params: NoParams };
  scatter_add: { kind: "indexing"; params: NoParams };
  first_occurrence: { kind: "indexing"; params: NoParams };
  // sources: values from nothing but params (and a key)
  full: { kind: "source"; params: { readonly shape: Shape; readonly value: number; readonly dtype: DType } };
  iota: { kind: "source"; params: { readonly shape: Shape; readonly axis: number; readonly dtype: DType } };
  random_bits: { kind: "source"; params: { readonly shape: Shape; readonly stream: number } };
}

/**
 * The shape rule of every primitive, one entry per declaration. Keys are the names graphs use (`PrimName`).
 *
 * @example
 * ```ts
 * import { PRIMITIVES } from "./primitives.ts";
 * const a = { shape: [2, 3], dtype: "float32" } as const;
 * const b = { shape: [3, 4], dtype: "float32" } as const;
 * if (PRIMITIVES.matmul.infer([a, b], {}).shape.join() !== "2,4") throw new Error();
 * ```
 */
export const PRIMITIVES: { readonly [P in PrimName]: PrimitiveDecl<KindOf<P>, PrimParams<P>> } = {
  // ---- elementwise unary ----
  neg: unary("neg", NUMERIC),
  exp: unary("exp", FLOAT),
  log: unary("log", FLOAT),
  sqrt: unary("sqrt", FLOAT),
  recip: unary("recip", FLOAT),
  sin: unary("sin", FLOAT),
  cos: unary("cos", FLOAT),
  tanh: unary("tanh", FLOAT),
  stop_gradient: unary("stop_gradient", ANY),
  cast: {
    kind: "elementwise",
    infer(inputs, params) {
      arity("cast", inputs, 1);
      return { shape: inputs[0].shape, dtype: params.dtype };
    },
  },

  // ---- elementwise binary and ternary ----
  add: binary("add", NUMERIC),
  mul: binary("mul", NUMERIC),
  max: binary("max", NUMERIC),
  pow: binary("pow", FLOAT),
  less: binary("less", NUMERIC, "bool"),
  equal: binary("equal", ANY, "bool"),
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
  },

  // ---- reductions ----
  reduce_sum: reduce("reduce_sum"),
  reduce_max: reduce("reduce_max"),

  // ---- movement ----
  reshape: {
    kind: "movement",
    infer(inputs, { shape }) {
      arity("reshape", inputs, 1);
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
  },
  transpose: {
    kind: "movement",
    infer(inputs, { perm }) {
      arity("transpose", inputs, 1);
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
  },
  broadcast: {
    kind: "movement",
    infer(inputs, { shape }) {
      arity("broadcast", inputs, 1);
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
  },
  slice: {
    kind: "movement",
    infer(inputs, { begin, size }) {
      arity("slice", inputs, 1);
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
  },
  pad: {
    kind: "movement",
    infer(inputs, { low, high }) {
      arity("pad", inputs, 1);
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
  },
  concat: {
    kind: "movement",
    infer(inputs, { axis }) {
      if (inputs.length === 0) fail("concat", "needs at least one tensor");
      const [first] = inputs;
      if (!(axis >= 0 && axis < first.shape.length)) {
        fail("concat", `axis ${axis} is out of range for ${showShape(first.shape)}`);
      }
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
  },
  scatter_add: {
    kind: "indexing",
    infer(inputs) {
      arity("scatter_add", inputs, 3);
      const [base, idx, upd] = inputs;
      requireDType("scatter_add", idx, ["int32"], "index tensor");
      if (base.shape.length === 0) fail("scatter_add", "cannot add rows into a scalar");
      const want = [...idx.shape, ...base.shape.slice(1)];
      if (!shapesEqual(upd.shape, want) || upd.dtype !== base.dtype) {
        fail(
          "scatter_add",
          `updates must be ${base.dtype}${showShape(want)}, got ${upd.dtype}${showShape(upd.shape)}`,
        );
      }
      return { shape: base.shape, dtype: base.dtype };
    },
  },
  // out[i] = the smallest j with indices[j] == indices[i]: how sparse gradients sum repeated rows in O(n).
  first_occurrence: {
    kind: "indexing",
    infer(inputs) {
      arity("first_occurrence", inputs, 1);
      requireDType("first_occurrence", inputs[0], ["int32"], "index tensor");
      if (inputs[0].shape.length !== 1) {
        fail("first_occurrence", `indices must be 1-D, got ${showShape(inputs[0].shape)}`);
      }
      return { shape: inputs[0].shape, dtype: "int32" };
    },
  },

  // ---- sources ----
  full: source("full", (p: PrimParams<"full">) => p.dtype),
  iota: source("iota", (p: PrimParams<"iota">) => p.dtype),
  // Random words from a key: word i of stream s is Threefry-2x32(key, (s, i)). Its operand is the key.
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
      return { shape: params.shape, dtype: "int32" };
    },
  },
};

/**
 * The name of a primitive: the union of the keys of `PRIMITIVES`.
 *
 * @example
 * ```ts
 * import type { PrimName } from "./primitives.ts";
 * const name: PrimName = "reduce_sum";
 * // @ts-expect-error not a primitive
 * const typo: PrimName = "reduce_summ";
 * if (name === typo) throw new Error();
 * ```
 */
export type PrimName = keyof PrimitiveSignatures;

/**
 * The params of primitive `P`, as its declaration types them.
 *
 * @example
 * ```ts
 * import type { PrimParams } from "./primitives.ts";
 * const params: PrimParams<"reduce_sum"> = { axes: [0, 1] };
 * const axes = { axes: [1, 0] };
 * // @ts-expect-error a transpose takes a permutation (perm), not axes
 * const wrong: PrimParams<"transpose"> = axes;
 * if (params.axes.length !== 2 || !wrong) throw new Error();
 * ```
 */
export type PrimParams<P extends PrimName> = P extends PrimName ? PrimitiveSignatures[P]["params"] : never;

/**
 * The kind of primitive `P`.
 *
 * @example
 * ```ts
 * import type { KindOf } from "./primitives.ts";
 * const kind: KindOf<"matmul"> = "contraction";
 * if (kind !== "contraction") throw new Error();
 * ```
 */
export type KindOf<P extends PrimName> = PrimitiveSignatures[P]["kind"];

/**
 * The primitives of kind `K`.
 *
 * @example
 * ```ts
 * import type { PrimsOfKind } from "./primitives.ts";
 * const reductions: PrimsOfKind<"reduce">[] = ["reduce_sum", "reduce_max"];
 * if (reductions.length !== 2) throw new Error();
 * ```
 */
export type PrimsOfKind<K extends PrimitiveKind> = {
  [P in PrimName]: KindOf<P> extends K ? P : never;
}[PrimName];

/**
 * The elementwise primitives: the ones a fused loop computes per element.
 *
 * @example
 * ```ts
 * import type { ElementwisePrim } from "./primitives.ts";
 * const op: ElementwisePrim = "tanh";
 * // @ts-expect-error a reduction is not elementwise
 * const notOne: ElementwisePrim = "reduce_sum";
 * if (op === notOne) throw new Error();
 * ```
 */
export type ElementwisePrim = PrimsOfKind<"elementwise">;

/**
 * Every primitive name, in declaration order.
 *
 * @example
 * ```ts
 * import { PRIM_NAMES } from "./primitives.ts";
 * if (!PRIM_NAMES.includes("matmul") || PRIM_NAMES.length < 25) throw new Error();
 * ```
 */
export const PRIM_NAMES: readonly PrimName[] = Object.keys(PRIMITIVES) as PrimName[];

/**
 * The kind of a primitive, at run time.
 *
 * @example
 * ```ts
 * import { kindOf } from "./primitives.ts";
 * if (kindOf("gather") !== "indexing" || kindOf("neg") !== "elementwise") throw new Error();
 * ```
 */
export function kindOf(prim: PrimName): PrimitiveKind {
  return PRIMITIVES[prim].kind;
}
