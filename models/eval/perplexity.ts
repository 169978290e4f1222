/**
 * Perplexity from token log-probabilities, alone or as a mixture of two language models (Bengio et al. mixed
 * their MLP with an interpolated trigram): `exp` of the mean negative log-likelihood of
 * `λ·p₁ + (1 − λ)·p₂`, with λ tuned on the validation part.
 * @module
 */

/**
 * Perplexity of token log-probabilities: `exp` of their negated mean.
 *
 * @example
 * ```ts
 * import { perplexityOf } from "./perplexity.ts";
 * if (Math.abs(perplexityOf(Float64Array.from([0.5, 0.5], Math.log)) - 2) > 1e-12) throw new Error();
 * ```
 */
export function perplexityOf(logProbs: Float64Array): number {
  let sum = 0;
  for (const v of logProbs) sum += v;
  return Math.exp(-sum / logProbs.length);
}

/**
 * The mixture weight λ (of the first model) in [0, 1] that gives the lowest perplexity of
 * `λ·p₁ + (1 − λ)·p₂` over token log-probabilities, by a grid of 0.01, and that perplexity.
 *
 * @example
 * ```ts
 * import { bestMixture, mixedPerplexity } from "./perplexity.ts";
 * const a = Float64Array.from([0.5, 0.1], Math.log);
 * const b = Float64Array.from([0.1, 0.5], Math.log);
 * const { lambda } = bestMixture(a, b);
 * if (Math.abs(lambda - 0.5) > 1e-9 || Math.abs(mixedPerplexity(a, b, 0.5) - 1 / 0.3) > 1e-9) throw new Error();
 * ```
 */
export function bestMixture(
  first: Float64Array,
  second: Float64Array,
): { lambda: number; perplexity: number } {
  let best = { lambda: 1, perplexity: Infinity };
  for (let i = 0; i <= 100; i++) {
    const ppl = mixedPerplexity(first, second, i / 100);
    if (ppl < best.perplexity) best = { lambda: i / 100, perplexity: ppl };
  }
  return best;
}

/**
 * Perplexity of the mixture `λ·p₁ + (1 − λ)·p₂` from two models' token log-probabilities.
 *
 * @example
 * ```ts
 * import { mixedPerplexity } from "./perplexity.ts";
 * const a = Float64Array.from([0.5], Math.log);
 * if (Math.abs(mixedPerplexity(a, a, 0.3) - 2) > 1e-9) throw new Error();
 * ```
 */
export function mixedPerplexity(first: Float64Array, second: Float64Array, lambda: number): number {
  let sum = 0;
  for (let i = 0; i < first.length; i++) {
    sum += Math.log(lambda * Math.exp(first[i]) + (1 - lambda) * Math.exp(second[i]));
  }
  return Math.exp(-sum / first.length);
}
