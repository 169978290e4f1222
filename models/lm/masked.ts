/**
 * A small BERT-style masked language model (Devlin et al., 2019): a Transformer encoder whose attention is
 * bidirectional (every token sees the whole chunk), trained to give back the 15% of tokens chosen in each
 * chunk, of which 80% were replaced by `<mask>`, 10% by a random word and 10% left as they were. Scored by
 * masked-token accuracy and by the perplexity of the chosen tokens.
 * @module
 */
import * as L from "../../mod.ts";
import type { nn } from "../../mod.ts";
import { ChunkBatches } from "../data/lm_batches.ts";
import { maskTokens } from "../data/masking.ts";
import { Rng, seedState } from "../data/random.ts";
import { encodeStream, MASK } from "../data/vocabulary.ts";
import { loadCheckpoint } from "../train/checkpoint.ts";
import { trainLoop } from "../train/loop.ts";
import { defineModel, num } from "../spec.ts";
import { fillTensor, lmFields, lmLoss, loopBatcher, optimizerFor } from "./language_model.ts";
import { transformerLayer, transformerSizes } from "./transformer.ts";

const fields = {
  ...transformerSizes,
  maskRate: num(0.15, "chance that a token is chosen to be guessed (80% masked, 10% random, 10% kept)"),
  ...lmFields({ lr: 1e-3, batch: 12, epochs: 2 }),
} as const;

type Sizes = { embedding: number; hidden: number; layers: number; heads: number; steps: number };

/** The first id a random replacement may take: after `<eos>`, `<unk>` and `<mask>`. */
const FIRST_WORD = 3;

/**
 * Masked-token accuracy and perplexity of `params` on a stream: chunks of `steps` tokens in order, masked
 * with draws from `seed`; the accuracy is the share of chosen tokens whose most likely word is right, the
 * perplexity `exp` of their mean negative log-likelihood.
 *
 * @example
 * ```ts
 * import { random } from "../../mod.ts";
 * import { maskedScores } from "./masked.ts";
 * import { transformerLayer } from "./transformer.ts";
 * const sizes = { embedding: 8, hidden: 8, layers: 1, heads: 2, steps: 4 };
 * const { params } = transformerLayer(10, sizes, false).init(random.key(0), [1, 4]);
 * const s = maskedScores(sizes, params, new Int32Array([3, 4, 5, 6, 7, 8, 9, 3]), 10, { seed: 1, maskRate: 0.5 });
 * if (!(s.accuracy >= 0 && s.accuracy <= 1 && s.perplexity > 1)) throw new Error(JSON.stringify(s));
 * ```
 */
export function maskedScores(
  sizes: Sizes,
  params: nn.Params,
  stream: Int32Array,
  words: number,
  options: { seed: number; maskRate: number },
): { accuracy: number; perplexity: number; masked: number } {
  const layer = transformerLayer(words, sizes, false);
  const rows = 16;
  const width = sizes.steps;
  const score = L.jit((p: nn.Params, x: L.Tensor, y: L.Tensor) => {
    const logits = layer.apply(p, x) as L.Tensor;
    const keep = y.notEqual(-1).cast("float32");
    const right = L.argmax(logits, -1).equal(L.where(y.notEqual(-1), y, 0)).cast("float32").mul(keep).sum();
    const nll = L.loss.crossEntropy(logits, y, { ignoreIndex: -1 }).mul(keep.sum());
    return [right, nll] as const;
  });
  const rng = new Rng(seedState(options.seed, 0x6d61736b));
  const [tokens, inputs, targets] = [
    new Int32Array(rows * width),
    new Int32Array(rows * width),
    new Int32Array(rows * width),
  ];
  let [right, nll, masked] = [0, 0, 0];
  for (let start = 0; start < stream.length; start += rows * width) {
    tokens.fill(-1);
    tokens.set(stream.subarray(start, Math.min(stream.length, start + rows * width)));
    masked += maskTokens(tokens, inputs, targets, rng, {
      rate: options.maskRate,
      maskId: 2,
      firstWord: FIRST_WORD,
      words,
    });
    const shape = [rows, width];
    const [r, n] = score(
      params,
      L.tensor(inputs, { shape, dtype: "int32" }),
      L.tensor(targets, { shape, dtype: "int32" }),
    ) as unknown as [L.Tensor, L.Tensor];
    right += r.item();
    nll += n.item();
  }
  return { accuracy: right / Math.max(masked, 1), perplexity: Math.exp(nll / Math.max(masked, 1)), masked };
}

/**
 * The masked LM: nanoGPT's Transformer sizes with bidirectional attention, 15% of tokens chosen.
 *
 * @example
 * ```ts
 * import { masked } from "./masked.ts";
 * if (masked.kind !== "masked" || masked.fields.maskRate.default !== 0.15) throw new Error();
 * ```
 */
export const masked = defineModel({
  name: "masked",
  title: "BERT-style masked language model (Devlin et al., 2019), small",
  kind: "masked",
  fields,
  async train(context) {
    const { config, vocabulary } = context;
    if (vocabulary.idOf.get(MASK) !== 2) throw new Error(`masked: the vocabulary needs ${MASK} at id 2`);
    const words = vocabulary.words.length;
    const layer = transformerLayer(words, config, false);
    const [train, valid] = [context.corpus.train, context.corpus.valid].map((part) =>
      encodeStream(part, vocabulary, config.sentenceEnds)
    );
    const ids = new ChunkBatches(train, {
      width: config.steps,
      rows: config.batch,
      epochs: config.epochs,
      seed: config.seed,
    });
    const shape = [config.batch, config.steps];
    const [inputs, targets] = [
      new Int32Array(config.batch * config.steps),
      new Int32Array(config.batch * config.steps),
    ];
    const batcher = loopBatcher(ids, config, (b, at) => {
      // The masks of a batch depend only on the seed and the batch's place, so a resumed run draws the same.
      const rng = new Rng(seedState(config.seed, at.epoch, at.offset));
      const chosen = maskTokens(b.targets, inputs, targets, rng, {
        rate: config.maskRate,
        maskId: 2,
        firstWord: FIRST_WORD,
        words,
      });
      const tensors = [
        L.tensor(inputs, { shape, dtype: "int32" }),
        L.tensor(targets, { shape, dtype: "int32" }),
        fillTensor(b.real, b.targets.length),
      ];
      return { tensors, items: chosen, tokens: b.real, fill: b.real / b.targets.length };
    });
    context.log(
      `masked: ${train.length.toLocaleString("en-US")} training tokens over ${
        words.toLocaleString("en-US")
      } ` +
        `tokens of vocabulary; ${config.maskRate * 100}% chosen`,
    );
    const result = await trainLoop({
      model: "masked",
      params: layer.init(L.random.key(config.seed), shape).params as nn.Params,
      optimizer: optimizerFor(config, ids.batchesPerEpoch),
      objective: (
        p,
        carry,
        x,
        y,
        fill,
      ) => [lmLoss(layer.apply(p, x) as L.Tensor, y, config.loss).mul(fill), carry],
      batcher,
      freshBatches: true,
      evaluate: valid.length > 0
        ? (params) => {
          const s = maskedScores(config, params, valid, words, config);
          return { valid_masked_accuracy: s.accuracy, valid_masked_perplexity: s.perplexity };
        }
        : undefined,
    }, { ...context.loop, checkpoint: context.checkpoint });
    return { finished: result.finished, interrupted: result.interrupted, steps: result.steps };
  },
  async load(checkpoint, config, vocabulary) {
    const words = vocabulary.words.length;
    const like =
      transformerLayer(words, config, false).init(L.random.key(config.seed), [config.batch, config.steps])
        .params;
    const { params } = await loadCheckpoint(checkpoint, "masked", like);
    return {
      maskedScores: (stream, seed) =>
        maskedScores(config, params, stream, words, { seed, maskRate: config.maskRate }),
      vectors: () => {
        const table = (params as [nn.EmbedParams])[0].table;
        return { table: table.dataSync() as Float32Array, dim: table.shape[1] };
      },
    };
  },
});
