/**
 * Reductions (sum, max) over any axes, with the elementwise chain that feeds them computed on the fly.
 * Short reductions take one invocation per output, in the reference's order; longer ones a workgroup per
 * tile of outputs: `x` adjacent outputs side by side (so that reads along a kept inner axis coalesce), `y`
 * invocations splitting each output's reduction, then a tree reduction in workgroup memory.
 * @module
 */
import { sizeOf } from "../../dsl/ir/mod.ts";
import type { Expr, ReduceKernel } from "../passes/fuse.ts";
import { emitExpr } from "./expr.ts";
import {
  bindings,
  type Dispatch,
  indicesOf,
  single,
  spread,
  u32Literal,
  type WebGpuBuffer,
  word,
} from "./wgsl.ts";

/** Below this many elements per output, one invocation reduces each output alone. */
const SHORT = 32;
/** Invocations per workgroup of a tree reduction. */
const TREE = 64;

/**
 * The shape of a reduction: the kept axes (in order), the reduced axes (in input order), and their sizes.
 *
 * @example
 * ```ts
 * import { reductionAxes } from "./reduce.ts";
 * const r = reductionAxes([2, 3, 4], [1]);
 * if (r.kept.join() !== "0,2" || r.outputs !== 8 || r.length !== 3) throw new Error();
 * ```
 */
export function reductionAxes(inShape: readonly number[], axes: readonly number[]) {
  const kept = inShape.map((_, a) => a).filter((a) => !axes.includes(a));
  const reduced = [...axes].sort((p, q) => p - q);
  return {
    kept,
    reduced,
    outputs: sizeOf(kept.map((a) => inShape[a])),
    length: sizeOf(reduced.map((a) => inShape[a])),
  };
}

/**
 * The initial value and the step of a reduction `op` over `dtype` values, as WGSL.
 *
 * @example
 * ```ts
 * import { reduction } from "./reduce.ts";
 * if (reduction("sum", "float32").init !== "0.0") throw new Error();
 * ```
 */
export function reduction(op: "sum" | "max", dtype: string): {
  init: string;
  type: string;
  step: (acc: string, v: string) => string;
} {
  const float = dtype === "float32";
  const type = float ? "f32" : "i32";
  if (op === "sum") return { init: float ? "0.0" : "0i", type, step: (acc, v) => `${acc} = ${acc} + ${v};` };
  return {
    init: float ? "f32_bits(0xff800000u)" : "bitcast<i32>(0x80000000u)",
    type,
    step: float
      ? (acc, v) => `if (takes_max(${acc}, ${v})) { ${acc} = ${v}; }`
      : (acc, v) => `if (${v} > ${acc}) { ${acc} = ${v}; }`,
  };
}

/**
 * The dispatch of a reduction kernel reading `inputs` (one per `k.inputs`) and writing `out`.
 *
 * @example
 * ```ts
 * import { tensor, trace } from "../../mod.ts";
 * import { fuse, type ReduceKernel } from "../passes/fuse.ts";
 * import { reduceDispatches } from "./reduce.ts";
 * import { WebGpuBuffer } from "./wgsl.ts";
 * const k = fuse(trace((x) => x.exp().sum(1), tensor([[1, 2]]))).kernels[0] as ReduceKernel;
 * const none = new WebGpuBuffer(undefined as unknown as GPUBuffer, 0);
 * if (reduceDispatches(k, [none], none).length !== 1) throw new Error();
 * ```
 */
export function reduceDispatches(
  k: ReduceKernel,
  inputs: readonly WebGpuBuffer[],
  out: WebGpuBuffer,
): Dispatch[] {
  const { kept, reduced, outputs, length } = reductionAxes(k.inShape, k.axes);
  if (outputs === 0) return [];
  const { init, type, step } = reduction(k.op, k.output.dtype);
  const keptIndex = indicesOf("o", kept.map((a) => k.inShape[a]), "q");
  const reducedIndex = indicesOf("r", reduced.map((a) => k.inShape[a]), "p");
  // Every input axis by name: kept ones from the output index, reduced ones from the position in the reduction.
  const axisNames = k.inShape.map((_, a) =>
    kept.includes(a) ? keptIndex.names[kept.indexOf(a)] : reducedIndex.names[reduced.indexOf(a)]
  );
  const { code, value } = emitExpr(k.prologue as Expr, { indices: axisNames });
  const accumulate = (acc: string) =>
    `${reducedIndex.code}
      ${code}
      ${step(acc, value)}`;
  if (length < SHORT) {
    return single(
      outputs,
      `let o = i;
  ${keptIndex.code}
  var acc = ${init};
  for (var r = 0u; r < ${u32Literal(length)}; r++) {
    ${accumulate("acc")}
  }
  out[o] = ${word("acc", k.output.dtype)};`,
      inputs,
      out,
    );
  }
  // A kept inner axis: adjacent invocations take adjacent outputs. Otherwise one output per workgroup.
  const innerKept = kept.length > 0 && kept[kept.length - 1] === k.inShape.length - 1;
  const x = innerKept ? Math.min(16, 2 ** Math.ceil(Math.log2(outputs))) : 1;
  const y = TREE / x;
  const groups = Math.ceil(outputs / x);
  const source = `${bindings(inputs.length)}
var<workgroup> partial: array<${type}, ${TREE}>;
@compute @workgroup_size(${TREE})
fn main(@builtin(workgroup_id) group: vec3<u32>, @builtin(local_invocation_index) lane: u32) {
  let tile = group.y * 65535u + group.x;
  let x = lane % ${x}u;
  let y = lane / ${x}u;
  let o = min(tile * ${x}u + x, ${u32Literal(outputs - 1)});
  ${keptIndex.code}
  var acc = ${init};
  for (var r = y; r < ${u32Literal(length)}; r += ${y}u) {
    ${accumulate("acc")}
  }
  partial[lane] = acc;
  workgroupBarrier();
${treeSteps(y, x, step)}
  if (y == 0u && tile * ${x}u + x < ${u32Literal(outputs)}) {
    out[o] = ${word("partial[x]", k.output.dtype)};
  }
}
`;
  return [{ source, out, inputs, groups: spread(groups) }];
}

/**
 * Unrolled halving steps that combine `partial[y * x + lane_x]` over y (a power of two) into y = 0.
 *
 * @example
 * ```ts
 * import { treeSteps } from "./reduce.ts";
 * if (!treeSteps(4, 1, (a, v) => `${a} = ${a} + ${v};`).includes("if (y < 2u)")) throw new Error();
 * ```
 */
export function treeSteps(
  y: number,
  x: number,
  step: (acc: string, v: string) => string,
  partial = "partial",
): string {
  const lines: string[] = [];
  for (let half = y / 2; half >= 1; half /= 2) {
    lines.push(`  if (y < ${half}u) {
    var a = ${partial}[lane];
    let v = ${partial}[lane + ${half * x}u];
    ${step("a", "v")}
    ${partial}[lane] = a;
  }
  workgroupBarrier();`);
  }
  return lines.join("\n");
}
