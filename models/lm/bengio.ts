/**
 * The neural probabilistic language model of Bengio, Ducharme, Vincent and Jauvin (2003): the previous n − 1
 * words are looked up in a shared, learned embedding table (C), concatenated, passed through a tanh hidden
 * layer (H) and a softmax over the vocabulary (U) gives the next word's distribution.
 * @module
 */
import type * as L from "../../mod.ts";
import { nn } from "../../mod.ts";
import { int, type ModelSpec } from "../spec.ts";
import { layerNetwork, lmFields, neuralLm } from "./language_model.ts";
import { dropoutField, dropoutSite } from "./dropout.ts";
import { initScaleField, withUniformInit } from "./uniform_init.ts";

/**
 * Bengio's network as a layer: ids [batch, context] → logits [batch, vocabulary]; with `dropout`, dropout on
 * the concatenated feature vectors and on the hidden layer's output.
 *
 * @example
 * ```ts
 * import { random, tensor } from "../../mod.ts";
 * import { bengioLayer } from "./bengio.ts";
 * const model = bengioLayer(50, { context: 3, embedding: 8, hidden: 16 });
 * const { params, outputShape } = model.init(random.key(0), [2, 3]);
 * const logits = model.apply(params, tensor([[1, 2, 3], [4, 5, 6]], { dtype: "int32" }));
 * if (outputShape.join() !== "2,50" || logits.shape.join() !== "2,50") throw new Error();
 * ```
 */
export function bengioLayer(
  vocabulary: number,
  config: { context: number; embedding: number; hidden: number; dropout?: number },
): nn.Layer<nn.Ids, number> {
  const rate = config.dropout ?? 0;
  const layers = [
    nn.embed(vocabulary, config.embedding), // C: each context word's feature vector
    nn.fn<number, number>((x) => (x as L.Tensor).reshape([(x as L.Tensor).shape[0], -1]), "concat"),
    ...dropoutSite(rate), // (not in the paper, which regularized with weight decay)
    nn.dense(config.hidden, { activation: "tanh" }), // H
    ...dropoutSite(rate),
    nn.dense(vocabulary), // U: the softmax's logits
  ];
  return nn.serial(...(layers as [nn.AnyLayer])) as unknown as nn.Layer<nn.Ids, number>;
}

const fields = {
  context: int(4, "words of context, n − 1"),
  embedding: int(60, "size of a word's feature vector (m)"),
  hidden: int(100, "units of the tanh hidden layer (h)"),
  initScale: initScaleField,
  dropout: dropoutField,
  ...lmFields({ lr: 1e-3, batch: 256, epochs: 2 }),
} as const;

/**
 * Bengio's model: a 5-gram (4 words of context), m = 60, h = 100, trained with Adam (lazy on the embedding's
 * sparse rows) in batches of 256 windows for 2 epochs.
 *
 * @example
 * ```ts
 * import { bengio } from "./bengio.ts";
 * if (bengio.fields.context.default !== 4 || bengio.kind !== "lm") throw new Error();
 * ```
 */
export const bengio: ModelSpec<typeof fields> = neuralLm({
  name: "bengio",
  title: "neural probabilistic language model (Bengio et al., 2003)",
  fields,
  network: (vocabulary, config) =>
    withUniformInit(
      layerNetwork(bengioLayer(vocabulary, config), "window", config.context, true, config.dropout > 0),
      config.initScale,
    ),
});
