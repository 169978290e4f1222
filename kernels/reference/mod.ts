/**
 * The reference backend: a plain interpreter of every primitive over typed arrays, written to be obviously
 * correct rather than fast. It is the oracle that every other backend is tested against.
 * Floating-point sums and dot products accumulate in float64 and round once, so results are as exact as
 * float32 outputs allow.
 * @module
 */
import type { Backend, DeviceBuffer, Executable } from "../backend.ts";
import { allocHost, type DType, type HostArray } from "../../dsl/dtype.ts";
import type { Eqn, Graph, Params, Var } from "../../dsl/graph.ts";
import { type Shape, sizeOf, stridesOf } from "../../dsl/shape.ts";
import { threefry2x32 } from "./threefry.ts";

type Arr = HostArray;

/** For each output element, the flat offset of the input element it reads (a generic strided view). */
function viewOffsets(outShape: Shape, inStrides: readonly number[], base = 0): Int32Array {
  const n = sizeOf(outShape);
  const offsets = new Int32Array(n);
  const rank = outShape.length;
  const index = new Array<number>(rank).fill(0);
  let offset = base;
  for (let i = 0; i < n; i++) {
    offsets[i] = offset;
    for (let a = rank - 1; a >= 0; a--) {
      index[a]++;
      offset += inStrides[a];
      if (index[a] < outShape[a]) break;
      offset -= inStrides[a] * outShape[a];
      index[a] = 0;
    }
  }
  return offsets;
}

function gatherView(x: Arr, dtype: DType, outShape: Shape, inStrides: readonly number[], base = 0): Arr {
  const offsets = viewOffsets(outShape, inStrides, base);
  const out = allocHost(dtype, offsets.length);
  for (let i = 0; i < offsets.length; i++) out[i] = x[offsets[i]];
  return out;
}

function elementwise(dtype: DType, n: number, f: (i: number) => number): Arr {
  const out = allocHost(dtype, n);
  for (let i = 0; i < n; i++) out[i] = f(i);
  return out;
}

function unaryFn(prim: string, dtype: DType): (v: number) => number {
  switch (prim) {
    case "neg":
      return dtype === "int32" ? (v) => -v | 0 : (v) => -v;
    case "exp":
      return Math.exp;
    case "log":
      return Math.log;
    case "sqrt":
      return Math.sqrt;
    case "recip":
      return (v) => 1 / v;
    case "sin":
      return Math.sin;
    case "cos":
      return Math.cos;
    case "tanh":
      return Math.tanh;
    case "stop_gradient":
      return (v) => v;
  }
  throw new Error(`reference: no unary rule for ${prim}`);
}

function binaryFn(prim: string, dtype: DType): (a: number, b: number) => number {
  const int = dtype === "int32";
  switch (prim) {
    case "add":
      return int ? (a, b) => (a + b) | 0 : (a, b) => a + b;
    case "mul":
      return int ? Math.imul : (a, b) => a * b;
    case "max":
      // NaN wins, as in NumPy's maximum.
      return (a, b) => (a !== a || b !== b ? NaN : a > b ? a : b);
    case "pow":
      return Math.pow;
    case "less":
      return (a, b) => (a < b ? 1 : 0);
    case "equal":
      return (a, b) => (a === b ? 1 : 0);
  }
  throw new Error(`reference: no binary rule for ${prim}`);
}

function castValue(v: number, from: DType, to: DType): number {
  if (to === "bool") return v !== 0 ? 1 : 0;
  if (to === "int32" && from === "float32") return Number.isFinite(v) ? Math.trunc(v) | 0 : 0;
  return v;
}

/**
 * Whether a max reduction holding `acc` takes `v` instead: IEEE 754's maximum, so NaN wins and stays, and +0
 * beats -0. That makes the result independent of the order of the elements, so backends may split and
 * vectorise max reductions freely.
 */
function takesMax(acc: number, v: number): boolean {
  return acc === acc && (v !== v || v > acc || (v === 0 && acc === 0 && 1 / acc < 0));
}

function reduce(x: Arr, shape: Shape, axes: readonly number[], dtype: DType, kind: "sum" | "max"): Arr {
  const outShape = shape.filter((_, i) => !axes.includes(i));
  const outStrides = stridesOf(outShape);
  // Stride of each input axis in the output (0 for reduced axes), so every input element finds its slot.
  const map: number[] = [];
  let k = 0;
  shape.forEach((_, i) => map.push(axes.includes(i) ? 0 : outStrides[k++]));
  const offsets = viewOffsets(shape, map);
  const n = sizeOf(outShape);
  const acc = new Float64Array(n).fill(kind === "sum" ? 0 : -Infinity);
  for (let i = 0; i < x.length; i++) {
    const o = offsets[i];
    const v = x[i];
    if (kind === "sum") acc[o] += v;
    else if (takesMax(acc[o], v)) acc[o] = v;
  }
  const out = allocHost(dtype, n);
  for (let i = 0; i < n; i++) {
    out[i] = dtype === "int32" && kind === "max" && acc[i] === -Infinity ? -(2 ** 31) : acc[i];
  }
  return out;
}

function matmul(a: Arr, b: Arr, aShape: Shape, bShape: Shape): Arr {
  const r = aShape.length;
  const m = aShape[r - 2];
  const k = aShape[r - 1];
  const n = bShape[r - 1];
  const batch = sizeOf(aShape.slice(0, -2));
  const out = new Float32Array(batch * m * n);
  for (let p = 0; p < batch; p++) {
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let q = 0; q < k; q++) s += a[p * m * k + i * k + q] * b[p * k * n + q * n + j];
        out[p * m * n + i * n + j] = s;
      }
    }
  }
  return out;
}

function checkIndex(index: number, size: number): void {
  if (!(index >= 0 && index < size)) {
    throw new RangeError(
      `gather (take/embed): index ${index} is out of range for an axis of size ${size}; indices must be in [0, ${size})`,
    );
  }
}

/**
 * Runs one primitive on host arrays. Exported for the CPU backend, which falls back to it for rare ops.
 *
 * @example
 * ```ts
 * import { Var } from "../../mod.ts";
 * import { executePrimitive } from "./mod.ts";
 * const x = new Var(0, [2], "float32");
 * const out = executePrimitive("neg", {}, [x], new Var(1, [2], "float32"), [new Float32Array([1, -2])]);
 * if (Array.from(out).join() !== "-1,2") throw new Error();
 * ```
 */
export function executePrimitive(
  prim: string,
  params: Params,
  ins: readonly Var[],
  out: Var,
  xs: readonly Arr[],
): Arr {
  const n = sizeOf(out.shape);
  const [x, y, z] = xs;
  switch (prim) {
    case "neg":
    case "exp":
    case "log":
    case "sqrt":
    case "recip":
    case "sin":
    case "cos":
    case "tanh":
    case "stop_gradient": {
      const f = unaryFn(prim, out.dtype);
      return elementwise(out.dtype, n, (i) => f(x[i]));
    }
    case "cast":
      return elementwise(out.dtype, n, (i) => castValue(x[i], ins[0].dtype, out.dtype));
    case "add":
    case "mul":
    case "max":
    case "pow":
    case "less":
    case "equal": {
      const f = binaryFn(prim, ins[0].dtype);
      return elementwise(out.dtype, n, (i) => f(x[i], y[i]));
    }
    case "where":
      return elementwise(out.dtype, n, (i) => (x[i] ? y[i] : z[i]));
    case "sum":
      return reduce(x, ins[0].shape, params.axes as number[], out.dtype, "sum");
    case "reduce_max":
      return reduce(x, ins[0].shape, params.axes as number[], out.dtype, "max");
    case "reshape":
      return x.slice();
    case "transpose": {
      const strides = stridesOf(ins[0].shape);
      return gatherView(x, out.dtype, out.shape, (params.perm as number[]).map((a) => strides[a]));
    }
    case "broadcast": {
      const strides = stridesOf(ins[0].shape).map((s, i) => (ins[0].shape[i] === 1 ? 0 : s));
      return gatherView(x, out.dtype, out.shape, strides);
    }
    case "slice": {
      const strides = stridesOf(ins[0].shape);
      const base = (params.begin as number[]).reduce((o, b, i) => o + b * strides[i], 0);
      return gatherView(x, out.dtype, out.shape, strides, base);
    }
    case "pad": {
      const result = allocHost(out.dtype, n).fill(params.value as number);
      const outStrides = stridesOf(out.shape);
      const base = (params.low as number[]).reduce((o, l, i) => o + l * outStrides[i], 0);
      const offsets = viewOffsets(ins[0].shape, outStrides, base);
      for (let i = 0; i < offsets.length; i++) result[offsets[i]] = x[i];
      return result;
    }
    case "concat": {
      const axis = params.axis as number;
      const result = allocHost(out.dtype, n);
      const outStrides = stridesOf(out.shape);
      let start = 0;
      xs.forEach((part, p) => {
        const offsets = viewOffsets(ins[p].shape, outStrides, start * outStrides[axis]);
        for (let i = 0; i < offsets.length; i++) result[offsets[i]] = part[i];
        start += ins[p].shape[axis];
      });
      return result;
    }
    case "matmul":
      return matmul(x, y, ins[0].shape, ins[1].shape);
    case "gather": {
      const rows = ins[0].shape[0];
      const rowSize = sizeOf(ins[0].shape.slice(1));
      const result = allocHost(out.dtype, n);
      for (let i = 0; i < y.length; i++) {
        checkIndex(y[i], rows);
        for (let j = 0; j < rowSize; j++) result[i * rowSize + j] = x[y[i] * rowSize + j];
      }
      return result;
    }
    case "scatter_add": {
      const rows = ins[0].shape[0];
      const rowSize = sizeOf(ins[0].shape.slice(1));
      const result = x.slice();
      const int = out.dtype === "int32";
      for (let i = 0; i < y.length; i++) {
        checkIndex(y[i], rows);
        for (let j = 0; j < rowSize; j++) {
          const o = y[i] * rowSize + j;
          result[o] = int ? (result[o] + z[i * rowSize + j]) | 0 : result[o] + z[i * rowSize + j];
        }
      }
      return result;
    }
    case "first_occurrence": {
      const first = new Map<number, number>();
      return elementwise("int32", n, (i) => {
        const seen = first.get(x[i]);
        if (seen !== undefined) return seen;
        first.set(x[i], i);
        return i;
      });
    }
    case "full":
      return allocHost(out.dtype, n).fill(castValue(params.value as number, "float32", out.dtype));
    case "iota": {
      const axis = params.axis as number;
      const strides = stridesOf(out.shape);
      return elementwise(out.dtype, n, (i) => Math.floor(i / strides[axis]) % out.shape[axis]);
    }
    case "random_bits": {
      const result = new Int32Array(n);
      const stream = params.stream as number;
      for (let i = 0; i < n; i++) result[i] = threefry2x32(x[0], x[1], stream, i)[0];
      return result;
    }
  }
  throw new Error(`reference backend: primitive "${prim}" is not implemented`);
}

/**
 * Creates the reference backend.
 *
 * @example
 * ```ts
 * import { createReferenceBackend } from "./mod.ts";
 * const backend = createReferenceBackend();
 * const buf = backend.fromHost(new Float32Array([1, 2]), [2], "float32");
 * if ((await backend.read(buf, [2], "float32"))[1] !== 2) throw new Error();
 * ```
 */
export function createReferenceBackend(): Backend {
  const execute = (eqn: Eqn, inputs: readonly DeviceBuffer[]) =>
    executePrimitive(eqn.prim, eqn.params, eqn.inputs, eqn.out, inputs as Arr[]);
  return {
    name: "reference",
    fromHost: (data) => data.slice(),
    read: (buffer) => Promise.resolve((buffer as Arr).slice()),
    readSync: (buffer) => (buffer as Arr).slice(),
    execute,
    compile(graph: Graph): Executable {
      return {
        run(inputs) {
          const env = new Map<Var, DeviceBuffer>();
          [...graph.inputs, ...graph.captures.map((c) => c.v)].forEach((v, i) => env.set(v, inputs[i]));
          for (const e of graph.eqns) env.set(e.out, execute(e, e.inputs.map((v) => env.get(v))));
          return graph.outputs.map((v) => env.get(v));
        },
      };
    },
  };
}
