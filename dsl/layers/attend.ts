/**
 * `attend({ heads })`: multi-head scaled dot-product self-attention (Vaswani et al., 2017).
 * @module
 */
import * as ops from "../ops.ts";
import * as random from "../random.ts";
import type { Tensor } from "../tensor.ts";
import { affine, type DenseParams } from "./dense.ts";
import { dropoutTensor } from "./dropout.ts";
import { glorotUniform, type Initializer } from "./init.ts";
import { defineLayer, expectShape, expectTensor, LayerError, showDims } from "./layer.ts";
import type { Layer, Same } from "./types.ts";

/**
 * Options of `attend`.
 *
 * @example
 * ```ts
 * import { nn } from "../../mod.ts";
 * const options: nn.AttendOptions = { heads: 4, causal: true, dropout: 0.1, bias: false, init: nn.normal(0.02) };
 * nn.attend(options);
 * ```
 */
export interface AttendOptions {
  /** Number of heads; must divide the feature dim. */
  heads: number;
  /** Each position attends only to itself and earlier positions (default false). */
  causal?: boolean;
  /** Dropout rate on the attention weights while training (default 0). */
  dropout?: number;
  /** Biases in the four projections (default true). */
  bias?: boolean;
  /** How the query, key and value weights start (default Glorot-uniform). */
  init?: Initializer;
  /** How the output projection's weight starts (default: as `init`). */
  outputInit?: Initializer;
}

/**
 * Params of `attend`: four projections, each `{ w: [features, features], b: [features] }` (no `b` with
 * `bias: false`).
 *
 * @example
 * ```ts
 * import { nn, random } from "../../mod.ts";
 * const p = nn.attend({ heads: 2 }).init(random.key(0), [1, 3, 8]).params as nn.AttendParams;
 * if (p.query.w.shape.join() !== "8,8") throw new Error();
 * ```
 */
export type AttendParams = {
  /** Queries: `q = x · query.w + query.b`. */
  query: DenseParams;
  /** Keys. */
  key: DenseParams;
  /** Values. */
  value: DenseParams;
  /** The output projection, applied to the concatenated heads. */
  output: DenseParams;
};

// Masked scores get a large finite negative value rather than -Infinity, so that a fully masked row gives a
// uniform softmax instead of NaN and no Infinity ever reaches a gradient.
const MASKED = -1e9;

/**
 * Multi-head self-attention over `x: [batch, time, features]` (same shape out). With `h` heads of size
 * `d = features / h`: `q, k, v` are affine projections of `x` split into heads, each head computes
 * `softmax(q kᵀ / sqrt(d) + mask) v`, the heads are concatenated (head-major, as in PyTorch) and projected by
 * `output`. `causal` masks later positions; `ctx.mask` (bool `[batch, time]`, false at padding) masks padded
 * keys. Params: `{ query, key, value, output }`, each `{ w: [features, features], b: [features] }`, with `w`
 * Glorot-uniform (or as `init` and `outputInit` say) and `b` zero (absent with `bias: false`).
 *
 * @example
 * ```ts
 * import { nn, random } from "../../mod.ts";
 * const layer = nn.attend({ heads: 2, causal: true });
 * const { params } = layer.init(random.key(0), [1, 3, 4]);
 * const y = layer.apply(params, random.normal(random.key(1), [1, 3, 4]));
 * if (y.shape.join() !== "1,3,4") throw new Error();
 * ```
 */
export function attend(options: AttendOptions): Layer<number, Same, AttendParams> {
  const { heads, causal = false, dropout = 0, bias = true, init = glorotUniform } = options;
  const outputInit = options.outputInit ?? init;
  if (!Number.isInteger(heads) || heads < 1) {
    throw new LayerError("attend", `heads must be a positive integer, got ${heads}`);
  }
  if (!(dropout >= 0 && dropout < 1)) {
    throw new LayerError("attend", `dropout must be in [0, 1), got ${dropout}`);
  }
  return defineLayer<number, Same, AttendParams>({
    name: "attend",
    init(key, inputShape) {
      const shape = expectShape("attend", inputShape, ["batch", "time", "features"]);
      const d = shape[2];
      if (d % heads !== 0) {
        throw new LayerError(
          "attend",
          `${heads} heads do not divide the ${d} features of input ${showDims(shape)}`,
        );
      }
      const keys = random.split(key, 4);
      const projection = (k: Tensor, start: Initializer): DenseParams =>
        bias ? { w: start(k, [d, d]), b: ops.zeros([d]) } : { w: start(k, [d, d]) };
      const params: AttendParams = {
        query: projection(keys[0], init),
        key: projection(keys[1], init),
        value: projection(keys[2], init),
        output: projection(keys[3], outputInit),
      };
      return { params, outputShape: shape };
    },
    apply(params, x, ctx) {
      const p = params;
      const d = p.query.w.shape[0];
      const input = expectTensor("attend", x, ["batch", "time", d]);
      const [batch, time] = input.shape;
      const headDim = d / heads;
      // [batch, time, features] -> [batch, heads, time, headDim]
      const toHeads = (t: Tensor) => t.reshape([batch, time, heads, headDim]).transpose([0, 2, 1, 3]);
      const q = toHeads(affine(input, p.query.w, p.query.b));
      const k = toHeads(affine(input, p.key.w, p.key.b));
      const v = toHeads(affine(input, p.value.w, p.value.b));
      let scores = q.matmul(k.transpose([0, 1, 3, 2])).div(Math.sqrt(headDim));
      if (causal) {
        const position = ops.arange(time);
        scores = ops.where(
          position.reshape([1, time]).lessEqual(position.reshape([time, 1])),
          scores,
          MASKED,
        );
      }
      if (ctx.mask) {
        const mask = ctx.mask;
        if (mask.dtype !== "bool" || mask.shape.join() !== [batch, time].join()) {
          throw new LayerError(
            "attend",
            `ctx.mask must be bool ${showDims([batch, time])}, got ${mask.dtype}${showDims(mask.shape)}`,
          );
        }
        scores = ops.where(mask.reshape([batch, 1, 1, time]), scores, MASKED);
      }
      const weights = dropoutTensor(ops.softmax(scores, -1), dropout, ctx, "attend");
      const merged = weights.matmul(v).transpose([0, 2, 1, 3]).reshape([batch, time, d]);
      return affine(merged, p.output.w, p.output.b);
    },
  });
}
