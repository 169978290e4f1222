/**
 * What a model is to the commands: a spec with its name, its paper, its typed config (each field with a
 * default, a type and a line of doc, so that the CLI's flags, `--help` and the recipes' checks all come from
 * it), and how it trains and how a trained run is used (vectors, perplexity, sampling).
 * @module
 */
import type { CorpusParts } from "./data/corpus.ts";
import type { Vocabulary } from "./data/vocabulary.ts";
import type { Rng } from "./data/random.ts";
import type { TrainContext, TrainOutcome } from "./train/context.ts";

/**
 * One config field: its type, default and doc.
 *
 * @example
 * ```ts
 * import { int, type Field } from "./spec.ts";
 * const dim: Field = int(100, "Embedding size");
 * if (dim.default !== 100) throw new Error();
 * ```
 */
export type Field =
  | { readonly kind: "int"; readonly default: number; readonly doc: string; readonly min: number }
  | {
    readonly kind: "number";
    readonly default: number;
    readonly doc: string;
    readonly min: number;
    /** An exclusive upper bound (a rate), when there is one. */
    readonly below?: number;
  }
  | {
    readonly kind: "choice";
    readonly default: string;
    readonly doc: string;
    readonly options: readonly string[];
  }
  | { readonly kind: "boolean"; readonly default: boolean; readonly doc: string }
  | { readonly kind: "text"; readonly default: string; readonly doc: string };

/**
 * A whole-number field (at least `min`, default 1).
 *
 * @example
 * ```ts
 * import { int } from "./spec.ts";
 * if (int(5, "window", 1).min !== 1) throw new Error();
 * ```
 */
export const int = (value: number, doc: string, min = 1) =>
  ({ kind: "int", default: value, doc, min }) as const;
/**
 * A number field (at least `min`, default 0; below `below` when given).
 *
 * @example
 * ```ts
 * import { num } from "./spec.ts";
 * if (num(0.025, "learning rate").kind !== "number") throw new Error();
 * if (num(0, "dropout rate", 0, 1).below !== 1) throw new Error();
 * ```
 */
export const num = (value: number, doc: string, min = 0, below?: number) =>
  ({ kind: "number", default: value, doc, min, ...(below === undefined ? {} : { below }) }) as const;
/**
 * A yes/no field (`--flag`, `--flag true|false`, `--no-flag`).
 *
 * @example
 * ```ts
 * import { bool } from "./spec.ts";
 * if (bool(true, "carry states").default !== true) throw new Error();
 * ```
 */
export const bool = (value: boolean, doc: string) => ({ kind: "boolean", default: value, doc }) as const;
/**
 * A free-text field.
 *
 * @example
 * ```ts
 * import { text } from "./spec.ts";
 * if (text("0.8,0.1", "split").kind !== "text") throw new Error();
 * ```
 */
export const text = (value: string, doc: string) => ({ kind: "text", default: value, doc }) as const;
/**
 * A field taking one of a few words.
 *
 * @example
 * ```ts
 * import { choice } from "./spec.ts";
 * const loss = choice("cross-entropy", ["cross-entropy", "mse"], "the loss");
 * if (loss.options.length !== 2) throw new Error();
 * ```
 */
export const choice = <const O extends readonly string[]>(value: O[number], options: O, doc: string) =>
  ({ kind: "choice", default: value, doc, options }) as const;

/**
 * A model's fields by name.
 *
 * @example
 * ```ts
 * import { int, type Fields } from "./spec.ts";
 * const fields: Fields = { dim: int(100, "embedding size") };
 * if (!fields.dim) throw new Error();
 * ```
 */
export type Fields = Readonly<Record<string, Field>>;

/**
 * The config type of a set of fields: numbers, booleans, strings and the choices' literal types.
 *
 * @example
 * ```ts
 * import { choice, type ConfigOf, int } from "./spec.ts";
 * const fields = { dim: int(100, "size"), loss: choice("mse", ["mse", "cross-entropy"], "loss") };
 * const config: ConfigOf<typeof fields> = { dim: 3, loss: "cross-entropy" };
 * if (config.dim !== 3) throw new Error();
 * ```
 */
export type ConfigOf<F extends Fields> = {
  -readonly [K in keyof F]: F[K] extends { kind: "choice"; options: readonly (infer O)[] } ? O
    : F[K] extends { kind: "boolean" } ? boolean
    : F[K] extends { kind: "int" | "number" } ? number
    : string;
};

/**
 * The defaults of a set of fields, as a config.
 *
 * @example
 * ```ts
 * import { defaultsOf, int } from "./spec.ts";
 * if (defaultsOf({ dim: int(100, "size") }).dim !== 100) throw new Error();
 * ```
 */
export function defaultsOf<F extends Fields>(fields: F): ConfigOf<F> {
  return Object.fromEntries(Object.entries(fields).map(([k, f]) => [k, f.default])) as ConfigOf<F>;
}

/**
 * The fields every model reads its corpus with.
 *
 * @example
 * ```ts
 * import { dataFields } from "./spec.ts";
 * if (dataFields({ minCount: 5, punctuation: false, split: "none" }).minCount.default !== 5) throw new Error();
 * ```
 */
export function dataFields(defaults: { minCount: number; punctuation: boolean; split: string }) {
  return {
    tokens: choice("word", ["word", "char"], "tokens: words (split on whitespace) or characters"),
    minCount: int(defaults.minCount, "words seen fewer times are dropped (embeddings) or become <unk> (LMs)"),
    lowercase: bool(true, "lowercase words (characters are kept as they are)"),
    punctuation: bool(defaults.punctuation, "keep tokens with no letter or digit"),
    split: text(
      defaults.split,
      'train/valid/test split of a single file: two fractions ("0.8,0.1") or token counts ("800000,200000"), ' +
        'the rest is test; "none" trains on everything (X.train.txt uses X.valid.txt and X.test.txt)',
    ),
    sentenceEnds: bool(
      true,
      "LMs: end each sentence (line) with the end-of-sentence token, predicted as a word",
    ),
    vocabularyFrom: choice(
      "train",
      ["train", "all"],
      "count words for the vocabulary in the training part, or all",
    ),
  } as const;
}

/**
 * The data config every model has ({@linkcode dataFields}'s fields).
 *
 * @example
 * ```ts
 * import type { DataConfig } from "./spec.ts";
 * const data: DataConfig = { tokens: "word", minCount: 1, lowercase: true, punctuation: true, split: "none", sentenceEnds: true, vocabularyFrom: "train" };
 * if (data.tokens !== "word") throw new Error();
 * ```
 */
export type DataConfig = ConfigOf<ReturnType<typeof dataFields>>;

/**
 * What `deno task eval` and `deno task sample` need of a trained run; each model offers what it can.
 *
 * @example
 * ```ts
 * import type { Trained } from "./spec.ts";
 * const describe = (t: Trained) => t.perplexity ? "a language model" : "vectors only";
 * if (typeof describe !== "function") throw new Error();
 * ```
 */
export interface Trained {
  /** The word vectors, a [words, dim] table (embedding models; LMs with an embedding table). */
  vectors?: () => { table: Float32Array; dim: number };
  /** Perplexity (exp of the mean negative log-likelihood per token) of a stream of ids. */
  perplexity?: (stream: Int32Array) => number;
  /** The natural log-probability of every token of a stream given the tokens before it. */
  tokenLogProbs?: (stream: Int32Array) => Float64Array;
  /** Masked LMs: the masked-token accuracy and perplexity on a stream (masks drawn from `seed`). */
  maskedScores?: (
    stream: Int32Array,
    seed: number,
  ) => { accuracy: number; perplexity: number; masked: number };
  /**
   * The log-probabilities of the next token after `context` (ids; an empty context is the start of a
   * sentence), as a Float64Array over the vocabulary.
   */
  nextLogProbs?: (context: Int32Array) => Float64Array;
}

/**
 * A model, as the registry and the commands know it.
 *
 * @example
 * ```ts
 * import { registry } from "./registry.ts";
 * const spec = registry.get("bengio")!;
 * if (spec.kind !== "lm" || spec.fields.context.default !== 4) throw new Error();
 * ```
 */
export interface ModelSpec<F extends Fields = Fields> {
  /** The name `--model` takes. */
  readonly name: string;
  /** What it is, with its paper. */
  readonly title: string;
  /** Embedding models write vectors.txt; LMs are scored by perplexity and sampled; masked LMs by accuracy. */
  readonly kind: "embedding" | "lm" | "masked";
  /** Its config fields (data fields included). */
  readonly fields: F;
  /** Trains a run (resuming from its checkpoint when there is one). */
  train(context: TrainContext<ConfigOf<F>>): Promise<TrainOutcome>;
  /** Loads a trained run for evaluation and sampling. */
  load(checkpoint: string, config: ConfigOf<F>, vocabulary: Vocabulary): Promise<Trained>;
}

/**
 * Any model's spec (the registry's element type).
 *
 * @example
 * ```ts
 * import type { AnySpec } from "./spec.ts";
 * const names = (specs: AnySpec[]) => specs.map((s) => s.name);
 * if (typeof names !== "function") throw new Error();
 * ```
 */
// deno-lint-ignore no-explicit-any
export type AnySpec = Omit<ModelSpec<any>, "fields"> & { readonly fields: Fields };

/**
 * Defines a model spec, checking that its train and load functions take its own config type.
 *
 * @example
 * ```ts
 * import { defineModel, int } from "./spec.ts";
 * const toy = defineModel({
 *   name: "toy", title: "a toy", kind: "embedding", fields: { dim: int(2, "size") },
 *   async train() { return { finished: true, interrupted: false, steps: 0 }; }, async load() { return {}; },
 * });
 * if (toy.name !== "toy") throw new Error();
 * ```
 */
export function defineModel<F extends Fields>(spec: ModelSpec<F>): ModelSpec<F> {
  return spec;
}

export type { CorpusParts, Rng };
