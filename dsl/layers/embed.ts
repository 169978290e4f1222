/**
 * `embed(vocab, dim)`: token ids to vectors, by table lookup.
 * @module
 */
import * as ops from "../ops.ts";
import type { Tensor } from "../tensor.ts";
import { type Initializer, normal } from "./init.ts";
import { defineLayer, expectShape, expectTensor, LayerError } from "./layer.ts";
import type { Ids, Layer } from "./types.ts";

/**
 * Params of `embed`: one row per token id.
 *
 * @example
 * ```ts
 * import { nn, random } from "../../mod.ts";
 * const p = nn.embed(10, 4).init(random.key(0), [1, 5]).params as nn.EmbedParams;
 * if (p.table.shape.join() !== "10,4") throw new Error();
 * ```
 */
export type EmbedParams = {
  /** The embedding table, `[vocab, dim]`. */
  table: Tensor;
};

/**
 * Looks up int32 token ids `[...]` in a table `[vocab, dim]`, giving `[..., dim]`. The table starts `N(0, 1)`
 * (as PyTorch's `nn.Embedding`) unless `options.init` says otherwise (GPT-2: `nn.normal(0.02)`). Its gradient is sparse (`SparseRows`: only the rows looked up), which the
 * optimizers use to update only those rows. An id outside `[0, vocab)` is an error.
 *
 * @example
 * ```ts
 * import { nn, random, tensor } from "../../mod.ts";
 * const layer = nn.embed(10, 4);
 * const { params, outputShape } = layer.init(random.key(0), [2, 3]);
 * const y = layer.apply(params, tensor([[1, 2, 3], [4, 5, 6]], { dtype: "int32" }));
 * if (outputShape.join() !== "2,3,4" || y.shape.join() !== "2,3,4") throw new Error();
 * const small = nn.embed(10, 4, { init: nn.normal(0.02) }).init(random.key(0), [2, 3]).params;
 * if (!(small.table.abs().max().item() < 0.2)) throw new Error();
 * ```
 */
export function embed<V extends number, D extends number>(
  vocab: V,
  dim: D,
  options: { init?: Initializer } = {},
): Layer<Ids, D, EmbedParams> {
  for (const [what, n] of [["vocab", vocab], ["dim", dim]] as const) {
    if (!Number.isInteger(n) || n < 1) {
      throw new LayerError("embed", `${what} must be a positive integer, got ${n}`);
    }
  }
  return defineLayer<Ids, D, EmbedParams>({
    name: "embed",
    init(key, inputShape) {
      const shape = expectShape("embed", inputShape, ["..."]);
      return {
        params: { table: (options.init ?? normal(1))(key, [vocab, dim]) },
        outputShape: [...shape, dim],
      };
    },
    apply(params, x) {
      const { table } = params;
      return ops.take(table, expectTensor("embed", x, ["..."], "int32"));
    },
  });
}
