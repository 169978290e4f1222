/**
 * Gradient checking by central finite differences, for the layer and loss tests.
 *
 * Float32 makes per-coordinate differences noisy, so the check is directional: for a few random unit
 * directions `d` over the differentiated argument, `(f(x + εd) - f(x - εd)) / 2ε` must match `⟨∇f(x), d⟩`. A wrong
 * gradient in any coordinate shows up in almost every random direction.
 */
import { flatten, random, SparseRows, Tensor, unflatten, valueAndGrad } from "../../mod.ts";

/** Options of `checkGradient`. */
export interface GradCheckOptions {
  /** Which argument of `f` to differentiate (default 0); it must be a pytree of float32 tensors. */
  argnum?: number;
  /** Seed of the random directions. */
  seed?: number;
  /** Number of random directions (default 3). */
  directions?: number;
  /** Step of the central difference (default 1e-2, large enough for float32). */
  eps?: number;
  /** Relative tolerance (default 1e-2). */
  rtol?: number;
  /** Absolute tolerance (default 1e-3). */
  atol?: number;
}

function dot(a: readonly Tensor[], b: readonly Tensor[]): number {
  let sum = 0;
  a.forEach((t, i) => {
    const x = t.dataSync();
    const y = b[i].dataSync();
    for (let j = 0; j < x.length; j++) sum += x[j] * y[j];
  });
  return sum;
}

/**
 * Throws unless the gradient of the scalar `f` with respect to `args[argnum]` agrees with finite differences
 * along random directions. Sparse gradients (from `take`) are compared through `toDense()`.
 */
export function checkGradient(
  f: (...args: any[]) => Tensor,
  args: unknown[],
  options: GradCheckOptions = {},
): void {
  const { argnum = 0, seed = 0, directions = 3, eps = 1e-2, rtol = 1e-2, atol = 1e-3 } = options;
  const [, grads] = valueAndGrad(f, { argnums: argnum })(...args);
  const { leaves, def } = flatten(args[argnum]);
  // flatten would split SparseRows into indices and values, so collect dense gradients leaf by leaf.
  const dense: Tensor[] = [];
  (function walk(node: unknown): void {
    if (node instanceof SparseRows) dense.push(node.toDense());
    else if (node instanceof Tensor) dense.push(node);
    else if (Array.isArray(node)) node.forEach(walk);
    else if (node !== null && typeof node === "object") Object.values(node).forEach(walk);
  })(grads);
  if (dense.length !== leaves.length) {
    throw new Error(`expected ${leaves.length} gradients, got ${dense.length}`);
  }
  const at = (sign: number, direction: Tensor[]) => {
    const moved = leaves.map((t, i) => t.add(direction[i].mul(sign * eps)));
    const shifted = [...args];
    shifted[argnum] = unflatten(def, moved);
    return f(...shifted).item();
  };
  for (let k = 0; k < directions; k++) {
    const keys = random.split(random.fold(random.key(seed), k), leaves.length + 1);
    const raw = leaves.map((t, i) => random.normal(keys[i], t.shape));
    // A unit direction, so that ε is the length of the step whatever the number of parameters.
    const norm = Math.sqrt(dot(raw, raw));
    const direction = raw.map((t) => t.div(norm));
    const analytic = dot(dense, direction);
    const numeric = (at(1, direction) - at(-1, direction)) / (2 * eps);
    const tolerance = atol + rtol * Math.max(Math.abs(analytic), Math.abs(numeric));
    if (!(Math.abs(analytic - numeric) <= tolerance)) {
      throw new Error(
        `gradient check failed (argument ${argnum}, direction ${k}): ` +
          `analytic ${analytic}, finite differences ${numeric}`,
      );
    }
  }
}
