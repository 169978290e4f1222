/**
 * `jit(f)`: trace once per input signature, compile the graph on the current backend, reuse it.
 * @module
 */
import { getBackend } from "./backends.ts";
import type { Backend, Executable } from "./ir/backend.ts";
import type { Graph } from "./ir/graph.ts";
import { flatten, type TreeDef, unflatten } from "./pytree.ts";
import { showShape } from "./ir/shape.ts";
import { concrete, isTracing, Tensor } from "./tensor.ts";
import { traceFlat } from "./trace.ts";

interface Compiled {
  graph: Graph;
  outDef: TreeDef;
  executable: Executable;
  backend: Backend;
}

/**
 * Options of `jit`.
 *
 * @example
 * ```ts
 * import { jit, type JitOptions, tensor } from "../mod.ts";
 * const options: JitOptions = { donate: [0] };
 * const double = jit((x) => x.mul(2), options);
 * if (double(tensor([1])).item() !== 2) throw new Error();
 * ```
 */
export interface JitOptions {
  /**
   * Indices of arguments the caller gives up (like JAX's `donate_argnums`): their buffers may be reused for
   * the results, so a training step updates params and optimizer state in place. Donated tensors cannot be
   * used after the call; use the returned values.
   */
  donate?: readonly number[];
}

/**
 * Which flattened leaves are donated: those of the donated arguments, except a tensor that appears twice
 * (donating it would let one use overwrite another's input).
 */
function donatedLeaves(
  args: readonly unknown[],
  donate: ReadonlySet<number>,
  leaves: readonly Tensor[],
): boolean[] {
  if (donate.size === 0) return leaves.map(() => false);
  const flags: boolean[] = [];
  args.forEach((a, i) => {
    for (const _ of flatten(a).leaves) flags.push(donate.has(i));
  });
  const count = new Map<Tensor, number>();
  for (const t of leaves) count.set(t, (count.get(t) ?? 0) + 1);
  return flags.map((d, i) => d && count.get(leaves[i]) === 1);
}

/**
 * A jit-compiled function: call it like the original; it also exposes its cache.
 *
 * @example
 * ```ts
 * import { jit, type Jitted, tensor, type Tensor } from "../mod.ts";
 * const inc: Jitted<(x: Tensor) => Tensor> = jit((x: Tensor) => x.add(1));
 * inc(tensor([1]));
 * if (inc.cacheSize !== 1) throw new Error();
 * ```
 */
export type Jitted<F extends (...args: any[]) => any> = F & {
  /** The traced graph for these arguments (traced now if not cached). */
  graphFor(...args: Parameters<F>): Graph;
  /** How many signatures have been traced and compiled. */
  readonly cacheSize: number;
};

/**
 * Compiles `f`: the first call with a given signature (shapes and dtypes of the tensor leaves, plus every
 * non-tensor argument such as numbers and flags) traces `f` into a graph and compiles it on the current backend;
 * later calls with the same signature run the compiled code. Non-tensor arguments are baked in: pass values
 * that change every call (a learning rate, a step count) as tensors to avoid retracing.
 * Inside another trace (`grad(jit(f))`, `jit(jit(f))`) the function is simply inlined.
 *
 * @example
 * ```ts
 * import { jit, tensor } from "../mod.ts";
 * const f = jit((x: any, y: any) => x.mul(y).add(1).sum());
 * f(tensor([1, 2]), tensor([3, 4]));
 * const z = f(tensor([5, 6]), tensor([1, 1]));
 * if (z.item() !== 13 || f.cacheSize !== 1) throw new Error();
 * ```
 */
export function jit<F extends (...args: any[]) => any>(f: F, options: JitOptions = {}): Jitted<F> {
  const cache = new Map<string, Compiled>();
  const donate = new Set(options.donate ?? []);

  const compile = (args: unknown[]): { entry: Compiled; leaves: Tensor[]; donated: boolean[] } => {
    const backend = getBackend();
    const { leaves, def } = flatten(args);
    const donated = donatedLeaves(args, donate, leaves);
    const key = `${backend.name}|${def.key}|${leaves.map((t) => t.dtype + showShape(t.shape)).join(";")}|${
      donated.map(Number).join("")
    }`;
    let entry = cache.get(key);
    if (!entry) {
      const traced = traceFlat(f, def, leaves);
      entry = { ...traced, executable: backend.compile(traced.graph, { donated }), backend };
      cache.set(key, entry);
    }
    return { entry, leaves, donated };
  };

  const run = (...args: unknown[]) => {
    if (isTracing()) return f(...args);
    const { entry, leaves, donated } = compile(args);
    const { graph, executable, backend, outDef } = entry;
    const inputs = [
      ...leaves.map((t) => concrete(t, "jit", backend).buffer),
      ...graph.captures.map((c) => concrete(c.value as Tensor, "jit", backend).buffer),
    ];
    const buffers = executable.run(inputs);
    const outputs = new Set(buffers);
    leaves.forEach((t, i) => {
      if (!donated[i]) return;
      t._donated = true;
      if (!outputs.has(inputs[i])) backend.release?.(inputs[i]);
    });
    const outs = graph.outputs.map((v, i) => new Tensor(v.shape, v.dtype, { buffer: buffers[i], backend }));
    return unflatten(outDef, outs);
  };

  Object.defineProperty(run, "cacheSize", { get: () => cache.size });
  (run as unknown as { graphFor: (...args: unknown[]) => Graph }).graphFor = (...args) =>
    compile(args).entry.graph;
  return run as unknown as Jitted<F>;
}
