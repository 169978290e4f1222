/**
 * `dropout(rate)`: randomly zeroes activations while training (Srivastava et al., 2014).
 * @module
 */
import * as ops from "../ops.ts";
import * as random from "../random.ts";
import type { Tensor } from "../tensor.ts";
import { defineLayer, expectTensor, LayerError } from "./layer.ts";
import type { Context, Layer, NoParams, Same } from "./types.ts";

/**
 * @internal Inverted dropout: while `ctx.training`, each element is zeroed with probability `rate` and the
 * others are divided by `1 - rate`, so nothing changes at evaluation time. Needs `ctx.key` while training.
 *
 * @example
 * ```ts
 * import { dropoutTensor } from "./dropout.ts";
 * import { LayerError } from "./layer.ts";
 * import { ones, random } from "../../mod.ts";
 * const x = ones([8]);
 * if (dropoutTensor(x, 0.5, {}, "dropout") !== x) throw new Error("identity when not training");
 * const y = dropoutTensor(x, 0.5, { training: true, key: random.key(0) }, "dropout");
 * if (!(y.arraySync() as number[]).every((v) => v === 0 || v === 2)) throw new Error();
 * try {
 *   dropoutTensor(x, 0.5, { training: true }, "serial[1].dropout");
 *   throw new Error("unreachable");
 * } catch (e) {
 *   if (!(e instanceof LayerError) || e.path !== "serial[1].dropout") throw e;
 * }
 * ```
 */
export function dropoutTensor(x: Tensor, rate: number, ctx: Context, where: string): Tensor {
  if (!ctx.training || rate === 0) return x;
  if (!ctx.key) {
    throw new LayerError(
      where,
      "training with dropout needs a random key: apply(params, x, { training: true, key })",
    );
  }
  const keep = random.bernoulli(ctx.key, 1 - rate, x.shape);
  return ops.where(keep, x.div(1 - rate), 0);
}

/**
 * Dropout as a layer (no parameters): active only when `ctx.training` is set, using `ctx.key`.
 *
 * @example
 * ```ts
 * import { nn, ones, random } from "../../mod.ts";
 * const layer = nn.dropout(0.5);
 * const x = ones([1000]);
 * if (layer.apply({}, x).sum().item() !== 1000) throw new Error("identity when not training");
 * const y = layer.apply({}, x, { training: true, key: random.key(0) });
 * const kept = y.greater(0).cast("float32").mean().item();
 * if (kept < 0.4 || kept > 0.6 || y.max().item() !== 2) throw new Error();
 * ```
 */
export function dropout(rate: number): Layer<number, Same, NoParams> {
  if (!(rate >= 0 && rate < 1)) throw new LayerError("dropout", `rate must be in [0, 1), got ${rate}`);
  return defineLayer<number, Same, NoParams>({
    name: "dropout",
    init: (_key, inputShape) => ({ params: {}, outputShape: inputShape }),
    apply: (_params, x, ctx) => dropoutTensor(expectTensor("dropout", x, ["..."]), rate, ctx, "dropout"),
  });
}
