/**
 * `layerNorm()`: normalisation over the feature axis (Ba et al., 2016).
 * @module
 */
import * as ops from "../ops.ts";
import type { Tensor } from "../tensor.ts";
import { defineLayer, expectShape, expectTensor } from "./layer.ts";
import type { Layer, Same } from "./types.ts";

/**
 * Params of `layerNorm`, both `[features]` (no `bias` with `{ bias: false }`).
 *
 * @example
 * ```ts
 * import { nn, random } from "../../mod.ts";
 * const p = nn.layerNorm().init(random.key(0), [2, 6]).params as nn.LayerNormParams;
 * if (p.gain.sum().item() !== 6 || p.bias?.sum().item() !== 0) throw new Error();
 * ```
 */
export type LayerNormParams = {
  /** Multiplies the normalised value; starts at 1. */
  gain: Tensor;
  /** Added after; starts at 0 (absent with `{ bias: false }`). */
  bias?: Tensor;
};

// Added to the variance, as in PyTorch's nn.LayerNorm.
const EPS = 1e-5;

/**
 * Layer normalisation over the last axis: `(x - mean) / sqrt(var + 1e-5) * gain + bias`, with the biased
 * variance (mean of squared deviations). Params `{ gain: [features], bias: [features] }`; `{ bias: false }`
 * leaves the bias out (GPT-2 as nanoGPT trains it).
 *
 * @example
 * ```ts
 * import { nn, random, tensor } from "../../mod.ts";
 * const layer = nn.layerNorm();
 * const { params } = layer.init(random.key(0), [1, 4]);
 * const y = layer.apply(params, tensor([[1, 2, 3, 4]]));
 * if (Math.abs(y.mean().item()) > 1e-6 || Math.abs(y.square().mean().item() - 1) > 1e-4) throw new Error();
 * if ("bias" in nn.layerNorm({ bias: false }).init(random.key(0), [1, 4]).params) throw new Error();
 * ```
 */
export function layerNorm(options: { bias?: boolean } = {}): Layer<number, Same, LayerNormParams> {
  const { bias = true } = options;
  return defineLayer<number, Same, LayerNormParams>({
    name: "layerNorm",
    init(_key, inputShape) {
      const shape = expectShape("layerNorm", inputShape, ["...", "features"]);
      const d = shape[shape.length - 1];
      const params: LayerNormParams = bias
        ? { gain: ops.ones([d]), bias: ops.zeros([d]) }
        : { gain: ops.ones([d]) };
      return { params, outputShape: shape };
    },
    apply(params, x) {
      const { gain, bias: shift } = params;
      const input = expectTensor("layerNorm", x, ["...", gain.shape[0]]);
      const centred = input.sub(input.mean(-1, true));
      const variance = centred.square().mean(-1, true);
      const scaled = centred.div(variance.add(EPS).sqrt()).mul(gain);
      return shift ? scaled.add(shift) : scaled;
    },
  });
}
