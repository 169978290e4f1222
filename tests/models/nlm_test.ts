/**
 * Bengio's neural LM: windows against the stream they come from (fast-check), gradients against finite
 * differences, perplexity against a hand computation, training that learns a toy language, resumption bit
 * for bit, the guard against divergence, and the LM corpus helpers.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import * as L from "../../mod.ts";
import { encodeStream, EOS, lmVocabulary, splitByTokens, UNK } from "../../models/corpus.ts";
import { NonFiniteLossError } from "../../models/guard.ts";
import {
  applyRecurrentLm,
  bengioModel,
  fillChunks,
  fillRowChunks,
  fillWindows,
  languageModel,
  lmDefaultsFor,
  loadNlm,
  NLM_DEFAULTS,
  perplexity,
  rowChunkCount,
  trainNlm,
} from "../../models/nlm.ts";
import { checkGrad, randomTensor, rng } from "../helpers.ts";
import { runTrain } from "./cli.ts";

Deno.test("nlm: each window holds the ids just before its target, <eos>-padded at the start (fast-check)", () => {
  fc.assert(
    fc.property(
      fc.array(fc.integer({ min: 0, max: 50 }), { minLength: 1, maxLength: 40 }),
      fc.integer({ min: 1, max: 6 }),
      fc.integer({ min: 1, max: 12 }),
      (stream, context, rows) => {
        const ids = Int32Array.from(stream);
        const positions = Array.from({ length: Math.min(rows, ids.length) }, (_, i) => (i * 7) % ids.length);
        const [contexts, targets] = [new Int32Array(rows * context), new Int32Array(rows)];
        fillWindows(ids, positions, context, contexts, targets);
        for (let row = 0; row < rows; row++) {
          if (row >= positions.length) {
            assert.equal(targets[row], -1);
            continue;
          }
          const t = positions[row];
          assert.equal(targets[row], ids[t]);
          for (let j = 0; j < context; j++) {
            const at = t - context + j;
            assert.equal(contexts[row * context + j], at >= 0 ? ids[at] : 0);
          }
        }
      },
    ),
    { numRuns: 200, seed: 31 },
  );
});

Deno.test("nlm: the model's gradients match finite differences", () => {
  const model = bengioModel(7, { context: 3, embedding: 4, hidden: 5 });
  const { params } = model.init(L.random.key(2), [4, 3]);
  const flat = L.flatten(params);
  const x = L.tensor([[0, 1, 2], [3, 4, 5], [6, 0, 1], [2, 2, 2]], { dtype: "int32" });
  const y = L.tensor([1, 2, 3, 4], { dtype: "int32" });
  // Every leaf (embedding table, both dense layers) as an argument, perturbed away from the init.
  const leaves = flat.leaves.map((t, i) =>
    t.add(randomTensor(rng(40 + i), [...t.shape], { lo: -0.3, hi: 0.3 }))
  );
  const loss = (...ts: L.Tensor[]) =>
    L.loss.crossEntropy(model.apply(L.unflatten(flat.def, ts) as typeof params, x) as L.Tensor, y);
  checkGrad(loss, leaves);
});

Deno.test("nlm: perplexity is exp of the mean negative log-likelihood of every token", () => {
  const model = bengioModel(6, { context: 2, embedding: 3, hidden: 4 });
  const { params } = model.init(L.random.key(5), [1, 2]);
  const stream = Int32Array.from([3, 1, 4, 1, 5, 2, 0]);
  let nll = 0;
  for (let t = 0; t < stream.length; t++) {
    const context = [t - 2, t - 1].map((at) => (at >= 0 ? stream[at] : 0));
    const logits = (model.apply(params, L.tensor([context], { dtype: "int32" })) as L.Tensor).dataSync();
    const max = Math.max(...logits);
    const logZ = max + Math.log(Array.from(logits).reduce((s, v) => s + Math.exp(v - max), 0));
    nll += logZ - logits[stream[t]];
  }
  // Batches of 3 leave a partial last batch, whose padding must not count.
  const got = perplexity(model, params, stream, { ...NLM_DEFAULTS, context: 2 }, 3);
  assert.ok(
    Math.abs(got - Math.exp(nll / stream.length)) < 1e-4 * got,
    `${got} vs ${Math.exp(nll / stream.length)}`,
  );
});

Deno.test("rnn lm: chunks cover every token of the stream once, inputs shifted by one (fast-check)", () => {
  fc.assert(
    fc.property(
      fc.array(fc.integer({ min: 1, max: 50 }), { minLength: 1, maxLength: 60 }),
      fc.integer({ min: 1, max: 9 }),
      (stream, steps) => {
        const ids = Int32Array.from(stream);
        const chunks = Math.ceil(ids.length / steps);
        const starts = Array.from({ length: chunks }, (_, c) => c * steps);
        const rows = chunks + 1; // one padding row
        const [inputs, targets] = [new Int32Array(rows * steps), new Int32Array(rows * steps)];
        const real = fillChunks(ids, starts, steps, inputs, targets);
        assert.equal(real, ids.length);
        // The real targets, row by row, are the stream; each input is the token before its target.
        assert.deepEqual(Array.from(targets).filter((t) => t !== -1), stream);
        for (let i = 0; i < targets.length; i++) {
          if (targets[i] === -1) continue;
          const at = starts[Math.floor(i / steps)] + (i % steps);
          assert.equal(inputs[i], at > 0 ? ids[at - 1] : 0);
        }
      },
    ),
    { numRuns: 200, seed: 33 },
  );
});

for (const architecture of ["lstm", "gru", "rnn", "transformer"] as const) {
  Deno.test(`lm: the ${architecture} model's gradients match finite differences`, () => {
    const config = { ...lmDefaultsFor(architecture), embedding: 4, hidden: 4, layers: 2, steps: 3, heads: 2 };
    const model = languageModel(5, config);
    const { params } = model.init(L.random.key(3), [2, 3]);
    const flat = L.flatten(params);
    const x = L.tensor([[0, 1, 2], [3, 4, 0]], { dtype: "int32" });
    const y = L.tensor([[1, 2, 3], [4, 0, -1]], { dtype: "int32" }); // -1: a padded slot
    const leaves = flat.leaves.map((t, i) =>
      t.add(randomTensor(rng(60 + i), [...t.shape], { lo: -0.3, hi: 0.3 }))
    );
    const loss = (...ts: L.Tensor[]) =>
      L.loss.crossEntropy(model.apply(L.unflatten(flat.def, ts), x) as L.Tensor, y, { ignoreIndex: -1 });
    checkGrad(loss, leaves, { label: architecture });
  });
}

Deno.test("transformer lm: causal, so a token's logits do not depend on the tokens after it", () => {
  const config = { ...lmDefaultsFor("transformer"), embedding: 8, hidden: 8, layers: 2, heads: 2, steps: 5 };
  const model = languageModel(9, config);
  const { params } = model.init(L.random.key(4), [1, 5]);
  const logits = (ids: number[]) =>
    (model.apply(params, L.tensor([ids], { dtype: "int32" })) as L.Tensor).dataSync() as Float32Array;
  const [a, b] = [logits([1, 2, 3, 4, 5]), logits([1, 2, 3, 8, 7])];
  // Positions 0-2 see the same prefix: equal logits; position 3 sees a different token: different ones.
  assert.deepEqual(a.slice(0, 27), b.slice(0, 27));
  assert.notDeepEqual(a.slice(27, 36), b.slice(27, 36));
});

Deno.test("rnn lm: an LSTM learns the toy language, and resumes bit for bit", async () => {
  const text = toy();
  const vocabulary = lmVocabulary(text);
  const stream = encodeStream(text, vocabulary);
  const config = {
    ...lmDefaultsFor("lstm"),
    embedding: 16,
    hidden: 24,
    layers: 1,
    steps: 12,
    batch: 8,
    epochs: 6,
    lr: 0.02,
  };
  assert.equal(config.carryState, true);
  const run = await trainNlm({ train: stream, vocabulary, config });
  const trained = perplexity(run.model, run.params, stream, run.config);
  assert.ok(trained < 2.2, `perplexity ${trained}`);
  // Chunks that start cold (and come in a random order) learn too; their first tokens are harder.
  const cold = await trainNlm({ train: stream, vocabulary, config: { ...config, carryState: false } });
  const coldPerplexity = perplexity(cold.model, cold.params, stream, cold.config);
  assert.ok(coldPerplexity < 2.2, `perplexity without carried states ${coldPerplexity}`);
  const dir = await Deno.makeTempDir({ prefix: "loom-rnnlm-" });
  try {
    const short = { ...config, epochs: 2 };
    const straight = await trainNlm({ train: stream, vocabulary, config: short });
    await trainNlm({
      train: stream,
      vocabulary,
      config: short,
      checkpoint: `${dir}/r.safetensors`,
      maxSteps: 7,
    });
    const resumed = await trainNlm({
      train: stream,
      vocabulary,
      config: short,
      checkpoint: `${dir}/r.safetensors`,
      resume: true,
    });
    assert.equal(resumed.steps, straight.steps);
    const [a, b] = [L.flatten(straight.params).leaves, L.flatten(resumed.params).leaves];
    a.forEach((t, i) => assert.deepEqual(b[i].dataSync(), t.dataSync()));
    assert.equal((await loadNlm(`${dir}/r.safetensors`)).config.architecture, "lstm");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("rnn lm: row chunks cover every token once, each row in order (fast-check)", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 60 }),
      fc.integer({ min: 1, max: 7 }),
      fc.integer({ min: 1, max: 9 }),
      (length, rows, steps) => {
        const stream = Int32Array.from({ length }, (_, i) => i + 1); // token = position + 1
        const [inputs, targets] = [new Int32Array(rows * steps), new Int32Array(rows * steps)];
        const seen = new Int32Array(length + 1);
        const last = new Int32Array(rows); // the last target of each row so far
        let real = 0;
        for (let index = 0; index < rowChunkCount(length, rows, steps); index++) {
          real += fillRowChunks(stream, rows, steps, index, inputs, targets);
          targets.forEach((target, i) => {
            if (target === -1) return;
            seen[target]++;
            assert.equal(inputs[i], target - 1); // the token before (0, <eos>, before the first)
            const row = Math.floor(i / steps);
            if (last[row] !== 0) assert.equal(target, last[row] + 1); // consecutive along the row
            last[row] = target;
          });
        }
        assert.equal(real, length);
        assert.ok(seen.subarray(1).every((count) => count === 1));
      },
    ),
  );
});

Deno.test("rnn lm: with carried states, perplexity is that of each row read in one piece", () => {
  const [vocabulary, length, rows] = [11, 37, 3];
  const config = { ...lmDefaultsFor("gru"), embedding: 6, hidden: 8, layers: 2, steps: 4 };
  const model = languageModel(vocabulary, config);
  const { params } = model.init(L.random.key(3), [1, 4]);
  const stream = Int32Array.from({ length }, (_, i) => (i * 7 + (i >> 2)) % vocabulary);
  const chunked = perplexity(model, params, stream, config, rows);
  // Each row in one call from zeros, its log-likelihood summed in float64 here.
  const rowLength = Math.ceil(length / rows);
  let nll = 0;
  for (let row = 0; row < rows; row++) {
    const [from, to] = [row * rowLength, Math.min(length, (row + 1) * rowLength)];
    const inputs = Int32Array.from({ length: to - from }, (_, t) => from + t > 0 ? stream[from + t - 1] : 0);
    const ids = L.tensor(inputs, { shape: [1, to - from], dtype: "int32" });
    const logits = applyRecurrentLm(vocabulary, config, params, ids).logits.dataSync();
    for (let t = 0; t < to - from; t++) {
      const row = Array.from(logits.subarray(t * vocabulary, (t + 1) * vocabulary));
      const top = Math.max(...row);
      const logSum = top + Math.log(row.reduce((sum, v) => sum + Math.exp(v - top), 0));
      nll += logSum - row[stream[from + t]];
    }
  }
  const whole = Math.exp(nll / length);
  assert.ok(Math.abs(chunked - whole) < 1e-4 * whole, `chunked ${chunked}, whole rows ${whole}`);
});

/** A toy language: "the N V the N" sentences with a few nouns and verbs. */
function toy(): string[][] {
  const [nouns, verbs] = [["cat", "dog", "bird"], ["sees", "likes"]];
  let s = 3;
  const pick = <T>(xs: T[]) => xs[(s = (s * 1103515245 + 12345) >>> 0) % xs.length];
  return Array.from({ length: 300 }, () => ["the", pick(nouns), pick(verbs), "the", pick(nouns)]);
}

Deno.test("nlm: training learns a toy language (perplexity near its entropy)", async () => {
  const text = toy();
  const vocabulary = lmVocabulary(text);
  const stream = encodeStream(text, vocabulary);
  const run = await trainNlm({
    train: stream,
    vocabulary,
    config: { embedding: 8, hidden: 16, batch: 64, epochs: 6, lr: 0.02 },
  });
  assert.ok(run.finished);
  // Per sentence of 6 tokens only the nouns (3-way) and verbs (2-way) are uncertain: the best model's
  // perplexity is (3·2·3)^(1/6) ≈ 1.62; an untrained one is near the vocabulary size (8).
  const trained = perplexity(run.model, run.params, stream, run.config);
  assert.ok(trained < 1.9, `perplexity ${trained}`);
});

Deno.test("nlm: a run stopped and resumed from its checkpoint ends bit for bit as an uninterrupted one", async () => {
  const text = toy();
  const vocabulary = lmVocabulary(text);
  const stream = encodeStream(text, vocabulary);
  const config = { embedding: 6, hidden: 8, batch: 50, epochs: 2, lr: 0.01 };
  const dir = await Deno.makeTempDir({ prefix: "loom-nlm-" });
  try {
    const straight = await trainNlm({
      train: stream,
      vocabulary,
      config,
      checkpoint: `${dir}/a.safetensors`,
    });
    const first = await trainNlm({
      train: stream,
      vocabulary,
      config,
      checkpoint: `${dir}/b.safetensors`,
      maxSteps: Math.floor(straight.steps / 3) + 1,
    });
    assert.ok(!first.finished);
    const resumed = await trainNlm({
      train: stream,
      vocabulary,
      config: { ...config, lr: 5 }, // ignored: the checkpoint's config wins
      checkpoint: `${dir}/b.safetensors`,
      resume: true,
    });
    assert.ok(resumed.finished);
    assert.equal(resumed.steps, straight.steps);
    const [a, b] = [L.flatten(straight.params).leaves, L.flatten(resumed.params).leaves];
    a.forEach((t, i) => assert.deepEqual(b[i].dataSync(), t.dataSync()));
    const saved = await loadNlm(`${dir}/b.safetensors`);
    assert.deepEqual(saved.vocabulary.words, vocabulary.words);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("nlm: a run that diverges stops before saving; the last checkpoint stays finite", async () => {
  const text = toy();
  const vocabulary = lmVocabulary(text);
  const dir = await Deno.makeTempDir({ prefix: "loom-nlm-" });
  try {
    const path = `${dir}/n.safetensors`;
    const error = await trainNlm({
      train: encodeStream(text, vocabulary),
      vocabulary,
      config: { embedding: 6, hidden: 8, batch: 50, epochs: 3, lr: 1e38 },
      checkpoint: path,
      checkpointSeconds: 0,
    }).catch((e) => e);
    assert.ok(error instanceof NonFiniteLossError, String(error));
    const saved = await loadNlm(path).catch(() => undefined);
    // Either nothing was saved yet or what was saved is finite.
    for (const t of saved ? L.flatten(saved.params).leaves : []) {
      assert.ok((t.dataSync() as Float32Array).every(Number.isFinite));
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("corpus: LM vocabularies put <eos> and <unk> first, and streams end each sentence with <eos>", () => {
  fc.assert(
    fc.property(
      fc.array(fc.array(fc.constantFrom("a", "b", "c", "d"), { minLength: 1, maxLength: 6 }), {
        minLength: 1,
        maxLength: 8,
      }),
      fc.integer({ min: 1, max: 3 }),
      (text, minCount) => {
        const vocabulary = lmVocabulary(text, minCount);
        assert.deepEqual(vocabulary.words.slice(0, 2), [EOS, UNK]);
        const stream = encodeStream(text, vocabulary);
        assert.equal(stream.length, text.reduce((n, s) => n + s.length + 1, 0));
        assert.equal(stream.filter((id) => id === 0).length, text.length);
        // Counts add up to the stream's tokens.
        assert.equal(vocabulary.counts.reduce((a, b) => a + b, 0), stream.length);
        const [head, tail] = splitByTokens(text, [3]);
        assert.deepEqual([...head, ...tail], text);
      },
    ),
    { numRuns: 150, seed: 32 },
  );
});

Deno.test("train: `deno task train --nlm --quick` trains, checkpoints and reports perplexities", async () => {
  const dir = await Deno.makeTempDir({ prefix: "loom-train-" });
  try {
    const out = `${dir}/nlm.safetensors`;
    const run = await runTrain(["--nlm", "--quick", "--out", out]);
    const stdout = run.stdout;
    assert.ok(run.success, run.stderr);
    const test = Number(/^test perplexity: ([\d.]+)$/m.exec(stdout)?.[1]);
    // One epoch on a tenth of Brown: far better than a uniform guess over its ~2,800 words.
    assert.ok(test > 1 && test < 1000, stdout);
    const saved = await loadNlm(out);
    assert.equal(saved.position.epoch, 1);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
