/**
 * Weight initialisers: functions `(key, shape) -> Tensor`. Layers pick the one their paper uses; custom
 * layers can use them too. For a weight of shape `[..., in, out]`, fan-in is the product of all axes but the
 * last and fan-out is the last axis.
 * @module
 */
import * as random from "../random.ts";
import type { Tensor } from "../tensor.ts";

/**
 * Makes a weight tensor of `shape` from a random key.
 *
 * @example
 * ```ts
 * import { nn, random } from "../../mod.ts";
 * const init: nn.Initializer = nn.normal(0.02);
 * if (init(random.key(0), [3, 4]).shape.join() !== "3,4") throw new Error();
 * ```
 */
export type Initializer = (key: Tensor, shape: readonly number[]) => Tensor;

function fans(shape: readonly number[]): { fanIn: number; fanOut: number } {
  const fanOut = shape.length ? shape[shape.length - 1] : 1;
  const fanIn = shape.slice(0, -1).reduce((n, d) => n * d, 1);
  return { fanIn, fanOut };
}

/**
 * Glorot/Xavier uniform (Glorot & Bengio, 2010): `U(-a, a)` with `a = sqrt(6 / (fanIn + fanOut))`, which
 * keeps activations and gradients at similar scales through tanh/sigmoid/linear layers.
 *
 * @example
 * ```ts
 * import { nn, random } from "../../mod.ts";
 * const w = nn.glorotUniform(random.key(0), [100, 50]);
 * if (w.abs().max().item() > Math.sqrt(6 / 150)) throw new Error();
 * ```
 */
export const glorotUniform: Initializer = (key, shape) => {
  const { fanIn, fanOut } = fans(shape);
  const limit = Math.sqrt(6 / (fanIn + fanOut));
  return random.uniform(key, shape, { minval: -limit, maxval: limit });
};

/**
 * He/Kaiming normal (He et al., 2015): `N(0, 2 / fanIn)`, which keeps the variance of activations constant
 * through ReLU-like layers.
 *
 * @example
 * ```ts
 * import { nn, random } from "../../mod.ts";
 * const w = nn.heNormal(random.key(0), [200, 100]);
 * if (Math.abs(w.square().mean().item() - 2 / 200) > 1e-3) throw new Error();
 * ```
 */
export const heNormal: Initializer = (key, shape) =>
  random.normal(key, shape, { stddev: Math.sqrt(2 / fans(shape).fanIn) });

/**
 * A normal initialiser with a fixed standard deviation (embeddings: 1, as PyTorch; learned positions: 0.02).
 *
 * @example
 * ```ts
 * import { nn, random } from "../../mod.ts";
 * const table = nn.normal(0.02)(random.key(0), [50, 8]);
 * if (table.abs().max().item() > 0.2) throw new Error();
 * ```
 */
export function normal(stddev: number): Initializer {
  return (key, shape) => random.normal(key, shape, { stddev });
}
