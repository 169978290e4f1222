/**
 * CBOW with negative sampling (Mikolov et al., 2013, "Efficient Estimation of Word Representations"): the
 * mean of the input vectors of the words around a word predicts it, scored against `negatives` words drawn
 * from the unigram distribution to the 3/4.
 * @module
 */
import * as L from "../../mod.ts";
import { CbowBatcher, type WindowBatch } from "../data/windows.ts";
import type { ModelSpec } from "../spec.ts";
import {
  type Architecture,
  idTensor,
  negativeSamplingLoss,
  type Tables,
  type word2vecFields,
  word2vecModel,
} from "./word2vec.ts";

/**
 * The CBOW loss of a batch, summed over its windows: for each centre word `-log σ(h·v) - Σ_k log σ(-h·n_k)`,
 * with h the mean of its context words' input vectors (`mask` 1), v the centre's output vector and n_k the
 * negatives'. Windows with no context word (padding) count nothing. Shapes: centre [B] (int32), context
 * [B, C], negatives [B, K], mask [B, C]. As in word2vec.c, each context word receives the whole gradient of
 * h (not its share of the mean's): the forward value is the mean, the gradient passes through the sum.
 *
 * @example
 * ```ts
 * import { tensor } from "../../mod.ts";
 * import { cbowLoss } from "./cbow.ts";
 * const p = { input: tensor([[1, 0], [0, 1]]), output: tensor([[0, 0], [0, 0]]) };
 * const loss = cbowLoss(p, tensor([0], { dtype: "int32" }), tensor([[1, 0]], { dtype: "int32" }),
 *   tensor([[1]], { dtype: "int32" }), tensor([[1, 0]]));
 * if (Math.abs(loss.item() - 2 * Math.log(2)) > 1e-6) throw new Error(); // σ(0) twice
 * ```
 */
export function cbowLoss(
  p: Tables,
  centre: L.Tensor,
  context: L.Tensor,
  negatives: L.Tensor,
  mask: L.Tensor,
): L.Tensor {
  const count = mask.sum(-1, true); // [B, 1]
  const sum = L.take(p.input, context).mul(mask.unsqueeze(-1)).sum(1); // [B, D]
  const h = L.stopGradient(sum.div(count.maximum(1)).sub(sum)).add(sum);
  const real = count.squeeze(-1).minimum(1); // 1 for a window with context words, 0 for padding
  return negativeSamplingLoss(p.output, h, centre, negatives, real);
}

const architecture: Architecture<WindowBatch> = {
  name: "cbow",
  loss: (p, ...b) => cbowLoss(p, b[0], b[1], b[2], b[3]),
  reader: (corpus, counts, config) => new CbowBatcher(corpus, counts, config, config.batch),
  tensors: (b, config) => {
    const [B, C, K] = [config.batch, 2 * config.window, config.negatives];
    const tensors = [idTensor(b.centre, [B]), idTensor(b.context, [B, C]), idTensor(b.negatives, [B, K])];
    return { tensors: [...tensors, L.tensor(b.mask, { shape: [B, C] })], items: b.windows };
  },
};

/**
 * The CBOW model: word2vec.c's defaults (dim 100, window 5, 5 negatives, subsampling 1e-3, rate 0.05,
 * 5 epochs, words seen 5+ times), 256 windows a batch.
 *
 * @example
 * ```ts
 * import { cbow } from "./cbow.ts";
 * if (cbow.fields.lr.default !== 0.05) throw new Error();
 * ```
 */
export const cbow: ModelSpec<ReturnType<typeof word2vecFields>> = word2vecModel(
  architecture,
  "word2vec CBOW with negative sampling (Mikolov et al., 2013)",
  { lr: 0.05, batch: 256 },
);
