/**
 * `residual(f)`: the skip connection `x + f(x)` (He et al., 2016).
 * @module
 */
import { Tensor } from "../tensor.ts";
import { applyChild, initChild } from "./child.ts";
import { defineLayer, LayerError, showDims } from "./layer.ts";
import type { AnyLayer, KeepsDim, Layer, ParamsOf, ResidualIn, Same } from "./types.ts";

/**
 * `x + f(x)`: `f` must give the shape it was given. Params are `f`'s params, unchanged.
 *
 * @example
 * ```ts
 * import { nn, random, zeros } from "../../mod.ts";
 * const block = nn.residual(nn.dense(4));
 * const { params } = block.init(random.key(0), [2, 4]);
 * if (block.apply(params, zeros([2, 4])).sum().item() !== 0) throw new Error();
 * ```
 */
export function residual<L extends AnyLayer>(f: L & KeepsDim<L>): Layer<ResidualIn<L>, Same, ParamsOf<L>> {
  const check = (given: unknown, got: unknown) => {
    if (JSON.stringify(given) !== JSON.stringify(got)) {
      throw new LayerError(
        "residual",
        `x + f(x) needs f to keep the shape, but ${f.name} maps ${showDims(given as number[])} to ${
          showDims(got as number[])
        }`,
      );
    }
  };
  return defineLayer<ResidualIn<L>, Same, ParamsOf<L>>({
    name: "residual",
    init(key, inputShape) {
      const { params, outputShape } = initChild("residual", f, key, inputShape);
      check(inputShape, outputShape);
      return { params: params as ParamsOf<L>, outputShape: inputShape };
    },
    apply(params, x, ctx) {
      const y = applyChild("residual", f, params, x, ctx);
      if (!(x instanceof Tensor) || !(y instanceof Tensor)) {
        throw new LayerError("residual", "x + f(x) needs tensors, not lists");
      }
      check(x.shape, y.shape);
      return x.add(y);
    },
  });
}
