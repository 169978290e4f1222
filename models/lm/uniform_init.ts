/**
 * The initialization of the early neural LMs' papers: every parameter, biases included, drawn from one
 * uniform(-s, s) (Zaremba et al., 2014, use s = 0.1), in place of each layer's own initializer.
 * @module
 */
import type * as L from "../../mod.ts";
import { flatten, type nn, random, unflatten } from "../../mod.ts";
import { num } from "../spec.ts";
import type { LmNetwork } from "./language_model.ts";

/**
 * The `initScale` field: 0 keeps the layers' own initializers.
 *
 * @example
 * ```ts
 * import { initScaleField } from "./uniform_init.ts";
 * if (initScaleField.default !== 0) throw new Error();
 * ```
 */
export const initScaleField = num(
  0,
  "draw every param, biases included, from uniform(-s, s) as Zaremba et al. do (0: the layers' own initializers)",
);

/**
 * Every leaf of `params` redrawn from uniform(-scale, scale), each from its own key.
 *
 * @example
 * ```ts
 * import { random, type Tensor, zeros } from "../../mod.ts";
 * import { uniformParams } from "./uniform_init.ts";
 * const [w] = uniformParams(random.key(0), [zeros([50, 4])], 0.1) as [Tensor];
 * const v = w.dataSync();
 * if (v.some((x) => Math.abs(x) > 0.1) || v.every((x) => x === v[0])) throw new Error();
 * ```
 */
export function uniformParams(key: L.Tensor, params: nn.Params, scale: number): nn.Params {
  const { leaves, def } = flatten(params);
  const keys = random.split(key, Math.max(2, leaves.length));
  const drawn = leaves.map((leaf, i) =>
    random.uniform(keys[i], leaf.shape, { minval: -scale, maxval: scale })
  );
  return unflatten(def, drawn) as nn.Params;
}

/**
 * `network` whose `init` draws every param from uniform(-scale, scale); `network` itself when `scale` is 0.
 *
 * @example
 * ```ts
 * import { nn, random, type Tensor } from "../../mod.ts";
 * import { layerNetwork } from "./language_model.ts";
 * import { withUniformInit } from "./uniform_init.ts";
 * const network = withUniformInit(layerNetwork(nn.serial(nn.embed(10, 4), nn.dense(10)), "chunk", 3, true), 0.05);
 * const [{ table }] = network.init(random.key(0), 2) as [{ table: Tensor }];
 * if (table.abs().max().item() > 0.05) throw new Error();
 * ```
 */
export function withUniformInit(network: LmNetwork<nn.Params>, scale: number): LmNetwork<nn.Params> {
  if (scale === 0) return network;
  return {
    ...network,
    init: (key, rows) => uniformParams(random.fold(key, 1), network.init(key, rows), scale),
  };
}
