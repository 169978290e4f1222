/**
 * Scatter-adds of rows (the sparse gradient of an embedding): one invocation per element of every update
 * row adds its value into its table row with an atomic compare-and-swap on the float's bits (an atomic add
 * for int32), so only the rows named by the indices are written, all rows at once. Unless the kernel runs in
 * place (its table donated or dead), a copy of the table comes first.
 * @module
 */
import { sizeOf } from "../../dsl/ir/mod.ts";
import type { ScatterKernel } from "../passes/fuse.ts";
import { emitExpr } from "./expr.ts";
import {
  bindings,
  type Dispatch,
  GROUP,
  indicesOf,
  single,
  spread,
  u32Literal,
  type WebGpuBuffer,
} from "./wgsl.ts";

/**
 * The dispatches of a scatter-add: the copy of the base (skipped `inPlace`), then the atomic adds.
 *
 * @example
 * ```ts
 * import { SparseRows, tensor, trace } from "../../mod.ts";
 * import { fuse, type ScatterKernel } from "../passes/fuse.ts";
 * import { scatterDispatches } from "./scatter.ts";
 * import { WebGpuBuffer } from "./wgsl.ts";
 * const ids = tensor([1], { dtype: "int32" });
 * const g = trace((t, u) => new SparseRows(ids, u, t.shape).addTo(t), tensor([[0, 0], [0, 0]]), tensor([[1, 2]]));
 * const k = fuse(g).kernels.find((k) => k.kind === "scatter") as ScatterKernel;
 * const none = new WebGpuBuffer(undefined as unknown as GPUBuffer, 0);
 * const dispatches = scatterDispatches(k, k.inputs.map(() => none), none, true);
 * if (dispatches.length !== 1 || !dispatches[0].source.includes("atomicCompareExchangeWeak")) throw new Error();
 * ```
 */
export function scatterDispatches(
  k: ScatterKernel,
  inputs: readonly WebGpuBuffer[],
  out: WebGpuBuffer,
  inPlace: boolean,
): Dispatch[] {
  const base = k.inputs[0];
  const rows = base.shape[0];
  const rowShape = k.shape.slice(k.rowAxes);
  const rowSize = sizeOf(rowShape);
  const count = sizeOf(k.shape.slice(0, k.rowAxes));
  const dispatches = inPlace ? [] : single(sizeOf(base.shape), "out[i] = in0[i];", [inputs[0]], out);
  const total = rowSize * count;
  if (total === 0) return dispatches;
  const { code: index, names } = indicesOf("i", k.shape, "q");
  const { code: body, value } = emitExpr(k.updates, { indices: names });
  const add = k.output.dtype === "float32"
    ? `var old = atomicLoad(&out[o]);
  loop {
    let swapped = atomicCompareExchangeWeak(&out[o], old, bitcast<u32>(bitcast<f32>(old) + ${value}));
    if (swapped.exchanged) { break; }
    old = swapped.old_value;
  }`
    : `atomicAdd(&out[o], bitcast<u32>(${value}));`;
  const source = `${bindings(inputs.length, { atomic: true })}
@compute @workgroup_size(${GROUP})
fn main(@builtin(workgroup_id) group: vec3<u32>, @builtin(local_invocation_index) lane: u32) {
  let i = (group.y * 65535u + group.x) * ${u32Literal(GROUP)} + lane;
  if (i >= ${u32Literal(total)}) { return; }
  let row = bitcast<i32>(in1[i / ${u32Literal(rowSize)}]);
  if (row < 0i || row >= ${rows}i) { return; }
  ${index}
  ${body}
  let o = u32(row) * ${u32Literal(rowSize)} + i % ${u32Literal(rowSize)};
  ${add}
}
`;
  dispatches.push({ source, out, inputs, groups: spread(Math.ceil(total / GROUP)) });
  return dispatches;
}
