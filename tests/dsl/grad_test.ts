/**
 * Gradient checks against central finite differences for every op of the core, on random shapes (with
 * broadcasting) and several seeds, plus higher-order gradients.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import * as L from "../../mod.ts";
import { grad, SparseRows, Tensor, tensor } from "../../mod.ts";
import { checkGrad, distinctTensor, randomTensor, rng, weighted } from "../helpers.ts";

const shapeArb = fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 0, maxLength: 3 });

/** Two shapes that broadcast together: each drops some leading axes and turns some axes into 1. */
const broadcastPairArb = shapeArb.chain((out) =>
  fc.tuple(
    fc.constant(out),
    fc.integer({ min: 0, max: out.length }),
    fc.integer({ min: 0, max: out.length }),
    fc.array(fc.boolean(), { minLength: out.length, maxLength: out.length }),
    fc.array(fc.boolean(), { minLength: out.length, maxLength: out.length }),
  ).map(([o, dropA, dropB, onesA, onesB]) => [
    o.slice(dropA).map((d, i) => (onesA[i + dropA] ? 1 : d)),
    o.slice(dropB).map((d, i) => (onesB[i + dropB] ? 1 : d)),
  ])
);

const RUNS = { numRuns: 8 };

interface UnaryCase {
  f: (x: Tensor) => Tensor;
  lo?: number;
  hi?: number;
  away?: number;
  distinct?: boolean;
}

const unaryCases: Record<string, UnaryCase> = {
  neg: { f: L.neg },
  exp: { f: L.exp },
  log: { f: L.log, lo: 0.3, hi: 2 },
  sqrt: { f: L.sqrt, lo: 0.3, hi: 2 },
  abs: { f: L.abs, away: 0.05 },
  tanh: { f: L.tanh, lo: -2, hi: 2 },
  sigmoid: { f: L.sigmoid, lo: -3, hi: 3 },
  relu: { f: L.relu, away: 0.05 },
  gelu: { f: (x) => L.gelu(x), lo: -3, hi: 3 },
  geluApproximate: { f: (x) => L.gelu(x, { approximate: true }), lo: -3, hi: 3 },
  softplus: { f: L.softplus, lo: -3, hi: 3 },
  sin: { f: L.sin, lo: -3, hi: 3 },
  cos: { f: L.cos, lo: -3, hi: 3 },
  square: { f: L.square },
  erf: { f: L.erf, lo: -2, hi: 2 },
  powScalar: { f: (x) => L.pow(x, 3) },
  powFractional: { f: (x) => L.pow(x, 1.5), lo: 0.3, hi: 2 },
  sign: { f: (x) => L.sign(x).mul(x), away: 0.05 },
  // Bounds sit between the grid points of distinctTensor (values ≡ [0, 0.02] mod 0.05), away from the kinks.
  clip: { f: (x) => L.clip(x, -0.265, 0.335), distinct: true },
  sumAll: { f: (x) => L.sum(x) },
  meanAll: { f: (x) => L.mean(x) },
  maxAll: { f: (x) => L.max(x), distinct: true },
  minAll: { f: (x) => L.min(x), distinct: true },
  logSumExpAll: { f: (x) => L.logSumExp(x), lo: -3, hi: 3 },
};

for (const [name, c] of Object.entries(unaryCases)) {
  Deno.test(`grad: ${name} matches finite differences on random shapes`, () => {
    fc.assert(
      fc.property(shapeArb, fc.integer({ min: 1, max: 1e6 }), (shape, seed) => {
        const r = rng(seed);
        const x = c.distinct
          ? distinctTensor(r, shape, 0.1)
          : randomTensor(r, shape, { lo: c.lo, hi: c.hi, awayFromZero: c.away });
        checkGrad((x) => weighted(seed)(c.f(x)), [x], { label: `${name} ${JSON.stringify(shape)}` });
      }),
      RUNS,
    );
  });
}

const binaryCases: Record<
  string,
  { f: (a: Tensor, b: Tensor) => Tensor; positiveA?: boolean; apart?: boolean }
> = {
  add: { f: L.add },
  sub: { f: L.sub },
  mul: { f: L.mul },
  div: { f: L.div, apart: true },
  pow: { f: L.pow, positiveA: true },
  maximum: { f: L.maximum, apart: true },
  minimum: { f: L.minimum, apart: true },
  where: { f: (a, b) => L.where(L.greater(a, b), a.mul(2), b.exp()), apart: true },
};

for (const [name, c] of Object.entries(binaryCases)) {
  Deno.test(`grad: ${name} matches finite differences with broadcasting`, () => {
    fc.assert(
      fc.property(broadcastPairArb, fc.integer({ min: 1, max: 1e6 }), ([sa, sb], seed) => {
        const r = rng(seed);
        const a = c.positiveA ? randomTensor(r, sa, { lo: 0.5, hi: 2 }) : randomTensor(r, sa);
        // Operands of max/min/where sit apart so no finite difference crosses a kink.
        const b = c.apart ? randomTensor(r, sb, { lo: 1.2, hi: 2 }) : randomTensor(r, sb);
        const bb = c.apart && seed % 2 ? b.neg() : b;
        checkGrad((a, b) => weighted(seed)(c.f(a, b)), [a, bb], {
          label: `${name} ${JSON.stringify([sa, sb])}`,
        });
      }),
      RUNS,
    );
  });
}

Deno.test("grad: reductions over axes with keepDims", () => {
  fc.assert(
    fc.property(
      fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 1, maxLength: 3 }),
      fc.integer({ min: 1, max: 1e6 }),
      fc.boolean(),
      (shape, seed, keepDims) => {
        const r = rng(seed);
        const axis = Math.floor(r() * shape.length);
        const x = distinctTensor(r, shape, 0.1);
        for (
          const [name, op] of [["sum", L.sum], ["mean", L.mean], ["max", L.max], ["min", L.min]] as const
        ) {
          checkGrad((x) => weighted(seed)(op(x, axis, keepDims)), [x], { label: `${name} axis ${axis}` });
        }
        checkGrad((x) => weighted(seed)(L.logSumExp(x, axis, keepDims)), [x], { label: "logSumExp" });
        checkGrad((x) => weighted(seed)(L.softmax(x, axis)), [x], { label: "softmax" });
        checkGrad((x) => weighted(seed)(L.logSoftmax(x, axis)), [x], { label: "logSoftmax" });
        const pair = [...new Set([0, shape.length - 1])];
        checkGrad((x) => weighted(seed)(L.sum(x, pair)), [x], { label: "sum over a list of axes" });
      },
    ),
    RUNS,
  );
});

Deno.test("grad: matmul with batch broadcasting and vectors", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 3 }),
      fc.integer({ min: 1, max: 3 }),
      fc.integer({ min: 1, max: 3 }),
      fc.constantFrom([[], []], [[2], [2]], [[2], []], [[1], [3]], [[2, 1], [1, 2]]),
      fc.integer({ min: 1, max: 1e6 }),
      (m, k, n, [ba, bb], seed) => {
        const r = rng(seed);
        const a = randomTensor(r, [...ba, m, k]);
        const b = randomTensor(r, [...bb, k, n]);
        checkGrad((a, b) => weighted(seed)(L.matmul(a, b)), [a, b], {
          label: `matmul ${a.shape} x ${b.shape}`,
        });
        const v = randomTensor(r, [k]);
        checkGrad((a, v) => weighted(seed)(L.matmul(a, v)), [a, v], { label: "matrix x vector" });
        checkGrad((v, b) => weighted(seed)(L.matmul(v, b)), [v, b], { label: "vector x matrix" });
      },
    ),
    RUNS,
  );
});

Deno.test("grad: movement ops (reshape, transpose, expand, squeeze, unsqueeze, slice, concat, stack, pad)", () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 1e6 }), (seed) => {
      const r = rng(seed);
      const x = randomTensor(r, [2, 3, 2]);
      const y = randomTensor(r, [2, 1, 2]);
      const w = weighted(seed);
      checkGrad((x) => w(L.reshape(x, [3, -1])), [x], { label: "reshape" });
      checkGrad((x) => w(L.transpose(x, [2, 0, 1])), [x], { label: "transpose" });
      checkGrad((x) => w(L.transpose(x)), [x], { label: "transpose reversed" });
      checkGrad((y) => w(L.expand(y, [3, 2, 4, 2])), [y], { label: "expand" });
      checkGrad((y) => w(L.squeeze(y, 1)), [y], { label: "squeeze" });
      checkGrad((x) => w(L.unsqueeze(x, -1)), [x], { label: "unsqueeze" });
      checkGrad((x) => w(L.slice(x, [1, 1, 0], [1, 2, -1])), [x], { label: "slice" });
      checkGrad((x, y) => w(L.concat([x, y, x], 1)), [x, y], { label: "concat" });
      checkGrad((x, z) => w(L.stack([x, z], 2)), [x, x.mul(3)], { label: "stack" });
      checkGrad((x) => w(L.pad(x, [[1, 0], [0, 2], [1, 1]], 0.5)), [x], { label: "pad" });
    }),
    { numRuns: 4 },
  );
});

Deno.test("grad: take, takeAlongAxis and oneHot paths", () => {
  const r = rng(7);
  const table = randomTensor(r, [5, 3]);
  const idx = tensor([[4, 0], [4, 2]], { dtype: "int32" });
  const w = weighted(7);
  checkGrad((t) => w(L.take(t, idx)), [table], { label: "take axis 0" });
  checkGrad((t) => w(L.take(t, [2, 0, 2], 1)), [table], { label: "take axis 1" });
  checkGrad((t) => w(L.takeAlongAxis(t, tensor([[1], [0], [2], [2], [1]], { dtype: "int32" }), 1)), [table], {
    label: "takeAlongAxis",
  });
  checkGrad((t) => w(L.mul(L.oneHot([1, 4], 5), L.sum(t, 1))), [table], { label: "oneHot weights" });
});

Deno.test("grad: take returns sparse rows that sum repeated indices with { sparse: true }, else a tensor", async () => {
  const table = tensor([[1, 2], [3, 4], [5, 6]]);
  const f = (t: Tensor) => L.take(t, tensor([2, 0, 2], { dtype: "int32" })).sum();
  const g = grad(f, { sparse: true })(table);
  assert.ok(g instanceof SparseRows);
  assert.deepEqual(await g.toDense().toArray(), [[1, 1], [0, 0], [2, 2]]);
  assert.deepEqual([...g.shape], [3, 2]);
  assert.deepEqual(g.arraySync(), [[1, 1], [0, 0], [2, 2]], "a sparse gradient reads as its dense form");
  const dense = grad(f)(table);
  assert.ok(dense instanceof Tensor, "dense by default, as in JAX");
  assert.deepEqual(dense.arraySync(), [[1, 1], [0, 0], [2, 2]]);
});

Deno.test("grad: a table used both through take and densely gets the sum of both gradients", () => {
  const r = rng(3);
  const table = randomTensor(r, [4, 2]);
  const f = (t: Tensor) => L.take(t, [1, 1, 3]).sum().add(t.square().sum());
  const g = grad(f)(table) as Tensor;
  const expected = table.mul(2).dataSync() as Float32Array;
  expected[2] += 2, expected[3] += 2, expected[6] += 1, expected[7] += 1;
  assert.deepEqual(Array.from(g.dataSync()), Array.from(expected));
  checkGrad(f, [table], { label: "mixed sparse and dense" });
});

Deno.test("grad: argnums as a list returns gradients in that order; pytrees keep their structure", () => {
  const f = (a: Tensor, p: { w: Tensor; b: Tensor[] }) => a.mul(p.w).sum().add(p.b[0].mul(3).sum());
  const [ga, gp] = grad(f, { argnums: [0, 1] })(tensor([1, 2]), { w: tensor([3, 4]), b: [tensor([5])] });
  assert.deepEqual(ga.arraySync(), [3, 4]);
  assert.deepEqual(gp.w.arraySync(), [1, 2]);
  assert.deepEqual(gp.b[0].arraySync(), [3]);
  const [gp2, ga2] = grad(f, { argnums: [1, 0] })(tensor([1, 2]), { w: tensor([3, 4]), b: [tensor([5])] });
  assert.deepEqual(ga2.arraySync(), [3, 4]);
  assert.deepEqual(gp2.w.arraySync(), [1, 2]);
});

Deno.test("grad: valueAndGrad with hasAux passes the aux value through", () => {
  const [[value, aux], g] = L.valueAndGrad((x: Tensor) => [x.square().sum(), x.mul(10)], { hasAux: true })(
    tensor([1, 2]),
  );
  assert.equal(value.item(), 5);
  assert.deepEqual(aux.arraySync(), [10, 20]);
  assert.deepEqual(g.arraySync(), [2, 4]);
});

Deno.test("grad: a plain number argument is differentiated as a scalar", () => {
  assert.equal(grad((x: Tensor) => x.mul(x).mul(x))(2).item(), 12);
});

Deno.test("grad of grad: second derivatives of elementwise functions match finite differences", () => {
  const cases: [string, (x: Tensor) => Tensor][] = [
    ["x^3", (x) => x.pow(3)],
    ["sin", (x) => x.sin()],
    ["tanh", (x) => x.tanh()],
    ["exp * x", (x) => x.exp().mul(x)],
    ["log", (x) => x.log()],
    ["sigmoid", (x) => x.sigmoid()],
    ["sqrt", (x) => x.sqrt()],
    ["recip", (x) => L.div(1, x)],
  ];
  for (const [name, f] of cases) {
    const x = randomTensor(rng(11), [4], { lo: 0.5, hi: 1.5 });
    // d/dx of sum(f'(x) * w) checked numerically: this exercises the VJP of every VJP rule involved.
    const firstDerivative = (x: Tensor) => weighted(5)(grad((x: Tensor) => f(x).sum())(x));
    checkGrad(firstDerivative, [x], { label: `second derivative of ${name}` });
  }
});

Deno.test("grad of grad: through matmul and a closure over the outer variable", () => {
  const r = rng(12);
  const w = randomTensor(r, [3, 2]);
  const x = randomTensor(r, [2, 3]);
  const inner = (w: Tensor) => L.matmul(x, w).tanh().square().sum();
  checkGrad((w) => weighted(2)(grad(inner)(w)), [w], { label: "second derivative through matmul" });
  // f(x) = grad_y (x * y^2)(y = x) = 2 x^2 → f'(x) = 4x: the inner function closes over the outer x.
  const outer = grad((x: Tensor) => grad((y: Tensor) => x.mul(y.square()).sum())(x).sum());
  assert.deepEqual(outer(tensor([1.5, -2])).arraySync(), [6, -8]);
});

Deno.test("grad: stopGradient blocks the gradient of its operand only", () => {
  // d/dx [x * stop(x)] = stop(x) = x, not 2x.
  assert.deepEqual(grad((x: Tensor) => x.mul(L.stopGradient(x)).sum())(tensor([3, -1])).arraySync(), [3, -1]);
  assert.deepEqual(grad((x: Tensor) => L.stopGradient(x.square()).sum())(tensor([3, -1])).arraySync(), [
    0,
    0,
  ]);
});

Deno.test("grad: integer outputs and comparisons carry no gradient", () => {
  const g = grad((x: Tensor) =>
    x.mul(L.greater(x, 0).cast("float32")).sum().add(L.argmax(x).cast("float32"))
  )(
    tensor([1, -2, 3]),
  );
  assert.deepEqual(g.arraySync(), [1, 0, 1]);
});

Deno.test("grad: scatter-add (SparseRows.addTo) differentiates into its base and its values", () => {
  const r = rng(21);
  const base = randomTensor(r, [4, 3]);
  const values = randomTensor(r, [5, 3]);
  const ids = tensor([2, 0, 2, 3, 2], { dtype: "int32" });
  const w = weighted(21);
  checkGrad((b, v) => w(new SparseRows(ids, v, [4, 3]).addTo(b).tanh()), [base, values], {
    label: "scatter_add",
  });
  checkGrad((v) => w(new SparseRows(ids, v, [4, 3]).toDense().square()), [values], { label: "toDense" });
});
