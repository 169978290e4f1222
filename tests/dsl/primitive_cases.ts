/**
 * One test case per primitive, typed over `PrimName` so that adding a primitive without a case fails
 * `deno check`: operands drawn from a seed (in each primitive's domain, with distinct values where ties
 * would make the derivative ambiguous), its params, and which operands are differentiable.
 */
import { type PrimName, type PrimParams, type Tensor, tensor } from "../../mod.ts";
import { distinctTensor, randomTensor, rng } from "../helpers.ts";

/** How one primitive is exercised. */
export interface PrimitiveCase<P extends PrimName> {
  /** The operands, from a seed. */
  operands(seed: number): Tensor[];
  /** The params. */
  params: PrimParams<P>;
  /** Operands along which the primitive is differentiable (float32, with a finite-difference derivative). */
  differentiable: number[];
  /** Whether finite differences agree with its derivative (false for stop_gradient, whose JVP is zero). */
  smooth?: boolean;
}

const floats = (seed: number, shape: number[], lo = -1, hi = 1) => randomTensor(rng(seed), shape, { lo, hi });
const ints = (values: number[], shape?: number[]) =>
  tensor(values, { dtype: "int32", shape: shape ?? [values.length] });
const indices = (seed: number, count: number, rows: number) => {
  const r = rng(seed);
  return ints(Array.from({ length: count }, () => Math.floor(r() * rows)));
};

/** Every primitive's case. */
export const PRIMITIVE_CASES: { readonly [P in PrimName]: PrimitiveCase<P> } = {
  neg: { operands: (s) => [floats(s, [2, 3])], params: {}, differentiable: [0] },
  exp: { operands: (s) => [floats(s, [2, 3])], params: {}, differentiable: [0] },
  log: { operands: (s) => [floats(s, [2, 3], 0.5, 2)], params: {}, differentiable: [0] },
  sqrt: { operands: (s) => [floats(s, [2, 3], 0.5, 2)], params: {}, differentiable: [0] },
  recip: { operands: (s) => [floats(s, [2, 3], 0.5, 2)], params: {}, differentiable: [0] },
  sin: { operands: (s) => [floats(s, [2, 3])], params: {}, differentiable: [0] },
  cos: { operands: (s) => [floats(s, [2, 3])], params: {}, differentiable: [0] },
  tanh: { operands: (s) => [floats(s, [2, 3])], params: {}, differentiable: [0] },
  stop_gradient: { operands: (s) => [floats(s, [2, 3])], params: {}, differentiable: [0], smooth: false },
  cast: { operands: (s) => [floats(s, [2, 3])], params: { dtype: "float32" }, differentiable: [0] },
  add: { operands: (s) => [floats(s, [2, 3]), floats(s + 1, [2, 3])], params: {}, differentiable: [0, 1] },
  mul: { operands: (s) => [floats(s, [2, 3]), floats(s + 1, [2, 3])], params: {}, differentiable: [0, 1] },
  max: {
    // Distinct values on both sides, so no tie sits within a finite-difference step.
    operands: (s) => [distinctTensor(rng(s), [2, 3], 0.3), distinctTensor(rng(s + 1), [2, 3], 0.3).add(0.1)],
    params: {},
    differentiable: [0, 1],
  },
  pow: {
    operands: (s) => [floats(s, [2, 3], 0.5, 2), floats(s + 1, [2, 3])],
    params: {},
    differentiable: [0, 1],
  },
  less: { operands: (s) => [floats(s, [2, 3]), floats(s + 1, [2, 3])], params: {}, differentiable: [] },
  equal: { operands: (s) => [ints([1, 2, 3, 1, 2, 3]), indices(s, 6, 3)], params: {}, differentiable: [] },
  where: {
    operands: (s) => [floats(s, [2, 3]).less(0), floats(s + 1, [2, 3]), floats(s + 2, [2, 3])],
    params: {},
    differentiable: [1, 2],
  },
  reduce_sum: { operands: (s) => [floats(s, [2, 3, 2])], params: { axes: [0, 2] }, differentiable: [0] },
  reduce_max: {
    operands: (s) => [distinctTensor(rng(s), [2, 3], 0.3)],
    params: { axes: [1] },
    differentiable: [0],
  },
  reshape: { operands: (s) => [floats(s, [2, 3])], params: { shape: [3, 1, 2] }, differentiable: [0] },
  transpose: { operands: (s) => [floats(s, [2, 3, 4])], params: { perm: [2, 0, 1] }, differentiable: [0] },
  broadcast: { operands: (s) => [floats(s, [1, 3])], params: { shape: [2, 3] }, differentiable: [0] },
  slice: {
    operands: (s) => [floats(s, [3, 4])],
    params: { begin: [1, 0], size: [2, 3] },
    differentiable: [0],
  },
  pad: {
    operands: (s) => [floats(s, [2, 3])],
    params: { low: [1, 0], high: [0, 2], value: 0.5 },
    differentiable: [0],
  },
  concat: {
    operands: (s) => [floats(s, [2, 3]), floats(s + 1, [2, 1])],
    params: { axis: 1 },
    differentiable: [0, 1],
  },
  matmul: {
    operands: (s) => [floats(s, [2, 2, 3]), floats(s + 1, [2, 3, 4])],
    params: {},
    differentiable: [0, 1],
  },
  gather: { operands: (s) => [floats(s, [4, 3]), indices(s + 1, 5, 4)], params: {}, differentiable: [0] },
  scatter_add: {
    operands: (s) => [floats(s, [4, 3]), indices(s + 1, 5, 4), floats(s + 2, [5, 3])],
    params: {},
    differentiable: [0, 2],
  },
  first_occurrence: { operands: (s) => [indices(s, 7, 3)], params: {}, differentiable: [] },
  full: { operands: () => [], params: { shape: [2, 3], value: 1.5, dtype: "float32" }, differentiable: [] },
  iota: { operands: () => [], params: { shape: [2, 3], axis: 1, dtype: "int32" }, differentiable: [] },
  random_bits: {
    operands: (s) => [ints([s, s * 7 + 1])],
    params: { shape: [2, 3], stream: 4 },
    differentiable: [],
  },
};
