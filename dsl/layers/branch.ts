/**
 * `branch(f, g)`: one input through several layers, giving the list of their outputs.
 * @module
 */
import { applyChild, initChild } from "./child.ts";
import { defineLayer } from "./layer.ts";
import { childKeys, childParams } from "./serial.ts";
import type { AnyLayer, BranchIn, BranchOut, CommonInput, Layer, ParamsList } from "./types.ts";

/**
 * Runs every layer on the same input (Trax's `Branch`, stax's `FanOut` + `parallel`) and returns the list of
 * outputs; merge them with `fn`, e.g. `fn<[number, number]>(([a, b]) => a.add(b))`. Params are an array.
 *
 * @example
 * ```ts
 * import { concat, nn, random, zeros } from "../../mod.ts";
 * const model = nn.serial(
 *   nn.branch(nn.dense(2), nn.dense(3)),
 *   nn.fn<[number, number]>(([a, b]) => concat([a, b], -1)),
 * );
 * const { params, outputShape } = model.init(random.key(0), [1, 4]);
 * if (outputShape.join() !== "1,5" || model.apply(params, zeros([1, 4])).shape[1] !== 5) throw new Error();
 * ```
 */
export function branch<const L extends readonly AnyLayer[]>(
  ...layers: L & CommonInput<L>
): Layer<BranchIn<L>, BranchOut<L>, ParamsList<L>> {
  return defineLayer<BranchIn<L>, BranchOut<L>, ParamsList<L>>({
    name: "branch",
    init(key, inputShape) {
      const keys = childKeys(key, layers.length);
      const outs = layers.map((layer, i) => initChild(`branch[${i}]`, layer, keys[i]!, inputShape));
      return {
        params: outs.map((o) => o.params) as ParamsList<L>,
        outputShape: outs.map((o) => o.outputShape),
      };
    },
    apply(params, x, ctx) {
      const list = childParams("branch", params, layers.length);
      const keys = childKeys(ctx.key, layers.length);
      return layers.map((layer, i) =>
        applyChild(`branch[${i}]`, layer, list[i], x, keys[i] ? { ...ctx, key: keys[i] } : ctx)
      );
    },
  });
}
