/**
 * The transformer character LM (models/lm/transformer.ts, nanoGPT's CPU configuration: 4 blocks, 4 heads, 128 features,
 * 64-character windows, batches of 12) trained for 50 steps on the WebGPU backend and on the CPU backend, from
 * the same seed and batches: the losses agree within 1e-3 at every step. About 3 minutes on lavapipe (2 cores).
 * Skipped where no WebGPU adapter exists.
 */
import * as L from "../../mod.ts";
import { transformerLayer } from "../../models/lm/transformer.ts";
import { assertClose } from "../helpers.ts";

const unavailable = await L.setBackend("webgpu").then(() => "", (e: Error) => e.message);
await L.setBackend("cpu");

const STEPS = 50;
// nanoGPT's CPU configuration (models/lm/transformer.ts's defaults) with Adam at 1e-3.
const config = { embedding: 128, hidden: 512, layers: 4, heads: 4, steps: 64, batch: 12, lr: 1e-3, seed: 1 };
const text = "It is a truth universally acknowledged, that a single man in possession of a good fortune, " +
  "must be in want of a wife. However little known the feelings or views of such a man may be on his " +
  "first entering a neighbourhood, this truth is so well fixed in the minds of the surrounding families.";
const chars = [...new Set(text)].sort();
const stream = Int32Array.from(text, (c) => chars.indexOf(c));

/** Batch `i`: `config.batch` windows of `config.steps` characters and the characters after them. */
function batch(i: number): [L.Tensor, L.Tensor] {
  const { batch: rows, steps } = config;
  const x = new Int32Array(rows * steps);
  const y = new Int32Array(rows * steps);
  for (let r = 0; r < rows; r++) {
    const start = (i * 37 + r * 53) % (stream.length - steps - 1);
    x.set(stream.subarray(start, start + steps), r * steps);
    y.set(stream.subarray(start + 1, start + steps + 1), r * steps);
  }
  return [
    L.tensor(x, { shape: [rows, steps], dtype: "int32" }),
    L.tensor(y, { shape: [rows, steps], dtype: "int32" }),
  ];
}

async function train(): Promise<number[]> {
  const model = transformerLayer(chars.length, config);
  let params = model.init(L.random.key(config.seed), [config.batch, config.steps]).params;
  const opt = L.optim.adam({ lr: config.lr });
  let state = opt.init(params);
  const step = L.jit((p: L.nn.Params, s: L.optim.OptimizerState, x: L.Tensor, y: L.Tensor) => {
    const [loss, grads] = L.valueAndGrad(
      (q: L.nn.Params) => L.loss.crossEntropy(model.apply(q, x) as L.Tensor, y),
      { sparse: true },
    )(p);
    const next = opt.update(grads, s, p);
    return [loss, next.params, next.state] as const;
  }, { donate: [0, 1] });
  const losses: number[] = [];
  for (let i = 0; i < STEPS; i++) {
    let loss: L.Tensor;
    [loss, params, state] = step(params, state, ...batch(i));
    losses.push((await loss.data())[0]);
  }
  return losses;
}

Deno.test({
  name: "webgpu: the transformer char LM trains 50 steps with the CPU backend's losses (within 1e-3)",
  ignore: unavailable !== "",
  fn: async () => {
    await L.setBackend("cpu");
    const expected = await train();
    await L.setBackend("webgpu");
    try {
      const actual = await train();
      assertClose(actual, expected, { rtol: 0, atol: 1e-3, message: "losses" });
      if (!(actual[STEPS - 1] < actual[0] - 0.5)) throw new Error(`the loss did not fall: ${actual}`);
    } finally {
      await L.setBackend("cpu");
    }
  },
});
