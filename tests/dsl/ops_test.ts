/**
 * Forward values of ops against small independent implementations written here with plain loops,
 * on random shapes (property tests) and on hand-checkable examples.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import * as L from "../../mod.ts";
import { type Tensor, tensor } from "../../mod.ts";
import { assertClose, randomTensor, rng } from "../helpers.ts";

const dimsArb = fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 0, maxLength: 4 });

function strides(shape: readonly number[]): number[] {
  const s = new Array(shape.length).fill(1);
  for (let i = shape.length - 2; i >= 0; i--) s[i] = s[i + 1] * shape[i + 1];
  return s;
}

function unravel(i: number, shape: number[]): number[] {
  return strides(shape).map((s, a) => Math.floor(i / s) % shape[a]);
}

/** Element of `x` (flat data, shape) read at a broadcast index of the output. */
function readBroadcast(data: ArrayLike<number>, shape: number[], outIndex: number[]): number {
  const offset = outIndex.length - shape.length;
  const st = strides(shape);
  let flat = 0;
  shape.forEach((d, a) => (flat += (d === 1 ? 0 : outIndex[a + offset]) * st[a]));
  return data[flat];
}

Deno.test("ops: binary ops broadcast exactly like NumPy on random shapes", () => {
  const pairs = dimsArb.chain((out) =>
    fc.tuple(
      fc.constant(out),
      fc.array(fc.boolean(), { minLength: out.length, maxLength: out.length }),
      fc.integer({ min: 0, max: out.length }),
      fc.integer({ min: 1, max: 1e6 }),
    )
  );
  fc.assert(
    fc.property(pairs, ([out, ones, drop, seed]) => {
      const sa = out.map((d, i) => (ones[i] ? 1 : d));
      const sb = out.slice(drop);
      const r = rng(seed);
      const a = randomTensor(r, sa, { lo: 0.5, hi: 2 });
      const b = randomTensor(r, sb, { lo: 0.5, hi: 2 });
      const fns: [string, (a: Tensor, b: Tensor) => Tensor, (x: number, y: number) => number][] = [
        ["add", L.add, (x, y) => x + y],
        ["sub", L.sub, (x, y) => x - y],
        ["mul", L.mul, (x, y) => x * y],
        ["div", L.div, (x, y) => x / y],
        ["pow", L.pow, (x, y) => x ** y],
        ["maximum", L.maximum, Math.max],
        ["minimum", L.minimum, Math.min],
        ["less", L.less, (x, y) => Number(x < y)],
        ["greaterEqual", L.greaterEqual, (x, y) => Number(x >= y)],
      ];
      const ad = a.dataSync();
      const bd = b.dataSync();
      const expectedShape = sa.length >= sb.length ? out.map((d, i) => (ones[i] && i < drop ? 1 : d)) : out;
      for (const [name, op, ref] of fns) {
        const y = op(a, b);
        assert.deepEqual([...y.shape], expectedShape, name);
        const got = y.dataSync();
        for (let i = 0; i < got.length; i++) {
          const idx = unravel(i, expectedShape);
          const want = ref(readBroadcast(ad, sa, idx), readBroadcast(bd, sb, idx));
          assert.ok(
            Math.abs(got[i] - want) <= 1e-5 * Math.abs(want) + 1e-6,
            `${name}[${i}] ${got[i]} vs ${want}`,
          );
        }
      }
    }),
    { numRuns: 40 },
  );
});

Deno.test("ops: reductions over random axes match loops", () => {
  fc.assert(
    fc.property(
      fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 4 }),
      fc.integer({ min: 1, max: 1e6 }),
      fc.boolean(),
      (shape, seed, keepDims) => {
        const r = rng(seed);
        const x = randomTensor(r, shape);
        const axis = Math.floor(r() * shape.length);
        const data = x.dataSync();
        const outShape = shape.filter((_, i) => i !== axis);
        const n = outShape.reduce((p, d) => p * d, 1);
        const sums = new Float64Array(n);
        const maxs = new Float64Array(n).fill(-Infinity);
        const args = new Int32Array(n);
        const st = strides(outShape);
        for (let i = 0; i < data.length; i++) {
          const idx = unravel(i, shape);
          const o = idx.filter((_, a) => a !== axis).reduce((p, v, a) => p + v * st[a], 0);
          sums[o] += data[i];
          if (data[i] > maxs[o]) (maxs[o] = data[i]), (args[o] = idx[axis]);
        }
        assertClose(L.sum(x, axis), sums, { rtol: 1e-5, atol: 1e-5 });
        assertClose(L.mean(x, axis), sums.map((s) => s / shape[axis]), { rtol: 1e-5, atol: 1e-5 });
        assertClose(L.max(x, axis), maxs);
        assert.deepEqual(Array.from(L.argmax(x, axis).dataSync()), Array.from(args));
        const kept = L.sum(x, axis, keepDims);
        assert.deepEqual([...kept.shape], keepDims ? shape.map((d, a) => (a === axis ? 1 : d)) : outShape);
        // softmax rows sum to 1, logSoftmax is its log, and logSumExp is consistent with both.
        assertClose(L.sum(L.softmax(x, axis), axis), new Float64Array(n).fill(1), { atol: 1e-6 });
        assertClose(L.exp(L.logSoftmax(x, axis)), L.softmax(x, axis), { atol: 1e-6 });
        assertClose(L.logSumExp(x, axis), L.log(L.sum(L.exp(x), axis)), { atol: 1e-6 });
      },
    ),
    { numRuns: 40 },
  );
});

Deno.test("ops: argmax and argmin follow NumPy: the first best, the first NaN where there is one", async () => {
  for (const backend of ["reference", "cpu"]) {
    await L.setBackend(backend);
    try {
      const x = L.tensor([[1, NaN, 3, NaN], [2, 7, 7, -1], [-Infinity, -Infinity, 0, 0]]);
      assert.deepEqual(Array.from(L.argmax(x, 1).dataSync()), [1, 1, 2], backend);
      assert.deepEqual(Array.from(L.argmin(x, 1).dataSync()), [1, 3, 0], backend);
      assert.deepEqual(Array.from(L.argmax(x, 0).dataSync()), [1, 0, 1, 0], backend);
      assert.equal(L.argmax(x).item(), 1, backend); // flattened
    } finally {
      await L.setBackend("cpu");
    }
  }
});

Deno.test("ops: matmul equals the triple loop, with broadcast batch axes", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 5 }),
      fc.integer({ min: 1, max: 5 }),
      fc.integer({ min: 1, max: 5 }),
      fc.constantFrom([[], []], [[3], [3]], [[3], [1]], [[1], [2]], [[2, 1], [3]]),
      fc.integer({ min: 1, max: 1e6 }),
      (m, k, n, [ba, bb], seed) => {
        const r = rng(seed);
        const a = randomTensor(r, [...ba, m, k]);
        const b = randomTensor(r, [...bb, k, n]);
        const y = L.matmul(a, b);
        const batch = L.broadcastShapes(ba, bb, "test");
        assert.deepEqual([...y.shape], [...batch, m, n]);
        const ad = a.dataSync(), bd = b.dataSync(), yd = y.dataSync();
        const B = batch.reduce((p, d) => p * d, 1);
        for (let p = 0; p < B; p++) {
          const bi = unravel(p, batch);
          const aOff = readBroadcastIndex(ba, bi) * m * k;
          const bOff = readBroadcastIndex(bb, bi) * k * n;
          for (let i = 0; i < m; i++) {
            for (let j = 0; j < n; j++) {
              let s = 0;
              for (let q = 0; q < k; q++) s += ad[aOff + i * k + q] * bd[bOff + q * n + j];
              assert.ok(Math.abs(yd[p * m * n + i * n + j] - s) < 1e-5);
            }
          }
        }
      },
    ),
    { numRuns: 30 },
  );
});

function readBroadcastIndex(shape: readonly number[], outIndex: number[]): number {
  const offset = outIndex.length - shape.length;
  const st = strides(shape);
  return shape.reduce((p, d, a) => p + (d === 1 ? 0 : outIndex[a + offset]) * st[a], 0);
}

Deno.test("ops: transpose, slice, pad and concat move elements like index arithmetic says", () => {
  fc.assert(
    fc.property(
      fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 4 }),
      fc.integer({ min: 1, max: 1e6 }),
      (shape, seed) => {
        const r = rng(seed);
        const x = randomTensor(r, shape);
        const data = x.dataSync();
        const perm = shape.map((_, i) => i).sort(() => r() - 0.5);
        const t = L.transpose(x, perm);
        const tShape = perm.map((a) => shape[a]);
        const td = t.dataSync();
        for (let i = 0; i < td.length; i++) {
          const idx = unravel(i, tShape);
          const src = new Array(shape.length);
          perm.forEach((a, j) => (src[a] = idx[j]));
          assert.equal(td[i], data[src.reduce((p, v, a) => p + v * strides(shape)[a], 0)]);
        }
        const begin = shape.map((d) => Math.floor(r() * d));
        const size = shape.map((d, i) => 1 + Math.floor(r() * (d - begin[i])));
        const s = L.slice(x, begin, size);
        const sd = s.dataSync();
        for (let i = 0; i < sd.length; i++) {
          const idx = unravel(i, size).map((v, a) => v + begin[a]);
          assert.equal(sd[i], data[idx.reduce((p, v, a) => p + v * strides(shape)[a], 0)]);
        }
        const pads = shape.map(() => [Math.floor(r() * 2), Math.floor(r() * 2)] as [number, number]);
        const padded = L.pad(x, pads, 7);
        assertClose(L.slice(padded, pads.map((p) => p[0]), shape), x);
        assert.equal(L.sum(padded).item() - L.sum(x).item() - 7 * (padded.size - x.size) < 1e-3, true);
        const axis = Math.floor(r() * shape.length);
        const c = L.concat([x, s.shape.length === shape.length ? x : x], axis);
        assertClose(L.slice(c, shape.map((_, a) => (a === axis ? shape[a] : 0)), shape), x);
      },
    ),
    { numRuns: 40 },
  );
});

Deno.test("ops: hand-checked small examples", async () => {
  const x = tensor([[1, 2, 3], [4, 5, 6]]);
  assert.deepEqual(await L.transpose(x).toArray(), [[1, 4], [2, 5], [3, 6]]);
  assert.deepEqual(await L.expand(tensor([[1], [2]]), [2, 3]).toArray(), [[1, 1, 1], [2, 2, 2]]);
  assert.deepEqual(await L.stack([tensor([1, 2]), tensor([3, 4])]).toArray(), [[1, 2], [3, 4]]);
  assert.deepEqual(await L.squeeze(tensor([[[1], [2]]])).toArray(), [1, 2]);
  assert.deepEqual(await L.take(x, [1, 0], 1).toArray(), [[2, 1], [5, 4]]);
  assert.deepEqual(await L.take(x, tensor([[1], [0]], { dtype: "int32" })).toArray(), [[[4, 5, 6]], [[
    1,
    2,
    3,
  ]]]);
  assert.deepEqual(await L.oneHot([2, 0], 3).toArray(), [[0, 0, 1], [1, 0, 0]]);
  assert.deepEqual(await L.where(tensor([true, false]), 1, tensor([[5, 6]])).toArray(), [[1, 6]]);
  assert.deepEqual(await L.argmin(tensor([3, 1, 1])).toArray(), 1);
  assert.deepEqual(await L.abs(tensor([-1, 2], { dtype: "int32" })).toArray(), [1, 2]);
  assert.deepEqual(await L.eye(2, 3).toArray(), [[1, 0, 0], [0, 1, 0]]);
  assert.deepEqual(await L.arange(2, 8, 3).toArray(), [2, 5]);
  assert.deepEqual(await L.notEqual(tensor([1, 2]), tensor([1, 3])).toArray(), [false, true]);
  assert.deepEqual(await L.logicalOr(tensor([true, false]), tensor([false, false])).toArray(), [true, false]);
  assert.equal(L.relu(tensor(-3)).item(), 0);
  assert.equal((await x.data()).constructor, Float32Array);
  assert.deepEqual(await L.cast(tensor([0, 2.5]), "bool").toArray(), [false, true]);
});

Deno.test("ops: dtype promotion: int32 with float32 or a fractional number gives float32", () => {
  const i = tensor([1, 2], { dtype: "int32" });
  assert.equal(i.add(1).dtype, "int32");
  assert.equal(i.mul(0.5).dtype, "float32");
  assert.deepEqual(i.mul(0.5).arraySync(), [0.5, 1]);
  assert.equal(i.add(tensor([1, 1])).dtype, "float32");
  assert.equal(L.sum(tensor([true, true, false])).item(), 2);
  assert.equal(L.mean(i).item(), 1.5);
});

Deno.test("ops: numerically stable softmax, logSoftmax and logSumExp at extreme inputs", () => {
  assertClose(L.softmax(tensor([1000, 0, -1000])), [1, 0, 0]);
  assertClose(L.logSoftmax(tensor([1000, 0])), [0, -1000]);
  assert.equal(L.logSumExp(tensor([-Infinity, -Infinity])).item(), -Infinity);
  assertClose(L.softplus(tensor([100, -100])), [100, 0]);
  assert.equal(L.sigmoid(tensor([-100])).item(), 0);
});

Deno.test("tensor: creation from nested arrays, typed arrays and scalars; toArray round trips", async () => {
  const nested = [[[1, 2]], [[3, 4]]];
  const t = tensor(nested);
  assert.deepEqual([...t.shape], [2, 1, 2]);
  assert.deepEqual(await t.toArray(), nested);
  assert.equal(tensor(3).rank, 0);
  assert.equal(await tensor(3).toArray(), 3);
  assert.equal(tensor([true, false]).dtype, "bool");
  assert.deepEqual(await tensor([NaN, Infinity]).toArray(), [NaN, Infinity]);
  assert.equal(L.zeros([2, 2], "int32").dtype, "int32");
  assert.equal(L.ones([3]).sum().item(), 3);
  assert.equal(L.full([2], 4, "int32").sum().item(), 8);
  assert.equal(L.zerosLike(t).size, 4);
  assert.equal(L.onesLike(t).sum().item(), 4);
  assert.equal(tensor([[]]).size, 0);
  assert.deepEqual(Array.from(await tensor([1.5]).data()), [1.5]);
});

Deno.test("tensor: typed data is copied on every backend, so the caller may reuse its array (a batcher does)", async () => {
  for (const backend of ["cpu", "reference"] as const) {
    await L.setBackend(backend);
    try {
      const ints = new Int32Array([1, 2, 3]);
      const floats = new Float32Array([0.5, 1.5]);
      const [a, b] = [tensor(ints, { shape: [3], dtype: "int32" }), tensor(floats)];
      ints.fill(9);
      floats.fill(9);
      assert.deepEqual(Array.from(a.dataSync()), [1, 2, 3], backend);
      assert.deepEqual(Array.from(b.dataSync()), [0.5, 1.5], backend);
      // Typed data of another dtype is converted as element assignment would.
      assert.deepEqual(Array.from(tensor(new Float32Array([1.7, -2.2]), { dtype: "int32" }).dataSync()), [
        1,
        -2,
      ]);
    } finally {
      await L.setBackend("cpu");
    }
  }
});
