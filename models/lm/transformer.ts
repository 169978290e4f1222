/**
 * A decoder-only Transformer language model (Vaswani et al., 2017; Radford et al., 2018), nanoGPT's shape:
 * embedding and learned positions, `layers` pre-norm blocks (causal multi-head self-attention, then a GELU
 * MLP, each inside a residual connection), a final layer norm and the softmax layer.
 * @module
 */
import { nn } from "../../mod.ts";
import { int, type ModelSpec } from "../spec.ts";
import { layerNetwork, lmFields, neuralLm } from "./language_model.ts";

/**
 * The Transformer as a layer, ids [batch, steps] → logits [batch, steps, vocab]; `causal: false` makes its
 * attention bidirectional (the masked LM's encoder).
 *
 * @example
 * ```ts
 * import { random, type Tensor, zeros } from "../../mod.ts";
 * import { transformerLayer } from "./transformer.ts";
 * const model = transformerLayer(20, { embedding: 8, hidden: 16, layers: 1, heads: 2, steps: 6 });
 * const { params } = model.init(random.key(0), [2, 6]);
 * if ((model.apply(params, zeros([2, 6], "int32")) as Tensor).shape.join() !== "2,6,20") throw new Error();
 * ```
 */
export function transformerLayer(
  vocabulary: number,
  config: { embedding: number; hidden: number; layers: number; heads: number; steps: number },
  causal = true,
): nn.AnyLayer {
  const { embedding, hidden, layers, heads, steps } = config;
  return nn.serial(
    nn.embed(vocabulary, embedding),
    nn.positional("learned", steps),
    nn.repeat(layers, () =>
      nn.serial(
        nn.residual(nn.serial(nn.layerNorm(), nn.attend({ heads, causal }))),
        nn.residual(nn.serial(nn.layerNorm(), nn.dense(hidden, { activation: "gelu" }), nn.dense(embedding))),
      )),
    nn.layerNorm(),
    nn.dense(vocabulary),
  ) as nn.AnyLayer;
}

/**
 * The Transformer's size fields, shared with the masked LM.
 *
 * @example
 * ```ts
 * import { transformerSizes } from "./transformer.ts";
 * if (transformerSizes.heads.default !== 4) throw new Error();
 * ```
 */
export const transformerSizes = {
  embedding: int(128, "features of every position (d_model)"),
  hidden: int(512, "units of each block's MLP"),
  layers: int(4, "blocks"),
  heads: int(4, "attention heads (they divide embedding)"),
  steps: int(64, "tokens per chunk (the context)"),
} as const;

const fields = { ...transformerSizes, ...lmFields({ lr: 1e-3, batch: 12, epochs: 2 }) } as const;

/**
 * The Transformer LM with nanoGPT's CPU sizes: 4 blocks of 4 heads over 128 features, MLP 512, chunks of 64
 * tokens, batches of 12, Adam at 1e-3.
 *
 * @example
 * ```ts
 * import { transformer } from "./transformer.ts";
 * if (transformer.fields.steps.default !== 64) throw new Error();
 * ```
 */
export const transformer: ModelSpec<typeof fields> = neuralLm({
  name: "transformer",
  title: "decoder-only Transformer LM (Vaswani et al., 2017; nanoGPT's shape)",
  fields,
  network: (vocabulary, config) =>
    layerNetwork(transformerLayer(vocabulary, config), "chunk", config.steps, true),
});
