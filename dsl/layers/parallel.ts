/**
 * `parallel(f, g)`: a list of inputs, each through its own layer.
 * @module
 */
import { applyChild, initChild } from "./child.ts";
import { defineLayer, isShape, LayerError } from "./layer.ts";
import { childKeys, childParams } from "./serial.ts";
import type { AnyLayer, Layer, ParallelIn, ParallelOut, ParamsList, ShapeTree, Value } from "./types.ts";

function asList(
  name: string,
  what: string,
  x: ShapeTree | Value,
  count: number,
): readonly (ShapeTree | Value)[] {
  const isList = Array.isArray(x) && !(what === "input shape" && isShape(x as ShapeTree));
  if (!isList || (x as unknown[]).length !== count) {
    throw new LayerError(
      name,
      `expected a list of ${count} inputs (one per layer), got ${
        isList ? `${(x as unknown[]).length}` : "one"
      }`,
    );
  }
  return x as readonly (ShapeTree | Value)[];
}

/**
 * Takes a list of inputs and runs layer i on input i (stax's `parallel`), giving the list of outputs. Params
 * are an array, one entry per layer.
 *
 * @example
 * ```ts
 * import { nn, random, zeros } from "../../mod.ts";
 * const layer = nn.parallel(nn.dense(2), nn.dense(3));
 * const { params, outputShape } = layer.init(random.key(0), [[1, 4], [1, 5]]);
 * const [a, b] = layer.apply(params, [zeros([1, 4]), zeros([1, 5])]);
 * if (JSON.stringify(outputShape) !== "[[1,2],[1,3]]") throw new Error();
 * if (a.shape[1] !== 2 || b.shape[1] !== 3) throw new Error();
 * ```
 */
export function parallel<const L extends readonly AnyLayer[]>(
  ...layers: L
): Layer<ParallelIn<L>, ParallelOut<L>, ParamsList<L>> {
  return defineLayer<ParallelIn<L>, ParallelOut<L>, ParamsList<L>>({
    name: "parallel",
    init(key, inputShape) {
      const shapes = asList("parallel", "input shape", inputShape, layers.length) as ShapeTree[];
      const keys = childKeys(key, layers.length);
      const outs = layers.map((layer, i) => initChild(`parallel[${i}]`, layer, keys[i]!, shapes[i]));
      return {
        params: outs.map((o) => o.params) as ParamsList<L>,
        outputShape: outs.map((o) => o.outputShape),
      };
    },
    apply(params, x, ctx) {
      const list = childParams("parallel", params, layers.length);
      const inputs = asList("parallel", "input", x, layers.length) as Value[];
      const keys = childKeys(ctx.key, layers.length);
      return layers.map((layer, i) =>
        applyChild(`parallel[${i}]`, layer, list[i], inputs[i], keys[i] ? { ...ctx, key: keys[i] } : ctx)
      );
    },
  });
}
