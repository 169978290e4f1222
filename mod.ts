/**
 * Loom: neural networks as pure functional TypeScript.
 *
 * Tensors and ops run eagerly; `trace` records them as a graph; `grad`, `valueAndGrad`, `vjp` (reverse mode)
 * and `jvp` (forward mode) transform graphs into their derivatives, `vmap` into their batched form; `jit`
 * compiles a graph once per input signature on the current backend.
 *
 * @example
 * ```ts
 * import { grad, jit, tensor } from "./mod.ts";
 * const loss = (w: any, x: any) => x.matmul(w).tanh().square().mean();
 * const step = jit((w: any, x: any) => w.sub(grad(loss)(w, x).mul(0.1)));
 * const w = step(tensor([[0.5], [-0.5]]), tensor([[1, 2], [3, 4]]));
 * if (w.shape.join() !== "2,1") throw new Error();
 * ```
 * @module
 */
import { registerBackend, setBackend } from "./dsl/backends.ts";
import { createCpuBackend } from "./kernels/cpu/mod.ts";
import { CpuRuntime } from "./kernels/cpu/pool.ts";
import { createReferenceBackend } from "./kernels/reference/mod.ts";
import { createWebGpuBackend } from "./kernels/webgpu/mod.ts";

registerBackend("reference", createReferenceBackend);
// The compiling CPU backend, the default in Deno and in browsers: threads from LOOM_THREADS (default: all
// cores; one thread on a browser's main thread or where the page is not cross-origin isolated).
registerBackend("cpu", async () => createCpuBackend(await CpuRuntime.create()));
await setBackend("cpu");
// WebGPU (`await setBackend("webgpu")`): browsers with WebGPU, Deno with --unstable-webgpu.
registerBackend("webgpu", createWebGpuBackend);

export { getBackend, listBackends, registerBackend, setBackend } from "./dsl/backends.ts";
export type {
  Backend,
  CompileOptions,
  CompileReport,
  DeviceBuffer,
  Executable,
  KernelCode,
  KernelReport,
} from "./dsl/ir/backend.ts";
export type { DType, HostArray } from "./dsl/ir/dtype.ts";
export type { Shape } from "./dsl/ir/shape.ts";
export { broadcastShapes } from "./dsl/ir/shape.ts";
export { type Aval, type Eqn, Graph, makeEqn, type Params, Var } from "./dsl/ir/graph.ts";
export { PRIM_NAMES, PRIMITIVES } from "./dsl/ir/primitives.ts";
export type {
  ElementwisePrim,
  PrimitiveDecl,
  PrimitiveKind,
  PrimName,
  PrimParams,
} from "./dsl/ir/primitives.ts";
export { type NestedArray, Tensor, type TensorOrNumber } from "./dsl/tensor.ts";
export { type Cotangent, SparseRows } from "./dsl/sparse.ts";
export * from "./dsl/ops.ts";
export { trace } from "./dsl/trace.ts";
export { explain } from "./dsl/explain.ts";
export type { Spec } from "./dsl/trace.ts";
export {
  type ArgNums,
  type DiffArgs,
  grad,
  type GradOf,
  type GradOptions,
  type GradsOf,
  valueAndGrad,
  vjp,
} from "./dsl/autodiff.ts";
export { jvp } from "./dsl/jvp.ts";
export { vmap, type VmapOptions } from "./dsl/vmap.ts";
export { jit, type JitOptions, type Jitted } from "./dsl/jit.ts";
export { flatten, leafPaths, type PyTree, type TreeDef, treeMap, unflatten } from "./dsl/pytree.ts";
export * as random from "./dsl/random.ts";
export * as nn from "./dsl/layers/mod.ts";
export * as loss from "./dsl/loss.ts";
export * as optim from "./dsl/optim.ts";
export { decodeCheckpoint, encodeCheckpoint, load, paramsSummary, save } from "./dsl/checkpoint.ts";
export type { Checkpoint } from "./dsl/checkpoint.ts";
export { summary } from "./dsl/layers/mod.ts";
export type { AnyLayer, Layer, ShapeTree } from "./dsl/layers/mod.ts";
