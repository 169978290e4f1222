/**
 * MLP training step: 784-512-512-10 with ReLU, batch 128, softmax cross-entropy, Adam (MNIST-sized data,
 * random here).
 * @module
 */
import * as L from "../../mod.ts";
import { type BenchOptions, randomFloats, randomIds, type Row } from "./harness.ts";
import type { LoomTraining } from "./loom.ts";
import { tfDense, type TfForward, type TfSetup } from "./tfjs.ts";
import { trainingRow } from "./training.ts";

const BATCH = 128;

/** The model, data and learning rate on Loom's side (random data of MNIST's shape). */
export function mlpTraining(): LoomTraining {
  const { nn } = L;
  return {
    model: nn.serial(
      nn.dense(512, { activation: "relu" }),
      nn.dense(512, { activation: "relu" }),
      nn.dense(10),
    ),
    inputShape: [BATCH, 784],
    x: L.tensor(randomFloats(BATCH * 784, 5), { shape: [BATCH, 784] }),
    y: L.tensor(randomIds(BATCH, 10, 5), { dtype: "int32" }),
    lr: 1e-3,
  };
}

/** The same model on tfjs-core ops, reading Loom's params tree. */
export const tfMlp: TfForward = (tf, p, x) =>
  tfDense(tf, p[2], tf.relu(tfDense(tf, p[1], tf.relu(tfDense(tf, p[0], x)))));

/** The MLP row. */
export async function mlpRows(options: BenchOptions, tfjs: TfSetup | null): Promise<Row[]> {
  return [
    await trainingRow(
      {
        label: "train step: MLP 784-512-512-10, batch 128",
        loom: mlpTraining(),
        forward: tfMlp,
        classes: 10,
        maxReps: 20,
        tfjsCpuInQuick: true,
      },
      options,
      tfjs,
    ),
  ];
}
