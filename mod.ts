/**
 * Loom: neural networks as pure functional TypeScript.
 *
 * Tensors and ops run eagerly; `trace` records them as a graph; `grad`, `valueAndGrad` and `vjp` transform
 * graphs into their derivatives; `jit` compiles a graph once per input signature on the current backend.
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
import { registerBackend, setBackend } from "./kernels/backend.ts";
import { createCpuBackend } from "./kernels/cpu/backend.ts";
import { CpuRuntime } from "./kernels/cpu/pool.ts";
import { createReferenceBackend } from "./kernels/reference/mod.ts";
import { createWebGpuBackend } from "./kernels/webgpu/mod.ts";

registerBackend("reference", createReferenceBackend);
// The compiling CPU backend, the default in Deno and in browsers: threads from LOOM_THREADS (default: all
// cores; one thread on a browser's main thread or where the page is not cross-origin isolated).
registerBackend("cpu", async () => createCpuBackend(await CpuRuntime.create()));
await setBackend("cpu");
// WebGPU (`await setBackend("webgpu")`): browsers with WebGPU, Deno with --unstable-webgpu. Correct, unfused.
registerBackend("webgpu", createWebGpuBackend);

export { getBackend, listBackends, registerBackend, setBackend } from "./kernels/backend.ts";
export type { Backend, CompileOptions, DeviceBuffer, Executable } from "./kernels/backend.ts";
export type { DType, HostArray } from "./dsl/dtype.ts";
export type { Shape } from "./dsl/shape.ts";
export { broadcastShapes } from "./dsl/shape.ts";
export { type Aval, type Eqn, Graph, Var } from "./dsl/graph.ts";
export { PRIMITIVES } from "./dsl/primitives.ts";
export type { Cotangent, Primitive } from "./dsl/primitives.ts";
export { type NestedArray, Tensor, type TensorOrNumber } from "./dsl/tensor.ts";
export { SparseRows } from "./dsl/sparse.ts";
export * from "./dsl/ops.ts";
export { trace } from "./dsl/trace.ts";
export type { Spec } from "./dsl/trace.ts";
export { type ArgNums, grad, type GradOptions, valueAndGrad, vjp } from "./dsl/autodiff.ts";
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
