/**
 * `repeat(n, makeLayer)`: n fresh copies of a block in sequence.
 * @module
 */
import { LayerError } from "./layer.ts";
import { chain } from "./serial.ts";
import type { AnyLayer, InOf, Layer, OutOf, ParamsOf, Repeatable } from "./types.ts";

/**
 * `n` blocks in sequence, each made by `makeLayer(index)` (so each has its own params). Params are an array
 * of `n` entries; paths read `repeat[2].attend`. The block must map its input's feature dim to itself.
 *
 * @example
 * ```ts
 * import { nn, random } from "../../mod.ts";
 * const block = () => nn.residual(nn.serial(nn.layerNorm(), nn.dense(8, { activation: "relu" })));
 * const stack = nn.repeat(3, block);
 * const { params, outputShape } = stack.init(random.key(0), [2, 8]);
 * if (params.length !== 3 || outputShape.join() !== "2,8") throw new Error();
 * ```
 */
export function repeat<L extends AnyLayer>(
  n: number,
  makeLayer: (index: number) => L & Repeatable<L>,
): Layer<InOf<L>, OutOf<L>, ParamsOf<L>[]> {
  if (!Number.isInteger(n) || n < 0) {
    throw new LayerError("repeat", `n must be a non-negative integer, got ${n}`);
  }
  return chain("repeat", Array.from({ length: n }, (_, i) => makeLayer(i))) as Layer<
    InOf<L>,
    OutOf<L>,
    ParamsOf<L>[]
  >;
}
