/**
 * The n-gram model: its probabilities sum to 1 over the vocabulary for every context (fast-check), the
 * interpolated Kneser-Ney values a hand computation gives, and its tables survive a save and load.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { discounts, loadNgram, NgramModel, saveNgram } from "../../models/lm/ngram.ts";

const streamArb = fc.array(fc.array(fc.integer({ min: 1, max: 7 }), { minLength: 1, maxLength: 8 }), {
  minLength: 1,
  maxLength: 20,
}).map((sentences) => Int32Array.from(sentences.flatMap((s) => [...s, 0])));

Deno.test("ngram: P(w | h) sums to 1 over the vocabulary for any order and context, seen or not (fast-check)", () => {
  fc.assert(
    fc.property(
      streamArb,
      fc.integer({ min: 1, max: 5 }),
      fc.array(fc.integer({ min: 0, max: 9 }), { maxLength: 6 }),
      (stream, order, history) => {
        const model = NgramModel.count(stream, 10, order);
        const p = model.distribution([0, ...history]);
        const sum = p.reduce((a, b) => a + b, 0);
        assert.ok(Math.abs(sum - 1) < 1e-9, `sum ${sum}`);
        assert.ok(p.every((x) => x > 0), "every word keeps some mass (the uniform floor)");
      },
    ),
    { numRuns: 150, seed: 11 },
  );
});

Deno.test("ngram: a bigram model gives the interpolated Kneser-Ney values of a hand computation", () => {
  // Sentences "1 2" and "1 3" over 4 ids: the stream is [1 2 0 1 3 0], each sentence after the boundary 0.
  const model = NgramModel.count(new Int32Array([1, 2, 0, 1, 3, 0]), 4, 2);
  // Bigrams: (0 1) twice, (1 2), (2 0), (1 3), (3 0). The unigram level counts the different words before
  // each word: 1 after 0 only, 2 after 1, 3 after 1, 0 after 2 and 3; so N(·1) = N(·2) = N(·3) = 1, N(·0) = 2,
  // 5 in all. Too few counts of counts for Chen & Goodman's estimates: D1, D2, D3 are 0.5, 1, 1.5.
  // Unigram: P1(w) = max(N(·w) − D, 0)/5 + γ/4, with γ = (0.5 · 3 words seen once + 1 · 1 seen twice)/5.
  const gamma1 = (0.5 * 3 + 1 * 1) / 5;
  const p1 = (n: number) => Math.max(n - (n === 1 ? 0.5 : n === 2 ? 1 : 0), 0) / 5 + gamma1 / 4;
  // P(2 | 1): c(1 2) = 1 of c(1 ·) = 2, the two followers of 1 each seen once: γ(1) = 0.5 · 2 / 2.
  const expected = (1 - 0.5) / 2 + (0.5 * 2 / 2) * p1(1);
  assert.ok(Math.abs(model.probability([0, 1], 2) - expected) < 1e-12);
  // P(0 | 1): c(1 0) = 0, so only γ(1)·P1(0); P(3 | 2): 2's one follower is 0, so γ(2) = 0.5 · 1 / 1.
  assert.ok(Math.abs(model.probability([1], 0) - (0 + (0.5 * 2 / 2) * p1(2))) < 1e-12);
  assert.ok(Math.abs(model.probability([2], 3) - ((0 - 0) / 1 + (0.5 * 1 / 1) * p1(1))) < 1e-12);
});

Deno.test("ngram: perplexity is exp of the mean negative log-probability, eos included", () => {
  const stream = new Int32Array([1, 2, 0, 1, 3, 0]);
  const model = NgramModel.count(stream, 4, 3);
  const logp = model.tokenLogProbs(stream);
  assert.equal(logp.length, stream.length);
  const expected = Math.exp(-logp.reduce((a, b) => a + b, 0) / stream.length);
  assert.ok(Math.abs(model.perplexity(stream) - expected) < 1e-9);
  assert.ok(model.perplexity(stream) < 4, "it should beat the uniform model on its own training text");
});

Deno.test("ngram: discounts follow Chen & Goodman's estimates and stay in [0, j]", () => {
  const [d1, d2, d3] = discounts([1000, 400, 200, 100]);
  const y = 1000 / (1000 + 800);
  assert.ok(Math.abs(d1 - (1 - 2 * y * 0.4)) < 1e-12 && Math.abs(d2 - (2 - 3 * y * 0.5)) < 1e-12);
  assert.ok(Math.abs(d3 - (3 - 4 * y * 0.5)) < 1e-12);
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 0, max: 1000 }), { minLength: 4, maxLength: 4 }), (c) => {
      const d = discounts(c);
      d.forEach((x, j) => assert.ok(x >= 0 && x <= j + 1));
    }),
    { numRuns: 100, seed: 12 },
  );
});

Deno.test("ngram: a saved model loads back with the same probabilities", async () => {
  const stream = new Int32Array([1, 2, 0, 1, 3, 0, 2, 2, 1, 0]);
  const model = NgramModel.count(stream, 5, 4);
  const path = await Deno.makeTempFile({ suffix: ".safetensors" });
  await saveNgram(path, model);
  const back = await loadNgram(path);
  assert.deepEqual(back.distribution([0, 2, 2]), model.distribution([0, 2, 2]));
  await Deno.remove(path);
});
