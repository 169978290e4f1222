/**
 * User-level ops, composed from primitives. Conventions follow NumPy / TF.js so users guess right:
 * reductions take `(x, axis?, keepDims?)` (axis a number or list, default all axes), binary ops broadcast and
 * accept JS numbers, `softmax(x, axis = -1)`, `transpose(x, perm?)`, `slice(x, begin, size)`.
 *
 * Dtypes: mixing int32 (or bool) with float32 in arithmetic promotes to float32; a JS number takes the other
 * operand's dtype, unless it is fractional and the tensor is an integer one (then both become float32).
 * @module
 */
import { allocHost, checkDType, type DType, dtypeOfHost, type HostArray } from "./ir/dtype.ts";
import {
  broadcastShapes,
  checkShape,
  normalizeAxes,
  normalizeAxis,
  type Shape,
  shapesEqual,
  showShape,
  sizeOf,
} from "./ir/shape.ts";
import { addSparse, SparseRows } from "./sparse.ts";
import { bind, fromHost, type NestedArray, Tensor, type TensorOrNumber } from "./tensor.ts";

export { Tensor };
export type { NestedArray, TensorOrNumber };

// ---------------------------------------------------------------------------------------------------------
// Creation

/**
 * Options of `tensor()`.
 *
 * @example
 * ```ts
 * import { tensor, type TensorOptions } from "../mod.ts";
 * const options: TensorOptions = { shape: [2, 2], dtype: "int32" };
 * if (tensor([1, 2, 3, 4], options).dtype !== "int32") throw new Error();
 * ```
 */
export interface TensorOptions {
  /** The shape; inferred from nested arrays when omitted (a flat typed array becomes 1-D). */
  shape?: readonly number[];
  /** The dtype; inferred when omitted: typed array class, booleans → bool, numbers → float32. */
  dtype?: DType;
}

/**
 * Makes a tensor from nested arrays, a typed array or a scalar. NaN and Infinity are allowed.
 *
 * @example
 * ```ts
 * import { tensor } from "../mod.ts";
 * const a = tensor([[1, 2, 3], [4, 5, 6]]);
 * const b = tensor(new Int32Array([1, 2, 3, 4]), { shape: [2, 2] });
 * if (a.shape.join() !== "2,3" || b.dtype !== "int32") throw new Error();
 * ```
 */
export function tensor(
  data: NestedArray | ArrayLike<number> | HostArray,
  options: TensorOptions = {},
): Tensor {
  let flat: ArrayLike<number | boolean>;
  let inferredShape: number[];
  let inferredDType: DType = "float32";
  if (ArrayBuffer.isView(data)) {
    flat = data as HostArray;
    inferredShape = [flat.length];
    inferredDType = dtypeOfHost(data) ?? "float32";
  } else if (typeof data === "number" || typeof data === "boolean") {
    flat = [data];
    inferredShape = [];
    if (typeof data === "boolean") inferredDType = "bool";
  } else {
    inferredShape = [];
    const values: (number | boolean)[] = [];
    walkNested(data as NestedArray, 0, inferredShape, values);
    flat = values;
    if (values.length > 0 && typeof values[0] === "boolean") inferredDType = "bool";
  }
  const dtype = options.dtype === undefined ? inferredDType : checkDType(options.dtype, "tensor");
  const shape = options.shape === undefined ? inferredShape : checkShape(options.shape, "tensor");
  if (sizeOf(shape) !== flat.length) {
    throw new RangeError(
      `tensor: shape ${showShape(shape)} needs ${sizeOf(shape)} values but the data has ${flat.length}`,
    );
  }
  if (ArrayBuffer.isView(data) && !(data instanceof DataView) && dtype !== "bool") {
    // Already the dtype's host array: backends copy what fromHost gets (a batcher may reuse its arrays).
    if (dtypeOfHost(data) === dtype) return fromHost(data as HostArray, shape, dtype);
    // Other typed data: one bulk copy (converting as element assignment would), not a checked loop.
    const host = allocHost(dtype, flat.length);
    host.set(data as ArrayLike<number>);
    return fromHost(host, shape, dtype);
  }
  const host = allocHost(dtype, flat.length);
  for (let i = 0; i < flat.length; i++) {
    const v = flat[i];
    if (typeof v !== "number" && typeof v !== "boolean") {
      throw new TypeError(`tensor: element ${i} is ${JSON.stringify(v)}, expected a number or boolean`);
    }
    host[i] = dtype === "bool" ? (v ? 1 : 0) : Number(v);
  }
  return fromHost(host, shape, dtype);
}

function walkNested(node: NestedArray, depth: number, shape: number[], out: (number | boolean)[]): void {
  if (Array.isArray(node)) {
    if (shape.length === depth) {
      if (out.length > 0) {
        throw new RangeError("tensor: ragged nested array (sub-arrays of different depths)");
      }
      shape.push(node.length);
    } else if (shape[depth] !== node.length) {
      throw new RangeError(
        `tensor: ragged nested array: axis ${depth} has lengths ${
          shape[depth]
        } and ${node.length}; every sub-array ` +
          "at one depth must have the same length",
      );
    }
    for (const child of node) walkNested(child, depth + 1, shape, out);
  } else {
    if (depth !== shape.length) {
      throw new RangeError("tensor: ragged nested array (a number next to a sub-array)");
    }
    out.push(node);
  }
}

/**
 * A tensor of `shape` filled with `value`.
 *
 * @example
 * ```ts
 * import { full } from "../mod.ts";
 * if (full([2], 7).arraySync().toString() !== "7,7") throw new Error();
 * ```
 */
export function full(shape: readonly number[], value: number | boolean, dtype?: DType): Tensor {
  const d = dtype === undefined
    ? (typeof value === "boolean" ? "bool" : "float32")
    : checkDType(dtype, "full");
  return bind("full", [], { shape: checkShape(shape, "full"), value: Number(value), dtype: d });
}

/**
 * A tensor of zeros.
 *
 * @example
 * ```ts
 * import { zeros } from "../mod.ts";
 * if (zeros([2, 3]).sum().item() !== 0) throw new Error();
 * ```
 */
export function zeros(shape: readonly number[], dtype: DType = "float32"): Tensor {
  return full(shape, 0, dtype);
}

/**
 * A tensor of ones.
 *
 * @example
 * ```ts
 * import { ones } from "../mod.ts";
 * if (ones([2, 3]).sum().item() !== 6) throw new Error();
 * ```
 */
export function ones(shape: readonly number[], dtype: DType = "float32"): Tensor {
  return full(shape, 1, dtype);
}

/**
 * Zeros with the shape and dtype of `x`.
 *
 * @example
 * ```ts
 * import { tensor, zerosLike } from "../mod.ts";
 * if (zerosLike(tensor([1, 2])).shape[0] !== 2) throw new Error();
 * ```
 */
export function zerosLike(x: Tensor): Tensor {
  return full(x.shape, 0, x.dtype);
}

/**
 * Ones with the shape and dtype of `x`.
 *
 * @example
 * ```ts
 * import { onesLike, tensor } from "../mod.ts";
 * if (onesLike(tensor([1, 2])).sum().item() !== 2) throw new Error();
 * ```
 */
export function onesLike(x: Tensor): Tensor {
  return full(x.shape, 1, x.dtype);
}

/**
 * Evenly spaced values in `[start, stop)` (NumPy `arange`): `arange(n)` is 0..n-1. The dtype is int32 when
 * every argument is an integer, else float32, unless given.
 *
 * @example
 * ```ts
 * import { arange } from "../mod.ts";
 * if (arange(4).arraySync().toString() !== "0,1,2,3") throw new Error();
 * if (arange(1, 2, 0.5).arraySync().toString() !== "1,1.5") throw new Error();
 * ```
 */
export function arange(start: number, stop?: number, step = 1, dtype?: DType): Tensor {
  if (stop === undefined) [start, stop] = [0, start];
  if (step === 0 || !Number.isFinite(step)) {
    throw new RangeError(`arange: step must be a finite non-zero number, got ${step}`);
  }
  const n = Math.max(0, Math.ceil((stop - start) / step));
  const d = dtype ?? ([start, stop, step].every(Number.isInteger) ? "int32" : "float32");
  const host = allocHost(checkDType(d, "arange"), n);
  for (let i = 0; i < n; i++) host[i] = start + i * step;
  return fromHost(host, [n], d);
}

/**
 * An identity matrix with `rows` rows and `cols` columns (default square).
 *
 * @example
 * ```ts
 * import { eye } from "../mod.ts";
 * if (JSON.stringify(eye(2).arraySync()) !== "[[1,0],[0,1]]") throw new Error();
 * ```
 */
export function eye(rows: number, cols = rows, dtype: DType = "float32"): Tensor {
  const r = bind("iota", [], { shape: [rows, cols], axis: 0, dtype: "int32" });
  const c = bind("iota", [], { shape: [rows, cols], axis: 1, dtype: "int32" });
  return cast(bind("equal", [r, c]), dtype);
}

// ---------------------------------------------------------------------------------------------------------
// Broadcasting and dtype promotion

/** Turns a JS number into a tensor of the dtype it should take next to `other`. */
function scalarFor(value: number, other: DType): Tensor {
  const dtype: DType = other === "float32" || !Number.isInteger(value) ? "float32" : "int32";
  return bind("full", [], { shape: [], value, dtype });
}

/** Promotes operands of an arithmetic op to a common numeric dtype. */
function promote(a: Tensor, b: Tensor): [Tensor, Tensor] {
  if (a.dtype === b.dtype && a.dtype !== "bool") return [a, b];
  const target: DType = a.dtype === "float32" || b.dtype === "float32" ? "float32" : "int32";
  return [cast(a, target), cast(b, target)];
}

function toTensors(where: string, a: TensorOrNumber, b: TensorOrNumber): [Tensor, Tensor] {
  if (typeof a === "number" && typeof b === "number") {
    return [scalarFor(a, "float32"), scalarFor(b, "float32")];
  }
  if (typeof a === "number") return [scalarFor(a, (b as Tensor).dtype), checkTensor(b, where)];
  if (typeof b === "number") return [checkTensor(a, where), scalarFor(b, a.dtype)];
  return [checkTensor(a, where), checkTensor(b, where)];
}

function checkTensor(x: unknown, where: string): Tensor {
  if (x instanceof Tensor) return x;
  throw new TypeError(
    `${where}: expected a Tensor or number, got ${x === null ? "null" : typeof x}; wrap data with tensor()`,
  );
}

/** Broadcasts `x` to `shape` (rank may grow on the left). */
function broadcastTo(x: Tensor, shape: Shape): Tensor {
  if (shapesEqual(x.shape, shape)) return x;
  const lifted = x.shape.length === shape.length
    ? x
    : reshape(x, [...new Array(shape.length - x.shape.length).fill(1), ...x.shape]);
  return shapesEqual(lifted.shape, shape) ? lifted : bind("broadcast", [lifted], { shape: [...shape] });
}

function binaryOp(
  prim: "add" | "mul" | "max" | "pow" | "less" | "equal",
  where: string,
  a: TensorOrNumber,
  b: TensorOrNumber,
  numeric = true,
): Tensor {
  let [x, y] = toTensors(where, a, b);
  if (numeric) [x, y] = promote(x, y);
  else if (x.dtype !== y.dtype) [x, y] = promote(x, y);
  const shape = broadcastShapes(x.shape, y.shape, where);
  return bind(prim, [broadcastTo(x, shape), broadcastTo(y, shape)]);
}

// ---------------------------------------------------------------------------------------------------------
// Elementwise

/**
 * `a + b`, broadcasting. `b` may be a sparse gradient (`SparseRows`): its rows are scatter-added into `a`.
 *
 * @example
 * ```ts
 * import { add, tensor } from "../mod.ts";
 * if (add(tensor([1, 2]), 10).arraySync().toString() !== "11,12") throw new Error();
 * ```
 */
export function add(a: TensorOrNumber, b: TensorOrNumber | SparseRows): Tensor {
  if (b instanceof SparseRows) return addSparse(a as Tensor, b);
  return binaryOp("add", "add", a, b);
}

/**
 * `a - b`, broadcasting. `b` may be a sparse gradient (`SparseRows`): only its rows of `a` change, so
 * `param.sub(g.mul(lr))` is a sparse update.
 *
 * @example
 * ```ts
 * import { SparseRows, sub, tensor } from "../mod.ts";
 * if (sub(tensor([5, 6]), tensor([1])).arraySync().toString() !== "4,5") throw new Error();
 * const g = new SparseRows(tensor([0], { dtype: "int32" }), tensor([[1, 1]]), [2, 2]);
 * if (JSON.stringify(sub(tensor([[5, 5], [5, 5]]), g).arraySync()) !== "[[4,4],[5,5]]") throw new Error();
 * ```
 */
export function sub(a: TensorOrNumber, b: TensorOrNumber | SparseRows): Tensor {
  if (b instanceof SparseRows) return addSparse(a as Tensor, b.neg());
  const [x, y] = toTensors("sub", a, b);
  return binaryOp("add", "sub", x, neg(y.dtype === "bool" ? cast(y, "int32") : y));
}

/**
 * `a * b`, broadcasting.
 *
 * @example
 * ```ts
 * import { mul, tensor } from "../mod.ts";
 * if (mul(tensor([[1], [2]]), tensor([3, 4])).arraySync().toString() !== "3,4,6,8") throw new Error();
 * ```
 */
export function mul(a: TensorOrNumber, b: TensorOrNumber): Tensor {
  return binaryOp("mul", "mul", a, b);
}

/**
 * `a / b` in float32 (integer operands are promoted).
 *
 * @example
 * ```ts
 * import { div, tensor } from "../mod.ts";
 * if (div(tensor([1, 3]), 2).arraySync().toString() !== "0.5,1.5") throw new Error();
 * ```
 */
export function div(a: TensorOrNumber, b: TensorOrNumber): Tensor {
  const [x, y] = toTensors("div", a, b);
  return binaryOp("mul", "div", cast(x, "float32"), bind("recip", [cast(y, "float32")]));
}

/**
 * `a ** b` in float32.
 *
 * @example
 * ```ts
 * import { pow, tensor } from "../mod.ts";
 * if (pow(tensor([2, 3]), 2).arraySync().toString() !== "4,9") throw new Error();
 * ```
 */
export function pow(a: TensorOrNumber, b: TensorOrNumber): Tensor {
  const [x, y] = toTensors("pow", a, b);
  return binaryOp("pow", "pow", cast(x, "float32"), cast(y, "float32"));
}

/**
 * Elementwise maximum.
 *
 * @example
 * ```ts
 * import { maximum, tensor } from "../mod.ts";
 * if (maximum(tensor([1, 5]), 3).arraySync().toString() !== "3,5") throw new Error();
 * ```
 */
export function maximum(a: TensorOrNumber, b: TensorOrNumber): Tensor {
  return binaryOp("max", "maximum", a, b);
}

/**
 * Elementwise minimum.
 *
 * @example
 * ```ts
 * import { minimum, tensor } from "../mod.ts";
 * if (minimum(tensor([1, 5]), 3).arraySync().toString() !== "1,3") throw new Error();
 * ```
 */
export function minimum(a: TensorOrNumber, b: TensorOrNumber): Tensor {
  const [x, y] = toTensors("minimum", a, b);
  return neg(maximum(neg(x), neg(y)));
}

/**
 * `min(max(x, lo), hi)`.
 *
 * @example
 * ```ts
 * import { clip, tensor } from "../mod.ts";
 * if (clip(tensor([-2, 0.5, 9]), 0, 1).arraySync().toString() !== "0,0.5,1") throw new Error();
 * ```
 */
export function clip(x: Tensor, lo: number, hi: number): Tensor {
  return minimum(maximum(x, lo), hi);
}

function floatUnary(prim: "exp" | "log" | "sqrt" | "sin" | "cos" | "tanh" | "recip", x: Tensor): Tensor {
  return bind(prim, [cast(checkTensor(x, prim), "float32")]);
}

/**
 * `-x`.
 *
 * @example
 * ```ts
 * import { neg, tensor } from "../mod.ts";
 * if (neg(tensor([1, -2])).arraySync().toString() !== "-1,2") throw new Error();
 * ```
 */
export function neg(x: Tensor): Tensor {
  checkTensor(x, "neg");
  return bind("neg", [x.dtype === "bool" ? cast(x, "int32") : x]);
}

/**
 * `e ** x`.
 *
 * @example
 * ```ts
 * import { exp, tensor } from "../mod.ts";
 * if (exp(tensor([0])).item() !== 1) throw new Error();
 * ```
 */
export function exp(x: Tensor): Tensor {
  return floatUnary("exp", x);
}

/**
 * Natural logarithm (`log(0) = -Infinity`, negative → NaN).
 *
 * @example
 * ```ts
 * import { log, tensor } from "../mod.ts";
 * if (log(tensor([1])).item() !== 0) throw new Error();
 * ```
 */
export function log(x: Tensor): Tensor {
  return floatUnary("log", x);
}

/**
 * Square root.
 *
 * @example
 * ```ts
 * import { sqrt, tensor } from "../mod.ts";
 * if (sqrt(tensor([9])).item() !== 3) throw new Error();
 * ```
 */
export function sqrt(x: Tensor): Tensor {
  return floatUnary("sqrt", x);
}

/**
 * Sine.
 *
 * @example
 * ```ts
 * import { sin, tensor } from "../mod.ts";
 * if (sin(tensor([0])).item() !== 0) throw new Error();
 * ```
 */
export function sin(x: Tensor): Tensor {
  return floatUnary("sin", x);
}

/**
 * Cosine.
 *
 * @example
 * ```ts
 * import { cos, tensor } from "../mod.ts";
 * if (cos(tensor([0])).item() !== 1) throw new Error();
 * ```
 */
export function cos(x: Tensor): Tensor {
  return floatUnary("cos", x);
}

/**
 * Hyperbolic tangent.
 *
 * @example
 * ```ts
 * import { tanh, tensor } from "../mod.ts";
 * if (tanh(tensor([0])).item() !== 0) throw new Error();
 * ```
 */
export function tanh(x: Tensor): Tensor {
  return floatUnary("tanh", x);
}

/**
 * `x * x`.
 *
 * @example
 * ```ts
 * import { square, tensor } from "../mod.ts";
 * if (square(tensor([3])).item() !== 9) throw new Error();
 * ```
 */
export function square(x: Tensor): Tensor {
  return mul(x, x);
}

/**
 * Absolute value.
 *
 * @example
 * ```ts
 * import { abs, tensor } from "../mod.ts";
 * if (abs(tensor([-2, 3])).arraySync().toString() !== "2,3") throw new Error();
 * ```
 */
export function abs(x: Tensor): Tensor {
  return where(less(x, 0), neg(x), x);
}

/**
 * Sign: -1, 0 or 1.
 *
 * @example
 * ```ts
 * import { sign, tensor } from "../mod.ts";
 * if (sign(tensor([-2, 0, 3])).arraySync().toString() !== "-1,0,1") throw new Error();
 * ```
 */
export function sign(x: Tensor): Tensor {
  return sub(cast(greater(x, 0), x.dtype), cast(less(x, 0), x.dtype));
}

/**
 * Logistic sigmoid `1 / (1 + e^-x)`, written as `(tanh(x/2) + 1) / 2` so that its gradient never overflows.
 *
 * @example
 * ```ts
 * import { sigmoid, tensor } from "../mod.ts";
 * if (sigmoid(tensor([0])).item() !== 0.5) throw new Error();
 * ```
 */
export function sigmoid(x: Tensor): Tensor {
  return add(mul(tanh(mul(x, 0.5)), 0.5), 0.5);
}

/**
 * Rectified linear unit `max(x, 0)` (gradient 0 at 0).
 *
 * @example
 * ```ts
 * import { relu, tensor } from "../mod.ts";
 * if (relu(tensor([-1, 2])).arraySync().toString() !== "0,2") throw new Error();
 * ```
 */
export function relu(x: Tensor): Tensor {
  return where(greater(x, 0), x, zerosLike(x));
}

/**
 * Softplus `log(1 + e^x)`, as `max(x, 0) + log(1 + e^-|x|)` so that it never overflows.
 *
 * @example
 * ```ts
 * import { softplus, tensor } from "../mod.ts";
 * if (Math.abs(softplus(tensor([0])).item() - Math.LN2) > 1e-6) throw new Error();
 * ```
 */
export function softplus(x: Tensor): Tensor {
  return add(relu(x), log(add(exp(neg(abs(x))), 1)));
}

/**
 * The error function, by the Abramowitz–Stegun 7.1.26 rational approximation (absolute error < 1.5e-7,
 * below float32 resolution near 1).
 *
 * @example
 * ```ts
 * import { erf, tensor } from "../mod.ts";
 * if (Math.abs(erf(tensor([1])).item() - 0.8427008) > 1e-6) throw new Error();
 * ```
 */
export function erf(x: Tensor): Tensor {
  const ax = abs(x);
  const t = div(1, add(mul(ax, 0.3275911), 1));
  let poly = mul(t, 1.061405429);
  for (const c of [-1.453152027, 1.421413741, -0.284496736]) poly = mul(add(poly, c), t);
  poly = mul(add(poly, 0.254829592), t);
  const y = sub(1, mul(poly, exp(neg(mul(ax, ax)))));
  return where(less(x, 0), neg(y), y);
}

/**
 * Gaussian error linear unit: `x Φ(x)` with the exact (erf) form, or the tanh approximation of GPT-2 when
 * `approximate` is set.
 *
 * @example
 * ```ts
 * import { gelu, tensor } from "../mod.ts";
 * if (Math.abs(gelu(tensor([1])).item() - 0.8413447) > 1e-5) throw new Error();
 * ```
 */
export function gelu(x: Tensor, options: { approximate?: boolean } = {}): Tensor {
  if (options.approximate) {
    const inner = mul(add(x, mul(pow(x, 3), 0.044715)), Math.sqrt(2 / Math.PI));
    return mul(mul(x, 0.5), add(tanh(inner), 1));
  }
  return mul(mul(x, 0.5), add(erf(mul(x, Math.SQRT1_2)), 1));
}

// ---------------------------------------------------------------------------------------------------------
// Comparisons and selection

/**
 * `a < b` (bool).
 *
 * @example
 * ```ts
 * import { less, tensor } from "../mod.ts";
 * if (JSON.stringify(less(tensor([1, 3]), 2).arraySync()) !== "[true,false]") throw new Error();
 * ```
 */
export function less(a: TensorOrNumber, b: TensorOrNumber): Tensor {
  return binaryOp("less", "less", a, b);
}

/**
 * `a > b` (bool).
 *
 * @example
 * ```ts
 * import { greater, tensor } from "../mod.ts";
 * if (JSON.stringify(greater(tensor([1, 3]), 2).arraySync()) !== "[false,true]") throw new Error();
 * ```
 */
export function greater(a: TensorOrNumber, b: TensorOrNumber): Tensor {
  return binaryOp("less", "greater", b, a);
}

/**
 * `a <= b` (bool).
 *
 * @example
 * ```ts
 * import { lessEqual, tensor } from "../mod.ts";
 * if (JSON.stringify(lessEqual(tensor([2, 3]), 2).arraySync()) !== "[true,false]") throw new Error();
 * ```
 */
export function lessEqual(a: TensorOrNumber, b: TensorOrNumber): Tensor {
  return logicalNot(greater(a, b));
}

/**
 * `a >= b` (bool).
 *
 * @example
 * ```ts
 * import { greaterEqual, tensor } from "../mod.ts";
 * if (JSON.stringify(greaterEqual(tensor([1, 2]), 2).arraySync()) !== "[false,true]") throw new Error();
 * ```
 */
export function greaterEqual(a: TensorOrNumber, b: TensorOrNumber): Tensor {
  return logicalNot(less(a, b));
}

/**
 * `a == b` (bool).
 *
 * @example
 * ```ts
 * import { equal, tensor } from "../mod.ts";
 * if (JSON.stringify(equal(tensor([1, 2]), 2).arraySync()) !== "[false,true]") throw new Error();
 * ```
 */
export function equal(a: TensorOrNumber, b: TensorOrNumber): Tensor {
  return binaryOp("equal", "equal", a, b, false);
}

/**
 * `a != b` (bool).
 *
 * @example
 * ```ts
 * import { notEqual, tensor } from "../mod.ts";
 * if (JSON.stringify(notEqual(tensor([1, 2]), 2).arraySync()) !== "[true,false]") throw new Error();
 * ```
 */
export function notEqual(a: TensorOrNumber, b: TensorOrNumber): Tensor {
  return logicalNot(equal(a, b));
}

function asBool(x: Tensor, where: string): Tensor {
  checkTensor(x, where);
  if (x.dtype !== "bool") {
    throw new TypeError(
      `${where}: expected a bool tensor, got ${x.dtype}; compare first (e.g. x.greater(0))`,
    );
  }
  return x;
}

/**
 * Logical not of a bool tensor.
 *
 * @example
 * ```ts
 * import { logicalNot, tensor } from "../mod.ts";
 * if (JSON.stringify(logicalNot(tensor([true, false])).arraySync()) !== "[false,true]") throw new Error();
 * ```
 */
export function logicalNot(x: Tensor): Tensor {
  return bind("equal", [asBool(x, "logicalNot"), full(x.shape, false, "bool")]);
}

/**
 * Logical and of bool tensors (broadcasting).
 *
 * @example
 * ```ts
 * import { logicalAnd, tensor } from "../mod.ts";
 * if (JSON.stringify(logicalAnd(tensor([true, true]), tensor([true, false])).arraySync()) !== "[true,false]") throw new Error();
 * ```
 */
export function logicalAnd(a: Tensor, b: Tensor): Tensor {
  return where(asBool(a, "logicalAnd"), asBool(b, "logicalAnd"), false);
}

/**
 * Logical or of bool tensors (broadcasting).
 *
 * @example
 * ```ts
 * import { logicalOr, tensor } from "../mod.ts";
 * if (JSON.stringify(logicalOr(tensor([false, false]), tensor([true, false])).arraySync()) !== "[true,false]") throw new Error();
 * ```
 */
export function logicalOr(a: Tensor, b: Tensor): Tensor {
  return where(asBool(a, "logicalOr"), true, asBool(b, "logicalOr"));
}

/**
 * Picks `a` where `condition` is true, else `b`; all three broadcast together.
 *
 * @example
 * ```ts
 * import { tensor, where } from "../mod.ts";
 * const c = tensor([true, false]);
 * if (where(c, tensor([1, 2]), 0).arraySync().toString() !== "1,0") throw new Error();
 * ```
 */
export function where(condition: Tensor, a: TensorOrNumber | boolean, b: TensorOrNumber | boolean): Tensor {
  asBool(condition, "where");
  const toT = (v: TensorOrNumber | boolean, other: TensorOrNumber | boolean): Tensor => {
    if (v instanceof Tensor) return v;
    if (typeof v === "boolean") return full([], v, "bool");
    return scalarFor(v, other instanceof Tensor ? other.dtype : "float32");
  };
  let x = toT(a, b);
  let y = toT(b, a);
  if (x.dtype !== y.dtype) [x, y] = promote(x, y);
  const shape = broadcastShapes(broadcastShapes(condition.shape, x.shape, "where"), y.shape, "where");
  return bind("where", [broadcastTo(condition, shape), broadcastTo(x, shape), broadcastTo(y, shape)]);
}

/**
 * Converts to `dtype`: floats to ints truncate toward zero; to bool means "not zero".
 *
 * @example
 * ```ts
 * import { cast, tensor } from "../mod.ts";
 * if (cast(tensor([1.7, -1.7]), "int32").arraySync().toString() !== "1,-1") throw new Error();
 * ```
 */
export function cast(x: Tensor, dtype: DType): Tensor {
  checkTensor(x, "cast");
  checkDType(dtype, "cast");
  return x.dtype === dtype ? x : bind("cast", [x], { dtype });
}

/**
 * The same value with no gradient flowing through it.
 *
 * @example
 * ```ts
 * import { grad, stopGradient, tensor } from "../mod.ts";
 * const g = grad((x) => x.mul(stopGradient(x)).sum())(tensor([3]));
 * if (g.item() !== 3) throw new Error();
 * ```
 */
export function stopGradient(x: Tensor): Tensor {
  return bind("stop_gradient", [checkTensor(x, "stopGradient")]);
}

// ---------------------------------------------------------------------------------------------------------
// Reductions

function keep(x: Tensor, reduced: Tensor, axes: number[], keepDims: boolean): Tensor {
  return keepDims ? reshape(reduced, x.shape.map((d, i) => (axes.includes(i) ? 1 : d))) : reduced;
}

/**
 * Sum over `axis` (a number, a list, or all axes). Bools sum as int32.
 *
 * @example
 * ```ts
 * import { sum, tensor } from "../mod.ts";
 * const x = tensor([[1, 2], [3, 4]]);
 * if (sum(x).item() !== 10 || sum(x, 0).arraySync().toString() !== "4,6") throw new Error();
 * if (sum(x, 1, true).shape.join() !== "2,1") throw new Error();
 * ```
 */
export function sum(x: Tensor, axis?: number | readonly number[], keepDims = false): Tensor {
  checkTensor(x, "sum");
  const axes = normalizeAxes(axis, x.rank, "sum");
  const v = x.dtype === "bool" ? cast(x, "int32") : x;
  return keep(x, axes.length ? bind("reduce_sum", [v], { axes }) : v, axes, keepDims);
}

/**
 * Mean over `axis` (integers are averaged in float32).
 *
 * @example
 * ```ts
 * import { mean, tensor } from "../mod.ts";
 * if (mean(tensor([1, 2, 3, 4])).item() !== 2.5) throw new Error();
 * ```
 */
export function mean(x: Tensor, axis?: number | readonly number[], keepDims = false): Tensor {
  checkTensor(x, "mean");
  const axes = normalizeAxes(axis, x.rank, "mean");
  const count = axes.reduce((n, a) => n * x.shape[a], 1);
  return div(sum(cast(x, "float32"), axes, keepDims), count);
}

/**
 * Maximum over `axis`: IEEE 754's maximum, so a NaN anywhere gives NaN and +0 counts as larger than -0; the
 * result does not depend on the order of the elements.
 *
 * @example
 * ```ts
 * import { max, tensor } from "../mod.ts";
 * if (max(tensor([[1, 5], [7, 2]]), 1).arraySync().toString() !== "5,7") throw new Error();
 * if (!Number.isNaN(max(tensor([1, NaN, 2])).item()) || !Object.is(max(tensor([-0, 0])).item(), 0)) {
 *   throw new Error();
 * }
 * ```
 */
export function max(x: Tensor, axis?: number | readonly number[], keepDims = false): Tensor {
  checkTensor(x, "max");
  const axes = normalizeAxes(axis, x.rank, "max");
  const v = x.dtype === "bool" ? cast(x, "int32") : x;
  return keep(x, axes.length ? bind("reduce_max", [v], { axes }) : v, axes, keepDims);
}

/**
 * Minimum over `axis`.
 *
 * @example
 * ```ts
 * import { min, tensor } from "../mod.ts";
 * if (min(tensor([[1, 5], [7, 2]]), 1).arraySync().toString() !== "1,2") throw new Error();
 * ```
 */
export function min(x: Tensor, axis?: number | readonly number[], keepDims = false): Tensor {
  return neg(max(neg(checkTensor(x, "min")), axis, keepDims));
}

function argBest(
  x: Tensor,
  axis: number | undefined,
  where: string,
  best: (x: Tensor, a: number) => Tensor,
): Tensor {
  checkTensor(x, where);
  if (axis === undefined) return argBest(reshape(x, [x.size]), 0, where, best);
  const a = normalizeAxis(axis, x.rank, where);
  const top = best(x, a);
  const iota = bind("iota", [], { shape: [...x.shape], axis: a, dtype: "int32" });
  // The first index that reaches the best value, as NumPy returns; NumPy counts NaN as the best, so the first
  // NaN where there is one (the best is NaN then: maxima propagate NaN, and NaN equals nothing). Float32
  // holds every index of an axis up to 2^24 exactly, and backends reduce float32 fastest (the CPU backend's
  // SIMD reductions are float32 only).
  const exact = x.shape[a] <= 2 ** 24;
  const index = exact ? cast(iota, "float32") : iota;
  const best_ = where_(equal(x, top), index, where_(notEqual(x, x), index, x.shape[a]));
  return exact ? cast(min(best_, a), "int32") : min(best_, a);
}
const where_ = where;

/**
 * Index of the maximum along `axis` (default: over the flattened tensor), as int32; ties pick the first.
 *
 * @example
 * ```ts
 * import { argmax, tensor } from "../mod.ts";
 * if (argmax(tensor([[1, 5], [7, 2]]), 1).arraySync().toString() !== "1,0") throw new Error();
 * ```
 */
export function argmax(x: Tensor, axis?: number): Tensor {
  return argBest(x, axis, "argmax", (v, a) => max(v, a, true));
}

/**
 * Index of the minimum along `axis` (default: over the flattened tensor), as int32; ties pick the first.
 *
 * @example
 * ```ts
 * import { argmin, tensor } from "../mod.ts";
 * if (argmin(tensor([[1, 5], [7, 2]]), 1).arraySync().toString() !== "0,1") throw new Error();
 * ```
 */
export function argmin(x: Tensor, axis?: number): Tensor {
  return argBest(x, axis, "argmin", (v, a) => min(v, a, true));
}

/**
 * `log(sum(exp(x)))` over `axis`, shifted by the maximum so that it never overflows.
 *
 * @example
 * ```ts
 * import { logSumExp, tensor } from "../mod.ts";
 * if (Math.abs(logSumExp(tensor([1000, 1000])).item() - (1000 + Math.LN2)) > 1e-3) throw new Error();
 * ```
 */
export function logSumExp(x: Tensor, axis?: number | readonly number[], keepDims = false): Tensor {
  checkTensor(x, "logSumExp");
  const axes = normalizeAxes(axis, x.rank, "logSumExp");
  const top = stopGradient(max(cast(x, "float32"), axes, true));
  // An all -Infinity slice has max -Infinity; shift by 0 there so the result is -Infinity, not NaN.
  const shift = where(equal(sub(top, top), 0), top, 0);
  const out = add(log(sum(exp(sub(x, shift)), axes, true)), shift);
  return keepDims ? out : reshape(out, x.shape.filter((_, i) => !axes.includes(i)));
}

/**
 * Softmax along `axis` (default: last), stable for large inputs.
 *
 * @example
 * ```ts
 * import { softmax, tensor } from "../mod.ts";
 * if (softmax(tensor([1000, 1000])).arraySync().toString() !== "0.5,0.5") throw new Error();
 * ```
 */
export function softmax(x: Tensor, axis = -1): Tensor {
  checkTensor(x, "softmax");
  const e = exp(sub(x, stopGradient(max(x, axis, true))));
  return div(e, sum(e, axis, true));
}

/**
 * Log-softmax along `axis` (default: last): `x - logSumExp(x)`.
 *
 * @example
 * ```ts
 * import { logSoftmax, tensor } from "../mod.ts";
 * if (Math.abs(logSoftmax(tensor([0, 0])).dataSync()[0] + Math.LN2) > 1e-6) throw new Error();
 * ```
 */
export function logSoftmax(x: Tensor, axis = -1): Tensor {
  checkTensor(x, "logSoftmax");
  return sub(x, logSumExp(x, axis, true));
}

// ---------------------------------------------------------------------------------------------------------
// Contraction

/**
 * Matrix product with NumPy `matmul` semantics: the last two axes multiply, leading (batch) axes broadcast,
 * and a 1-D operand is treated as a row (left) or column (right) vector whose axis is then dropped.
 *
 * @example
 * ```ts
 * import { matmul, tensor } from "../mod.ts";
 * const y = matmul(tensor([[1, 2], [3, 4]]), tensor([[1], [1]]));
 * if (y.arraySync().toString() !== "3,7") throw new Error();
 * ```
 */
export function matmul(a: Tensor, b: Tensor): Tensor {
  checkTensor(a, "matmul");
  checkTensor(b, "matmul");
  if (a.rank === 0 || b.rank === 0) {
    throw new RangeError("matmul: operands must have at least one axis; use mul for scalars");
  }
  const x = cast(a.rank === 1 ? reshape(a, [1, a.shape[0]]) : a, "float32");
  const y = cast(b.rank === 1 ? reshape(b, [b.shape[0], 1]) : b, "float32");
  const k = x.shape[x.rank - 1];
  if (k !== y.shape[y.rank - 2]) {
    throw new RangeError(
      `matmul: cannot multiply ${showShape(a.shape)} by ${
        showShape(b.shape)
      }: the left operand's last axis (${k}) ` +
        `must equal the right operand's second-to-last axis (${y.shape[y.rank - 2]}); transpose one of them?`,
    );
  }
  if (y.rank === 2 && x.rank > 2) {
    // [..., m, k] x [k, n]: fold the batch axes into rows, so the right operand is never copied per batch
    // (and its gradient is one matmul, not a sum over broadcast copies).
    const rows = reshape(x, [x.size / k, k]);
    const folded = reshape(bind("matmul", [rows, y]), [...x.shape.slice(0, -1), y.shape[1]]);
    return b.rank === 1 ? reshape(folded, folded.shape.slice(0, -1)) : folded;
  }
  const batch = broadcastShapes(x.shape.slice(0, -2), y.shape.slice(0, -2), "matmul (batch axes)");
  const xs = broadcastTo(x, [...batch, ...x.shape.slice(-2)]);
  const ys = broadcastTo(y, [...batch, ...y.shape.slice(-2)]);
  let out = bind("matmul", [xs, ys]);
  if (a.rank === 1) out = reshape(out, [...batch, out.shape[out.rank - 1]]);
  if (b.rank === 1) out = reshape(out, out.shape.slice(0, -1));
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// Movement

/**
 * Same elements in a new shape; one axis may be -1 (inferred).
 *
 * @example
 * ```ts
 * import { arange, reshape } from "../mod.ts";
 * if (reshape(arange(6), [2, -1]).shape.join() !== "2,3") throw new Error();
 * ```
 */
export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  checkTensor(x, "reshape");
  const holes = shape.filter((d) => d === -1).length;
  if (holes > 1 || shape.some((d) => !Number.isInteger(d) || d < -1)) {
    throw new RangeError(
      `reshape: invalid target shape ${showShape(shape)}; use non-negative sizes and at most one -1`,
    );
  }
  let target = [...shape];
  if (holes === 1) {
    const known = sizeOf(shape.filter((d) => d !== -1));
    if (known === 0 || x.size % known !== 0) {
      throw new RangeError(
        `reshape: cannot reshape ${showShape(x.shape)} (${x.size} elements) into ${
          showShape(shape)
        }: ${x.size} is not a multiple of ${known}`,
      );
    }
    target = shape.map((d) => (d === -1 ? x.size / known : d));
  }
  if (shapesEqual(target, x.shape)) return x;
  return bind("reshape", [x], { shape: target });
}

/**
 * Permutes axes; without `perm`, reverses them (a matrix transpose for 2-D).
 *
 * @example
 * ```ts
 * import { tensor, transpose } from "../mod.ts";
 * if (transpose(tensor([[1, 2, 3]])).shape.join() !== "3,1") throw new Error();
 * ```
 */
export function transpose(x: Tensor, perm?: readonly number[]): Tensor {
  checkTensor(x, "transpose");
  const p = perm === undefined
    ? x.shape.map((_, i) => x.rank - 1 - i)
    : perm.map((a) => normalizeAxis(a, x.rank, "transpose"));
  if (p.every((a, i) => a === i) && p.length === x.rank) return x;
  return bind("transpose", [x], { perm: p });
}

/**
 * Broadcasts to `shape` (NumPy `broadcast_to`): sizes must be equal or 1 after aligning trailing axes.
 *
 * @example
 * ```ts
 * import { expand, tensor } from "../mod.ts";
 * if (expand(tensor([1, 2]), [3, 2]).sum().item() !== 9) throw new Error();
 * ```
 */
export function expand(x: Tensor, shape: readonly number[]): Tensor {
  checkTensor(x, "expand");
  const target = checkShape(shape, "expand");
  const b = broadcastShapes(x.shape, target, "expand");
  if (!shapesEqual(b, target)) {
    throw new RangeError(
      `expand: cannot broadcast ${showShape(x.shape)} to ${showShape(target)} (it would be ${showShape(b)})`,
    );
  }
  return broadcastTo(x, target);
}

/**
 * Removes size-1 axes: all of them, or those in `axis` (which must have size 1).
 *
 * @example
 * ```ts
 * import { squeeze, zeros } from "../mod.ts";
 * if (squeeze(zeros([1, 3, 1])).shape.join() !== "3") throw new Error();
 * ```
 */
export function squeeze(x: Tensor, axis?: number | readonly number[]): Tensor {
  checkTensor(x, "squeeze");
  const axes = axis === undefined
    ? x.shape.flatMap((d, i) => (d === 1 ? [i] : []))
    : normalizeAxes(axis, x.rank, "squeeze");
  for (const a of axes) {
    if (x.shape[a] !== 1) {
      throw new RangeError(`squeeze: axis ${a} of ${showShape(x.shape)} has size ${x.shape[a]}, not 1`);
    }
  }
  return reshape(x, x.shape.filter((_, i) => !axes.includes(i)));
}

/**
 * Inserts a size-1 axis at position `axis` (NumPy `expand_dims`); negative counts from the end of the result.
 *
 * @example
 * ```ts
 * import { unsqueeze, zeros } from "../mod.ts";
 * if (unsqueeze(zeros([3]), -1).shape.join() !== "3,1") throw new Error();
 * ```
 */
export function unsqueeze(x: Tensor, axis: number): Tensor {
  checkTensor(x, "unsqueeze");
  const a = normalizeAxis(axis, x.rank + 1, "unsqueeze");
  const shape = [...x.shape];
  shape.splice(a, 0, 1);
  return reshape(x, shape);
}

/**
 * The block starting at `begin` with extent `size` per axis (TF.js `slice`). Missing trailing entries mean
 * "whole axis"; a size of -1 means "to the end"; negative begins count from the end.
 *
 * @example
 * ```ts
 * import { slice, tensor } from "../mod.ts";
 * const x = tensor([[1, 2, 3], [4, 5, 6]]);
 * if (slice(x, [0, 1], [2, 2]).arraySync().toString() !== "2,3,5,6") throw new Error();
 * if (slice(x, 1).arraySync().toString() !== "4,5,6") throw new Error();
 * ```
 */
export function slice(
  x: Tensor,
  begin: number | readonly number[],
  size?: number | readonly number[],
): Tensor {
  checkTensor(x, "slice");
  const b0 = typeof begin === "number" ? [begin] : [...begin];
  const s0 = size === undefined ? [] : typeof size === "number" ? [size] : [...size];
  if (b0.length > x.rank || s0.length > x.rank) {
    throw new RangeError(
      `slice: begin ${JSON.stringify(begin)} / size ${
        JSON.stringify(size)
      } have more entries than the rank of ${showShape(x.shape)}`,
    );
  }
  const b = x.shape.map((d, i) => {
    const v = b0[i] ?? 0;
    return v < 0 ? v + d : v;
  });
  const s = x.shape.map((d, i) => (s0[i] === undefined || s0[i] === -1 ? d - b[i] : s0[i]));
  x.shape.forEach((d, i) => {
    if (b[i] < 0 || s[i] < 0 || b[i] + s[i] > d) {
      throw new RangeError(
        `slice: axis ${i} of ${showShape(x.shape)} has size ${d}, but the slice asks for [${b[i]}, ${
          b[i] + s[i]
        }); ` +
          "keep begin + size within the axis",
      );
    }
  });
  if (shapesEqual(s, x.shape)) return x;
  return bind("slice", [x], { begin: b, size: s });
}

/**
 * Joins tensors along an existing axis.
 *
 * @example
 * ```ts
 * import { concat, tensor } from "../mod.ts";
 * if (concat([tensor([[1]]), tensor([[2]])], 1).shape.join() !== "1,2") throw new Error();
 * ```
 */
export function concat(tensors: readonly Tensor[], axis = 0): Tensor {
  if (!Array.isArray(tensors) || tensors.length === 0) {
    throw new RangeError("concat: needs a non-empty array of tensors");
  }
  tensors.forEach((t) => checkTensor(t, "concat"));
  const a = normalizeAxis(axis, tensors[0].rank, "concat");
  const dtype = tensors.some((t) => t.dtype === "float32") ? "float32" : tensors[0].dtype;
  const parts = tensors.map((t) => (t.dtype === dtype ? t : cast(t, dtype)));
  if (parts.length === 1) return parts[0];
  return bind("concat", parts, { axis: a });
}

/**
 * Joins same-shape tensors along a new axis.
 *
 * @example
 * ```ts
 * import { stack, tensor } from "../mod.ts";
 * if (stack([tensor([1, 2]), tensor([3, 4])], 1).shape.join() !== "2,2") throw new Error();
 * ```
 */
export function stack(tensors: readonly Tensor[], axis = 0): Tensor {
  if (!Array.isArray(tensors) || tensors.length === 0) {
    throw new RangeError("stack: needs a non-empty array of tensors");
  }
  const first = checkTensor(tensors[0], "stack");
  for (const t of tensors) {
    if (!shapesEqual(checkTensor(t, "stack").shape, first.shape)) {
      throw new RangeError(
        `stack: shapes ${showShape(first.shape)} and ${
          showShape(t.shape)
        } differ; stacked tensors need equal shapes`,
      );
    }
  }
  const a = normalizeAxis(axis, first.rank + 1, "stack");
  return concat(tensors.map((t) => unsqueeze(t, a)), a);
}

/**
 * Pads each axis with `value`: `paddings[i] = [before, after]`.
 *
 * @example
 * ```ts
 * import { pad, tensor } from "../mod.ts";
 * if (pad(tensor([1, 2]), [[1, 2]]).arraySync().toString() !== "0,1,2,0,0") throw new Error();
 * ```
 */
export function pad(x: Tensor, paddings: readonly (readonly [number, number])[], value = 0): Tensor {
  checkTensor(x, "pad");
  if (
    paddings.length !== x.rank ||
    paddings.some((p) => p.length !== 2 || p.some((v) => !Number.isInteger(v) || v < 0))
  ) {
    throw new RangeError(
      `pad: need one [before, after] pair of non-negative integers per axis of ${showShape(x.shape)}, got ${
        JSON.stringify(paddings)
      }`,
    );
  }
  return bind("pad", [x], { low: paddings.map((p) => p[0]), high: paddings.map((p) => p[1]), value });
}

// ---------------------------------------------------------------------------------------------------------
// Indexing

function asIndices(indices: Tensor | readonly number[], where: string): Tensor {
  const t = indices instanceof Tensor ? indices : tensor(indices as number[], { dtype: "int32" });
  if (t.dtype !== "int32") {
    throw new TypeError(
      `${where}: indices must be int32, got ${t.dtype}; use tensor(data, { dtype: "int32" }) or .cast("int32")`,
    );
  }
  return t;
}

/**
 * Picks entries of `x` along `axis` (default 0) at `indices` (NumPy `take`): the result's shape is
 * `x.shape[:axis] + indices.shape + x.shape[axis+1:]`. Its gradient with respect to `x` is sparse when axis is 0.
 * An index outside `[0, size)` is an error.
 *
 * @example
 * ```ts
 * import { take, tensor } from "../mod.ts";
 * const table = tensor([[1, 2], [3, 4], [5, 6]]);
 * if (take(table, [2, 0]).arraySync().toString() !== "5,6,1,2") throw new Error();
 * if (take(table, [1], 1).arraySync().toString() !== "2,4,6") throw new Error();
 * ```
 */
export function take(x: Tensor, indices: Tensor | readonly number[], axis = 0): Tensor {
  checkTensor(x, "take");
  const idx = asIndices(indices, "take");
  const a = normalizeAxis(axis, x.rank, "take");
  if (a === 0) return bind("gather", [x, idx]);
  const front = [a, ...x.shape.map((_, i) => i).filter((i) => i !== a)];
  const gathered = bind("gather", [transpose(x, front), idx]);
  // gathered: [...idx, ...x[:a], ...x[a+1:]] → [...x[:a], ...idx, ...x[a+1:]]
  const ni = idx.rank;
  const perm = [
    ...Array.from({ length: a }, (_, i) => ni + i),
    ...Array.from({ length: ni }, (_, i) => i),
    ...Array.from({ length: x.rank - 1 - a }, (_, i) => ni + a + i),
  ];
  return transpose(gathered, perm);
}

/**
 * Picks one entry per position along `axis` (NumPy `take_along_axis`): `indices` has `x`'s shape except on
 * `axis`. With labels of shape `[batch, 1]`, it reads each row's label logit.
 *
 * @example
 * ```ts
 * import { takeAlongAxis, tensor } from "../mod.ts";
 * const x = tensor([[1, 2, 3], [4, 5, 6]]);
 * const i = tensor([[2], [0]], { dtype: "int32" });
 * if (takeAlongAxis(x, i, 1).arraySync().toString() !== "3,4") throw new Error();
 * ```
 */
export function takeAlongAxis(x: Tensor, indices: Tensor, axis = -1): Tensor {
  checkTensor(x, "takeAlongAxis");
  const idx = asIndices(indices, "takeAlongAxis");
  const a = normalizeAxis(axis, x.rank, "takeAlongAxis");
  if (idx.rank !== x.rank || idx.shape.some((d, i) => i !== a && d !== x.shape[i])) {
    throw new RangeError(
      `takeAlongAxis: indices ${showShape(idx.shape)} must match ${
        showShape(x.shape)
      } on every axis but ${a}`,
    );
  }
  // Flat offsets: position along the other axes times their strides, plus the index times the axis stride.
  let strideAfter = 1;
  for (let i = x.rank - 1; i > a; i--) strideAfter *= x.shape[i];
  let offset = mul(idx, strideAfter);
  let stride = 1;
  for (let i = x.rank - 1; i >= 0; i--) {
    if (i !== a) {
      offset = add(offset, mul(bind("iota", [], { shape: [...idx.shape], axis: i, dtype: "int32" }), stride));
    }
    stride *= x.shape[i];
  }
  // Out-of-range indices would alias other rows once flattened, so they are rejected before gathering.
  return bind("gather", [
    reshape(x, [x.size]),
    where(logicalAnd(greaterEqual(idx, 0), less(idx, x.shape[a])), offset, -1),
  ]);
}

/**
 * One-hot encoding: `[..., depth]` float32 with 1 at each index (indices outside `[0, depth)` give all zeros).
 *
 * @example
 * ```ts
 * import { oneHot, tensor } from "../mod.ts";
 * const y = oneHot(tensor([0, 2], { dtype: "int32" }), 3);
 * if (y.arraySync().toString() !== "1,0,0,0,0,1") throw new Error();
 * ```
 */
export function oneHot(indices: Tensor | readonly number[], depth: number, dtype: DType = "float32"): Tensor {
  const idx = asIndices(indices, "oneHot");
  if (!Number.isInteger(depth) || depth < 1) {
    throw new RangeError(`oneHot: depth must be a positive integer, got ${depth}`);
  }
  const shape = [...idx.shape, depth];
  const classes = bind("iota", [], { shape, axis: idx.rank, dtype: "int32" });
  return cast(equal(unsqueeze(idx, -1), classes), dtype);
}

/**
 * For each position of a 1-D int32 tensor, the position where its value first occurs. Repeated rows of a
 * sparse gradient are summed with it in O(n) (`scatter` into the first positions, then `take` back).
 *
 * @example
 * ```ts
 * import { firstOccurrence, tensor } from "../mod.ts";
 * const first = firstOccurrence(tensor([7, 3, 7, 3, 5], { dtype: "int32" }));
 * if (first.arraySync().toString() !== "0,1,0,1,4") throw new Error();
 * ```
 */
export function firstOccurrence(indices: Tensor): Tensor {
  return bind("first_occurrence", [asIndices(indices, "firstOccurrence")]);
}

/**
 * Returns `x` if it is a Tensor, else throws an error that names `where` (used by layers and losses).
 *
 * @example
 * ```ts
 * import { assertTensor, tensor } from "../mod.ts";
 * assertTensor(tensor([1]), "myLayer");
 * ```
 */
export function assertTensor(x: unknown, where: string): Tensor {
  return checkTensor(x, where);
}
