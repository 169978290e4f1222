/**
 * The course's contrast to learned embeddings: a softmax language model over one-hot inputs. Each of the
 * n − 1 context words is a one-hot vector (fixed by hand, each word its own axis, so no two words are alike),
 * the vectors are concatenated and a tanh layer and a softmax follow, as in Bengio's model but with no shared
 * embedding table: every context position learns its own weights for every word. Same data and loop as
 * Bengio's model.
 * @module
 */
import * as L from "../../mod.ts";
import { nn } from "../../mod.ts";
import { int, type ModelSpec } from "../spec.ts";
import { layerNetwork, lmFields, neuralLm } from "../lm/language_model.ts";

/**
 * The one-hot network as a layer: ids [batch, context] → logits [batch, vocabulary].
 *
 * @example
 * ```ts
 * import { random, tensor } from "../../mod.ts";
 * import { oneHotLayer } from "./onehot.ts";
 * const model = oneHotLayer(20, { context: 2, hidden: 8 });
 * const { params } = model.init(random.key(0), [1, 2]);
 * if (model.apply(params, tensor([[3, 4]], { dtype: "int32" })).shape.join() !== "1,20") throw new Error();
 * ```
 */
export function oneHotLayer(
  vocabulary: number,
  config: { context: number; hidden: number },
): nn.Layer<nn.Ids, number> {
  return nn.serial(
    nn.fn<unknown, number>((x) => {
      const ids = x as L.Tensor;
      // [batch, (n−1)·V] (shape inference hands fn a float placeholder, hence the cast)
      return L.oneHot(ids.cast("int32"), vocabulary).reshape([ids.shape[0], config.context * vocabulary]);
    }, "one-hot"),
    nn.dense(config.hidden, { activation: "tanh" }),
    nn.dense(vocabulary),
  ) as nn.Layer<nn.Ids, number>;
}

const fields = {
  context: int(4, "words of context, n − 1"),
  hidden: int(100, "units of the tanh hidden layer"),
  ...lmFields({ lr: 1e-3, batch: 256, epochs: 2 }),
} as const;

/**
 * The one-hot LM, with Bengio's context and hidden sizes and training.
 *
 * @example
 * ```ts
 * import { onehot } from "./onehot.ts";
 * if (onehot.fields.hidden.default !== 100 || onehot.kind !== "lm") throw new Error();
 * ```
 */
export const onehot: ModelSpec<typeof fields> = neuralLm({
  name: "onehot",
  title: "softmax LM over one-hot inputs, no shared embedding (the course's contrast to Bengio et al., 2003)",
  fields,
  network: (vocabulary, config) =>
    layerNetwork(oneHotLayer(vocabulary, config), "window", config.context, false),
});
