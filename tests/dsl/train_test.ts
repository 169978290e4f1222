/**
 * End to end, through the public API only: layers, losses and optimizers train real (tiny) models, with a
 * jitted `valueAndGrad` step, and the same seed gives the same run bit for bit.
 */
import assert from "node:assert/strict";
import { flatten, jit, loss, nn, optim, random, type Tensor, tensor, valueAndGrad } from "../../mod.ts";

interface Run<P = nn.Params> {
  losses: number[];
  params: P;
}

/**
 * Trains `model` on one batch until the loss is below `target` (or `maxSteps`), with a jitted
 * `valueAndGrad` step and a jitted optimizer update. A fresh dropout key per step is made outside the jitted
 * functions, so they compile once.
 */
function train<P>(options: {
  model: nn.Layer<any, any, P>;
  objective: (logits: Tensor, targets: Tensor) => Tensor;
  optimizer: optim.Optimizer;
  x: Tensor;
  y: Tensor;
  seed: number;
  target: number;
  maxSteps: number;
}): Run<P> {
  const { model, objective, optimizer, x, y, seed, target, maxSteps } = options;
  let { params } = model.init(random.key(seed), x.shape);
  let state = optimizer.init(params);
  const lossOf = (p: P, inputs: Tensor, targets: Tensor, key: Tensor) =>
    objective(model.apply(p, inputs, { training: true, key }) as Tensor, targets);
  const gradStep = jit(valueAndGrad(lossOf));
  const update = jit((g: unknown, s: optim.OptimizerState, p: P) => optimizer.update(g, s, p));
  const dropoutKey = random.key(seed + 1);
  const losses: number[] = [];
  while (losses.length < maxSteps && (losses.length === 0 || losses[losses.length - 1] >= target)) {
    const [value, grads] = gradStep(params, x, y, random.fold(dropoutKey, losses.length));
    ({ params, state } = update(grads, state, params));
    losses.push(value.item());
  }
  assert.equal(gradStep.cacheSize, 1, "the gradient step compiled once");
  assert.equal(update.cacheSize, 1, "the update compiled once");
  return { losses, params };
}

function xorRun(seed: number, maxSteps = 500) {
  return train({
    model: nn.serial(nn.dense(8, { activation: "tanh" }), nn.dense(1)),
    objective: loss.binaryCrossEntropyWithLogits,
    optimizer: optim.adam({ lr: 0.05 }),
    x: tensor([[0, 0], [0, 1], [1, 0], [1, 1]]),
    y: tensor([[0], [1], [1], [0]]),
    seed,
    target: 0.05,
    maxSteps,
  });
}

const text = "the quick brown fox jumps over the lazy dog";
const alphabet = [...new Set(text)].sort();
const ids = [...text].map((c) => alphabet.indexOf(c));

function charRun(model: nn.AnyLayer, seed: number, maxSteps = 300): Run {
  return train({
    model,
    objective: (logits, targets) => loss.crossEntropy(logits, targets),
    optimizer: optim.adamw({ lr: optim.warmup({ steps: 5, then: 0.02 }), clipGlobalNorm: 5 }),
    x: tensor([ids.slice(0, -1)], { dtype: "int32" }),
    y: tensor([ids.slice(1)], { dtype: "int32" }),
    seed,
    target: 0.05,
    maxSteps,
  });
}

const vocab = alphabet.length;
const recurrentCharModel = () =>
  nn.serial(nn.embed(vocab, 16), nn.dropout(0.1), nn.recur(nn.gruCell(48)), nn.dense(vocab));
const attentionCharModel = () =>
  nn.serial(
    nn.embed(vocab, 32),
    nn.positional("learned", 64),
    nn.residual(nn.serial(nn.layerNorm(), nn.attend({ heads: 4, causal: true, dropout: 0.1 }))),
    nn.residual(nn.serial(nn.layerNorm(), nn.dense(64, { activation: "gelu" }), nn.dense(32))),
    nn.layerNorm(),
    nn.dense(vocab),
  );

Deno.test("a 2-layer MLP learns XOR", () => {
  const { losses, params } = xorRun(0);
  assert.ok(
    losses[losses.length - 1] < 0.05,
    `final loss ${losses[losses.length - 1]} after ${losses.length} steps`,
  );
  const model = nn.serial(nn.dense(8, { activation: "tanh" }), nn.dense(1));
  const predictions = model.apply(params, tensor([[0, 0], [0, 1], [1, 0], [1, 1]])).greater(0);
  assert.deepEqual(predictions.arraySync(), [[false], [true], [true], [false]]);
});

Deno.test("a GRU char model memorises a sentence", () => {
  const { losses } = charRun(recurrentCharModel(), 0);
  assert.ok(
    losses[losses.length - 1] < 0.05,
    `final loss ${losses[losses.length - 1]} after ${losses.length} steps`,
  );
});

Deno.test("a one-block transformer char model memorises a sentence", () => {
  const { losses } = charRun(attentionCharModel(), 0);
  assert.ok(
    losses[losses.length - 1] < 0.05,
    `final loss ${losses[losses.length - 1]} after ${losses.length} steps`,
  );
});

Deno.test("the same seed gives the same params and loss curve, bit for bit", () => {
  const bits = (run: Run) =>
    flatten(run.params).leaves.map((t) => {
      const data = t.dataSync();
      return new Uint8Array(data.buffer, data.byteOffset, data.byteLength).join();
    });
  for (const run of [() => xorRun(7, 40), () => charRun(attentionCharModel(), 7, 15)]) {
    const [a, b] = [run(), run()];
    assert.deepEqual(a.losses, b.losses);
    assert.deepEqual(bits(a), bits(b));
  }
  assert.notDeepEqual(xorRun(8, 40).losses, xorRun(7, 40).losses, "another seed gives another run");
});
