/**
 * One training-step row: the same model, weights, data and optimizer on Loom and on TF.js, timed side by
 * side. Both sides start from Loom's `init` (TF.js variables are filled with its values) and see the same
 * batch, so their first losses must agree: the row says so, as evidence that the two sides compute the
 * same thing.
 * @module
 */
import * as L from "../../mod.ts";
import {
  type BenchOptions,
  type Contender,
  formatRatio,
  formatTiming,
  measure,
  progress,
  type Row,
  row,
} from "./harness.ts";
import { ADAM_EPS, hostTree, loomTrainer, type LoomTraining } from "./loom.ts";
import { type HostTensor, type TfForward, type TfSetup, tfTrainer } from "./tfjs.ts";

/** A model written twice, once per library. */
export interface TrainingWorkload {
  /** The row's name. */
  label: string;
  /** Loom's model, data and learning rate. */
  loom: LoomTraining;
  /** The same model on tfjs-core ops, reading Loom's params tree. */
  forward: TfForward;
  /** Number of classes of the logits. */
  classes: number;
  /** Timed steps at most. */
  maxReps: number;
  /** Whether `--quick` runs TF.js's cpu backend (not for models whose step takes it many seconds). */
  tfjsCpuInQuick: boolean;
  /** Extra text for the notes column. */
  notes?: string;
}

function host(t: L.Tensor): HostTensor {
  return { data: t.dataSync() as Float32Array | Int32Array, shape: [...t.shape] };
}

/** Runs one training workload and returns its row. */
export async function trainingRow(
  w: TrainingWorkload,
  options: BenchOptions,
  tfjs: TfSetup | null,
): Promise<Row> {
  progress(`training: ${w.label}`);
  const { params } = w.loom.model.init(L.random.key(0), w.loom.inputShape);
  // Copy the initial weights out before Loom's first step: donation reuses their buffers.
  const hostParams = hostTree(params);
  const sides: { name: string; contender: Contender; losses: number[] }[] = [];
  const loom = loomTrainer(w.loom, params);
  sides.push({ name: "Loom", ...loom });
  const skipped: string[] = [];
  for (const backend of tfjs?.backends ?? []) {
    if (backend === "cpu" && options.quick && !w.tfjsCpuInQuick) {
      skipped.push("TF.js cpu skipped in --quick");
      continue;
    }
    const trainer = await tfTrainer(tfjs!, backend, {
      params: hostParams,
      forward: w.forward,
      x: host(w.loom.x),
      y: host(w.loom.y),
      classes: w.classes,
      lr: w.loom.lr,
      eps: ADAM_EPS,
    });
    sides.push({
      name: `TF.js ${backend}`,
      contender: { ...trainer, firstCallIsFair: true },
      losses: trainer.losses,
    });
  }
  const t = await measure(sides.map((s) => s.contender), {
    maxReps: options.quick ? Math.min(3, w.maxReps) : w.maxReps,
    budgetMs: options.quick ? 1_500 : 8_000,
  });
  // The first step starts from identical weights and data on every side.
  const first = sides.map((s) => s.losses[0]);
  const agree = first.every((l) => Math.abs(l - first[0]) <= 1e-3 * Math.max(1, Math.abs(first[0])));
  const losses = `step-1 loss ${sides.map((s, i) => `${s.name} ${first[i].toFixed(4)}`).join(", ")}${
    agree ? "" : " (MISMATCH: the two sides do not compute the same model)"
  }`;
  return row(w.label, {
    loom: formatTiming(t.get("loom")),
    tfjsWasm: formatTiming(t.get("tfjs-wasm")),
    tfjsCpu: skipped.length ? "skipped" : formatTiming(t.get("tfjs-cpu")),
    ratio: formatRatio(t.get("loom"), t.get("tfjs-wasm")),
    notes: [losses, w.notes, ...skipped].filter(Boolean).join("; "),
  });
}
