/**
 * A decoder-only Transformer language model (Vaswani et al., 2017; Radford et al., 2018), nanoGPT's shape:
 * embedding and learned positions, `layers` pre-norm blocks (causal multi-head self-attention, then a GELU
 * MLP, each inside a residual connection), a final layer norm and the softmax layer. With `gpt2`, GPT-2's
 * details as nanoGPT trains them: no biases, weights drawn from N(0, 0.02) (the two projections back into the
 * residual stream from N(0, 0.02/√(2·layers))), and the softmax layer tied to the embedding table.
 * @module
 */
import type * as L from "../../mod.ts";
import { nn } from "../../mod.ts";
import { bool, choice, int, type ModelSpec } from "../spec.ts";
import { layerNetwork, lmFields, type LmNetwork, neuralLm } from "./language_model.ts";

/** The Transformer's sizes. */
type Sizes = { embedding: number; hidden: number; layers: number; heads: number; steps: number };

/** `nn.serial` of a list whose types are checked where the list is made. */
const chain = nn.serial as unknown as (...layers: nn.AnyLayer[]) => nn.AnyLayer;

/**
 * The Transformer's layers up to its last layer norm, ids [batch, steps] → features [batch, steps,
 * embedding]; with `gpt2`, GPT-2's biases and initial weights.
 */
function bodyLayers(vocabulary: number, config: Sizes, causal: boolean, gpt2: boolean): nn.AnyLayer[] {
  const { embedding, hidden, layers, heads, steps } = config;
  const init = gpt2 ? nn.normal(0.02) : undefined;
  const residualInit = gpt2 ? nn.normal(0.02 / Math.sqrt(2 * layers)) : undefined;
  const bias = !gpt2;
  const attention = nn.attend({ heads, causal, bias, init, outputInit: residualInit });
  return [
    nn.embed(vocabulary, embedding, { init }),
    nn.positional("learned", steps),
    nn.repeat(layers, () =>
      nn.serial(
        nn.residual(nn.serial(nn.layerNorm({ bias }), attention)),
        nn.residual(nn.serial(
          nn.layerNorm({ bias }),
          nn.dense(hidden, { activation: "gelu", bias, init }),
          nn.dense(embedding, { bias, init: residualInit }),
        )),
      )),
    nn.layerNorm({ bias }),
  ] as nn.AnyLayer[];
}

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
export function transformerLayer(vocabulary: number, config: Sizes, causal = true): nn.AnyLayer {
  return chain(...bodyLayers(vocabulary, config, causal, false), nn.dense(vocabulary));
}

/**
 * The causal Transformer LM's network; with `gpt2`, GPT-2's biases and initial weights, and logits made by
 * the embedding table (`features · tableᵀ`, no bias) instead of a softmax layer of their own.
 *
 * @example
 * ```ts
 * import { random, zeros } from "../../mod.ts";
 * import { transformerNetwork } from "./transformer.ts";
 * const sizes = { embedding: 8, hidden: 16, layers: 1, heads: 2, steps: 6 };
 * const network = transformerNetwork(20, { ...sizes, gpt2: true });
 * const params = network.init(random.key(0), 2);
 * if (network.forward(params, zeros([2, 6], "int32"), []).logits.shape.join() !== "2,6,20") throw new Error();
 * ```
 */
export function transformerNetwork(
  vocabulary: number,
  config: Sizes & { gpt2: boolean },
): LmNetwork<nn.Params> {
  if (!config.gpt2) return layerNetwork(transformerLayer(vocabulary, config), "chunk", config.steps, true);
  const body = chain(...bodyLayers(vocabulary, config, true, true));
  const tableOf = (params: nn.Params) => (params as [nn.EmbedParams])[0].table;
  return {
    layout: "chunk",
    width: config.steps,
    init: (key, rows) => body.init(key, [rows, config.steps]).params,
    forward(params, inputs, carry) {
      const features = body.apply(params, inputs) as L.Tensor;
      const [rows, steps, dim] = features.shape;
      const logits = features.reshape([rows * steps, dim]).matmul(tableOf(params).transpose());
      return { logits: logits.reshape([rows, steps, vocabulary]), carry };
    },
    embedding: tableOf,
  };
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

const fields = {
  ...transformerSizes,
  gpt2: bool(
    false,
    "GPT-2's details, as nanoGPT: no biases, N(0, 0.02) weights, the softmax layer tied to the embedding",
  ),
  ...lmFields({ lr: 1e-3, batch: 12, epochs: 2 }),
  sampling: choice(
    "shuffle",
    ["shuffle", "random"],
    "every chunk once an epoch in a shuffled order, or chunks that start anywhere, drawn afresh for every " +
      "batch (nanoGPT)",
  ),
} as const;

/**
 * The Transformer LM with nanoGPT's CPU sizes: 4 blocks of 4 heads over 128 features, MLP 512, chunks of 64
 * tokens, batches of 12, Adam at 1e-3.
 *
 * @example
 * ```ts
 * import { transformer } from "./transformer.ts";
 * if (transformer.fields.steps.default !== 64 || transformer.fields.gpt2.default !== false) throw new Error();
 * ```
 */
export const transformer: ModelSpec<typeof fields> = neuralLm({
  name: "transformer",
  title: "decoder-only Transformer LM (Vaswani et al., 2017; nanoGPT's shape)",
  fields,
  network: (vocabulary, config) => transformerNetwork(vocabulary, config),
});
