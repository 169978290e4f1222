/**
 * `explain(f, ...inputs)`: what the current backend compiles a function into — its graph after the clean-up
 * passes and its kernels with their generated code (JavaScript, WebAssembly, WGSL) — without running it.
 * @module
 */
import { getBackend } from "./backends.ts";
import type { CompileReport } from "./ir/backend.ts";
import type { Graph } from "./ir/graph.ts";
import { trace } from "./trace.ts";

/**
 * The current backend's compilation of `f` on `inputs` (tensors or `{ shape, dtype }` specs, as `trace`
 * takes), with the traced graph: for reading what fusion did and the code each kernel became.
 *
 * @example
 * ```ts
 * import { explain } from "../mod.ts";
 * const report = explain((x) => x.mul(2).exp().sum(1), { shape: [8, 16] });
 * // The constant, the multiply and the exp are computed inside the reduction's loop: one kernel for all.
 * if (report.kernels.length !== 1 || report.kernels[0].eqns.length !== report.optimized.eqns.length) {
 *   throw new Error(report.kernels.map((k) => k.summary).join("\n"));
 * }
 * // Simplification folded the constant's reshape and broadcast away; the kernel is generated code.
 * if (report.optimized.eqns.length >= report.graph.eqns.length || report.kernels[0].code.language === "none") {
 *   throw new Error();
 * }
 * ```
 */
export function explain(
  f: (...args: any[]) => unknown,
  ...inputs: unknown[]
): CompileReport & { graph: Graph } {
  const graph = trace(f, ...inputs);
  const backend = getBackend();
  if (!backend.explain) {
    throw new Error(
      `explain: the ${backend.name} backend does not report its compilation; setBackend("cpu") does`,
    );
  }
  return { ...backend.explain(graph), graph };
}
