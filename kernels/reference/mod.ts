/**
 * The reference backend: a plain interpreter of every primitive over typed arrays, written to be obviously
 * correct rather than fast. It is the oracle that every other backend is tested against.
 * Floating-point sums and dot products accumulate in float64 and round once, so results are as exact as
 * float32 outputs allow.
 * @module
 */
import {
  allocHost,
  type Backend,
  type CompileReport,
  type DeviceBuffer,
  type DType,
  type Eqn,
  type Executable,
  type Graph,
  type HostArray,
  type PrimName,
  type PrimParams,
  type Shape,
  sizeOf,
  stridesOf,
  type Var,
} from "../../dsl/ir/mod.ts";
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
 * How the reference backend computes primitive `P`: from its operands' host arrays, its params, and the
 * variables of its operands and result (for shapes and dtypes), a fresh host array.
 *
 * @example
 * ```ts
 * import { REFERENCE_RULES, type ReferenceRule } from "./mod.ts";
 * import { Var } from "../../mod.ts";
 * const rule: ReferenceRule<"neg"> = REFERENCE_RULES.neg;
 * const x = new Var(0, [2], "float32");
 * if (Array.from(rule([new Float32Array([1, -2])], {}, [x], x)).join() !== "-1,2") throw new Error();
 * ```
 */
export type ReferenceRule<P extends PrimName> = (
  xs: readonly HostArray[],
  params: PrimParams<P>,
  ins: readonly Var[],
  out: Var,
) => HostArray;

/** A unary elementwise rule from the scalar function it applies. */
const unary =
  <P extends PrimName>(f: (v: number, dtype: DType) => number): ReferenceRule<P> => ([x], _p, _i, out) =>
    elementwise(out.dtype, x.length, (i) => f(x[i], out.dtype));

/** A binary elementwise rule from the scalar function it applies (`dtype`: the operands'). */
const binary =
  <P extends PrimName>(f: (a: number, b: number, dtype: DType) => number): ReferenceRule<P> =>
  ([x, y], _p, ins, out) => elementwise(out.dtype, x.length, (i) => f(x[i], y[i], ins[0].dtype));

/**
 * The reference rule of every primitive. Typed over `PrimName`: a primitive without a rule fails `deno check`.
 *
 * @example
 * ```ts
 * import { REFERENCE_RULES } from "./mod.ts";
 * import { Var } from "../../mod.ts";
 * const [x, out] = [new Var(0, [2, 2], "float32"), new Var(1, [2], "float32")];
 * const sums = REFERENCE_RULES.reduce_sum([new Float32Array([1, 2, 3, 4])], { axes: [1] }, [x], out);
 * if (Array.from(sums).join() !== "3,7") throw new Error();
 * ```
 */
export const REFERENCE_RULES: { readonly [P in PrimName]: ReferenceRule<P> } = {
  neg: unary((v, dtype) => (dtype === "int32" ? -v | 0 : -v)),
  exp: unary(Math.exp),
  log: unary(Math.log),
  sqrt: unary(Math.sqrt),
  recip: unary((v) => 1 / v),
  sin: unary(Math.sin),
  cos: unary(Math.cos),
  tanh: unary(Math.tanh),
  stop_gradient: unary((v) => v),
  cast: ([x], _p, ins, out) =>
    elementwise(out.dtype, x.length, (i) => castValue(x[i], ins[0].dtype, out.dtype)),

  add: binary((a, b, dtype) => (dtype === "int32" ? (a + b) | 0 : a + b)),
  mul: binary((a, b, dtype) => (dtype === "int32" ? Math.imul(a, b) : a * b)),
  // NaN wins, as in NumPy's maximum.
  max: binary((a, b) => (a !== a || b !== b ? NaN : a > b ? a : b)),
  pow: binary(Math.pow),
  less: binary((a, b) => (a < b ? 1 : 0)),
  equal: binary((a, b) => (a === b ? 1 : 0)),
  where: ([c, x, y], _p, _i, out) => elementwise(out.dtype, c.length, (i) => (c[i] ? x[i] : y[i])),

  reduce_sum: ([x], { axes }, [a], out) => reduce(x, a.shape, axes, out.dtype, "sum"),
  reduce_max: ([x], { axes }, [a], out) => reduce(x, a.shape, axes, out.dtype, "max"),

  reshape: ([x]) => x.slice(),
  transpose: ([x], { perm }, [a], out) => {
    const strides = stridesOf(a.shape);
    return gatherView(x, out.dtype, out.shape, perm.map((p) => strides[p]));
  },
  broadcast: ([x], _p, [a], out) => {
    const strides = stridesOf(a.shape).map((s, i) => (a.shape[i] === 1 ? 0 : s));
    return gatherView(x, out.dtype, out.shape, strides);
  },
  slice: ([x], { begin }, [a], out) => {
    const strides = stridesOf(a.shape);
    return gatherView(x, out.dtype, out.shape, strides, begin.reduce((o, b, i) => o + b * strides[i], 0));
  },
  pad: ([x], { low, value }, [a], out) => {
    const result = allocHost(out.dtype, sizeOf(out.shape)).fill(value);
    const outStrides = stridesOf(out.shape);
    const offsets = viewOffsets(a.shape, outStrides, low.reduce((o, l, i) => o + l * outStrides[i], 0));
    for (let i = 0; i < offsets.length; i++) result[offsets[i]] = x[i];
    return result;
  },
  concat: (xs, { axis }, ins, out) => {
    const result = allocHost(out.dtype, sizeOf(out.shape));
    const outStrides = stridesOf(out.shape);
    let start = 0;
    xs.forEach((part, p) => {
      const offsets = viewOffsets(ins[p].shape, outStrides, start * outStrides[axis]);
      for (let i = 0; i < offsets.length; i++) result[offsets[i]] = part[i];
      start += ins[p].shape[axis];
    });
    return result;
  },

  matmul: ([a, b], _p, ins) => matmul(a, b, ins[0].shape, ins[1].shape),

  gather: ([x, idx], _p, [table], out) => {
    const rows = table.shape[0];
    const rowSize = sizeOf(table.shape.slice(1));
    const result = allocHost(out.dtype, sizeOf(out.shape));
    for (let i = 0; i < idx.length; i++) {
      checkIndex(idx[i], rows);
      for (let j = 0; j < rowSize; j++) result[i * rowSize + j] = x[idx[i] * rowSize + j];
    }
    return result;
  },
  scatter_add: ([base, idx, upd], _p, [table], out) => {
    const rows = table.shape[0];
    const rowSize = sizeOf(table.shape.slice(1));
    const result = base.slice();
    const int = out.dtype === "int32";
    for (let i = 0; i < idx.length; i++) {
      checkIndex(idx[i], rows);
      for (let j = 0; j < rowSize; j++) {
        const o = idx[i] * rowSize + j;
        result[o] = int ? (result[o] + upd[i * rowSize + j]) | 0 : result[o] + upd[i * rowSize + j];
      }
    }
    return result;
  },
  first_occurrence: ([x]) => {
    const first = new Map<number, number>();
    return elementwise("int32", x.length, (i) => {
      const seen = first.get(x[i]);
      if (seen !== undefined) return seen;
      first.set(x[i], i);
      return i;
    });
  },

  full: (_xs, { value }, _i, out) =>
    allocHost(out.dtype, sizeOf(out.shape)).fill(castValue(value, "float32", out.dtype)),
  iota: (_xs, { axis }, _i, out) => {
    const strides = stridesOf(out.shape);
    return elementwise(out.dtype, sizeOf(out.shape), (i) => Math.floor(i / strides[axis]) % out.shape[axis]);
  },
  random_bits: ([key], { stream }, _i, out) => {
    const n = sizeOf(out.shape);
    const result = new Int32Array(n);
    for (let i = 0; i < n; i++) result[i] = threefry2x32(key[0], key[1], stream, i)[0];
    return result;
  },
};

/**
 * Runs one equation on host arrays through its rule in `REFERENCE_RULES`. Other backends use it for
 * primitives they run on the host.
 *
 * @example
 * ```ts
 * import { makeEqn, Var } from "../../mod.ts";
 * import { executeEqn } from "./mod.ts";
 * const [x, y] = [new Var(0, [2], "float32"), new Var(1, [2], "float32")];
 * const out = executeEqn(makeEqn("neg", [x], {}, y), [new Float32Array([1, -2])]);
 * if (Array.from(out).join() !== "-1,2") throw new Error();
 * ```
 */
export function executeEqn(e: Eqn, xs: readonly HostArray[]): HostArray {
  const rule = REFERENCE_RULES[e.prim] as ReferenceRule<PrimName>;
  return rule(xs, e.params, e.inputs, e.out);
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
  return {
    name: "reference",
    fromHost: (data) => data.slice(),
    read: (buffer) => Promise.resolve((buffer as Arr).slice()),
    readSync: (buffer) => (buffer as Arr).slice(),
    explain(graph: Graph): CompileReport {
      // The reference interprets every equation of the graph as it is: one "kernel" per equation.
      const names = graph.names();
      return {
        backend: "reference",
        optimized: graph,
        kernels: graph.eqns.map((e, i) => ({
          kind: "interpreted",
          summary: `${e.prim} ${e.inputs.map((v) => names.get(v)).join(", ")}`,
          eqns: [i],
          inputs: e.inputs.map((v) => names.get(v)!),
          output: names.get(e.out)!,
          code: { language: "none", text: `REFERENCE_RULES.${e.prim} (kernels/reference/mod.ts)` },
        })),
      };
    },
    compile(graph: Graph): Executable {
      return {
        run(inputs) {
          const env = new Map<Var, DeviceBuffer>();
          [...graph.inputs, ...graph.captures.map((c) => c.v)].forEach((v, i) => env.set(v, inputs[i]));
          for (const e of graph.eqns) env.set(e.out, executeEqn(e, e.inputs.map((v) => env.get(v) as Arr)));
          return graph.outputs.map((v) => env.get(v));
        },
      };
    },
  };
}
