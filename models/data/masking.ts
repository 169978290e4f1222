/**
 * BERT's masking (Devlin et al., 2019): each real token is chosen with probability `rate` (15%); a chosen
 * token becomes the mask token 80% of the time, a random word 10% of the time, and stays itself 10% of the
 * time, and the model must give back every chosen token.
 * @module
 */
import type { Rng } from "./random.ts";

/**
 * Options of {@linkcode maskTokens}.
 *
 * @example
 * ```ts
 * import type { MaskOptions } from "./masking.ts";
 * const options: MaskOptions = { rate: 0.15, maskId: 2, firstWord: 3, words: 100 };
 * if (options.rate !== 0.15) throw new Error();
 * ```
 */
export interface MaskOptions {
  /** Chance that a token is chosen. */
  rate: number;
  /** The mask token's id. */
  maskId: number;
  /** Random replacements are drawn from ids [firstWord, words) (no specials). */
  firstWord: number;
  /** Vocabulary size. */
  words: number;
}

/**
 * Masks `tokens` (-1: padding, never chosen) into `inputs` (padding as id 0) and `targets` (the original at
 * chosen positions, -1 elsewhere); returns how many were chosen.
 *
 * @example
 * ```ts
 * import { maskTokens } from "./masking.ts";
 * import { Rng } from "./random.ts";
 * const tokens = new Int32Array([5, 6, 7, -1]);
 * const [inputs, targets] = [new Int32Array(4), new Int32Array(4)];
 * const chosen = maskTokens(tokens, inputs, targets, new Rng(1), { rate: 1, maskId: 2, firstWord: 3, words: 9 });
 * if (chosen !== 3 || targets.join() !== "5,6,7,-1" || inputs[3] !== 0) throw new Error(`${inputs} ${targets}`);
 * ```
 */
export function maskTokens(
  tokens: Int32Array,
  inputs: Int32Array,
  targets: Int32Array,
  rng: Rng,
  options: MaskOptions,
): number {
  const { rate, maskId, firstWord, words } = options;
  let chosen = 0;
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i];
    targets[i] = -1;
    if (token < 0) {
      inputs[i] = 0;
      continue;
    }
    inputs[i] = token;
    if (rng.uniform() >= rate) continue;
    chosen++;
    targets[i] = token;
    const action = rng.uniform();
    if (action < 0.8) inputs[i] = maskId;
    else if (action < 0.9) inputs[i] = firstWord + rng.below(Math.max(1, words - firstWord));
  }
  return chosen;
}
