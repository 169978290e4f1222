/**
 * `dense(units)`: the fully connected layer `y = activation(x · w + b)`.
 * @module
 */
import * as ops from "../ops.ts";
import type { Tensor } from "../tensor.ts";
import { activationFn, type ActivationName } from "./activation.ts";
import { glorotUniform, heNormal, type Initializer } from "./init.ts";
import { defineLayer, expectShape, expectTensor, LayerError } from "./layer.ts";
import type { Layer } from "./types.ts";

/**
 * Options of `dense`.
 *
 * @example
 * ```ts
 * import { nn, random } from "../../mod.ts";
 * const options: nn.DenseOptions = { bias: false, activation: "relu", init: nn.normal(0.02) };
 * const { params } = nn.dense(3, options).init(random.key(0), [1, 2]);
 * if ("b" in params) throw new Error("no bias");
 * ```
 */
export interface DenseOptions {
  /** Add the bias `b` (default true). */
  bias?: boolean;
  /** Applied to the output: a name or a function (default none). */
  activation?: ActivationName | ((x: Tensor) => Tensor);
  /** How `w` starts (default Glorot-uniform, He-normal for relu and gelu); `nn.normal(0.02)` for GPT-2's. */
  init?: Initializer;
}

/**
 * Params of `dense`: `w` is `[in, units]`; `b` is `[units]` (absent with `bias: false`).
 *
 * @example
 * ```ts
 * import { nn, random } from "../../mod.ts";
 * const p: nn.DenseParams = nn.dense(3).init(random.key(0), [1, 2]).params;
 * if (p.w.shape.join() !== "2,3" || p.b?.shape.join() !== "3") throw new Error();
 * ```
 */
export type DenseParams = {
  /** The weight, `[in, units]`. */
  w: Tensor;
  /** The bias, `[units]`. */
  b?: Tensor;
};

/**
 * @internal `x · w + b` over the last axis of `x`, flattening the leading axes so `w` is never broadcast.
 *
 * @example
 * ```ts
 * import { affine } from "./dense.ts";
 * import { ones, tensor } from "../../mod.ts";
 * const y = affine(ones([2, 3, 4]), ones([4, 5]), tensor([1, 1, 1, 1, 1]));
 * if (y.shape.join() !== "2,3,5" || y.min().item() !== 5 || y.max().item() !== 5) throw new Error();
 * ```
 */
export function affine(x: Tensor, w: Tensor, b?: Tensor): Tensor {
  const lead = x.shape.slice(0, -1);
  const y = ops.matmul(x.reshape([-1, w.shape[0]]), w).reshape([...lead, w.shape[1]]);
  return b ? y.add(b) : y;
}

/**
 * A fully connected layer: `y = activation(x · w + b)` on the last axis, with params `{ w: [in, units],
 * b: [units] }`. `w` starts Glorot-uniform (He-normal when the activation is relu or gelu, as in He et al.)
 * unless `init` says otherwise, `b` at zero.
 *
 * @example
 * ```ts
 * import { nn, random, zeros } from "../../mod.ts";
 * const layer = nn.dense(3, { activation: "relu" });
 * const { params, outputShape } = layer.init(random.key(0), [2, 5]);
 * if (outputShape.join() !== "2,3") throw new Error();
 * if (layer.apply(params, zeros([2, 5])).sum().item() !== 0) throw new Error();
 * ```
 */
export function dense<U extends number>(units: U, options: DenseOptions = {}): Layer<number, U, DenseParams> {
  const { bias = true } = options;
  if (!Number.isInteger(units) || units < 1) {
    throw new LayerError("dense", `units must be a positive integer, got ${units}`);
  }
  const act = options.activation === undefined ? undefined : activationFn(options.activation);
  const relu = options.activation === "relu" || options.activation === "gelu";
  return defineLayer<number, U, DenseParams>({
    name: "dense",
    init(key, inputShape) {
      const shape = expectShape("dense", inputShape, ["...", "features"]);
      const inDim = shape[shape.length - 1];
      const w = (options.init ?? (relu ? heNormal : glorotUniform))(key, [inDim, units]);
      const params: DenseParams = bias ? { w, b: ops.zeros([units]) } : { w };
      return { params, outputShape: [...shape.slice(0, -1), units] };
    },
    apply(params, x) {
      const { w, b } = params;
      const y = affine(expectTensor("dense", x, ["...", w.shape[0]]), w, b);
      return act ? act(y) : y;
    },
  });
}
