/**
 * Test helpers: seeded random data, tolerant comparisons, and gradient checks by central differences.
 * @module
 */
import assert from "node:assert/strict";
import { grad, type NestedArray, Tensor, tensor } from "../mod.ts";

/**
 * A small seeded generator (mulberry32) returning floats in [0, 1): tests own their randomness so a failing
 * seed can be replayed exactly.
 */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Options for random test tensors. */
export interface RandomOptions {
  /** Lower bound of the values (default -1). */
  lo?: number;
  /** Upper bound of the values (default 1). */
  hi?: number;
  /** Keep |value| at least this far from 0 (for kinks such as abs or relu). */
  awayFromZero?: number;
}

/** A float32 tensor of `shape` with uniform values from `random`. */
export function randomTensor(random: () => number, shape: number[], options: RandomOptions = {}): Tensor {
  const { lo = -1, hi = 1, awayFromZero = 0 } = options;
  const size = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(size);
  for (let i = 0; i < size; i++) {
    let v = lo + (hi - lo) * random();
    if (Math.abs(v) < awayFromZero) {
      v = v < 0 ? -awayFromZero - random() * 0.1 : awayFromZero + random() * 0.1;
    }
    data[i] = v;
  }
  return tensor(data, { shape });
}

/** Distinct values (a shuffled grid plus jitter), so max/min/sort-like ops have no near-ties. */
export function distinctTensor(random: () => number, shape: number[], spacing = 0.05): Tensor {
  const size = shape.reduce((a, b) => a * b, 1);
  const order = Array.from({ length: size }, (_, i) => i);
  for (let i = size - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  const data = new Float32Array(order.map((k) => (k - size / 2) * spacing + random() * spacing * 0.2));
  return tensor(data, { shape });
}

function flat(x: Tensor | NestedArray | ArrayLike<number>): number[] {
  if (x instanceof Tensor) return Array.from(x.dataSync(), Number);
  if (typeof x === "number" || typeof x === "boolean") return [Number(x)];
  if (Array.isArray(x)) return (x as NestedArray[]).flatMap((v) => flat(v));
  return Array.from(x as ArrayLike<number>);
}

/** Asserts elementwise |a - b| <= atol + rtol |b| (NaN equals NaN, infinities must match). */
export function assertClose(
  actual: Tensor | NestedArray | ArrayLike<number>,
  expected: Tensor | NestedArray | ArrayLike<number>,
  { rtol = 1e-5, atol = 1e-6, message = "" } = {},
): void {
  if (actual instanceof Tensor && expected instanceof Tensor) {
    assert.deepEqual([...actual.shape], [...expected.shape], `${message} shape`);
  }
  const a = flat(actual);
  const b = flat(expected);
  assert.equal(a.length, b.length, `${message} length ${a.length} vs ${b.length}`);
  for (let i = 0; i < a.length; i++) {
    const ok = (Number.isNaN(a[i]) && Number.isNaN(b[i])) || a[i] === b[i] ||
      Math.abs(a[i] - b[i]) <= atol + rtol * Math.abs(b[i]);
    if (!ok) assert.fail(`${message} element ${i}: ${a[i]} vs expected ${b[i]} (rtol ${rtol}, atol ${atol})`);
  }
}

/** Options of `checkGrad`. */
export interface GradCheckOptions {
  /** Step of the central difference (default 1e-2; float32 needs a large one). */
  eps?: number;
  /** Relative tolerance (default 2e-2). */
  rtol?: number;
  /** Absolute tolerance (default 2e-3). */
  atol?: number;
  /** Which arguments to check (default all). */
  argnums?: number[];
  /** A label for failures. */
  label?: string;
}

/**
 * Checks `grad(f)` against central finite differences, coordinate by coordinate, for every float argument in
 * `argnums`. `f` must return a scalar. Sparse gradients are densified first.
 */
export function checkGrad(
  f: (...args: Tensor[]) => Tensor,
  args: Tensor[],
  options: GradCheckOptions = {},
): void {
  const { eps = 1e-2, rtol = 2e-2, atol = 2e-3, label = "" } = options;
  const argnums = options.argnums ?? args.map((_, i) => i).filter((i) => args[i].dtype === "float32");
  const analytic = grad(f, { argnums })(...args) as (Tensor | { toDense(): Tensor })[];
  argnums.forEach((argIndex, k) => {
    const g = analytic[k];
    const dense = g instanceof Tensor ? g : g.toDense();
    assert.deepEqual(
      [...dense.shape],
      [...args[argIndex].shape],
      `${label} gradient shape of argument ${argIndex}`,
    );
    const got = dense.dataSync();
    const base = args[argIndex].dataSync() as Float32Array;
    for (let i = 0; i < base.length; i++) {
      const at = (delta: number) => {
        const moved = base.slice();
        moved[i] += delta;
        const shifted = args.slice();
        shifted[argIndex] = tensor(moved, { shape: [...args[argIndex].shape] });
        return f(...shifted).item();
      };
      const numeric = (at(eps) - at(-eps)) / (2 * eps);
      if (!(Math.abs(got[i] - numeric) <= atol + rtol * Math.abs(numeric))) {
        assert.fail(
          `${label} d/d arg${argIndex}[${i}]: autodiff ${
            got[i]
          } vs finite difference ${numeric} (eps ${eps})`,
        );
      }
    }
  });
}

/** A fixed random weighting of an op's output, so that a gradient check sees every element differently. */
export function weighted(seed: number): (y: Tensor) => Tensor {
  return (y: Tensor) => y.mul(randomTensor(rng(seed), [...y.shape], { lo: 0.5, hi: 1.5 })).sum();
}
