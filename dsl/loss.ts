/**
 * Losses: each returns a float32 scalar, the mean over all positions (batch and time alike), computed stably
 * from logits.
 * @module
 */
import * as ops from "./ops.ts";
import { showShape } from "./ir/shape.ts";
import type { Tensor } from "./tensor.ts";

/**
 * Options of `crossEntropy`.
 *
 * @example
 * ```ts
 * import { loss, tensor } from "../mod.ts";
 * const options: loss.CrossEntropyOptions = { ignoreIndex: -1 };
 * const labels = tensor([0, -1], { dtype: "int32" });
 * if (!(loss.crossEntropy(tensor([[2, 0], [0, 2]]), labels, options).item() > 0)) throw new Error();
 * ```
 */
export interface CrossEntropyOptions {
  /** Positions labelled this (e.g. -100, or a padding id) count for nothing, not even in the mean. */
  ignoreIndex?: number;
  /**
   * Label smoothing ε (default 0): the target is `(1 - ε)·onehot + ε/classes`, as in PyTorch and Szegedy et
   * al. (2016).
   */
  labelSmoothing?: number;
}

function sameShape(where: string, a: Tensor, b: Tensor): void {
  ops.assertTensor(a, where);
  ops.assertTensor(b, where);
  if (a.shape.join() !== b.shape.join()) {
    throw new RangeError(
      `loss.${where}: the shapes ${showShape(a.shape)} and ${showShape(b.shape)} must be equal`,
    );
  }
}

/**
 * Softmax cross-entropy from `logits: [..., classes]` and int32 `labels: [...]`: the mean over positions of
 * `-log softmax(logits)[label]` (with label smoothing, of `-Σ target·log softmax`). Positions labelled
 * `ignoreIndex` are left out of the sum and the count; if all are ignored the loss is 0.
 *
 * @example
 * ```ts
 * import { loss, tensor } from "../mod.ts";
 * const logits = tensor([[0, 0], [0, 0], [5, -5]]);
 * const labels = tensor([0, 1, -100], { dtype: "int32" });
 * const l = loss.crossEntropy(logits, labels, { ignoreIndex: -100 });
 * if (Math.abs(l.item() - Math.LN2) > 1e-6) throw new Error();
 * ```
 */
export function crossEntropy(logits: Tensor, labels: Tensor, options: CrossEntropyOptions = {}): Tensor {
  const { ignoreIndex, labelSmoothing = 0 } = options;
  ops.assertTensor(logits, "loss.crossEntropy");
  ops.assertTensor(labels, "loss.crossEntropy");
  if (labels.dtype !== "int32") {
    throw new TypeError(
      `loss.crossEntropy: labels must be int32 class ids, got ${labels.dtype}; use .cast("int32")`,
    );
  }
  if (logits.rank < 1 || labels.shape.join() !== logits.shape.slice(0, -1).join()) {
    throw new RangeError(
      `loss.crossEntropy: labels ${showShape(labels.shape)} must have the shape of logits ${
        showShape(logits.shape)
      } ` +
        "without its last (class) axis",
    );
  }
  if (!(labelSmoothing >= 0 && labelSmoothing <= 1)) {
    throw new RangeError(`loss.crossEntropy: labelSmoothing must be in [0, 1], got ${labelSmoothing}`);
  }
  const logProbs = ops.logSoftmax(logits, -1);
  const keep = ignoreIndex === undefined ? undefined : labels.notEqual(ignoreIndex);
  // Ignored labels may be out of range (-100), so they read class 0 instead; their loss is masked out below.
  const safeLabels = keep ? ops.where(keep, labels, 0) : labels;
  let perPosition = ops.takeAlongAxis(logProbs, safeLabels.unsqueeze(-1), -1).squeeze(-1).neg();
  if (labelSmoothing > 0) {
    const uniform = logProbs.mean(-1).neg();
    perPosition = perPosition.mul(1 - labelSmoothing).add(uniform.mul(labelSmoothing));
  }
  if (!keep) return perPosition.mean();
  const weights = keep.cast("float32");
  return perPosition.mul(weights).sum().div(weights.sum().maximum(1));
}

/**
 * Mean squared error: the mean of `(predictions - targets)²`.
 *
 * @example
 * ```ts
 * import { loss, tensor } from "../mod.ts";
 * if (loss.mse(tensor([1, 2]), tensor([1, 4])).item() !== 2) throw new Error();
 * ```
 */
export function mse(predictions: Tensor, targets: Tensor): Tensor {
  sameShape("mse", predictions, targets);
  return predictions.sub(targets).square().mean();
}

/**
 * Binary cross-entropy from logits and float targets in [0, 1]: the mean of
 * `-(t·log σ(x) + (1 - t)·log(1 - σ(x)))`, computed as `softplus(x) - t·x`, which never overflows.
 *
 * @example
 * ```ts
 * import { loss, tensor } from "../mod.ts";
 * const l = loss.binaryCrossEntropyWithLogits(tensor([0, 100]), tensor([1, 1]));
 * if (Math.abs(l.item() - Math.LN2 / 2) > 1e-6) throw new Error();
 * ```
 */
export function binaryCrossEntropyWithLogits(logits: Tensor, targets: Tensor): Tensor {
  sameShape("binaryCrossEntropyWithLogits", logits, targets);
  return ops.softplus(logits).sub(logits.mul(targets)).mean();
}

/**
 * The word2vec negative-sampling objective (Mikolov et al., 2013), averaged over positions: for each centre
 * vector `u: [..., dim]`, its true context vector `v: [..., dim]` and `k` sampled vectors
 * `negatives: [..., k, dim]`, `-log σ(u·v) - Σ_k log σ(-u·v_k)`, computed with softplus.
 *
 * @example
 * ```ts
 * import { loss, tensor } from "../mod.ts";
 * const u = tensor([[1, 0]]);
 * const l = loss.negativeSampling(u, tensor([[0, 1]]), tensor([[[0, 1], [0, -1]]]));
 * if (Math.abs(l.item() - 3 * Math.LN2) > 1e-6) throw new Error();
 * ```
 */
export function negativeSampling(center: Tensor, context: Tensor, negatives: Tensor): Tensor {
  sameShape("negativeSampling", center, context);
  ops.assertTensor(negatives, "loss.negativeSampling");
  const want = [...center.shape.slice(0, -1), "k", center.shape[center.rank - 1]];
  if (
    negatives.rank !== center.rank + 1 ||
    negatives.shape.some((d, i) => i !== center.rank - 1 && d !== want[i])
  ) {
    throw new RangeError(
      `loss.negativeSampling: negatives must be [${want.join(",")}] for center ${showShape(center.shape)}, ` +
        `got ${showShape(negatives.shape)}`,
    );
  }
  const positive = center.mul(context).sum(-1);
  const negative = negatives.mul(center.unsqueeze(-2)).sum(-1);
  return ops.softplus(positive.neg()).add(ops.softplus(negative).sum(-1)).mean();
}
