/**
 * The data side of the models: vocabularies and encodings, splits as defined, corpora refused with one-line
 * errors, the one seeded generator, word2vec's windows and the LM batchers (fast-check).
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  corpusName,
  loadCorpus,
  readCorpusText,
  splitByTokens,
  splitParts,
  splitSizes,
  tokenize,
} from "../../models/data/corpus.ts";
import { ChunkBatches, RandomChunkBatches, RowBatches, WindowBatches } from "../../models/data/lm_batches.ts";
import { maskTokens } from "../../models/data/masking.ts";
import { Rng } from "../../models/data/random.ts";
import { buildVocabulary, encode, encodeStream, lmVocabulary, UNK } from "../../models/data/vocabulary.ts";
import { CbowBatcher, PairBatcher } from "../../models/data/windows.ts";
import { textFile } from "./cli.ts";

const sentencesArb = fc.array(
  fc.array(fc.integer({ min: 0, max: 9 }).map((i) => `w${i}`), { minLength: 1, maxLength: 12 }),
  {
    minLength: 1,
    maxLength: 15,
  },
);

Deno.test("vocabulary: ids by falling count; encoding keeps exactly the in-vocabulary tokens, in order (fast-check)", () => {
  fc.assert(
    fc.property(sentencesArb, fc.integer({ min: 1, max: 4 }), (text, minCount) => {
      const v = buildVocabulary(text, minCount);
      const all = text.flat();
      // Equal counts keep the order words were first seen in.
      for (let i = 1; i < v.counts.length; i++) {
        assert.ok(v.counts[i - 1] > v.counts[i] || all.indexOf(v.words[i - 1]) < all.indexOf(v.words[i]));
      }
      for (const [w, id] of v.idOf) assert.equal(v.counts[id], all.filter((x) => x === w).length);
      const frequent = new Set(all.filter((w) => all.filter((x) => x === w).length >= minCount));
      assert.equal(v.words.length, frequent.size);
      const { ids, starts } = encode(text, v);
      assert.deepEqual(Array.from(ids, (id) => v.words[id]), all.filter((w) => v.idOf.has(w)));
      assert.deepEqual(
        Array.from(starts.slice(1), (end, s) => end - starts[s]),
        text.map((t) => t.filter((w) => v.idOf.has(w)).length),
      );
      assert.equal(starts[0], 0);
    }),
    { numRuns: 100, seed: 1 },
  );
});

Deno.test("vocabulary: thousands of distinct words are counted (the count array grows)", () => {
  const text = [Array.from({ length: 5000 }, (_, i) => `w${i % 2500}`)];
  const v = buildVocabulary(text, 2);
  assert.equal(v.words.length, 2500);
  assert.ok(v.counts.every((c) => c === 2));
  assert.deepEqual(v.words.slice(0, 3), ["w0", "w1", "w2"]);
});

Deno.test("vocabulary: an LM stream is each sentence's ids then <eos>; rare words and literal <unk> are <unk>", () => {
  const text = [["a", "b", "a"], ["a", UNK, "c"]];
  const v = lmVocabulary(text, { minCount: 2 });
  assert.deepEqual(v.words, ["<eos>", "<unk>", "a"]);
  assert.deepEqual(Array.from(v.counts), [2, 3, 3]); // b, <unk> and c are unknown tokens
  assert.deepEqual(Array.from(encodeStream(text, v)), [2, 1, 2, 0, 2, 1, 1, 0]);
  assert.deepEqual(lmVocabulary([["x"]], { eos: "\n", mask: true }).words, ["\n", "<unk>", "<mask>", "x"]);
});

Deno.test("split: parts are consecutive whole sentences, each reaching its token count (fast-check)", () => {
  fc.assert(
    fc.property(
      sentencesArb,
      fc.integer({ min: 1, max: 40 }),
      fc.integer({ min: 1, max: 40 }),
      (text, a, b) => {
        const parts = splitByTokens(text, [a, b]);
        assert.deepEqual(parts.flat(), text);
        const tokens = (p: string[][]) => p.reduce((n, s) => n + s.length, 0);
        // A part stops at the first sentence boundary at or past its size (or at the end of the corpus).
        if (parts[1].length > 0 || parts[2].length > 0) assert.ok(tokens(parts[0]) >= a);
        if (parts[0].length > 0) assert.ok(tokens(parts[0]) - parts[0].at(-1)!.length < a);
      },
    ),
    { numRuns: 100, seed: 2 },
  );
});

Deno.test("split: specs are fractions or token counts; Bengio's Brown split is 800,000 and 200,000 tokens", () => {
  assert.deepEqual(splitSizes("0.9,0.1", 1000), [900, 100]);
  assert.deepEqual(splitSizes("800000,200000", 1_161_192), [800000, 200000]);
  for (const bad of ["0.9", "0.8,0.3", "a,b", "1.5,2", "-1,2"]) {
    assert.throws(() => splitSizes(bad, 100), /split must be/);
  }
  const [train, valid, test] = splitParts([["a", "b"], ["c"], ["d"], ["e", "f"]], "0.5,0.2");
  assert.deepEqual([train.length, valid.length, test.length], [2, 1, 1]);
});

Deno.test("corpus: X.train.txt picks up X.valid.txt and X.test.txt; other files split; names", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(`${dir}/toy.train.txt`, "a b\nc d\n");
  await Deno.writeTextFile(`${dir}/toy.valid.txt`, "e\n");
  await Deno.writeTextFile(`${dir}/toy.test.txt`, "f g\n");
  const options = { tokens: "word", lowercase: true, punctuation: true, split: "0.5,0.2" } as const;
  const parts = await loadCorpus(`${dir}/toy.train.txt`, options);
  assert.deepEqual([parts.train, parts.valid, parts.test], [[["a", "b"], ["c", "d"]], [["e"]], [["f", "g"]]]);
  assert.equal(parts.name, "toy");
  assert.equal(corpusName("/x/notes.txt"), "notes");
  await Deno.remove(dir, { recursive: true });
});

Deno.test("corpus: characters keep case and every line, words drop punctuation only when asked", () => {
  assert.deepEqual(tokenize("Ab\n\nc\n", { tokens: "char", lowercase: true, punctuation: false }), [
    ["A", "b"],
    [],
    ["c"],
  ]);
  assert.deepEqual(tokenize("A , b\n", { tokens: "word", lowercase: true, punctuation: true }), [[
    "a",
    ",",
    "b",
  ]]);
  assert.deepEqual(tokenize("A , b\n", { tokens: "word", lowercase: false, punctuation: false }), [[
    "A",
    "b",
  ]]);
});

Deno.test("corpus: words are each line's runs of non-space, lowercased when asked (fast-check against the definition)", () => {
  // Letters whose lowercase differs in length or by context (İ, final Σ), Unicode spaces, tabs, \r, digits and
  // punctuation: what could tell lowercasing the whole text from lowercasing line by line.
  const piece = fc.constantFrom(
    "A",
    "b",
    "İ",
    "Σ",
    "ΑΣ",
    "é",
    "3",
    ",",
    " ",
    "\t",
    "\u00a0",
    "\u2003",
    "\r",
    "\n",
    "\n\n",
  );
  fc.assert(
    fc.property(
      fc.array(piece, { maxLength: 40 }),
      fc.boolean(),
      fc.boolean(),
      (pieces, lowercase, punctuation) => {
        const text = pieces.join("");
        const expected = text.split("\n").flatMap((line) => {
          let words = (lowercase ? line.toLowerCase() : line).split(/\s+/).filter((w) => w.length > 0);
          if (!punctuation) words = words.filter((w) => /[\p{L}\p{N}]/u.test(w));
          return words.length > 0 ? [words] : [];
        });
        assert.deepEqual(tokenize(text, { tokens: "word", lowercase, punctuation }), expected);
      },
    ),
    { numRuns: 500, seed: 5 },
  );
});

Deno.test("corpus: a missing, empty, binary or non-UTF-8 file is refused with the reason and the fix", async () => {
  await assert.rejects(readCorpusText("/surely/not/here.txt"), /not found; pass the path of a text file/);
  const empty = await textFile(" \n\n");
  await assert.rejects(readCorpusText(empty), /is empty/);
  const binary = await textFile(new Uint8Array([104, 105, 0, 1, 2]));
  await assert.rejects(readCorpusText(binary), /looks binary \(a NUL byte at offset 2\)/);
  const latin1 = await textFile(new Uint8Array([99, 97, 102, 0xe9, 10]));
  await assert.rejects(readCorpusText(latin1), /is not UTF-8 \(first bad byte at offset 3\).*iconv/);
  for (const f of [empty, binary, latin1]) await Deno.remove(f);
});

Deno.test("random: the same seed gives the same draws, and restoring the state replays them (fast-check)", () => {
  fc.assert(
    fc.property(fc.integer(), fc.integer({ min: 1, max: 1000 }), (seed, n) => {
      const [a, b] = [new Rng(seed), new Rng(seed)];
      const x = Array.from({ length: 5 }, () => a.below(n));
      assert.deepEqual(Array.from({ length: 5 }, () => b.below(n)), x);
      assert.ok(x.every((v) => v >= 0 && v < n));
      const saved = a.state;
      const y = a.uniform();
      a.state = saved;
      assert.equal(a.uniform(), y);
    }),
    { numRuns: 100, seed: 3 },
  );
});

const windowArb = fc.record({
  text: sentencesArb,
  window: fc.integer({ min: 1, max: 3 }),
  extra: fc.integer({ min: 0, max: 10 }),
  subsample: fc.constantFrom(0, 0.05),
  seed: fc.integer({ min: 0, max: 1e6 }),
});

Deno.test("windows: pairs and windows lie in one sentence; a restored batcher makes the same batches (fast-check)", () => {
  fc.assert(
    fc.property(windowArb, ({ text, window, extra, subsample, seed }) => {
      const v = buildVocabulary(text);
      const corpus = encode(text, v);
      const near = new Set<string>();
      for (let s = 0; s + 1 < corpus.starts.length; s++) {
        for (let i = corpus.starts[s]; i < corpus.starts[s + 1]; i++) {
          for (let j = corpus.starts[s]; j < corpus.starts[s + 1]; j++) {
            if (i !== j) near.add(`${corpus.ids[i]},${corpus.ids[j]}`);
          }
        }
      }
      const settings = { window, negatives: 2, subsample, epochs: 2, seed };
      const pairs = new PairBatcher(corpus, v.counts, settings, 2 * window + extra);
      const seen: string[] = [];
      let middle = undefined;
      for (let b = pairs.next(), k = 0; b; b = pairs.next(), k++) {
        for (let p = 0; p < b.pairs; p++) assert.ok(near.has(`${b.centre[p]},${b.context[p]}`));
        if (k === 1) middle = pairs.state;
        if (k >= 2) seen.push(`${b.centre.join()}|${b.context.join()}|${b.negatives.join()}`);
      }
      if (middle) {
        const again = new PairBatcher(corpus, v.counts, settings, 2 * window + extra);
        again.restore(middle);
        const replay: string[] = [];
        for (let b = again.next(); b; b = again.next()) {
          replay.push(`${b.centre.join()}|${b.context.join()}|${b.negatives.join()}`);
        }
        assert.deepEqual(replay, seen);
      }
      const cbow = new CbowBatcher(corpus, v.counts, settings, 1 + extra);
      for (let b = cbow.next(); b; b = cbow.next()) {
        for (let r = 0; r < b.windows; r++) {
          for (let c = 0; c < 2 * window; c++) {
            if (b.mask[r * 2 * window + c]) {
              assert.ok(near.has(`${b.centre[r]},${b.context[r * 2 * window + c]}`));
            }
          }
        }
      }
    }),
    { numRuns: 80, seed: 4 },
  );
});

Deno.test("random chunks (nanoGPT): each row is a run of the stream with its context, drawn again alike on resume (fast-check)", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 2, max: 120 }),
      fc.integer({ min: 1, max: 8 }),
      fc.integer({ min: 1, max: 5 }),
      fc.integer({ min: 0, max: 1000 }),
      (length, width, rows, seed) => {
        // Distinct values, so a target names its position in the stream.
        const stream = Int32Array.from({ length }, (_, i) => 100 + i);
        const settings = { width, rows, epochs: 2, seed };
        const batches = new RandomChunkBatches(stream, settings);
        const seen: string[] = [];
        const states: (typeof batches.state)[] = [];
        for (let b = batches.next(); b; b = batches.next()) {
          states.push(batches.state);
          seen.push(`${b.inputs.join()}|${b.targets.join()}`);
          for (let r = 0; r < rows; r++) {
            const start: number = b.targets[r * width] - 100;
            assert.ok(start >= 1, "the first target has a token before it");
            for (let t = 0; t < width; t++) {
              const target: number = b.targets[r * width + t];
              if (target < 0) {
                assert.ok(start + t >= length, "only targets past the stream's end are missing");
                continue;
              }
              assert.equal(target, stream[start + t]);
              assert.equal(b.inputs[r * width + t], stream[start + t - 1]);
            }
          }
        }
        assert.equal(seen.length, 2 * batches.batchesPerEpoch);
        // A batcher put at a saved state draws what the uninterrupted one drew next.
        const middle = Math.floor(seen.length / 2);
        const resumed = new RandomChunkBatches(stream, settings);
        resumed.state = states[middle - 1];
        const b = resumed.next()!;
        assert.equal(`${b.inputs.join()}|${b.targets.join()}`, seen[middle]);
      },
    ),
    { numRuns: 80, seed: 5 },
  );
});

Deno.test("LM batchers: every token is a target once an epoch, its input the token before it (fast-check)", () => {
  fc.assert(
    fc.property(
      fc.array(fc.integer({ min: 1, max: 50 }), { minLength: 1, maxLength: 80 }),
      fc.integer({ min: 1, max: 6 }),
      fc.integer({ min: 1, max: 5 }),
      fc.integer({ min: 0, max: 1000 }),
      (values, width, rows, seed) => {
        const stream = Int32Array.from(values);
        for (const Kind of [ChunkBatches, RowBatches]) {
          const batches = new Kind(stream, { width, rows, epochs: 1, seed });
          const counts = new Map<number, number>();
          let real = 0;
          for (let b = batches.next(); b; b = batches.next()) {
            real += b.real;
            for (let i = 0; i < b.targets.length; i++) {
              if (b.targets[i] < 0) continue;
              counts.set(b.targets[i], (counts.get(b.targets[i]) ?? 0) + 1);
            }
          }
          assert.equal(real, stream.length, Kind.name);
          for (const v of new Set(values)) assert.equal(counts.get(v), values.filter((x) => x === v).length);
        }
        const windows = new WindowBatches(stream, { width, rows, epochs: 1, seed });
        const targets: number[] = [];
        for (let b = windows.next(); b; b = windows.next()) {
          for (let r = 0; r < rows; r++) {
            if (b.targets[r] < 0) continue;
            targets.push(b.targets[r]);
            // The window's last input is the token before the target (0 before the stream).
            const position = b.inputs[r * width + width - 1];
            assert.ok(position === 0 || values.includes(position));
          }
        }
        assert.deepEqual(targets.sort((a, b) => a - b), [...values].sort((a, b) => a - b));
      },
    ),
    { numRuns: 100, seed: 5 },
  );
});

Deno.test("masking: about 15% chosen, of which about 80% masked, 10% random, 10% kept", () => {
  const n = 200_000;
  const tokens = Int32Array.from({ length: n }, (_, i) => 3 + (i % 1000));
  const [inputs, targets] = [new Int32Array(n), new Int32Array(n)];
  const chosen = maskTokens(tokens, inputs, targets, new Rng(9), {
    rate: 0.15,
    maskId: 2,
    firstWord: 3,
    words: 1003,
  });
  let [masked, kept] = [0, 0];
  for (let i = 0; i < n; i++) {
    if (targets[i] < 0) {
      assert.equal(inputs[i], tokens[i]);
      continue;
    }
    if (inputs[i] === 2) masked++;
    else if (inputs[i] === tokens[i]) kept++;
  }
  assert.ok(Math.abs(chosen / n - 0.15) < 0.005, `${chosen / n}`);
  assert.ok(Math.abs(masked / chosen - 0.8) < 0.01, `${masked / chosen}`);
  // Kept: the 10% left alone, plus the random draws that land on the token itself (1 in 1000).
  assert.ok(Math.abs(kept / chosen - 0.1) < 0.01, `${kept / chosen}`);
});

Deno.test("word2vec windows: negatives follow the unigram distribution to the 3/4 (chi-square over 200,000 draws)", () => {
  // Words 0..5 seen 1000, 300, 100, 30, 10, 1 times: the draws must match count^0.75 / Σ count^0.75.
  const counts = new Int32Array([1000, 300, 100, 30, 10, 1]);
  const corpus = { ids: new Int32Array(2000).map((_, i) => i % 6), starts: new Int32Array([0, 2000]) };
  const settings = { window: 2, negatives: 25, subsample: 0, epochs: 100, seed: 1 };
  const batcher = new PairBatcher(corpus, counts, settings, 4000);
  const seen = new Float64Array(counts.length);
  let draws = 0;
  while (draws < 200_000) {
    const b = batcher.next()!;
    for (let i = 0; i < b.pairs * settings.negatives; i++) seen[b.negatives[i]]++;
    draws += b.pairs * settings.negatives;
  }
  const weights = Array.from(counts, (c) => c ** 0.75);
  const total = weights.reduce((a, b) => a + b);
  const chiSquare = weights.reduce(
    (sum, w, i) => sum + (seen[i] - draws * w / total) ** 2 / (draws * w / total),
    0,
  );
  // 5 degrees of freedom: P(χ² > 20.5) = 0.001.
  assert.ok(chiSquare < 20.5, `χ² ${chiSquare.toFixed(2)}, counts seen ${seen.join()}`);
});
