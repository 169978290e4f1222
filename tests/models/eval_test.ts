/**
 * Evaluation on small hand-made vectors whose answers are known: similarity (Spearman's ρ and coverage),
 * analogies (3CosAdd and 3CosMul, per section and in total), neighbours; vectors.txt round trips; sampling
 * is reproducible per seed and follows temperature and top-k; mixtures of two LMs.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { Rng } from "../../models/data/random.ts";
import { analogies, parseAnalogies } from "../../models/eval/analogy.ts";
import { neighbours } from "../../models/eval/neighbours.ts";
import { drawToken, sampleTokens } from "../../models/eval/sample.ts";
import { parseScoredPairs, spearman, wordSimilarity } from "../../models/eval/similarity.ts";
import { cosine, formatVectors, parseVectors, unitRows } from "../../models/eval/vectors.ts";
import { bestMixture, mixedPerplexity } from "../../models/eval/perplexity.ts";

// Axes: royal, male, female, fruit, city. Capitals near their countries (their own axis pairs).
const HAND_MADE = `8 6
man 0 1 0 0 0 0
woman 0 0 1 0 0 0
king 1 1 0 0 0 0
queen 1 0 1 0 0 0
apple 0 0 0 1 0 0
pear 0 0 0 0.9 0.1 0
paris 0 0 0 0 1 1
france 0 0 0 0 0 1
`;

Deno.test("vectors: the hand-made file parses; formatVectors and parseVectors round trip (fast-check)", () => {
  const v = parseVectors(HAND_MADE, "hand.txt");
  assert.equal(v.words.length, 8);
  assert.equal(v.dim, 6);
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 6 }),
      fc.array(fc.stringMatching(/^[a-z<>']{1,8}$/), { minLength: 1, maxLength: 10 }),
      (dim, raw) => {
        const words = [...new Set(raw)];
        const table = Float32Array.from(
          { length: words.length * dim },
          (_, i) => Math.fround(Math.sin(i) * 3),
        );
        const back = parseVectors(formatVectors({ words, table, dim }), "t");
        assert.deepEqual(back.words, words);
        back.table.forEach((x, i) =>
          assert.ok(Math.abs(x - table[i]) <= 1e-5 * Math.max(1, Math.abs(table[i])))
        );
      },
    ),
    { numRuns: 100, seed: 21 },
  );
  assert.throws(() => parseVectors("3 2\na 1 2\n", "short.txt"), /header says 3 words, the file has 1/);
  assert.throws(() => parseVectors("1 2\na 1 x\n", "bad.txt"), /not a number/);
});

Deno.test("vectors: every float32 is written as Number(x.toPrecision(6)) prints it (fast-check over bit patterns)", () => {
  const bits = new Uint32Array(1);
  const value = new Float32Array(bits.buffer);
  const asFloat = (pattern: number) => {
    bits[0] = pattern;
    return value[0];
  };
  // Bit patterns cover every exponent (and NaN, infinities, subnormals, ±0); magnitudes near 1 are what a
  // trained table holds, so they get their own arbitrary, including values at the digit boundaries.
  const anyFloat = fc.integer({ min: 0, max: 2 ** 32 - 1 }).map(asFloat);
  const nearOne = fc.tuple(fc.double({ min: -2, max: 2, noNaN: true }), fc.integer({ min: -7, max: 7 }))
    .map(([x, e]) => Math.fround(x * 10 ** e));
  const boundary = fc.tuple(
    fc.integer({ min: -7, max: 6 }),
    fc.constantFrom(0.99999949, 0.9999995, 1, 9.9999995),
  )
    .map(([e, m]) => Math.fround(m * 10 ** e));
  fc.assert(
    fc.property(
      fc.array(fc.oneof(anyFloat, nearOne, boundary), { minLength: 1, maxLength: 64 }),
      (numbers) => {
        const table = Float32Array.from(numbers);
        const expected = `1 ${table.length}\nw ${
          Array.from(table, (x) => Number(x.toPrecision(6))).join(" ")
        }\n`;
        assert.equal(formatVectors({ words: ["w"], table, dim: table.length }), expected);
      },
    ),
    { numRuns: 2000, seed: 7 },
  );
});

Deno.test("similarity: ρ is 1 for scores that rank like the cosines, -1 reversed; coverage counts pairs", () => {
  const v = parseVectors(HAND_MADE, "hand.txt");
  // cos(king, queen) = 0.5, cos(king, man) = 0.707, cos(apple, pear) = 0.994, cos(man, apple) = 0.
  const pairs = parseScoredPairs(
    "king\tqueen\t5\nking\tman\t7\napple\tpear\t9\nman\tapple\t1\nking\tzebra\t4\n",
    "ws.tsv",
  );
  const r = wordSimilarity(v, pairs);
  assert.deepEqual([r.spearman, r.covered, r.pairs, r.coverage], [1, 4, 5, 0.8]);
  const reversed = pairs.map((p) => ({ ...p, score: -p.score }));
  assert.equal(wordSimilarity(v, reversed).spearman, -1);
  assert.throws(() => parseScoredPairs("a b\n", "bad.tsv"), /should be word TAB word TAB score/);
});

Deno.test("similarity: Spearman's ρ is symmetric, in [-1, 1], and blind to increasing transforms (fast-check)", () => {
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.integer({ min: -50, max: 50 }), fc.integer({ min: -50, max: 50 })), {
        minLength: 3,
        maxLength: 30,
      }),
      (pairs) => {
        const [a, b] = [pairs.map((p) => p[0]), pairs.map((p) => p[1])];
        const r = spearman(a, b);
        if (Number.isNaN(r)) return;
        assert.ok(r >= -1 - 1e-12 && r <= 1 + 1e-12);
        assert.ok(Math.abs(spearman(b, a) - r) < 1e-12);
        assert.ok(Math.abs(spearman(a.map((x) => x ** 3 + 7), b) - r) < 1e-12);
      },
    ),
    { numRuns: 100, seed: 22 },
  );
});

Deno.test("analogy: 3CosAdd and 3CosMul answer the hand-made questions, per section and in total, with coverage", () => {
  const v = parseVectors(HAND_MADE, "hand.txt");
  const questions = parseAnalogies(
    ": royal\nman woman king queen\nwoman man queen king\nman woman king zebra\n: fruit\napple pear king queen\n",
    "q.txt",
  );
  const r = analogies(v, questions);
  const royal = r.sections.find((s) => s.section === "royal")!.score;
  assert.deepEqual([royal.questions, royal.asked, royal.add, royal.mul, royal.coverage], [3, 2, 1, 1, 2 / 3]);
  const fruit = r.sections.find((s) => s.section === "fruit")!.score;
  // apple : pear :: king : ? — pear − apple + king points at king's neighbours, and queen is not the nearest.
  assert.equal(fruit.asked, 1);
  assert.deepEqual([r.total.questions, r.total.asked, r.total.coverage], [4, 3, 0.75]);
  assert.equal(r.total.add, (2 + fruit.add) / 3);
  assert.equal(r.total.mul, (2 + fruit.mul) / 3);
  assert.throws(() => parseAnalogies("a b c\n", "bad.txt"), /four words/);
});

Deno.test("analogy: answers equal a float64 brute force over every candidate, with more question words than one group scores (fast-check)", () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 2 ** 31 - 1 }), (seed) => {
      const rng = new Rng(seed);
      const [count, dim] = [700, 6];
      const words = Array.from({ length: count }, (_, i) => `w${i}`);
      const table = Float32Array.from({ length: count * dim }, () => rng.uniform() - 0.5);
      const questions = Array.from({ length: 300 }, (_, i) => ({
        section: `s${i % 3}`,
        words: [0, 1, 2, 3].map(() => words[rng.below(count)]) as [string, string, string, string],
      }));
      for (let i = 0; i < questions.length; i += 10) questions[i].words[2] = questions[i].words[0]; // a : b :: a : ?
      const r = analogies({ words, table, dim }, questions);
      const units = words.map((_, i) => {
        const row = Array.from(table.subarray(i * dim, (i + 1) * dim));
        const norm = Math.hypot(...row);
        return row.map((x) => x / norm);
      });
      const cos = (i: number, j: number) => units[i].reduce((s, x, k) => s + x * units[j][k], 0);
      let [add, mul] = [0, 0];
      for (const q of questions) {
        const [a, b, c, d] = q.words.map((w) => Number(w.slice(1)));
        let [bestAdd, bestMul, scoreAdd, scoreMul] = [-1, -1, -Infinity, -Infinity];
        for (let w = 0; w < count; w++) {
          if (w === a || w === b || w === c) continue;
          const [ca, cb, cc] = [cos(w, a), cos(w, b), cos(w, c)];
          if (cb - ca + cc > scoreAdd) [bestAdd, scoreAdd] = [w, cb - ca + cc];
          const m = ((cb + 1) / 2) * ((cc + 1) / 2) / ((ca + 1) / 2 + 1e-3);
          if (m > scoreMul) [bestMul, scoreMul] = [w, m];
        }
        add += bestAdd === d ? 1 : 0;
        mul += bestMul === d ? 1 : 0;
      }
      assert.equal(r.total.asked, questions.length);
      assert.equal(r.total.add * questions.length, add);
      assert.equal(r.total.mul * questions.length, mul);
    }),
    { numRuns: 3, seed: 11 },
  );
});

Deno.test("neighbours: by falling cosine, the word itself left out; undefined for an unknown word", () => {
  const v = parseVectors(HAND_MADE, "hand.txt");
  const near = neighbours(v, "apple", 2)!;
  assert.equal(near[0].word, "pear"); // cos 0.994; every other word is at 0 or below
  assert.ok(near.every((n) => n.word !== "apple"));
  assert.ok(near[0].similarity > near[1].similarity);
  assert.equal(neighbours(v, "zebra", 3), undefined);
  assert.equal(neighbours(v, "Paris", 1)![0].word, "france");
});

Deno.test("neighbours: the k first of every other word stably sorted by falling cosine (fast-check, with ties)", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 2, max: 30 }),
      fc.integer({ min: 0, max: 35 }),
      // Few distinct components: equal cosines are common.
      fc.array(fc.constantFrom(-1, 0, 0.5, 1), { minLength: 90, maxLength: 90 }),
      fc.nat(29),
      (count, k, components, pick) => {
        const words = Array.from({ length: count }, (_, i) => (i === 1 ? "Mixed" : `w${i}`));
        const v = { words, table: Float32Array.from(components.slice(0, 3 * count)), dim: 3 };
        const id = pick % count;
        const unit = unitRows(v.table, 3);
        const expected = words.map((w, other) => ({ word: w, similarity: cosine(unit, 3, id, other) }))
          .filter((_, other) => other !== id)
          .sort((a, b) => b.similarity - a.similarity)
          .slice(0, k);
        assert.deepEqual(neighbours(v, words[id], k), expected);
        // Any case finds the word: "W3" is w3, "MIXED" is Mixed (no word is "mixed").
        assert.deepEqual(neighbours(v, words[id].toUpperCase(), k), expected);
      },
    ),
    { numRuns: 300, seed: 9 },
  );
});

Deno.test("sample: the same seed gives the same tokens; temperature near 0 and top-1 give the argmax", () => {
  const next = (context: Int32Array) => {
    const last = context.at(-1) ?? 0;
    return Float64Array.from({ length: 5 }, (_, i) => Math.log([0.1, 0.2, 0.4, 0.2, 0.1][(i + last) % 5]));
  };
  const options = { tokens: 30, temperature: 1, topK: 0, seed: 5 };
  assert.deepEqual(
    sampleTokens(next, new Int32Array([1]), options),
    sampleTokens(next, new Int32Array([1]), options),
  );
  assert.notDeepEqual(
    sampleTokens(next, new Int32Array([1]), options),
    sampleTokens(next, new Int32Array([1]), { ...options, seed: 6 }),
  );
  const logp = Float64Array.from([0.1, 0.2, 0.4, 0.2, 0.1], Math.log);
  const rng = new Rng(1);
  for (let i = 0; i < 20; i++) {
    assert.equal(drawToken(logp, 1e-6, 0, rng), 2);
    assert.equal(drawToken(logp, 1, 1, rng), 2);
    assert.ok([1, 2, 3].includes(drawToken(logp, 1, 3, rng)));
  }
  // Temperature 1 draws in proportion to the probabilities.
  const counts = [0, 0, 0, 0, 0];
  for (let i = 0; i < 20000; i++) counts[drawToken(logp, 1, 0, rng)]++;
  counts.forEach((c, i) => assert.ok(Math.abs(c / 20000 - Math.exp(logp[i])) < 0.015, `${i}: ${c}`));
});

Deno.test("mixture: the tuned weight never does worse than either model alone", () => {
  fc.assert(
    fc.property(
      fc.array(
        fc.tuple(
          fc.double({ min: 0.01, max: 1, noNaN: true }),
          fc.double({ min: 0.01, max: 1, noNaN: true }),
        ),
        { minLength: 1, maxLength: 20 },
      ),
      (ps) => {
        const [a, b] = [
          Float64Array.from(ps, (p) => Math.log(p[0])),
          Float64Array.from(ps, (p) => Math.log(p[1])),
        ];
        const best = bestMixture(a, b);
        assert.ok(
          best.perplexity <= mixedPerplexity(a, b, 1) + 1e-9 &&
            best.perplexity <= mixedPerplexity(a, b, 0) + 1e-9,
        );
      },
    ),
    { numRuns: 50, seed: 23 },
  );
});
