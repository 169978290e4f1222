/**
 * Losses: hand-checkable values, an independent float64 implementation on random inputs, numerical
 * stability at extreme logits, and gradients against finite differences.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { jit, loss, random, setBackend, type Tensor, tensor, valueAndGrad } from "../../mod.ts";
import { checkGradient } from "./gradcheck.ts";

function close(actual: number, expected: number, tolerance = 1e-5): void {
  assert.ok(Math.abs(actual - expected) <= tolerance * (1 + Math.abs(expected)), `${actual} vs ${expected}`);
}

/** -log softmax(row)[label], in float64. */
function nll(row: number[], label: number): number {
  const top = Math.max(...row);
  const logSum = top + Math.log(row.reduce((s, v) => s + Math.exp(v - top), 0));
  return logSum - row[label];
}

function logSoftmaxRow(row: number[]): number[] {
  return row.map((_, c) => -nll(row, c));
}

const softplus = (v: number) => Math.max(v, 0) + Math.log1p(Math.exp(-Math.abs(v)));

Deno.test("crossEntropy is the mean of -log softmax at the label", () => {
  const logits = tensor([[0, Math.log(3)], [Math.log(4), 0]]);
  const labels = tensor([1, 1], { dtype: "int32" });
  // -log(3/4) and -log(1/5), averaged.
  close(loss.crossEntropy(logits, labels).item(), (Math.log(4 / 3) + Math.log(5)) / 2);
});

Deno.test("crossEntropy over any leading shape matches a float64 implementation", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 3 }),
      fc.integer({ min: 1, max: 4 }),
      fc.integer({ min: 2, max: 6 }),
      fc.integer({ min: 0, max: 1000 }),
      (batch, time, classes, seed) => {
        const logits = random.normal(random.key(seed), [batch, time, classes], { stddev: 3 });
        const labels = random.uniform(random.key(seed + 1), [batch, time], { maxval: classes }).cast("int32");
        const rows = (logits.arraySync() as number[][][]).flat();
        const ids = (labels.arraySync() as number[][]).flat();
        const expected = rows.reduce((s, row, i) => s + nll(row, ids[i]), 0) / rows.length;
        close(loss.crossEntropy(logits, labels).item(), expected, 1e-5);
      },
    ),
    { numRuns: 20 },
  );
});

Deno.test("crossEntropy is stable for huge logits", () => {
  const logits = tensor([[1000, -1000, 0], [-1000, 1000, 999]]);
  const value = loss.crossEntropy(logits, tensor([1, 2], { dtype: "int32" })).item();
  close(value, (2000 + nll([-1000, 1000, 999], 2)) / 2);
  assert.ok(Number.isFinite(value));
});

Deno.test("crossEntropy with ignoreIndex averages only over the other positions", () => {
  const logits = tensor([[[2, 0, 1], [0, 0, 0]], [[1, 1, 5], [3, 2, 1]]]);
  const labels = tensor([[0, -100], [2, -100]], { dtype: "int32" });
  const expected = (nll([2, 0, 1], 0) + nll([1, 1, 5], 2)) / 2;
  close(loss.crossEntropy(logits, labels, { ignoreIndex: -100 }).item(), expected);
  // A padding id inside the class range works the same way.
  const padded = tensor([[0, 1], [2, 1]], { dtype: "int32" });
  close(loss.crossEntropy(logits, padded, { ignoreIndex: 1 }).item(), expected);
  const none = tensor([[-100, -100], [-100, -100]], { dtype: "int32" });
  assert.equal(loss.crossEntropy(logits, none, { ignoreIndex: -100 }).item(), 0);
});

Deno.test("crossEntropy with label smoothing targets (1 - ε)·onehot + ε/classes, as PyTorch", () => {
  fc.assert(
    fc.property(
      fc.double({ min: 0, max: 1, noNaN: true }),
      fc.integer({ min: 0, max: 1000 }),
      (epsilon, seed) => {
        const logits = random.normal(random.key(seed), [3, 4]);
        const labels = tensor([0, 3, 1], { dtype: "int32" });
        const rows = logits.arraySync() as number[][];
        const expected = rows.reduce((s, row, i) => {
          const logp = logSoftmaxRow(row);
          const target = row.map((_, c) => (1 - epsilon) * (c === [0, 3, 1][i] ? 1 : 0) + epsilon / 4);
          return s - target.reduce((t, p, c) => t + p * logp[c], 0);
        }, 0) / 3;
        close(loss.crossEntropy(logits, labels, { labelSmoothing: epsilon }).item(), expected, 1e-5);
      },
    ),
    { numRuns: 15 },
  );
});

Deno.test("crossEntropy reductions: none is each position's loss (0 where ignored), sum and mean combine them", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 4 }),
      fc.integer({ min: 2, max: 40 }),
      fc.integer({ min: 0, max: 1000 }),
      (rowsCount, classes, seed) => {
        const logits = random.normal(random.key(seed), [rowsCount, classes], { stddev: 4 });
        // Label -1 is padding: each row has a 1 in 3 chance of it.
        const draws = random.uniform(random.key(seed + 1), [rowsCount], { maxval: 1.5 * classes })
          .arraySync();
        const ids = (draws as number[]).map((d) => (d >= classes ? -1 : Math.floor(d)));
        const labels = tensor(ids, { dtype: "int32" });
        const rows = logits.arraySync() as number[][];
        const expected = rows.map((row, i) => (ids[i] === -1 ? 0 : nll(row, ids[i])));
        const each = loss.crossEntropy(logits, labels, { ignoreIndex: -1, reduction: "none" });
        assert.deepEqual(each.shape, [rowsCount]);
        (each.arraySync() as number[]).forEach((v, i) => close(v, expected[i]));
        const total = expected.reduce((a, b) => a + b, 0);
        close(loss.crossEntropy(logits, labels, { ignoreIndex: -1, reduction: "sum" }).item(), total);
        const kept = ids.filter((id) => id !== -1).length;
        close(loss.crossEntropy(logits, labels, { ignoreIndex: -1 }).item(), kept === 0 ? 0 : total / kept);
      },
    ),
    { numRuns: 25 },
  );
});

Deno.test("crossEntropy compiled (jit, CPU kernels) equals the reference interpreter's, gradient included", () => {
  const logits = random.normal(random.key(7), [6, 33], { stddev: 3 });
  const labels = tensor([0, 32, -1, 5, 5, 17], { dtype: "int32" });
  const f = (x: Tensor) => loss.crossEntropy(x, labels, { ignoreIndex: -1, labelSmoothing: 0.1 });
  const [value, gradient] = jit(valueAndGrad(f))(logits) as [Tensor, Tensor];
  setBackend("reference");
  try {
    const [refValue, refGradient] = valueAndGrad(f)(logits) as [Tensor, Tensor];
    close(value.item(), refValue.item(), 1e-6);
    const [a, b] = [gradient.dataSync(), refGradient.dataSync()];
    a.forEach((v, i) => close(v, b[i], 1e-6));
  } finally {
    setBackend("cpu");
  }
});

Deno.test("crossEntropy: a label outside the classes is an error naming it, or NaN where it is traced (as JAX)", () => {
  const logits = tensor([[1, 2, 3], [0, 0, 0]]);
  assert.throws(
    () => loss.crossEntropy(logits, tensor([1, 3], { dtype: "int32" })),
    /label 3 at flat position 1 is outside \[0, 3\)/,
  );
  assert.throws(
    () => loss.crossEntropy(logits, tensor([-2, 0], { dtype: "int32" })),
    /label -2 at flat position 0/,
  );
  const traced = jit((x: Tensor, y: Tensor) => loss.crossEntropy(x, y, { reduction: "none" }));
  const each = traced(logits, tensor([1, 3], { dtype: "int32" })).dataSync();
  close(each[0], nll([1, 2, 3], 1));
  assert.ok(Number.isNaN(each[1]), String(each[1]));
  assert.throws(
    () => loss.crossEntropy(logits, tensor([1, 0], { dtype: "int32" }), { reduction: "avg" as "mean" }),
    /reduction must be "mean", "sum" or "none", got avg/,
  );
});

Deno.test("crossEntropy rejects float labels and mismatched shapes with a clear message", () => {
  assert.throws(
    () => loss.crossEntropy(tensor([[1, 2]]), tensor([1])),
    /labels must be int32 class ids, got float32/,
  );
  assert.throws(
    () => loss.crossEntropy(tensor([[1, 2]]), tensor([1, 0], { dtype: "int32" })),
    /labels \[2\] must have the shape of logits \[1,2\] without its last \(class\) axis/,
  );
});

Deno.test("mse is the mean squared difference", () => {
  close(loss.mse(tensor([[1, 2], [3, 4]]), tensor([[1, 0], [0, 4]])).item(), (0 + 4 + 9 + 0) / 4);
  assert.throws(
    () => loss.mse(tensor([1, 2]), tensor([1])),
    /loss.mse: the shapes \[2\] and \[1\] must be equal/,
  );
});

Deno.test("binaryCrossEntropyWithLogits matches -(t log σ(x) + (1-t) log(1-σ(x))) and is stable", () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 1000 }), (seed) => {
      const logits = random.normal(random.key(seed), [5], { stddev: 4 });
      const targets = random.uniform(random.key(seed + 1), [5]);
      const x = logits.arraySync() as number[];
      const t = targets.arraySync() as number[];
      const sig = (v: number) => 1 / (1 + Math.exp(-v));
      const expected = x.reduce((s, v, i) =>
        s - (t[i] * Math.log(sig(v)) + (1 - t[i]) * Math.log(1 - sig(v))), 0) / 5;
      close(loss.binaryCrossEntropyWithLogits(logits, targets).item(), expected, 1e-5);
    }),
    { numRuns: 20 },
  );
  const extreme = loss.binaryCrossEntropyWithLogits(tensor([1000, -1000]), tensor([0, 1])).item();
  close(extreme, 1000);
});

Deno.test("negativeSampling is -log σ(u·v) - Σ log σ(-u·v_neg), averaged over positions", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 3 }),
      fc.integer({ min: 1, max: 4 }),
      fc.integer({ min: 0, max: 1000 }),
      (k, dim, seed) => {
        const center = random.normal(random.key(seed), [2, 3, dim]);
        const context = random.normal(random.key(seed + 1), [2, 3, dim]);
        const negatives = random.normal(random.key(seed + 2), [2, 3, k, dim]);
        const u = (center.arraySync() as number[][][]).flat();
        const v = (context.arraySync() as number[][][]).flat();
        const n = (negatives.arraySync() as number[][][][]).flat();
        const dot = (a: number[], b: number[]) => a.reduce((s, x, i) => s + x * b[i], 0);
        const expected = u.reduce(
          (s, ui, i) => s + softplus(-dot(ui, v[i])) + n[i].reduce((t, vn) => t + softplus(dot(ui, vn)), 0),
          0,
        ) /
          u.length;
        close(loss.negativeSampling(center, context, negatives).item(), expected, 1e-5);
      },
    ),
    { numRuns: 15 },
  );
  assert.throws(
    () => loss.negativeSampling(tensor([[1, 0]]), tensor([[0, 1]]), tensor([[1, 0]])),
    /negatives must be \[1,k,2\] for center \[1,2\], got \[1,2\]/,
  );
});

Deno.test("gradients of every loss match finite differences, for every float input", () => {
  for (const seed of [1, 2, 3]) {
    const key = (i: number) => random.key(seed * 10 + i);
    const logits = random.normal(key(0), [2, 3, 5]);
    const labels = tensor([[0, 4, 2], [1, -1, 3]], { dtype: "int32" });
    const ce = (x: Tensor) => loss.crossEntropy(x, labels, { ignoreIndex: -1, labelSmoothing: 0.1 });
    checkGradient(ce, [logits], { seed });
    const [p, t] = [random.normal(key(1), [4, 3]), random.normal(key(2), [4, 3])];
    checkGradient(loss.mse, [p, t], { argnum: 0, seed });
    checkGradient(loss.mse, [p, t], { argnum: 1, seed });
    const targets = random.uniform(key(3), [4, 3]);
    checkGradient(loss.binaryCrossEntropyWithLogits, [p, targets], { argnum: 0, seed });
    checkGradient(loss.binaryCrossEntropyWithLogits, [p, targets], { argnum: 1, seed });
    const args = [
      random.normal(key(4), [3, 4]),
      random.normal(key(5), [3, 4]),
      random.normal(key(6), [3, 2, 4]),
    ];
    for (const argnum of [0, 1, 2]) checkGradient(loss.negativeSampling, args, { argnum, seed });
  }
});
