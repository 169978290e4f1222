/**
 * The one seeded generator every data-side draw in `models/` uses (batch order, subsampling, negatives,
 * masking, sampling): xorshift32, whose whole state is one 32-bit number, so a batcher's position and its
 * random state fit in a checkpoint's JSON and a resumed run draws exactly what an uninterrupted one would.
 * @module
 */

/**
 * A xorshift32 generator (Marsaglia, 2003) with its state in {@linkcode Rng.state}.
 *
 * @example
 * ```ts
 * import { Rng } from "./random.ts";
 * const a = new Rng(7);
 * const first = a.next();
 * const b = new Rng(7);
 * if (b.next() !== first) throw new Error("same seed, same draws");
 * const saved = a.state;
 * const x = a.below(10);
 * a.state = saved;
 * if (a.below(10) !== x) throw new Error("restoring the state replays the draws");
 * ```
 */
export class Rng {
  /** The generator's state: any non-zero 32-bit number. */
  state: number;

  /** A generator seeded with `seed` (any number; it is mixed, and 0 is avoided). */
  constructor(seed: number) {
    this.state = seedState(seed);
  }

  /** A uniform 32-bit unsigned integer. */
  next(): number {
    let s = this.state;
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    this.state = s >>> 0;
    return this.state;
  }

  /** A uniform float in [0, 1). */
  uniform(): number {
    return this.next() * 2 ** -32;
  }

  /** A uniform integer in [0, n) (n below 2³²; the bias of the modulo is under n / 2³²). */
  below(n: number): number {
    return this.next() % n;
  }

  /** Shuffles `items` in place (Fisher–Yates) and returns it. */
  shuffle<T extends { length: number; [i: number]: unknown }>(items: T): T {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.below(i + 1);
      const t = items[i];
      items[i] = items[j];
      items[j] = t;
    }
    return items;
  }
}

/**
 * The generator state for a seed and any number of extra words (epoch, stream): a multiplicative hash, never 0.
 *
 * @example
 * ```ts
 * import { seedState } from "./random.ts";
 * if (seedState(1, 2) === seedState(1, 3) || seedState(0) === 0) throw new Error();
 * ```
 */
export function seedState(seed: number, ...more: number[]): number {
  let h = Math.imul((seed >>> 0) ^ 0x9e3779b9, 2654435761) >>> 0;
  for (const m of more) h = Math.imul(h ^ ((m >>> 0) + 0x7f4a7c15 + (h << 6) + (h >>> 2)), 2246822519) >>> 0;
  return h || 1;
}
