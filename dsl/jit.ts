/**
 * `jit(f)`: trace once per input signature, compile the graph on the current backend, reuse it.
 * @module
 */
import { getBackend } from "../kernels/backend.ts";
import type { Backend, Executable } from "../kernels/backend.ts";
import type { Graph } from "./graph.ts";
import { flatten, type TreeDef, unflatten } from "./pytree.ts";
import { showShape } from "./shape.ts";
import { concrete, isTracing, Tensor, Trace, withTrace } from "./tensor.ts";

interface Compiled {
  graph: Graph;
  outDef: TreeDef;
  executable: Executable;
  backend: Backend;
}

/** A jit-compiled function: call it like the original; it also exposes its cache. */
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
export function jit<F extends (...args: any[]) => any>(f: F): Jitted<F> {
  const cache = new Map<string, Compiled>();

  const compile = (args: unknown[]): { entry: Compiled; leaves: Tensor[] } => {
    const backend = getBackend();
    const { leaves, def } = flatten(args);
    const key = `${backend.name}|${def.key}|${leaves.map((t) => t.dtype + showShape(t.shape)).join(";")}`;
    let entry = cache.get(key);
    if (!entry) {
      const t = new Trace();
      const tracers = leaves.map((l) => t.newInput(l.shape, l.dtype));
      const traced = withTrace(t, () => {
        const out = f(...(unflatten(def, tracers) as unknown[]));
        const flat = flatten(out);
        return { graph: t.finish(flat.leaves), outDef: flat.def };
      });
      entry = { ...traced, executable: backend.compile(traced.graph), backend };
      cache.set(key, entry);
    }
    return { entry, leaves };
  };

  const run = (...args: unknown[]) => {
    if (isTracing()) return f(...args);
    const { entry, leaves } = compile(args);
    const { graph, executable, backend, outDef } = entry;
    const inputs = [
      ...leaves.map((t) => concrete(t, "jit", backend).buffer),
      ...graph.captures.map((c) => concrete(c.value as Tensor, "jit", backend).buffer),
    ];
    const buffers = executable.run(inputs);
    const outs = graph.outputs.map((v, i) => new Tensor(v.shape, v.dtype, { buffer: buffers[i], backend }));
    return unflatten(outDef, outs);
  };

  Object.defineProperty(run, "cacheSize", { get: () => cache.size });
  (run as unknown as { graphFor: (...args: unknown[]) => Graph }).graphFor = (...args) =>
    compile(args).entry.graph;
  return run as unknown as Jitted<F>;
}
