/**
 * Losses: each returns a float32 scalar, the mean over all positions (batch and time alike), computed stably
 * from logits.
 * @module
 */
import * as ops from "./ops.ts";
import { showShape } from "./ir/shape.ts";
import { concrete, type Tensor } from "./tensor.ts";

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
  /**
   * How positions combine (default `"mean"`): `"mean"` over the kept positions, `"sum"` of them, or `"none"`:
   * one loss per position, shaped like `labels` (0 where ignored), as PyTorch's `reduction`.
   */
  reduction?: "mean" | "sum" | "none";
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
 * `ignoreIndex` are left out of the sum and the count; if all are ignored the loss is 0. `reduction: "none"`
 * gives each position's loss instead. A label outside `[0, classes)` is an error naming it when the labels
 * can be read at once, and NaN inside `jit`/`grad` (JAX's gather fills with NaN).
 *
 * @example
 * ```ts
 * import { loss, tensor } from "../mod.ts";
 * const logits = tensor([[0, 0], [0, 0], [5, -5]]);
 * const labels = tensor([0, 1, -100], { dtype: "int32" });
 * const l = loss.crossEntropy(logits, labels, { ignoreIndex: -100 });
 * if (Math.abs(l.item() - Math.LN2) > 1e-6) throw new Error();
 * const each = loss.crossEntropy(logits, labels, { ignoreIndex: -100, reduction: "none" }).arraySync() as number[];
 * if (each.length !== 3 || each[2] !== 0) throw new Error(each.join());
 * ```
 */
export function crossEntropy(logits: Tensor, labels: Tensor, options: CrossEntropyOptions = {}): Tensor {
  const { ignoreIndex, labelSmoothing = 0, reduction = "mean" } = options;
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
  if (!["mean", "sum", "none"].includes(reduction)) {
    throw new RangeError(
      `loss.crossEntropy: reduction must be "mean", "sum" or "none", got ${String(reduction)}`,
    );
  }
  const classes = logits.shape[logits.rank - 1];
  const keep = ignoreIndex === undefined ? undefined : labels.notEqual(ignoreIndex);
  // Ignored labels may be out of range (-100), so they read class 0 instead; their loss is masked out below.
  const safeLabels = keep ? ops.where(keep, labels, 0) : labels;
  // Concrete labels that can be read at once are checked here; traced ones (and WebGPU's) give NaN instead.
  if (!labels.isTracer && concrete(labels, "loss.crossEntropy").backend.readSync) {
    checkLabelRange(labels, classes, ignoreIndex);
  }
  // -log softmax(x)[label] = logSumExp(x) - x[label], with the label's logit read as a masked sum along the
  // class axis rather than a gather: it fuses into the loop that produces the logits (no log-softmax table is
  // written), and in reverse mode its gradient joins the softmax's in one elementwise kernel instead of a
  // scatter into zeros. A label outside [0, classes) picks nothing and gives NaN (JAX's gather fill).
  const logits32 = ops.cast(logits, "float32");
  const normalizer = ops.logSumExp(logits32, -1);
  const picked = ops.where(ops.oneHot(safeLabels, classes, "bool"), logits32, 0).sum(-1);
  const inRange = ops.logicalAnd(ops.greaterEqual(safeLabels, 0), ops.less(safeLabels, classes));
  let perPosition = ops.where(inRange, normalizer.sub(picked), NaN);
  if (labelSmoothing > 0) {
    const uniform = normalizer.sub(logits32.mean(-1));
    perPosition = perPosition.mul(1 - labelSmoothing).add(uniform.mul(labelSmoothing));
  }
  if (!keep) {
    if (reduction === "none") return perPosition;
    return reduction === "sum" ? perPosition.sum() : perPosition.mean();
  }
  const kept = ops.where(keep, perPosition, 0);
  if (reduction === "none") return kept;
  if (reduction === "sum") return kept.sum();
  return kept.sum().div(keep.cast("float32").sum().maximum(1));
}

/** Rejects labels outside `[0, classes)` (but `ignoreIndex`), naming the first. */
function checkLabelRange(labels: Tensor, classes: number, ignoreIndex: number | undefined): void {
  const values = labels.dataSync();
  for (let i = 0; i < values.length; i++) {
    if (!(values[i] >= 0 && values[i] < classes) && values[i] !== ignoreIndex) {
      throw new RangeError(
        `loss.crossEntropy: label ${values[i]} at flat position ${i} is outside [0, ${classes}); ` +
          "labels are class ids of the logits' last axis (pass ignoreIndex for padding)",
      );
    }
  }
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
