/**
 * Counter-based random numbers, like JAX: a key is an int32[2] tensor; `split` and `fold` derive new keys;
 * samplers are pure functions of (key, shape). The bits come from Threefry-2x32 (20 rounds), computed with
 * 32-bit integer arithmetic only, so every backend and platform gives the same bits for the same key.
 * @module
 */
import { checkShape, normalizeAxis } from "./ir/shape.ts";
import * as ops from "./ops.ts";
import { bind, type Tensor } from "./tensor.ts";

const SAMPLE_STREAM = 0;
const SPLIT_STREAM = 1;
const FOLD_STREAM = 2;

function checkKey(key: Tensor, where: string): Tensor {
  ops.assertTensor(key, where);
  if (key.dtype !== "int32" || key.shape.length !== 1 || key.shape[0] !== 2) {
    throw new TypeError(
      `random.${where}: expected a key from random.key(seed) (int32[2]), got ${key.dtype}[${key.shape}]`,
    );
  }
  return key;
}

/** Raw 32-bit random words (as int32) for `shape`: word i is Threefry(key, (stream, i)). */
function bits(key: Tensor, shape: readonly number[], stream: number): Tensor {
  return bind("random_bits", [key], { shape: [...shape], stream });
}

/**
 * A key from an integer seed (its low 32 bits and, for seeds beyond 2^32, its high bits).
 *
 * @example
 * ```ts
 * import { random } from "../mod.ts";
 * const k = random.key(42);
 * if (k.shape.join() !== "2") throw new Error();
 * ```
 */
export function key(seed: number): Tensor {
  if (!Number.isSafeInteger(seed)) {
    throw new RangeError(`random.key: the seed must be a safe integer, got ${seed}`);
  }
  const hi = Math.floor(seed / 2 ** 32) | 0;
  return ops.tensor(new Int32Array([hi, seed | 0]), { shape: [2] });
}

/**
 * `count` independent keys derived from `key` (default 2): `const [a, b] = random.split(key)`.
 *
 * @example
 * ```ts
 * import { random } from "../mod.ts";
 * const [a, b] = random.split(random.key(0));
 * if (a.arraySync().toString() === b.arraySync().toString()) throw new Error();
 * ```
 */
export function split(key: Tensor, count = 2): Tensor[] {
  checkKey(key, "split");
  if (!Number.isInteger(count) || count < 1) {
    throw new RangeError(`random.split: count must be a positive integer, got ${count}`);
  }
  const words = bits(key, [count, 2], SPLIT_STREAM);
  return Array.from({ length: count }, (_, i) => ops.reshape(ops.slice(words, [i, 0], [1, 2]), [2]));
}

/**
 * A key derived from `key` and an integer (a step number, a layer index): different data, different key.
 *
 * @example
 * ```ts
 * import { random } from "../mod.ts";
 * const k = random.key(0);
 * if (random.fold(k, 1).arraySync().toString() === random.fold(k, 2).arraySync().toString()) throw new Error();
 * ```
 */
export function fold(key: Tensor, data: number): Tensor {
  checkKey(key, "fold");
  if (!Number.isInteger(data)) throw new RangeError(`random.fold: data must be an integer, got ${data}`);
  return bits(bits(key, [2], FOLD_STREAM), [2], data | 0);
}

/**
 * Uniform float32 samples in `[minval, maxval)`.
 *
 * @example
 * ```ts
 * import { random } from "../mod.ts";
 * const u = random.uniform(random.key(1), [1000]);
 * const m = u.mean().item();
 * if (m < 0.45 || m > 0.55 || u.min().item() < 0 || u.max().item() >= 1) throw new Error();
 * ```
 */
export function uniform(
  key: Tensor,
  shape: readonly number[],
  options: { minval?: number; maxval?: number } = {},
): Tensor {
  checkKey(key, "uniform");
  checkShape(shape, "random.uniform");
  // Signed words w in [-2^31, 2^31) map to w / 2^32 + 1/2 in [0, 1]; rounding can reach 1, so clamp below it.
  const words = ops.cast(bits(key, shape, SAMPLE_STREAM), "float32");
  const unit = ops.minimum(ops.add(ops.mul(words, 2 ** -32), 0.5), 1 - 2 ** -24);
  const { minval = 0, maxval = 1 } = options;
  return minval === 0 && maxval === 1 ? unit : ops.add(ops.mul(unit, maxval - minval), minval);
}

/**
 * Standard normal float32 samples (Box–Muller), scaled by `stddev` and shifted by `mean`.
 *
 * @example
 * ```ts
 * import { random } from "../mod.ts";
 * const z = random.normal(random.key(2), [4000]);
 * if (Math.abs(z.mean().item()) > 0.1 || Math.abs(z.square().mean().item() - 1) > 0.1) throw new Error();
 * ```
 */
export function normal(
  key: Tensor,
  shape: readonly number[],
  options: { mean?: number; stddev?: number } = {},
): Tensor {
  checkKey(key, "normal");
  checkShape(shape, "random.normal");
  const u = uniform(key, [2, ...shape]);
  const u1 = ops.reshape(ops.slice(u, [0], [1]), shape);
  const u2 = ops.reshape(ops.slice(u, [1], [1]), shape);
  const radius = ops.sqrt(ops.mul(ops.log(ops.sub(1, u1)), -2));
  const z = ops.mul(radius, ops.cos(ops.mul(u2, 2 * Math.PI)));
  const { mean = 0, stddev = 1 } = options;
  return mean === 0 && stddev === 1 ? z : ops.add(ops.mul(z, stddev), mean);
}

/**
 * Bool samples that are true with probability `p` (a number or a tensor broadcast to `shape`).
 *
 * @example
 * ```ts
 * import { random } from "../mod.ts";
 * const b = random.bernoulli(random.key(3), 0.25, [2000]);
 * const rate = b.cast("float32").mean().item();
 * if (rate < 0.2 || rate > 0.3) throw new Error();
 * ```
 */
export function bernoulli(key: Tensor, p: number | Tensor, shape: readonly number[]): Tensor {
  return ops.less(uniform(key, shape), p);
}

/**
 * Samples class indices (int32) from unnormalised log-probabilities along `axis` (default last), by the
 * Gumbel-max trick. The result has `logits`' shape without that axis.
 *
 * @example
 * ```ts
 * import { random, tensor } from "../mod.ts";
 * const logits = tensor([[0, 0, 100], [100, 0, 0]]);
 * if (random.categorical(random.key(4), logits).arraySync().toString() !== "2,0") throw new Error();
 * ```
 */
export function categorical(key: Tensor, logits: Tensor, axis = -1): Tensor {
  checkKey(key, "categorical");
  ops.assertTensor(logits, "random.categorical");
  const a = normalizeAxis(axis, logits.rank, "random.categorical");
  const u = uniform(key, logits.shape);
  const gumbel = ops.neg(ops.log(ops.neg(ops.log(ops.add(u, 1e-20)))));
  return ops.argmax(ops.add(logits, gumbel), a);
}
