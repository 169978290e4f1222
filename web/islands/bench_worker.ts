/**
 * The benchmark's Web Worker: times Loom and TensorFlow.js on the same work in this browser, on the CPU (Loom's
 * WebAssembly backend, TF.js's wasm backend) and on WebGPU where the browser has it: a matmul at capped sizes
 * and one training step of a small MLP (forward, gradients, SGD update), each the median of a few runs after a
 * warm-up, timed until the result is read back. Message in: `{ sizes, repeats }`; out: the rows so far after
 * each library and backend, notes for what could not run, and `done`.
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
// tfjs-core alone has no gradients; the full @tensorflow/tfjs package registers them so.
import "@tensorflow/tfjs-core/dist/register_all_gradients";
import { setWasmPaths } from "@tensorflow/tfjs-backend-wasm";
import "@tensorflow/tfjs-backend-webgpu";
import * as loom from "../../mod.ts";
import { type BenchRequest, type BenchRow, MAX_SIZE } from "./bench_spec.ts";
import { listen } from "./worker_link.ts";

/** TF.js's wasm binaries, copied there by the build and fetched by streaming. */
const TFJS_WASM = "/tfjs/";

const MLP = "MLP 128-256-10 step, batch 64";

async function median(repeats: number, run: () => Promise<void>): Promise<number> {
  await run();
  const times: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const t = performance.now();
    await run();
    times.push(performance.now() - t);
  }
  return times.sort((a, b) => a - b)[Math.floor(repeats / 2)];
}

async function loomRows(backend: string, request: BenchRequest): Promise<BenchRow[]> {
  await loom.setBackend(backend);
  const row = async (workload: string, run: () => Promise<void>) => ({
    workload,
    library: "Loom",
    backend,
    ms: await median(request.repeats, run),
  });
  const rows: BenchRow[] = [];
  for (const n of request.sizes) {
    const a = loom.random.normal(loom.random.key(0), [n, n]);
    const b = loom.random.normal(loom.random.key(1), [n, n]);
    const mm = loom.jit((x: loom.Tensor, y: loom.Tensor) => x.matmul(y));
    rows.push(await row(`matmul ${n}`, () => mm(a, b).data().then(() => {})));
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
  rows.push(
    await row(MLP, async () => {
      const [value, p, s] = step(params, state);
      [params, state] = [p, s];
      await value.data();
    }),
  );
  return rows;
}

async function tfRows(backend: string, request: BenchRequest): Promise<BenchRow[]> {
  if (!(await tf.setBackend(backend))) throw new Error(`TF.js could not start its ${backend} backend`);
  await tf.ready();
  const row = async (workload: string, run: () => Promise<void>) => ({
    workload,
    library: "TF.js",
    backend,
    ms: await median(request.repeats, run),
  });
  const rows: BenchRow[] = [];
  for (const n of request.sizes) {
    const a = tf.randomNormal([n, n]), b = tf.randomNormal([n, n]);
    rows.push(
      await row(`matmul ${n}`, async () => {
        const c = tf.matMul(a, b);
        await c.data();
        c.dispose();
      }),
    );
    tf.dispose([a, b]);
  }
  const w1 = tf.variable(tf.randomNormal([128, 256], 0, 0.1));
  const w2 = tf.variable(tf.randomNormal([256, 10], 0, 0.1));
  const x = tf.randomNormal([64, 128]);
  const y = tf.oneHot(tf.tensor1d(Array.from({ length: 64 }, (_, i) => i % 10), "int32"), 10);
  const opt = tf.train.sgd(0.01);
  rows.push(
    await row(MLP, async () => {
      const value = opt.minimize(
        () => tf.losses.softmaxCrossEntropy(y, tf.matMul(tf.relu(tf.matMul(x, w1)), w2)) as tf.Scalar,
        true,
      );
      await value!.data();
      value!.dispose();
    }),
  );
  tf.dispose([w1, w2, x, y]);
  return rows;
}

listen(async (request: BenchRequest) => {
  const sizes = request.sizes.filter((n) => Number.isInteger(n) && n > 0 && n <= MAX_SIZE);
  const checked = { sizes, repeats: Math.max(1, Math.min(9, Math.floor(request.repeats))) };
  setWasmPaths(TFJS_WASM);
  const gpu = "gpu" in navigator && await (navigator as { gpu: GPU }).gpu.requestAdapter() !== null;
  type Run = [string, string, (backend: string, request: BenchRequest) => Promise<BenchRow[]>];
  const cpu: Run[] = [["Loom", "cpu", loomRows], ["TF.js", "wasm", tfRows]];
  const webgpu: Run[] = [["Loom", "webgpu", loomRows], ["TF.js", "webgpu", tfRows]];
  const runs = gpu ? [...cpu, ...webgpu] : cpu;
  if (!gpu) postMessage({ type: "note", text: "WebGPU: this browser has no adapter; CPU rows only." });
  const rows: BenchRow[] = [];
  for (const [library, backend, run] of runs) {
    try {
      rows.push(...await run(backend, checked));
    } catch (error) {
      postMessage({ type: "note", text: `${library} on ${backend}: ${(error as Error).message ?? error}` });
    }
    postMessage({ type: "rows", rows });
  }
  postMessage({ type: "rows", rows, done: true });
});
