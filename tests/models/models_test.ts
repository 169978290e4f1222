/**
 * Every neural model of the registry trains a few steps on a toy corpus in the one loop and its loss falls;
 * the squared-error loss option trains too; the Transformer is causal and the masked LM is not.
 */
import assert from "node:assert/strict";
import { tokenize } from "../../models/data/corpus.ts";
import { buildVocabulary, lmVocabulary } from "../../models/data/vocabulary.ts";
import { transformerLayer } from "../../models/lm/transformer.ts";
import { registry } from "../../models/registry.ts";
import { type AnySpec, defaultsOf } from "../../models/spec.ts";
import type { Report } from "../../models/train/loop.ts";
import * as L from "../../mod.ts";
import { toyCorpus } from "./cli.ts";

const SMALL: Record<string, Record<string, unknown>> = {
  skipgram: { dim: 16, epochs: 4, subsample: 0, batch: 64, minCount: 1, lr: 0.05 },
  cbow: { dim: 16, epochs: 4, subsample: 0, batch: 16, minCount: 1, lr: 0.1 },
  onehot: { context: 2, hidden: 16, batch: 32, epochs: 4, lr: 0.01, minCount: 1 },
  bengio: { context: 2, embedding: 8, hidden: 16, batch: 32, epochs: 4, lr: 0.01, minCount: 1 },
  rnn: { embedding: 8, hidden: 16, layers: 1, steps: 8, batch: 4, epochs: 4, lr: 0.01, minCount: 1 },
  gru: { embedding: 8, hidden: 16, layers: 1, steps: 8, batch: 4, epochs: 4, lr: 0.01, minCount: 1 },
  lstm: { embedding: 8, hidden: 16, layers: 2, steps: 8, batch: 4, epochs: 4, lr: 0.01, minCount: 1 },
  transformer: {
    embedding: 16,
    hidden: 32,
    layers: 1,
    heads: 2,
    steps: 8,
    batch: 4,
    epochs: 4,
    lr: 0.003,
    minCount: 1,
  },
  masked: {
    embedding: 16,
    hidden: 32,
    layers: 1,
    heads: 2,
    steps: 8,
    batch: 4,
    epochs: 6,
    lr: 0.003,
    minCount: 1,
  },
};

/** Trains a spec on the toy corpus; returns every step's loss. */
async function lossesOf(spec: AnySpec, overrides: Record<string, unknown>): Promise<number[]> {
  const config = { ...defaultsOf(spec.fields), ...overrides };
  const sentences = tokenize(toyCorpus(60), { tokens: "word", lowercase: true, punctuation: true });
  const corpus = { name: "toy", source: "toy", train: sentences, valid: [], test: [] };
  const vocabulary = spec.kind === "embedding" && spec.name !== "onehot"
    ? buildVocabulary(sentences, 1)
    : lmVocabulary(sentences, { mask: spec.kind === "masked" });
  const losses: number[] = [];
  const checkpoint = await Deno.makeTempFile({ suffix: ".safetensors" });
  try {
    await spec.train({
      config,
      corpus,
      vocabulary,
      checkpoint,
      log: () => {},
      // A report whose steps chose no masked token has no loss (NaN): only the others count.
      loop: {
        reportSeconds: 0,
        checkpointSeconds: 1e9,
        onReport: (r: Report) => void (Number.isNaN(r.loss) || losses.push(r.loss)),
      },
    });
  } finally {
    await Deno.remove(checkpoint).catch(() => {});
  }
  return losses;
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

for (const [name, overrides] of Object.entries(SMALL)) {
  Deno.test(`${name}: a few steps on a toy corpus lower the loss`, async () => {
    const losses = await lossesOf(registry.get(name)!, overrides);
    const k = Math.max(2, Math.floor(losses.length / 5));
    const [first, last] = [mean(losses.slice(0, k)), mean(losses.slice(-k))];
    assert.ok(losses.length >= 10, `${losses.length} steps`);
    assert.ok(last < 0.9 * first, `${name}: loss ${first.toFixed(3)} -> ${last.toFixed(3)}`);
  });
}

Deno.test("bengio --loss mse: the squared error of the distribution falls too", async () => {
  const losses = await lossesOf(registry.get("bengio")!, { ...SMALL.bengio, loss: "mse", lr: 0.03 });
  const k = Math.floor(losses.length / 5);
  assert.ok(mean(losses.slice(-k)) < 0.95 * mean(losses.slice(0, k)), `${losses[0]} -> ${losses.at(-1)}`);
  assert.ok(losses.every((l) => l >= 0 && l <= 2), "a squared distance of two distributions lies in [0, 2]");
});

Deno.test("transformer: causal, so a token's logits ignore later tokens; the masked LM's encoder does not", () => {
  const sizes = { embedding: 8, hidden: 16, layers: 1, heads: 2, steps: 5 };
  const a = L.tensor([[3, 4, 5, 6, 7]], { dtype: "int32" });
  const b = L.tensor([[3, 4, 5, 9, 9]], { dtype: "int32" });
  for (const causal of [true, false]) {
    const layer = transformerLayer(12, sizes, causal);
    const { params } = layer.init(L.random.key(0), [1, 5]);
    const [la, lb] = [layer.apply(params, a) as L.Tensor, layer.apply(params, b) as L.Tensor];
    const firstThree = (t: L.Tensor) => Array.from(t.slice([0, 0, 0], [1, 3, 12]).dataSync());
    const same = firstThree(la).every((v, i) => Math.abs(v - firstThree(lb)[i]) < 1e-5);
    assert.equal(same, causal);
  }
});

Deno.test("lstm and bengio with --init-scale 0.1 (every param from uniform(-0.1, 0.1)) train", async () => {
  for (
    const [name, overrides] of [
      ["lstm", { ...SMALL.lstm, initScale: 0.1 }],
      ["bengio", { ...SMALL.bengio, initScale: 0.1 }],
    ] as const
  ) {
    const losses = await lossesOf(registry.get(name)!, overrides);
    const k = Math.floor(losses.length / 5);
    assert.ok(
      mean(losses.slice(-k)) < 0.9 * mean(losses.slice(0, k)),
      `${name}: ${losses.map((l) => l.toFixed(2))}`,
    );
  }
});

Deno.test("lstm and bengio with --dropout 0.3 train; the masks change the updates, evaluation stays deterministic", async () => {
  for (const name of ["lstm", "bengio"] as const) {
    const spec = registry.get(name)!;
    const dropped = await lossesOf(spec, { ...SMALL[name], dropout: 0.3 });
    const plain = await lossesOf(spec, SMALL[name]);
    const k = Math.floor(dropped.length / 5);
    assert.ok(
      mean(dropped.slice(-k)) < 0.9 * mean(dropped.slice(0, k)),
      `${name}: ${dropped.map((l) => l.toFixed(2))}`,
    );
    assert.notDeepEqual(dropped, plain, `${name}: dropout 0.3 trained exactly as without it`);
  }
  // The network applies dropout only when given a key (training); without one, the same params give the same
  // logits every time, and the same logits as the network built without dropout.
  const { bengioLayer } = await import("../../models/lm/bengio.ts");
  const shape = { context: 2, embedding: 4, hidden: 8 };
  const [withDropout, without] = [bengioLayer(12, { ...shape, dropout: 0.5 }), bengioLayer(12, shape)];
  const params = without.init(L.random.key(0), [3, 2]).params as unknown[];
  // The dropout sites hold no params: the same tensors, at the positions of the trained network's tree.
  const spread = [params[0], params[1], {}, params[2], {}, params[3]];
  const ids = L.tensor([[1, 2], [3, 4], [5, 6]], { dtype: "int32" });
  const evaluated = (withDropout.apply(spread as never, ids) as L.Tensor).dataSync();
  assert.deepEqual(evaluated, (without.apply(params as never, ids) as L.Tensor).dataSync());
  const trained = withDropout.apply(spread as never, ids, {
    training: true,
    key: L.random.key(3),
  }) as L.Tensor;
  assert.notDeepEqual(trained.dataSync(), evaluated);
});
