/**
 * Sampling text from a language model: each next token drawn from its distribution sharpened or flattened by
 * a temperature and cut to the `topK` most likely tokens, with the one seeded generator, so that a seed gives
 * the same text every time.
 * @module
 */
import { Rng } from "../data/random.ts";

/**
 * Options of {@linkcode sampleTokens}.
 *
 * @example
 * ```ts
 * import type { SampleOptions } from "./sample.ts";
 * const options: SampleOptions = { tokens: 20, temperature: 0.8, topK: 40, seed: 1 };
 * if (options.tokens !== 20) throw new Error();
 * ```
 */
export interface SampleOptions {
  /** Tokens to draw. */
  tokens: number;
  /** Divides the log-probabilities (1: as the model says; towards 0: the most likely token). */
  temperature: number;
  /** Draw only among the k most likely tokens (0: all). */
  topK: number;
  /** Seed of the draws. */
  seed: number;
  /** Tokens never drawn (ids). */
  exclude?: readonly number[];
}

/**
 * Draws one id from log-probabilities with a temperature and top-k.
 *
 * @example
 * ```ts
 * import { Rng } from "../data/random.ts";
 * import { drawToken } from "./sample.ts";
 * const logp = Float64Array.from([0.1, 0.7, 0.2], Math.log);
 * if (drawToken(logp, 1e-6, 0, new Rng(3)) !== 1) throw new Error(); // near zero temperature: the argmax
 * if (drawToken(logp, 1, 1, new Rng(3)) !== 1) throw new Error(); // top-1: the argmax
 * ```
 */
export function drawToken(
  logProbs: Float64Array,
  temperature: number,
  topK: number,
  rng: Rng,
  exclude: readonly number[] = [],
): number {
  const n = logProbs.length;
  const scores = new Float64Array(n);
  for (let i = 0; i < n; i++) scores[i] = logProbs[i] / Math.max(temperature, 1e-9);
  for (const id of exclude) scores[id] = -Infinity;
  if (topK > 0 && topK < n) {
    const threshold = Float64Array.from(scores).sort().reverse()[topK - 1];
    for (let i = 0; i < n; i++) if (scores[i] < threshold) scores[i] = -Infinity;
  }
  let max = -Infinity;
  for (let i = 0; i < n; i++) max = Math.max(max, scores[i]);
  let total = 0;
  for (let i = 0; i < n; i++) total += scores[i] = Math.exp(scores[i] - max);
  let u = rng.uniform() * total;
  for (let i = 0; i < n; i++) {
    u -= scores[i];
    if (u < 0) return i;
  }
  for (let i = n - 1; i >= 0; i--) if (scores[i] > 0) return i;
  return 0;
}

/**
 * Draws `tokens` ids after a prompt, each from `nextLogProbs` of everything so far.
 *
 * @example
 * ```ts
 * import { sampleTokens } from "./sample.ts";
 * // A model that always says "the token after t is t + 1 (mod 4)".
 * const next = (context: Int32Array) => Float64Array.from({ length: 4 }, (_, i) => i === ((context.at(-1) ?? 0) + 1) % 4 ? 0 : -50);
 * const out = sampleTokens(next, new Int32Array([2]), { tokens: 3, temperature: 1, topK: 0, seed: 1 });
 * if (out.join() !== "3,0,1") throw new Error(out.join());
 * ```
 */
export function sampleTokens(
  nextLogProbs: (context: Int32Array) => Float64Array,
  prompt: Int32Array,
  options: SampleOptions,
): Int32Array {
  const rng = new Rng(options.seed);
  const context = Array.from(prompt);
  const out = new Int32Array(options.tokens);
  for (let i = 0; i < options.tokens; i++) {
    const id = drawToken(
      nextLogProbs(Int32Array.from(context)),
      options.temperature,
      options.topK,
      rng,
      options.exclude,
    );
    out[i] = id;
    context.push(id);
  }
  return out;
}
