/**
 * Skip-gram with negative sampling (Mikolov et al., 2013, "Distributed Representations of Words and
 * Phrases"): each word predicts the words around it. The centre word's input vector scores its true context
 * word's output vector against `negatives` words drawn from the unigram distribution to the 3/4.
 * @module
 */
import * as L from "../../mod.ts";
import { type PairBatch, PairBatcher } from "../data/windows.ts";
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
 * The skip-gram loss of a batch, summed over its real pairs (`mask` 1): for each pair
 * `-log σ(u·v) - Σ_k log σ(-u·n_k)`, with u = input[centre], v = output[context], n_k = output[negative k].
 * Shapes: centre and context [P] (int32), negatives [P, K], mask [P].
 *
 * @example
 * ```ts
 * import { tensor } from "../../mod.ts";
 * import { skipGramLoss } from "./skipgram.ts";
 * const p = { input: tensor([[1, 0], [0, 1]]), output: tensor([[0, 0], [0, 0]]) };
 * const ids = tensor([0], { dtype: "int32" });
 * const loss = skipGramLoss(p, ids, ids, tensor([[1]], { dtype: "int32" }), tensor([1]));
 * if (Math.abs(loss.item() - 2 * Math.log(2)) > 1e-6) throw new Error(); // σ(0) twice
 * ```
 */
export function skipGramLoss(
  p: Tables,
  centre: L.Tensor,
  context: L.Tensor,
  negatives: L.Tensor,
  mask: L.Tensor,
): L.Tensor {
  return negativeSamplingLoss(p.output, L.take(p.input, centre), context, negatives, mask);
}

const architecture: Architecture<PairBatch> = {
  name: "skipgram",
  loss: (p, ...b) => skipGramLoss(p, b[0], b[1], b[2], b[3]),
  reader: (corpus, counts, config) => new PairBatcher(corpus, counts, config, config.batch),
  tensors: (b, config) => {
    const P = b.centre.length;
    const tensors = [
      idTensor(b.centre, [P]),
      idTensor(b.context, [P]),
      idTensor(b.negatives, [P, config.negatives]),
    ];
    return { tensors: [...tensors, L.tensor(b.mask)], items: b.pairs };
  },
};

/**
 * The skip-gram model: word2vec.c's defaults (dim 100, window 5, 5 negatives, subsampling 1e-3, rate 0.025,
 * 5 epochs, words seen 5+ times), 1,536 pairs a batch.
 *
 * @example
 * ```ts
 * import { skipgram } from "./skipgram.ts";
 * if (skipgram.fields.lr.default !== 0.025 || skipgram.kind !== "embedding") throw new Error();
 * ```
 */
export const skipgram: ModelSpec<ReturnType<typeof word2vecFields>> = word2vecModel(
  architecture,
  "word2vec skip-gram with negative sampling (Mikolov et al., 2013)",
  { lr: 0.025, batch: 1536 },
);
