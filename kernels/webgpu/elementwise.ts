/**
 * Elementwise kernels of the fusion pass as WGSL: one invocation per output element computes the fused
 * expression (movement ops are index arithmetic inside it).
 * @module
 */
import { sizeOf } from "../../dsl/ir/mod.ts";
import type { ElementwiseKernel } from "../passes/fuse.ts";
import { emitExpr } from "./expr.ts";
import { type Dispatch, indicesOf, single, type WebGpuBuffer, word } from "./wgsl.ts";

/**
 * The dispatch of an elementwise kernel reading `inputs` (one per `k.inputs`) and writing `out`.
 *
 * @example
 * ```ts
 * import { tensor, trace } from "../../mod.ts";
 * import { type ElementwiseKernel, fuse } from "../passes/fuse.ts";
 * import { elementwiseDispatches } from "./elementwise.ts";
 * import { WebGpuBuffer } from "./wgsl.ts";
 * const k = fuse(trace((x) => x.exp().neg(), tensor([1, 2]))).kernels[0] as ElementwiseKernel;
 * const none = new WebGpuBuffer(undefined as unknown as GPUBuffer, 0);
 * if (!elementwiseDispatches(k, [none], none)[0].source.includes("exp(")) throw new Error();
 * ```
 */
export function elementwiseDispatches(
  k: ElementwiseKernel,
  inputs: readonly WebGpuBuffer[],
  out: WebGpuBuffer,
): Dispatch[] {
  const { code, names } = indicesOf("i", k.shape, "q");
  const { code: body, value } = emitExpr(k.expr, { indices: names });
  return single(
    sizeOf(k.shape),
    `${code}\n    ${body}\n  out[i] = ${word(value, k.output.dtype)};`,
    inputs,
    out,
  );
}
