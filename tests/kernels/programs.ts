/**
 * Random programs for comparing backends: each step applies one of 18 ops (elementwise chains, reductions
 * kept for broadcasting, softmax, matmul, where, pad, slice, concat, take) to earlier values.
 */
import fc from "fast-check";
import * as L from "../../mod.ts";
import type { Tensor } from "../../mod.ts";

/**
 * Every primitive at least once, in groups, each a function of one float32 [3, 4] tensor with values in
 * [0.2, 2] (so log, sqrt and pow are defined), returning the tensors to compare.
 */
export const PRIMITIVE_CASES: [string, (x: Tensor) => unknown][] = [
  ["neg exp log sqrt recip sin cos tanh", (x) => [
    x.neg(),
    x.exp(),
    x.log(),
    x.sqrt(),
    L.div(1, x),
    x.sin(),
    x.cos(),
    x.tanh(),
    x.mul(-20).tanh(),
  ]],
  ["stop_gradient cast", (x) => [
    x.stopGradient(),
    x.mul(3).cast("int32"),
    x.mul(-3).cast("int32"),
    x.greater(1).cast("float32"),
    x.greater(1).cast("int32"),
    x.cast("bool"),
    x.mul(4).cast("int32").cast("float32"),
  ]],
  ["add mul max pow less equal where", (x) => {
    const y = x.transpose().reshape([3, 4]);
    return [
      x.add(y),
      x.mul(y),
      x.maximum(y),
      x.pow(y),
      x.neg().pow(L.full([3, 4], 3)),
      x.pow(0),
      x.less(y),
      x.equal(x),
      x.greater(1).equal(y.greater(1)),
      L.where(x.less(y), x, y),
    ];
  }],
  ["int arithmetic", (x) => {
    const i = x.mul(10).cast("int32");
    return [
      i.add(i),
      i.mul(i),
      i.neg(),
      i.maximum(3),
      i.sum(),
      i.max(0),
      i.less(5),
      L.where(i.less(5), i, 7),
    ];
  }],
  ["bool masks read by several kernels", (x) => {
    const mask = x.greater(1);
    return [mask, L.where(mask, x, 0).sum(0), L.where(mask, x.neg(), x.exp()), mask.cast("float32").mul(x)];
  }],
  ["sum reduce_max", (x) => [
    x.sum(),
    x.sum(0),
    x.sum(1, true),
    x.max(),
    x.max(0),
    x.min(1),
    x.expand([2, 3, 4]).sum([0, 2]),
    x.expand([2, 3, 4]).max([0, 2]),
  ]],
  ["reshape transpose broadcast slice pad concat", (x) => [
    x.reshape([2, 6]),
    x.transpose(),
    x.expand([2, 3, 4]),
    x.reshape([3, 1, 4]).expand([3, 5, 4]),
    x.slice([1, 1], [2, 2]),
    x.pad([[1, 0], [2, 1]], -1),
    x.cast("int32").pad([[0, 2], [1, 1]], 7),
    L.concat([x, x.neg()], 1),
    L.concat([x, x, x.mul(2)], 0),
  ]],
  ["matmul", (x) => [
    L.matmul(x, x.transpose()),
    L.matmul(x.transpose(), x),
    L.matmul(x.expand([2, 3, 4]), x.transpose().expand([2, 4, 3])),
  ]],
  ["gather scatter_add first_occurrence", (x) => {
    const idx = L.tensor([2, 0, 2], { dtype: "int32" });
    return [
      L.take(x, idx),
      L.take(x.cast("int32"), idx),
      (L.grad((t: Tensor) => L.take(t, idx).square().sum(), { sparse: true })(x) as L.SparseRows).toDense(),
      L.firstOccurrence(L.tensor([4, 1, 4, 4, 0, 1], { dtype: "int32" })),
    ];
  }],
  ["full iota random_bits", (x) => [
    L.zeros([2, 3]).add(x.sum()),
    L.full([2, 2], 2.5).cast("int32"),
    L.arange(5).mul(2),
    L.eye(3),
    L.random.uniform(L.random.key(3), [7]),
    L.random.normal(L.random.key(4), [2, 5]),
    L.random.bernoulli(L.random.key(5), 0.3, [9]),
  ]],
];

/** One step: [op, first operand, second operand, axis]. */
export const stepArb = fc.tuple(
  fc.integer({ min: 0, max: 17 }),
  fc.nat(),
  fc.nat(),
  fc.integer({ min: 0, max: 1 }),
);

/** `count` random programs (seeded): [size n, steps, data seed]. */
export function samplePrograms(
  count: number,
  seed: number,
  maxSteps: number,
): [number, [number, number, number, number][], number][] {
  return fc.sample(
    fc.tuple(
      fc.integer({ min: 1, max: 5 }),
      fc.array(stepArb, { minLength: 1, maxLength: maxSteps }),
      fc.integer({ min: 1, max: 1e6 }),
    ),
    { numRuns: count, seed },
  );
}

/** Runs the steps over square n×n `inputs`; returns the last value. */
export function runProgram(steps: readonly [number, number, number, number][], inputs: Tensor[]): Tensor {
  const values = [...inputs];
  const n = inputs[0].shape[0];
  for (const [op, i, j, axis] of steps) {
    const a = values[i % values.length];
    const b = values[j % values.length];
    const next = [
      () => a.tanh().exp(),
      () => a.add(b),
      () => a.mul(b).sub(a),
      () => L.div(a, b.abs().add(0.5)),
      () => a.abs().add(0.1).sqrt(),
      () => a.abs().add(0.5).log(),
      () => a.relu().add(b.sigmoid()),
      () => a.gelu().add(b.softplus()),
      () => a.transpose(),
      () => a.add(a.max(axis, true)),
      () => a.sub(a.mean(axis, true)),
      () => L.softmax(a, axis),
      () => L.logSoftmax(b, axis).add(a),
      () => L.matmul(a, b).mul(0.3),
      () => L.where(a.greater(b), a, b.mul(2)),
      () => (n > 1 ? L.pad(L.slice(a, [1, 0], [n - 1, n]), [[0, 1], [0, 0]], 0.5) : a.neg()),
      () => L.slice(L.concat([a, b], 1), [0, 1], [n, n]),
      () =>
        L.take(a, L.arange(n).mul(7).add(axis).cast("int32").sub(L.arange(n).mul(7)).cast("int32").mul(0))
          .add(b),
    ][op]();
    values.push(next);
  }
  return values[values.length - 1];
}
