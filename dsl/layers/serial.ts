/**
 * `serial(a, b, c)`: layers in sequence, each feeding the next.
 * @module
 */
import * as random from "../random.ts";
import type { Tensor } from "../tensor.ts";
import { applyChild, initChild } from "./child.ts";
import { defineLayer, LayerError } from "./layer.ts";
import type {
  AnyLayer,
  ChainIn,
  ChainOut,
  CheckChain,
  Context,
  Layer,
  Params,
  ParamsList,
  ShapeTree,
  Value,
} from "./types.ts";

/**
 * @internal The keys of `count` children, derived from `key` (none when there is no key).
 *
 * @example
 * ```ts
 * import { childKeys } from "./serial.ts";
 * import { random } from "../../mod.ts";
 * const keys = childKeys(random.key(0), 3);
 * if (keys.length !== 3 || keys.some((k) => k?.shape.join() !== "2")) throw new Error();
 * const none = childKeys(undefined, 2);
 * if (none.length !== 2 || none.some((k) => k !== undefined)) throw new Error();
 * ```
 */
export function childKeys(key: Tensor | undefined, count: number): (Tensor | undefined)[] {
  return key && count > 0 ? random.split(key, count) : new Array(count).fill(undefined);
}

/**
 * @internal The child params list of a combinator, checked against its number of children.
 *
 * @example
 * ```ts
 * import { childParams } from "./serial.ts";
 * import { LayerError } from "./layer.ts";
 * if (childParams("serial", [{}, {}], 2).length !== 2) throw new Error();
 * try {
 *   childParams("serial", [{}], 2);
 *   throw new Error("unreachable");
 * } catch (e) {
 *   if (!(e instanceof LayerError) || !e.message.endsWith("got an array of 1")) throw e;
 * }
 * ```
 */
export function childParams(name: string, params: unknown, count: number): Params[] {
  if (!Array.isArray(params) || params.length !== count) {
    throw new LayerError(
      name,
      `expected the params of ${count} layers (the array init returned), got ${describe(params)}`,
    );
  }
  return params;
}

function describe(params: unknown): string {
  return Array.isArray(params) ? `an array of ${params.length}` : typeof params;
}

/**
 * @internal Layers applied one after another; `name` is what paths show (`serial`, `repeat`).
 *
 * @example
 * ```ts
 * import { chain } from "./serial.ts";
 * import { nn, random, type Tensor, zeros } from "../../mod.ts";
 * const block = chain("repeat", [nn.dense(4), nn.dense(4)]);
 * const { params, outputShape } = block.init(random.key(0), [2, 3]);
 * if (block.name !== "repeat" || params.length !== 2 || outputShape.join() !== "2,4") throw new Error();
 * const y = block.apply(params, zeros([2, 3])) as Tensor;
 * if (y.shape.join() !== "2,4") throw new Error();
 * ```
 */
export function chain(name: string, layers: readonly AnyLayer[]): Layer<unknown, unknown, Params[]> {
  return defineLayer<unknown, unknown, Params[]>({
    name,
    init(key, inputShape) {
      const keys = childKeys(key, layers.length);
      const params: Params[] = [];
      let shape: ShapeTree = inputShape;
      layers.forEach((layer, i) => {
        const out = initChild(`${name}[${i}]`, layer, keys[i]!, shape);
        params.push(out.params);
        shape = out.outputShape;
      });
      return { params, outputShape: shape };
    },
    apply(params, x, ctx) {
      const list = childParams(name, params, layers.length);
      const keys = childKeys(ctx.key, layers.length);
      return layers.reduce<Value>((value, layer, i) => {
        const childCtx: Context = keys[i] ? { ...ctx, key: keys[i] } : ctx;
        return applyChild(`${name}[${i}]`, layer, list[i], value, childCtx);
      }, x);
    },
  });
}

/**
 * Composes layers in sequence: the output of each is the input of the next. Params are an array, one entry
 * per layer. `deno check` rejects a sequence whose literal feature dims do not fit, naming the position.
 *
 * @example
 * ```ts
 * import { nn, random, tensor } from "../../mod.ts";
 * const model = nn.serial(nn.embed(100, 16), nn.dense(8, { activation: "tanh" }), nn.dense(4));
 * const { params, outputShape } = model.init(random.key(0), [2, 5]);
 * const y = model.apply(params, tensor([[1, 2, 3, 4, 5], [6, 7, 8, 9, 10]], { dtype: "int32" }));
 * if (outputShape.join() !== "2,5,4" || y.shape.join() !== "2,5,4") throw new Error();
 * ```
 */
export function serial<const L extends readonly AnyLayer[]>(
  ...layers: L & CheckChain<L, "serial">
): Layer<ChainIn<L>, ChainOut<L>, ParamsList<L>> {
  return chain("serial", layers) as Layer<ChainIn<L>, ChainOut<L>, ParamsList<L>>;
}
