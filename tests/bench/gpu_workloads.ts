/**
 * The WebGPU workloads: Loom's WebGPU backend beside TF.js's WebGPU backend (`@tensorflow/tfjs-backend-webgpu`)
 * on the same adapter in the same process (a browser page), or Loom alone (Deno). Each contender's timed call
 * runs the work and waits for it: Loom's result and TF.js's are each read back one element (a slice), so the
 * device has finished; training steps read their loss. Runs in a browser as well as in Deno: no Deno API.
 * @module
 */
import * as L from "../../mod.ts";
import { type Contender, measure, randomFloats, type Timing } from "./harness.ts";
import { mlpTraining, tfMlp } from "./mlp.ts";
import { LSTM_VOCAB, lstmTraining, tfLstmModel } from "./lstm.ts";
import { tfAttend, tfLayerNorm, tfTransformer, transformerTraining } from "./transformer.ts";
import { loomStep, type LoomTraining } from "./loom.ts";
import type { Tf, TfForward, TfTensor } from "./tfjs.ts";

/** The Loom library (mod.ts): this tree's, or another revision's for a before/after column. */
export type Loom = typeof L;

/** One measured row: Loom's time, TF.js's (if it ran), and what to say about them. */
export interface GpuRow {
  /** The workload. */
  label: string;
  /** Loom's median, ms. */
  loom?: Timing;
  /** TF.js's median, ms. */
  tfjs?: Timing;
  /** The median of Loom at the revision given as `before`, ms (kernel rows only). */
  before?: Timing;
  /** Floating-point operations of one call (for GFLOP/s), if counted. */
  flops?: number;
  /** Remarks: agreement of results, first losses. */
  notes: string[];
}

/** What the workloads need: TF.js with its WebGPU backend active, or null for Loom alone. */
export interface GpuBenchOptions {
  /** TF.js (tfjs-core's API with gradients), or null. */
  tf: Tf | null;
  /** Fewer sizes and repetitions. */
  quick: boolean;
  /** Progress lines. */
  log: (message: string) => void;
  /** Only these workloads (sgemm, softmax, layernorm, attention, mlp, lstm, transformer), if given. */
  only?: readonly string[];
  /** Called with each row as soon as it is measured. */
  onRow?: (row: GpuRow) => void | Promise<void>;
  /** Loom at another revision (its WebGPU backend selected), timed beside this one in the kernel rows. */
  before?: Loom;
}

/**
 * Times a call that resolves once its work is done. Its first call is fair (`firstCallIsFair`): the callers
 * have compiled and run it once before.
 */
function timed(name: string, run: () => Promise<unknown>): Contender {
  return {
    name,
    firstCallIsFair: true,
    run: () => {},
    timed: async () => {
      const start = performance.now();
      await run();
      return performance.now() - start;
    },
  };
}

/**
 * Waits for a Loom result: reads its first element (a slice of one element, not a reshape: a reshape on the
 * device is a copy of the whole result).
 */
const loomDone = (y: L.Tensor) => y.slice(y.shape.map(() => 0), y.shape.map(() => 1)).data();

/** Waits for a TF.js result: reads its first element, then frees it. */
async function tfDone(tf: Tf, y: TfTensor): Promise<void> {
  const first = tf.slice(y, y.shape.map(() => 0), y.shape.map(() => 1));
  await first.data();
  tf.dispose([first, y]);
}

async function maxDifference(a: L.Tensor, tf: Tf, b: TfTensor): Promise<number> {
  const [x, y] = [await a.data(), await b.data()];
  let worst = 0;
  for (let i = 0; i < x.length; i++) worst = Math.max(worst, Math.abs(x[i] - y[i]));
  tf.dispose(b);
  return worst;
}

/**
 * A row comparing one Loom function (made for a Loom library: this tree's, and another revision's where
 * `options.before` is given) with one TF.js function on the same host inputs.
 */
async function kernelRow(
  label: string,
  shapes: number[][],
  loomFn: (loom: Loom) => (...xs: L.Tensor[]) => L.Tensor,
  tfFn: ((tf: Tf, ...xs: TfTensor[]) => TfTensor) | null,
  options: GpuBenchOptions,
  flops?: number,
): Promise<GpuRow> {
  options.log(label);
  const hosts = shapes.map((s, i) => randomFloats(s.reduce((a, b) => a * b, 1), 11 + i));
  const contender = async (name: string, loom: Loom) => {
    const xs = hosts.map((h, i) => loom.tensor(h, { shape: shapes[i] }));
    const f = loom.jit(loomFn(loom));
    await loomDone(f(...xs)); // compiles
    return { f, xs, contender: timed(name, () => loomDone(f(...xs))) };
  };
  const { f, xs, contender: loom } = await contender("loom", L);
  const contenders = [loom];
  if (options.before) contenders.push((await contender("before", options.before)).contender);
  const notes: string[] = [];
  const { tf } = options;
  if (tf && tfFn) {
    const ts = hosts.map((h, i) => tf.tensor(h, shapes[i]));
    // The first calls (compiling on both sides) compare the results.
    const difference = await maxDifference(f(...xs), tf, tfFn(tf, ...ts));
    notes.push(`max |Loom - TF.js| ${difference.toExponential(1)}`);
    contenders.push(timed("tfjs", () => tfDone(tf, tfFn(tf, ...ts))));
  }
  const t = await measure(contenders, {
    maxReps: options.quick ? 3 : 15,
    budgetMs: options.quick ? 1000 : 4000,
  });
  return { label, loom: t.get("loom"), tfjs: t.get("tfjs"), before: t.get("before"), flops, notes };
}

/** Host copies of a params tree (read asynchronously, as WebGPU reads). */
async function hostTree(tree: unknown): Promise<unknown> {
  if (tree instanceof L.Tensor) return { data: await tree.data(), shape: [...tree.shape] };
  if (Array.isArray(tree)) return Promise.all(tree.map(hostTree));
  if (tree !== null && typeof tree === "object") {
    const entries = await Promise.all(Object.entries(tree).map(async ([k, v]) => [k, await hostTree(v)]));
    return Object.fromEntries(entries);
  }
  return tree;
}

function tfVariables(tf: Tf, tree: any, into: any[]): any {
  if (tree && typeof tree === "object" && "data" in tree && ArrayBuffer.isView(tree.data)) {
    const v = tf.variable(tf.tensor(tree.data, tree.shape));
    into.push(v);
    return v;
  }
  if (Array.isArray(tree)) return tree.map((t) => tfVariables(tf, t, into));
  if (tree && typeof tree === "object") {
    return Object.fromEntries(Object.entries(tree).map(([k, t]) => [k, tfVariables(tf, t, into)]));
  }
  return tree;
}

/** How long a training row measures: timed steps per contender at most, and the time for them. */
export interface StepBudget {
  /** Timed steps per contender at most (after a first step that compiles and a warm-up step). */
  maxReps: number;
  /** Time for a contender's timed steps, in ms: a slow contender gets fewer (at least one). */
  budgetMs: number;
}

/**
 * A training-step row: forward, backward and Adam on both sides from the same initial weights and batch
 * (Loom: one `jit` with params and state donated; TF.js: `optimizer.minimize`), each step's loss read back.
 * A contender whose warm-up step takes the whole budget has that step as its one sample.
 */
export async function trainingRow(
  label: string,
  spec: LoomTraining,
  forward: TfForward,
  classes: number,
  options: GpuBenchOptions,
  budget: StepBudget = { maxReps: 10, budgetMs: 10000 },
): Promise<GpuRow> {
  options.log(label);
  const { model, x, y } = spec;
  let params = model.init(L.random.key(0), spec.inputShape).params;
  const host = await hostTree(params);
  const { step, opt } = loomStep(spec);
  let state = opt.init(params);
  const losses: Record<string, number[]> = { loom: [], tfjs: [] };
  const contenders = [timed("loom", async () => {
    let loss: L.Tensor;
    [loss, params, state] = step(params, state, x, y);
    losses.loom.push((await loss.data())[0]);
  })];
  const { tf } = options;
  if (tf) {
    const variables: any[] = [];
    const p = tfVariables(tf, host, variables);
    const tx = tf.tensor(await x.data(), [...x.shape], x.dtype === "int32" ? "int32" : "float32");
    const targets = tf.oneHot(tf.tensor(await y.data(), [y.size], "int32"), classes);
    const optimizer = tf.train.adam(spec.lr, 0.9, 0.999, 1e-8);
    contenders.push(timed("tfjs", async () => {
      const cost = optimizer.minimize(
        () => tf.losses.softmaxCrossEntropy(targets, tf.reshape(forward(tf, p, tx), [-1, classes])) as any,
        true,
        variables,
      )!;
      losses.tfjs.push((await cost.data())[0]);
      cost.dispose();
    }));
  }
  for (const c of contenders) await c.timed!(); // compiles, and gives the first losses
  const t = await measure(
    contenders,
    options.quick ? { maxReps: 2, budgetMs: Math.min(2000, budget.budgetMs) } : budget,
  );
  const first = Object.entries(losses).filter(([, l]) => l.length).map(([k, l]) => `${k} ${l[0].toFixed(4)}`);
  return { label, loom: t.get("loom"), tfjs: t.get("tfjs"), notes: [`step-1 loss ${first.join(", ")}`] };
}

/** Every WebGPU workload, in table order. */
export async function gpuRows(options: GpuBenchOptions): Promise<GpuRow[]> {
  const want = (name: string) => !options.only || options.only.includes(name);
  const measured: GpuRow[] = [];
  const rows = {
    push: async (row: GpuRow | Promise<GpuRow>) => {
      measured.push(await row);
      await options.onRow?.(measured[measured.length - 1]);
    },
  };
  if (want("sgemm")) {
    for (const n of options.quick ? [256, 1024] : [256, 512, 1024, 2048]) {
      await rows.push(
        kernelRow(
          `sgemm ${n}`,
          [[n, n], [n, n]],
          () => (a, b) => a.matmul(b),
          (tf, a, b) => tf.matMul(a, b),
          options,
          2 * n ** 3,
        ),
      );
    }
  }
  if (want("softmax")) {
    await rows.push(
      kernelRow(
        "softmax 4096×1024",
        [[4096, 1024]],
        (loom) => (x) => loom.softmax(x),
        (tf, x) => tf.softmax(x),
        options,
      ),
    );
  }
  if (want("layernorm")) {
    await rows.push(
      kernelRow(
        "layerNorm 4096×1024",
        [[4096, 1024]],
        (loom) => {
          const norm = loom.nn.layerNorm();
          const p = norm.init(loom.random.key(0), [4096, 1024]).params;
          return (x) => norm.apply(p, x);
        },
        (tf, x) => tfLayerNorm(tf, { gain: tf.ones([1024]), bias: tf.zeros([1024]) }, x),
        options,
      ),
    );
  }
  if (want("attention")) {
    const [batch, time, dim, heads] = [8, 256, 256, 4];
    const attend = L.nn.attend({ heads, causal: true });
    const params = attend.init(L.random.key(1), [batch, time, dim]).params;
    const host = await hostTree(params) as Record<
      string,
      Record<string, { data: Float32Array; shape: number[] }>
    >;
    const allowed = new Uint8Array(time * time).map((_, i) => Number(i % time <= Math.floor(i / time)));
    await rows.push(
      kernelRow(
        `attention block (batch ${batch}, ${heads} heads, ${time} steps, ${dim} dims, causal)`,
        [[batch, time, dim]],
        (loom) => {
          const layer = loom.nn.attend({ heads, causal: true });
          const p = layer.init(loom.random.key(1), [batch, time, dim]).params;
          return (x) => layer.apply(p, x) as L.Tensor;
        },
        (tf, x) => {
          const p = Object.fromEntries(
            Object.entries(host).map(([k, v]) => [k, {
              w: tf.tensor(v.w.data, v.w.shape),
              b: tf.tensor(v.b.data, v.b.shape),
            }]),
          );
          return tfAttend(tf, p, x, tf.tensor(allowed, [1, 1, time, time], "bool"), heads);
        },
        options,
      ),
    );
  }
  if (want("mlp")) {
    await rows.push(
      trainingRow("train step: MLP 784-512-512-10, batch 128", mlpTraining(), tfMlp, 10, options),
    );
  }
  if (want("transformer")) {
    await rows.push(
      trainingRow(
        "train step: transformer (4 layers, 4 heads, 128 dims, block 64, batch 12)",
        transformerTraining(),
        tfTransformer,
        65,
        options,
        // SwiftShader takes seconds a step: one to five timed steps.
        { maxReps: 5, budgetMs: 20000 },
      ),
    );
  }
  if (want("lstm") && !options.quick) {
    await rows.push(
      trainingRow(
        "train step: LSTM LM (2×200, vocab 10k, batch 20, 35 steps)",
        lstmTraining(),
        tfLstmModel,
        LSTM_VOCAB,
        options,
        // The slowest row (tens of seconds a step on a software adapter): one timed step after the warm-up.
        { maxReps: 1, budgetMs: 1 },
      ),
    );
  }
  return measured;
}
