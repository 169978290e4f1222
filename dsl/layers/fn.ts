/**
 * `fn(f)`: a pure function as a layer without parameters.
 * @module
 */
import { trace } from "../trace.ts";
import { Tensor } from "../tensor.ts";
import { defineLayer, isShape } from "./layer.ts";
import type { Context, Layer, NoParams, ShapeTree, Value, ValueOf } from "./types.ts";

function specOf(shape: ShapeTree): unknown {
  return isShape(shape) ? { shape } : shape.map(specOf);
}

function shapeOf(value: Value): ShapeTree {
  return value instanceof Tensor ? [...value.shape] : value.map(shapeOf);
}

/**
 * Wraps a pure function `(x, ctx) => y` as a layer with no parameters. Its output shape is found by tracing
 * `f` on an abstract float32 input, so `init` never computes anything. Give `In`/`Out` to type it, e.g.
 * `fn<[number, number], number>(([a, b]) => concat([a, b], -1))`.
 *
 * @example
 * ```ts
 * import { nn, random, tensor } from "../../mod.ts";
 * const halve = nn.fn((x) => x.div(2), "halve");
 * const { outputShape } = halve.init(random.key(0), [3]);
 * if (outputShape.join() !== "3" || halve.apply({}, tensor([2, 4, 6])).sum().item() !== 6) throw new Error();
 * ```
 */
export function fn<In = unknown, Out = unknown>(
  f: (x: ValueOf<In>, ctx: Context) => Value,
  name = "fn",
): Layer<In, Out, NoParams> {
  const call = f as (x: Value, ctx: Context) => Value;
  return defineLayer<In, Out, NoParams>({
    name,
    init(_key, inputShape) {
      let outputShape: ShapeTree = [];
      trace((x: Value) => {
        const y = call(x, {});
        outputShape = shapeOf(y);
        return y;
      }, specOf(inputShape));
      return { params: {}, outputShape };
    },
    apply: (_params, x, ctx) => call(x, ctx),
  });
}
