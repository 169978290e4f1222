/**
 * Guide lesson: squared error against cross-entropy. The same predictions (softmax over `classes` logits,
 * the true class getting probability p, the others sharing the rest) scored both ways, with each loss's
 * gradient with respect to the true class's logit, computed by Loom's autodiff.
 * @module
 */
import { grad, log, logSoftmax, loss, oneHot, softmax, type Tensor, tensor } from "../../mod.ts";
import type { Controls, Lesson } from "./lesson.ts";

/** The lesson's settings. */
export type LossesSettings = { classes: number; points: number };

/**
 * Squared error between the predicted distribution `softmax(logits)` and the one-hot label's.
 *
 * @example
 * ```ts
 * import { tensor } from "../../mod.ts";
 * import { squaredError } from "./losses.ts";
 * const e = squaredError(tensor([[0, 0]]), tensor([0], { dtype: "int32" })).item();
 * if (Math.abs(e - 0.5) > 1e-6) throw new Error(); // (1/2 - 1)² + (1/2)²
 * ```
 */
export function squaredError(logits: Tensor, labels: Tensor): Tensor {
  const classes = logits.shape[logits.shape.length - 1];
  return softmax(logits).sub(oneHot(labels, classes)).square().sum(-1).mean();
}

/** What the page plots against p, the probability given to the true class. */
export interface LossesFrame {
  p: number[];
  squared: number[];
  crossEntropy: number[];
  dSquared: number[];
  dCrossEntropy: number[];
}

/**
 * The lesson: one frame, both losses and their gradients over p from 0.01 to 0.99.
 *
 * @example
 * ```ts
 * import { fixedControls } from "./lesson.ts";
 * import { losses } from "./losses.ts";
 * const { value } = await losses.run(fixedControls(losses.defaults)).next();
 * // Near p = 0 cross-entropy's gradient is about -1, squared error's vanishes: why CE learns faster.
 * if (!(value!.dCrossEntropy[0] < -0.9 && Math.abs(value!.dSquared[0]) < 0.1)) throw new Error();
 * ```
 */
export const losses: Lesson<LossesSettings, LossesFrame> = {
  slug: "losses",
  defaults: { classes: 4, points: 99 },
  limits: { classes: [2, 50], points: [5, 400] },
  async *run(controls: Controls<LossesSettings>) {
    const { classes, points } = controls.settings;
    const ps = Array.from({ length: points }, (_, i) => 0.01 + (0.98 * i) / (points - 1));
    // Logits whose softmax gives p to class 0 and (1 - p) / (classes - 1) to each other class.
    const rows = ps.map((p) => [p, ...new Array(classes - 1).fill((1 - p) / (classes - 1))]);
    const logits = log(tensor(rows));
    const labels = tensor(new Array(points).fill(0), { dtype: "int32" });
    // Per-example losses: the sum over the batch, so each row's gradient is its own.
    const perSquared = (z: Tensor) => squaredError(z, labels).mul(points);
    const perCross = (z: Tensor) => loss.crossEntropy(z, labels).mul(points);
    const column = (t: Tensor) =>
      Array.from({ length: points }, (_, i) => (t.dataSync() as Float32Array)[i * classes]);
    const each = (t: Tensor) => Array.from(t.dataSync() as Float32Array);
    yield {
      p: ps,
      squared: each(softmax(logits).sub(oneHot(labels, classes)).square().sum(-1)),
      crossEntropy: column(logSoftmax(logits).neg()),
      dSquared: column(grad(perSquared)(logits)),
      dCrossEntropy: column(grad(perCross)(logits)),
    };
  },
};
