/**
 * Dropout in the language models (Srivastava et al., 2014): the `dropout` field, and the layer a network puts
 * at each of its dropout sites. A rate of 0 adds no layer, so a network without dropout keeps the params tree
 * (and the checkpoints) it had before the field existed.
 * @module
 */
import { nn } from "../../mod.ts";
import { num } from "../spec.ts";

/**
 * The `dropout` field: the rate at each of the network's dropout sites while training (0: none).
 *
 * @example
 * ```ts
 * import { dropoutField } from "./dropout.ts";
 * if (dropoutField.default !== 0 || dropoutField.below !== 1) throw new Error();
 * ```
 */
export const dropoutField = num(
  0,
  "drop rate while training at the network's dropout sites, each kept unit scaled by 1/(1-rate) (0: none)",
  0,
  1,
);

/**
 * The layers at one dropout site: `[nn.dropout(rate)]`, or none when the rate is 0.
 *
 * @example
 * ```ts
 * import { nn, random, tensor } from "../../mod.ts";
 * import { dropoutSite } from "./dropout.ts";
 * if (dropoutSite(0).length !== 0) throw new Error();
 * const layer = nn.serial(...([nn.dense(4), ...dropoutSite(0.5)] as [nn.AnyLayer]));
 * const { params } = layer.init(random.key(0), [1, 3]);
 * const x = tensor([[1, 2, 3]]);
 * const [a, b] = [layer.apply(params, x).dataSync(), layer.apply(params, x, { training: true, key: random.key(1) }).dataSync()];
 * if (!a.some((v, i) => v !== b[i])) throw new Error("training drops units");
 * ```
 */
export function dropoutSite(rate: number): nn.AnyLayer[] {
  return rate > 0 ? [nn.dropout(rate)] : [];
}
