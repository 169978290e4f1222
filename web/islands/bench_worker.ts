/**
 * The benchmark's Web Worker: times Loom and TensorFlow.js (its plain-JavaScript cpu backend) on the same
 * work in this browser: a matmul at capped sizes and one training step of a small MLP, each as the median of
 * a few runs after a warm-up. Loom runs on its CPU backend, and on WebGPU where the browser has it.
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import * as loom from "../../mod.ts";
import { listen } from "./worker_link.ts";

/** One measured row. */
export interface BenchRow {
  workload: string;
  library: string;
  backend: string;
  ms: number;
}

const SIZES = [128, 256, 512];
const REPEATS = 5;

async function median(run: () => Promise<void> | void): Promise<number> {
  await run();
  const times: number[] = [];
  for (let i = 0; i < REPEATS; i++) {
    const t = performance.now();
    await run();
    times.push(performance.now() - t);
  }
  return times.sort((a, b) => a - b)[Math.floor(REPEATS / 2)];
}

async function loomRows(backend: string): Promise<BenchRow[]> {
  await loom.setBackend(backend);
  const rows: BenchRow[] = [];
  for (const n of SIZES) {
    const a = loom.random.normal(loom.random.key(0), [n, n]),
      b = loom.random.normal(loom.random.key(1), [n, n]);
    const mm = loom.jit((x: loom.Tensor, y: loom.Tensor) => x.matmul(y));
    rows.push({
      workload: `matmul ${n}`,
      library: "Loom",
      backend,
      ms: await median(() => mm(a, b).data().then(() => {})),
    });
  }
  const model = loom.nn.serial(loom.nn.dense(256, { activation: "relu" }), loom.nn.dense(10));
  let params = model.init(loom.random.key(0), [64, 128]).params;
  const opt = loom.optim.sgd({ lr: 0.01 });
  let state = opt.init(params);
  const x = loom.random.normal(loom.random.key(2), [64, 128]);
  const y = loom.tensor(Array.from({ length: 64 }, (_, i) => i % 10), { dtype: "int32" });
  type P = loom.nn.ParamsOf<typeof model>;
  const step = loom.jit((p: P, s: loom.optim.OptimizerState) => {
    const [value, g] = loom.valueAndGrad((q: P) =>
      loom.loss.crossEntropy(model.apply(q, x) as loom.Tensor, y)
    )(p);
    const next = opt.update(g, s, p);
    return [value, next.params, next.state] as const;
  });
  rows.push({
    workload: "MLP 128-256-10 step, batch 64",
    library: "Loom",
    backend,
    ms: await median(async () => {
      const [value, p, s] = step(params, state);
      [params, state] = [p, s];
      await value.data();
    }),
  });
  return rows;
}

async function tfRows(): Promise<BenchRow[]> {
  await tf.setBackend("cpu");
  const rows: BenchRow[] = [];
  for (const n of SIZES) {
    const a = tf.randomNormal([n, n]), b = tf.randomNormal([n, n]);
    rows.push({
      workload: `matmul ${n}`,
      library: "TF.js",
      backend: "cpu",
      ms: await median(async () => {
        const c = tf.matMul(a, b);
        await c.data();
        c.dispose();
      }),
    });
  }
  const w1 = tf.variable(tf.randomNormal([128, 256], 0, 0.1)),
    w2 = tf.variable(tf.randomNormal([256, 10], 0, 0.1));
  const x = tf.randomNormal([64, 128]);
  const y = tf.oneHot(tf.tensor1d(Array.from({ length: 64 }, (_, i) => i % 10), "int32"), 10);
  const opt = tf.train.sgd(0.01);
  rows.push({
    workload: "MLP 128-256-10 step, batch 64",
    library: "TF.js",
    backend: "cpu",
    ms: await median(async () => {
      const value = opt.minimize(
        () => tf.losses.softmaxCrossEntropy(y, tf.matMul(tf.relu(tf.matMul(x, w1)), w2)) as tf.Scalar,
        true,
      );
      await value!.data();
      value!.dispose();
    }),
  });
  return rows;
}

listen(async () => {
  try {
    const rows = [...await loomRows("cpu")];
    postMessage({ type: "rows", rows });
    if ("gpu" in navigator) {
      try {
        rows.push(...await loomRows("webgpu"));
      } catch (error) {
        postMessage({ type: "note", text: `WebGPU: ${(error as Error).message}` });
      }
      postMessage({ type: "rows", rows });
    }
    rows.push(...await tfRows());
    postMessage({ type: "rows", rows, done: true });
  } catch (error) {
    postMessage({ type: "error", text: String((error as Error).message ?? error) });
  }
});
