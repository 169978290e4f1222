/**
 * A fused program as a `CompileReport`: each kernel with its one-line summary, the equations it computes,
 * its operands by name, and the code a backend generated for it.
 * @module
 */
import type { CompileReport, Eqn, KernelCode } from "../../dsl/ir/mod.ts";
import type { Kernel, Program } from "./fuse.ts";

/**
 * Builds the report of `program` compiled by `backend`, asking `codeOf` for each kernel's code.
 *
 * @example
 * ```ts
 * import { trace } from "../../mod.ts";
 * import { fuse } from "./fuse.ts";
 * import { reportProgram } from "./report.ts";
 * const program = fuse(trace((x) => x.exp().mul(2), { shape: [3] }));
 * const report = reportProgram("example", program, () => ({ language: "none", text: "" }));
 * // One loop computes every equation: exp, the constant 2 (and its broadcast), and the product.
 * if (report.kernels.length !== 1 || report.kernels[0].eqns.length !== program.graph.eqns.length) throw new Error();
 * ```
 */
export function reportProgram(
  backend: string,
  program: Program,
  codeOf: (kernel: Kernel) => KernelCode,
): CompileReport {
  const names = program.graph.names();
  const index = new Map<Eqn, number>(program.graph.eqns.map((e, i) => [e, i]));
  return {
    backend,
    optimized: program.graph,
    kernels: program.kernels.map((k) => ({
      kind: k.kind,
      summary: program.describe(k, names),
      eqns: k.eqns.map((e) => index.get(e)!),
      inputs: k.inputs.map((v) => names.get(v)!),
      output: names.get(k.output)!,
      code: codeOf(k),
    })),
  };
}
