/**
 * MLP training step: 784-512-512-10 with ReLU, batch 128, softmax cross-entropy, Adam (MNIST-sized data,
 * random here).
 * @module
 */
import * as L from "../../mod.ts";
import { type BenchOptions, randomIds, type Row } from "./harness.ts";
import { tfDense, type TfSetup } from "./tfjs.ts";
import { trainingRow } from "./training.ts";

const BATCH = 128;

/** The MLP row. */
export async function mlpRows(options: BenchOptions, tfjs: TfSetup | null): Promise<Row[]> {
  const { nn } = L;
  return [
    await trainingRow(
      {
        label: "train step: MLP 784-512-512-10, batch 128",
        loom: {
          model: nn.serial(
            nn.dense(512, { activation: "relu" }),
            nn.dense(512, { activation: "relu" }),
            nn.dense(10),
          ),
          inputShape: [BATCH, 784],
          x: L.random.normal(L.random.key(5), [BATCH, 784]),
          y: L.tensor(randomIds(BATCH, 10, 5), { dtype: "int32" }),
          lr: 1e-3,
        },
        forward: (tf, p, x) => tfDense(tf, p[2], tf.relu(tfDense(tf, p[1], tf.relu(tfDense(tf, p[0], x))))),
        classes: 10,
        maxReps: 20,
        tfjsCpuInQuick: true,
      },
      options,
      tfjs,
    ),
  ];
}
