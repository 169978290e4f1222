/**
 * LSTM language-model training step, the "small" configuration of Zaremba et al. (2014): 2 layers of 200
 * units, embedding 200, vocabulary 10k, batch 20, 35 steps unrolled, softmax over the 10k words at every
 * step (no dropout in that configuration). Adam rather than the paper's SGD, as for every training row.
 * @module
 */
import * as L from "../../mod.ts";
import { type BenchOptions, randomIds, type Row } from "./harness.ts";
import {
  type Tf,
  tfDense,
  tfEmbed,
  type TfForward,
  type TfParams,
  type TfSetup,
  type TfTensor,
} from "./tfjs.ts";
import type { LoomTraining } from "./loom.ts";
import { trainingRow } from "./training.ts";

const [VOCAB, DIM, BATCH, STEPS] = [10_000, 200, 20, 35];

/**
 * One LSTM layer over `x: [batch, time, features]`, as Loom's `recur(lstmCell)`: per step
 * `z = x_t·wi + h·wh + b`, gates i, f, g, o in that order along z's last axis.
 */
function tfLstm(tf: Tf, p: TfParams, x: TfTensor): TfTensor {
  const [batch, time, features] = x.shape;
  const units = p.wh.shape[0];
  let h: TfTensor = tf.zeros([batch, units]);
  let c: TfTensor = tf.zeros([batch, units]);
  const outputs: TfTensor[] = [];
  for (let t = 0; t < time; t++) {
    const xt = tf.reshape(tf.slice(x, [0, t, 0], [batch, 1, features]), [batch, features]);
    const z = tf.add(tf.add(tf.matMul(xt, p.wi), tf.matMul(h, p.wh)), p.b);
    const [i, f, g, o] = tf.split(z, 4, 1);
    c = tf.add(tf.mul(tf.sigmoid(f), c), tf.mul(tf.sigmoid(i), tf.tanh(g)));
    h = tf.mul(tf.sigmoid(o), tf.tanh(c));
    outputs.push(h);
  }
  return tf.stack(outputs, 1);
}

/** The model, data and learning rate on Loom's side. */
export function lstmTraining(): LoomTraining {
  const { nn } = L;
  const ids = (seed: number) =>
    L.tensor(randomIds(BATCH * STEPS, VOCAB, seed), { shape: [BATCH, STEPS], dtype: "int32" });
  return {
    model: nn.serial(
      nn.embed(VOCAB, DIM),
      nn.recur(nn.lstmCell(DIM)),
      nn.recur(nn.lstmCell(DIM)),
      nn.dense(VOCAB),
    ),
    inputShape: [BATCH, STEPS],
    x: ids(6),
    y: ids(7),
    lr: 1e-3,
  };
}

/** The same model on tfjs-core ops, reading Loom's params tree. */
export const tfLstmModel: TfForward = (tf, p, x) =>
  tfDense(tf, p[3], tfLstm(tf, p[2], tfLstm(tf, p[1], tfEmbed(tf, p[0].table, x))));

/** The number of classes of the LSTM LM. */
export const LSTM_VOCAB = VOCAB;

/** The LSTM LM row. */
export async function lstmRows(options: BenchOptions, tfjs: TfSetup | null): Promise<Row[]> {
  return [
    await trainingRow(
      {
        label: "train step: LSTM LM (Zaremba small: 2×200, vocab 10k, batch 20, 35 steps)",
        loom: lstmTraining(),
        forward: tfLstmModel,
        classes: VOCAB,
        maxReps: 5,
        tfjsCpuInQuick: false,
        notes:
          "embedding gradient: Loom sparse rows with lazy Adam, TF.js dense [10k, 200] (scatterND) with dense Adam",
      },
      options,
      tfjs,
    ),
  ];
}
