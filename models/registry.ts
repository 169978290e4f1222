/**
 * Every model `deno task train --model NAME` knows, by name, in the course's order.
 * @module
 */
import { cbow } from "./embeddings/cbow.ts";
import { onehot } from "./embeddings/onehot.ts";
import { skipgram } from "./embeddings/skipgram.ts";
import { bengio } from "./lm/bengio.ts";
import { masked } from "./lm/masked.ts";
import { ngram } from "./lm/ngram.ts";
import { gru, lstm, rnn } from "./lm/rnn.ts";
import { transformer } from "./lm/transformer.ts";
import type { AnySpec } from "./spec.ts";

/**
 * The models by name.
 *
 * @example
 * ```ts
 * import { registry } from "./registry.ts";
 * if (![...registry.keys()].includes("ngram") || registry.get("skipgram")?.kind !== "embedding") throw new Error();
 * ```
 */
export const registry: ReadonlyMap<string, AnySpec> = new Map(
  [skipgram, cbow, onehot, ngram, bengio, rnn, gru, lstm, transformer, masked].map((
    spec,
  ) => [spec.name, spec as AnySpec]),
);

/**
 * The spec of a model, or an error that lists the known ones.
 *
 * @example
 * ```ts
 * import { modelSpec } from "./registry.ts";
 * if (modelSpec("lstm").name !== "lstm") throw new Error();
 * let message = "";
 * try { modelSpec("bert"); } catch (e) { message = (e as Error).message; }
 * if (!message.includes("skipgram")) throw new Error(message);
 * ```
 */
export function modelSpec(name: string): AnySpec {
  const spec = registry.get(name);
  if (!spec) {
    throw new Error(
      `unknown model ${JSON.stringify(name)}; --model takes one of: ${[...registry.keys()].join(", ")}`,
    );
  }
  return spec;
}
