/**
 * Transformer training step, nanoGPT's CPU configuration (shakespeare_char on a laptop): 4 layers, 4 heads,
 * 128 dims, block 64, batch 12, vocabulary 65, pre-LN blocks with causal self-attention and a 4x GELU MLP,
 * learned positions, no dropout; Adam. The memory workload trains the same model.
 * @module
 */
import * as L from "../../mod.ts";
import { type BenchOptions, randomIds, type Row } from "./harness.ts";
import type { LoomTraining } from "./loom.ts";
import { type Tf, tfDense, tfEmbed, type TfParams, type TfSetup, type TfTensor } from "./tfjs.ts";
import { trainingRow } from "./training.ts";

const [LAYERS, HEADS, DIM, BLOCK, BATCH, VOCAB] = [4, 4, 128, 64, 12, 65];

/** The model, data and learning rate on Loom's side. */
export function transformerTraining(): LoomTraining {
  const { nn } = L;
  const ids = (seed: number) =>
    L.tensor(randomIds(BATCH * BLOCK, VOCAB, seed), { shape: [BATCH, BLOCK], dtype: "int32" });
  return {
    model: nn.serial(
      nn.embed(VOCAB, DIM),
      nn.positional("learned", BLOCK),
      nn.repeat(LAYERS, () =>
        nn.serial(
          nn.residual(nn.serial(nn.layerNorm(), nn.attend({ heads: HEADS, causal: true }))),
          nn.residual(nn.serial(nn.layerNorm(), nn.dense(4 * DIM, { activation: "gelu" }), nn.dense(DIM))),
        )),
      nn.layerNorm(),
      nn.dense(VOCAB),
    ),
    inputShape: [BATCH, BLOCK],
    x: ids(8),
    y: ids(9),
    lr: 1e-3,
  };
}

/** Loom's `layerNorm`: biased variance, eps 1e-5, params `{ gain, bias }`. */
export function tfLayerNorm(tf: Tf, p: TfParams, x: TfTensor): TfTensor {
  const centred = tf.sub(x, tf.mean(x, -1, true));
  const variance = tf.mean(tf.square(centred), -1, true);
  return tf.add(tf.mul(tf.div(centred, tf.sqrt(tf.add(variance, 1e-5))), p.gain), p.bias);
}

/** GELU in its exact erf form, as Loom's `gelu` (TF.js has no gelu op). */
function tfGelu(tf: Tf, x: TfTensor): TfTensor {
  return tf.mul(tf.mul(x, 0.5), tf.add(tf.erf(tf.div(x, Math.SQRT2)), 1));
}

/** Loom's `attend` with a causal mask: masked scores become -1e9 before the softmax. */
export function tfAttend(tf: Tf, p: TfParams, x: TfTensor, mask: TfTensor, heads = HEADS): TfTensor {
  const [batch, time, dim] = x.shape;
  const headDim = dim / heads;
  const toHeads = (t: TfTensor) => tf.transpose(tf.reshape(t, [batch, time, heads, headDim]), [0, 2, 1, 3]);
  const q = toHeads(tfDense(tf, p.query, x));
  const k = toHeads(tfDense(tf, p.key, x));
  const v = toHeads(tfDense(tf, p.value, x));
  const scores = tf.where(mask, tf.div(tf.matMul(q, k, false, true), Math.sqrt(headDim)), tf.scalar(-1e9));
  const merged = tf.reshape(tf.transpose(tf.matMul(tf.softmax(scores, -1), v), [0, 2, 1, 3]), [
    batch,
    time,
    dim,
  ]);
  return tfDense(tf, p.output, merged);
}

/** The same model on tfjs-core ops, reading Loom's params tree. */
export function tfTransformer(tf: Tf, p: TfParams, ids: TfTensor): TfTensor {
  const [, time] = ids.shape as number[];
  // Query position >= key position, broadcast over batch and heads. Built on the host: TF.js wasm's
  // bandPart aborts on float input, and the mask is a constant anyway.
  const allowed = new Uint8Array(time * time).map((_, i) => Number(i % time <= Math.floor(i / time)));
  const mask = tf.tensor(allowed, [1, 1, time, time], "bool");
  let x = tf.add(tfEmbed(tf, p[0].table, ids), tf.slice(p[1].table, [0, 0], [time, DIM]));
  for (const [attention, mlp] of p[2]) {
    x = tf.add(x, tfAttend(tf, attention[1], tfLayerNorm(tf, attention[0], x), mask));
    x = tf.add(x, tfDense(tf, mlp[2], tfGelu(tf, tfDense(tf, mlp[1], tfLayerNorm(tf, mlp[0], x)))));
  }
  return tfDense(tf, p[4], tfLayerNorm(tf, p[3], x));
}

/** The transformer row. */
export async function transformerRows(options: BenchOptions, tfjs: TfSetup | null): Promise<Row[]> {
  return [
    await trainingRow(
      {
        label:
          "train step: transformer (nanoGPT CPU config: 4 layers, 4 heads, 128 dims, block 64, batch 12)",
        loom: transformerTraining(),
        forward: tfTransformer,
        classes: VOCAB,
        maxReps: 7,
        tfjsCpuInQuick: false,
      },
      options,
      tfjs,
    ),
  ];
}
