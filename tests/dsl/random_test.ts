/** random: counter-based keys are reproducible, independent after split/fold, and well distributed. */
import assert from "node:assert/strict";
import fc from "fast-check";
import { jit, random, type Tensor, tensor } from "../../mod.ts";
import { threefry2x32, threefryWords } from "../../kernels/reference/threefry.ts";

Deno.test("random: the same key gives the same numbers, eagerly and under jit", () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 2 ** 40 }), (seed) => {
      const k = random.key(seed);
      const a = random.normal(k, [5]).arraySync();
      const b = random.normal(random.key(seed), [5]).arraySync();
      const c = jit((key: Tensor) => random.normal(key, [5]))(k).arraySync();
      assert.deepEqual(a, b);
      assert.deepEqual(a, c);
    }),
    { numRuns: 20 },
  );
});

Deno.test("random: different seeds, split keys and folded keys give different streams", () => {
  const k = random.key(7);
  const [a, b, c] = random.split(k, 3);
  const draws = [k, a, b, c, random.fold(k, 0), random.fold(k, 1), random.key(8)].map((key) =>
    JSON.stringify(random.uniform(key, [4]).arraySync())
  );
  assert.equal(new Set(draws).size, draws.length);
});

Deno.test("random: Threefry-2x32 matches the published known-answer vectors", () => {
  // Known-answer tests of the Random123 distribution for threefry2x32 with 20 rounds.
  const hex = (x: number) => (x >>> 0).toString(16).padStart(8, "0");
  assert.deepEqual(threefry2x32(0, 0, 0, 0).map(hex), ["6b200159", "99ba4efe"]);
  assert.deepEqual(threefry2x32(-1, -1, -1, -1).map(hex), ["1cb996fc", "bb002be7"]);
  assert.deepEqual(
    threefry2x32(0x13198a2e, 0x03707344, 0x243f6a88, 0x85a308d3).map(hex),
    ["c4923a9c", "483df7a0"],
  );
});

Deno.test("random: the CPU backend's unrolled Threefry words equal threefry2x32's first words (fast-check)", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
      fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
      fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
      fc.integer({ min: 0, max: 40 }),
      (k0, k1, stream, n) => {
        const words = new Int32Array(n);
        threefryWords(k0, k1, stream, words);
        words.forEach((w, i) => assert.equal(w, threefry2x32(k0, k1, stream, i)[0]));
      },
    ),
    { numRuns: 300, seed: 4 },
  );
});

Deno.test("random: uniform moments, normal moments, bernoulli rate, categorical frequencies", () => {
  const n = 20000;
  const u = random.uniform(random.key(1), [n]);
  const mean = u.mean().item();
  const variance = u.sub(mean).square().mean().item();
  assert.ok(Math.abs(mean - 0.5) < 0.01, `uniform mean ${mean}`);
  assert.ok(Math.abs(variance - 1 / 12) < 0.005, `uniform variance ${variance}`);
  assert.ok(u.min().item() >= 0 && u.max().item() < 1);
  const scaled = random.uniform(random.key(1), [100], { minval: -2, maxval: 3 });
  assert.ok(scaled.min().item() >= -2 && scaled.max().item() < 3);
  const z = random.normal(random.key(2), [n], { mean: 1, stddev: 2 });
  const zm = z.mean().item();
  const zs = Math.sqrt(z.sub(zm).square().mean().item());
  assert.ok(Math.abs(zm - 1) < 0.05 && Math.abs(zs - 2) < 0.05, `normal ${zm} ${zs}`);
  const rate = random.bernoulli(random.key(3), 0.3, [n]).cast("float32").mean().item();
  assert.ok(Math.abs(rate - 0.3) < 0.015, `bernoulli ${rate}`);
  const probs = [0.2, 0.3, 0.5];
  const logits = tensor(probs.map(Math.log)).expand([n, 3]);
  const samples = random.categorical(random.key(5), logits)
    .arraySync() as number[];
  const freq = [0, 1, 2].map((c) => samples.filter((s) => s === c).length / n);
  probs.forEach((p, i) => assert.ok(Math.abs(freq[i] - p) < 0.02, `categorical ${freq}`));
});
