/**
 * The one training loop: a run stopped and resumed from its checkpoint ends bit for bit as an uninterrupted
 * one (word2vec's random windows, a carried LSTM state, dropout masks, the masked LM's masks), a diverging run stops before
 * saving anything non-finite, and an unreadable or foreign checkpoint is refused with the fix.
 */
import assert from "node:assert/strict";
import { tokenize } from "../../models/data/corpus.ts";
import { buildVocabulary, lmVocabulary } from "../../models/data/vocabulary.ts";
import { registry } from "../../models/registry.ts";
import { defaultsOf } from "../../models/spec.ts";
import { loadCheckpoint, saveCheckpoint } from "../../models/train/checkpoint.ts";
import { NonFiniteError } from "../../models/train/guard.ts";
import { type Batch, trainLoop } from "../../models/train/loop.ts";
import * as L from "../../mod.ts";
import { toyCorpus } from "./cli.ts";

/** Trains `model` into `checkpoint`, stopping after `maxSteps` when given, resuming when the file exists. */
async function train(model: string, config: Record<string, unknown>, checkpoint: string, maxSteps?: number) {
  const spec = registry.get(model)!;
  const sentences = tokenize(toyCorpus(30, 7), { tokens: "word", lowercase: true, punctuation: true });
  const vocabulary = spec.kind === "embedding"
    ? buildVocabulary(sentences, 1)
    : lmVocabulary(sentences, { mask: spec.kind === "masked" });
  return await spec.train({
    config: { ...defaultsOf(spec.fields), ...config },
    corpus: { name: "toy", source: "toy", train: sentences, valid: sentences.slice(0, 5), test: [] },
    vocabulary,
    checkpoint,
    log: () => {},
    loop: { resume: true, maxSteps, checkpointSeconds: 1e9 },
  });
}

const cases: [string, Record<string, unknown>][] = [
  ["skipgram", { dim: 8, epochs: 2, batch: 32, minCount: 1, subsample: 0.01 }],
  ["lstm", { embedding: 8, hidden: 8, layers: 2, steps: 6, batch: 3, epochs: 2, minCount: 1 }],
  // Dropout masks come from the batch's position, so the resumed run draws the same ones.
  ["lstm", { embedding: 8, hidden: 8, layers: 2, steps: 6, batch: 3, epochs: 2, minCount: 1, dropout: 0.3 }],
  ["bengio", { context: 2, embedding: 8, hidden: 8, batch: 8, epochs: 2, minCount: 1, dropout: 0.3 }],
  ["masked", { embedding: 8, hidden: 16, layers: 1, heads: 2, steps: 6, batch: 3, epochs: 2, minCount: 1 }],
];

for (const [model, config] of cases) {
  const label = config.dropout ? `${model} --dropout ${config.dropout}` : model;
  Deno.test(`${label}: a run stopped and resumed from its checkpoint ends bit for bit as an uninterrupted one`, async () => {
    const [whole, parts] = [await Deno.makeTempFile(), await Deno.makeTempFile()];
    await Deno.remove(whole);
    await Deno.remove(parts);
    const done = await train(model, config, whole);
    assert.ok(done.finished && done.steps > 6);
    const first = await train(model, config, parts, Math.floor(done.steps / 3));
    assert.ok(!first.finished && first.steps === Math.floor(done.steps / 3));
    const second = await train(model, config, parts, Math.floor((2 * done.steps) / 3));
    assert.ok(!second.finished);
    const rest = await train(model, config, parts);
    assert.ok(rest.finished && rest.steps === done.steps);
    const like = (await L.load(whole)).params as { params: unknown };
    const [a, b] = [
      await loadCheckpoint(whole, model, like.params),
      await loadCheckpoint(parts, model, like.params),
    ];
    const [la, lb] = [L.flatten(a.params).leaves, L.flatten(b.params).leaves];
    la.forEach((t, i) => assert.deepEqual(lb[i].dataSync(), t.dataSync(), `param ${i}`));
    assert.deepEqual(b.position.batcher, a.position.batcher);
    await Deno.remove(whole);
    await Deno.remove(parts);
  });
}

Deno.test("loop: a run whose loss stops being finite throws before saving; the last checkpoint stays finite", async () => {
  const checkpoint = await Deno.makeTempFile({ suffix: ".safetensors" });
  await Deno.remove(checkpoint);
  let at = 0;
  const x = L.tensor([1, 2, 3]);
  const task = {
    model: "diverging",
    params: { w: L.tensor(1) },
    // A negative rate climbs the loss: w grows by about 1e19 a step, and the loss overflows to Infinity.
    optimizer: L.optim.sgd({ lr: -1e18 }),
    objective: (p: { w: L.Tensor }, carry: L.Tensor[][], input: L.Tensor) =>
      [input.mul(p.w).square().sum(), carry] as [L.Tensor, L.Tensor[][]],
    batcher: {
      next: (): Batch | undefined => at < 100 ? (at++, { tensors: [x], items: 3, tokens: 3 }) : undefined,
      get epoch() {
        return 0;
      },
      progress: () => at / 100,
      state: () => at,
      restore: (s: unknown) => void (at = s as number),
    },
  };
  await trainLoop(task, { checkpoint, maxSteps: 1 });
  at = 0;
  await assert.rejects(trainLoop(task, { checkpoint, resume: true, checkpointSeconds: 0 }), (e) => {
    assert.ok(e instanceof NonFiniteError);
    assert.match(e.message, /at step \d+ is (Infinity|NaN).*checkpoint.*is intact.*--lr/);
    return true;
  });
  const saved = await loadCheckpoint(checkpoint, "diverging", { w: L.tensor(1) });
  assert.ok(Number.isFinite((saved.params.w as L.Tensor).item()));
  await Deno.remove(checkpoint);
});

Deno.test("checkpoint: a corrupt file, another model's or one of other shapes is refused with the fix", async () => {
  const path = await Deno.makeTempFile({ suffix: ".safetensors" });
  await Deno.writeTextFile(path, "not a checkpoint at all");
  await assert.rejects(loadCheckpoint(path, "bengio", {}), /unreadable.*--fresh/);
  const params = { w: L.tensor([1, 2]) };
  const position = { step: 1, tokens: 1, elapsed: 0, batcher: null };
  await saveCheckpoint(path, "bengio", {
    params,
    optimizerState: L.optim.sgd({ lr: 1 }).init(params),
    carry: [],
    position,
  });
  await assert.rejects(loadCheckpoint(path, "lstm", params), /of model bengio, not lstm/);
  await assert.rejects(loadCheckpoint(path, "bengio", { w: L.tensor([1, 2, 3]) }), /other shapes/);
  // The same leaves in another nesting (a model whose layout changed between versions).
  await assert.rejects(
    loadCheckpoint(path, "bengio", [{ w: L.tensor([1, 2]) }]),
    /laid out differently.*--fresh/,
  );
  assert.deepEqual((await loadCheckpoint(path, "bengio", { w: L.tensor([0, 0]) })).position, position);
  await Deno.remove(path);
});

Deno.test("loop: an epoch's partial last batch moves the params in proportion to what it holds; reports stay per item", async () => {
  // SGD on (w - x)² with x = 1 in a full batch and a batch a quarter full: the objective scales its mean by
  // the fill, so the second step is a quarter of the first; the reported loss is the plain mean of both.
  const x = L.tensor([1]);
  const batches = [1, 0.25];
  let at = 0;
  const reports: number[] = [];
  const result = await trainLoop({
    model: "fill",
    params: { w: L.tensor(0) },
    optimizer: L.optim.sgd({ lr: 0.1 }),
    objective: (p, carry, input, fill) => [p.w.sub(input).square().mean().mul(fill), carry],
    batcher: {
      next: (): Batch | undefined => {
        if (at >= batches.length) return undefined;
        const fill = batches[at++];
        return { tensors: [x, L.tensor(fill)], items: 1, tokens: 1, fill };
      },
      get epoch() {
        return at < batches.length ? 0 : 1;
      },
      progress: () => at / batches.length,
      state: () => at,
      restore: (s) => void (at = s as number),
    },
  }, { reportSeconds: 1e9, onReport: (r) => void reports.push(r.loss) });
  // Step 1: w = 0 - 0.1·2(0 - 1) = 0.2; step 2: w = 0.2 - 0.1·0.25·2(0.2 - 1) = 0.24.
  assert.ok(Math.abs(result.params.w.item() - 0.24) < 1e-6, String(result.params.w.item()));
  // Losses before each step: 1 and 0.64, each a mean over its one item.
  assert.ok(Math.abs(reports.at(-1)! - (1 + 0.64) / 2) < 1e-6, String(reports));
});
