/**
 * Loom's side of the benchmarks: the CPU backend on a runtime this process owns, and the training-step
 * contender that the model workloads share.
 * @module
 */
import * as L from "../../mod.ts";
import { createCpuBackend } from "../../kernels/cpu/mod.ts";
import { CpuRuntime } from "../../kernels/cpu/pool.ts";
import type { Contender } from "./harness.ts";

/** A runtime with the "cpu" backend selected on it. */
export interface LoomCpu {
  /** The runtime (memory, sgemm, workers): close it at the end. */
  runtime: CpuRuntime;
}

/**
 * Registers Loom's CPU backend on a fresh runtime and selects it. Threads come from `LOOM_THREADS`, else
 * every core. Registering here (rather than relying on a registration in mod.ts, if any) gives the bench
 * the runtime itself, so that it can report and close it.
 */
export async function setupLoomCpu(): Promise<LoomCpu> {
  const runtime = await CpuRuntime.create();
  L.registerBackend("cpu", () => createCpuBackend(runtime));
  await L.setBackend("cpu");
  return { runtime };
}

/** A Loom model in the shape the training workloads need. */
export interface LoomTraining {
  /** The network, `init` and `apply`. */
  model: L.nn.AnyLayer;
  /** Input shape given to `init` (batch included). */
  inputShape: number[];
  /** A batch of inputs. */
  x: L.Tensor;
  /** int32 class labels for every output position. */
  y: L.Tensor;
  /** Adam's learning rate. */
  lr: number;
}

/** Adam's epsilon, the same on both sides (TF.js defaults to 1e-7, Loom to 1e-8). */
export const ADAM_EPS = 1e-8;

/**
 * A Loom training step: forward, backward and an Adam update in one `jit`, params and optimizer state
 * donated so that the step updates them in place; with its optimizer (for the initial state).
 */
export function loomStep(spec: LoomTraining) {
  const { model } = spec;
  const opt = L.optim.adam({ lr: spec.lr, eps: ADAM_EPS });
  const lossFn = (p: L.nn.Params, x: L.Tensor, y: L.Tensor) =>
    L.loss.crossEntropy(model.apply(p, x) as L.Tensor, y);
  const step = L.jit((p: L.nn.Params, s: L.optim.OptimizerState, x: L.Tensor, y: L.Tensor) => {
    const [loss, g] = L.valueAndGrad(lossFn, { sparse: true })(p, x, y);
    const u = opt.update(g, s, p);
    return [loss, u.params, u.state] as const;
  }, { donate: [0, 1] });
  return { step, opt };
}

/**
 * A Loom training step as a contender: forward, backward and an Adam update in one `jit`, params and
 * optimizer state donated so that the step updates them in place. `losses` collects every step's loss, so
 * the caller can compare the first one with TF.js's.
 */
export function loomTrainer(
  spec: LoomTraining,
  params: L.nn.Params,
): { contender: Contender; losses: number[] } {
  const { x, y } = spec;
  const { step, opt } = loomStep(spec);
  let state = opt.init(params);
  const losses: number[] = [];
  const contender: Contender = {
    name: "loom",
    run() {
      let loss: L.Tensor;
      [loss, params, state] = step(params, state, x, y);
      // Reading the loss makes sure the step has finished, whatever the backend.
      losses.push(loss.item());
    },
  };
  return { contender, losses };
}

/** The params' leaves as host arrays with their shapes, in the pytree's structure (to seed TF.js). */
export function hostTree(tree: unknown): unknown {
  if (tree instanceof L.Tensor) return { data: tree.dataSync() as Float32Array, shape: [...tree.shape] };
  if (Array.isArray(tree)) return tree.map(hostTree);
  if (tree !== null && typeof tree === "object") {
    return Object.fromEntries(Object.entries(tree).map(([k, v]) => [k, hostTree(v)]));
  }
  return tree;
}
