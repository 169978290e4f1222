/**
 * The WebGPU lowering table, `WEBGPU_LOWERING`: one entry per primitive, typed over `PrimName`. Elementwise
 * primitives are WGSL expressions (fused kernels inline them); index maps, reductions, matmuls and
 * scatter-adds are marked as fused (the kernels of `fuse.ts` compute them); the rest are standalone
 * dispatches (gather, concat, first occurrences, random bits).
 * @module
 */
import {
  type DType,
  type ElementwisePrim,
  type Eqn,
  type PrimName,
  type PrimParams,
  sizeOf,
  stridesOf,
} from "../../dsl/ir/mod.ts";
import {
  type Dispatch,
  elementwiseShader,
  GROUP,
  offsetExpr,
  single,
  spread,
  u32Literal,
  unflatten,
  type WebGpuBuffer,
} from "./wgsl.ts";

/**
 * The WGSL lowering of elementwise primitive `P`: an expression of its operands' WGSL (`argDType`: the
 * first operand's dtype; `outDType`: the result's).
 *
 * @example
 * ```ts
 * import { WEBGPU_LOWERING } from "./lowering.ts";
 * if (WEBGPU_LOWERING.add.wgsl(["a", "b"], "float32", "float32", {}) !== "a + b") throw new Error();
 * ```
 */
export interface WgslElementwise<P extends ElementwisePrim> {
  /** The expression computing one element. */
  wgsl(args: readonly string[], argDType: DType, outDType: DType, params: PrimParams<P>): string;
}

/**
 * The WebGPU lowering of a non-elementwise primitive: folded into fused kernels' shaders, or its own
 * dispatches.
 *
 * @example
 * ```ts
 * import { WEBGPU_LOWERING } from "./lowering.ts";
 * if (!("fused" in WEBGPU_LOWERING.reshape) || WEBGPU_LOWERING.reshape.fused !== "index") throw new Error();
 * ```
 */
export type WgslKernel<P extends PrimName> =
  | { readonly fused: "index" | "reduce" | "matmul" | "scatter" }
  | { readonly kernel: (e: Eqn<P>, inputs: readonly WebGpuBuffer[], out: WebGpuBuffer) => Dispatch[] };

/**
 * The WebGPU lowering of primitive `P`.
 *
 * @example
 * ```ts
 * import type { WebGpuLowering } from "./lowering.ts";
 * const neg: WebGpuLowering<"neg"> = { wgsl: ([x]) => `-${x}` };
 * if (neg.wgsl(["y"], "float32", "float32", {}) !== "-y") throw new Error();
 * ```
 */
export type WebGpuLowering<P extends PrimName> = P extends ElementwisePrim ? WgslElementwise<P>
  : WgslKernel<P>;

const call = (f: string) => ({ wgsl: ([x]: readonly string[]) => `${f}(${x})` });

/**
 * The WebGPU lowering of every primitive, typed over `PrimName`: a primitive without one fails `deno check`.
 *
 * @example
 * ```ts
 * import { WEBGPU_LOWERING } from "./lowering.ts";
 * if (WEBGPU_LOWERING.exp.wgsl(["x"], "float32", "float32", {}) !== "exp(x)") throw new Error();
 * if (!("kernel" in WEBGPU_LOWERING.gather)) throw new Error();
 * ```
 */
export const WEBGPU_LOWERING: { readonly [P in PrimName]: WebGpuLowering<P> } = {
  neg: { wgsl: ([x]) => `-${x}` },
  exp: call("exp"),
  log: call("log"),
  sqrt: call("sqrt"),
  recip: { wgsl: ([x]) => `1.0 / ${x}` },
  sin: call("sin"),
  cos: call("cos"),
  tanh: call("tanh_f32"),
  stop_gradient: { wgsl: ([x]) => x },
  cast: { wgsl: ([x], from, to) => castExpr(x, from, to) },
  add: { wgsl: ([a, b]) => `${a} + ${b}` },
  mul: { wgsl: ([a, b]) => `${a} * ${b}` },
  max: { wgsl: ([a, b], t) => (t === "float32" ? `max_f32(${a}, ${b})` : `select(${b}, ${a}, ${a} > ${b})`) },
  pow: { wgsl: ([a, b]) => `pow_f32(${a}, ${b})` },
  less: { wgsl: ([a, b]) => `${a} < ${b}` },
  equal: { wgsl: ([a, b]) => `${a} == ${b}` },
  where: { wgsl: ([c, a, b]) => `select(${b}, ${a}, ${c})` },
  reduce_sum: { fused: "reduce" },
  reduce_max: { fused: "reduce" },
  reshape: { fused: "index" },
  transpose: { fused: "index" },
  broadcast: { fused: "index" },
  slice: { fused: "index" },
  pad: { fused: "index" },
  concat: { kernel: concatDispatches },
  matmul: { fused: "matmul" },
  gather: { kernel: gatherDispatches },
  scatter_add: { fused: "scatter" },
  first_occurrence: { kernel: firstOccurrenceDispatches },
  full: { fused: "index" },
  iota: { fused: "index" },
  random_bits: { kernel: randomBitsDispatches },
};

/** `x` of dtype `from` as dtype `to`, as the reference casts. */
function castExpr(x: string, from: DType, to: DType): string {
  if (from === to) return x;
  if (to === "bool") return from === "float32" ? `(${x} != 0.0)` : `(${x} != 0i)`;
  if (to === "int32") return from === "float32" ? `f32_to_i32(${x})` : `select(0i, 1i, ${x})`;
  return from === "int32" ? `f32(${x})` : `select(0.0, 1.0, ${x})`;
}

function gatherDispatches(e: Eqn<"gather">, inputs: readonly WebGpuBuffer[], out: WebGpuBuffer): Dispatch[] {
  const rows = e.inputs[0].shape[0];
  const rowSize = sizeOf(e.inputs[0].shape.slice(1));
  return single(
    sizeOf(e.out.shape),
    `
  let slot = i / ${u32Literal(rowSize)};
  let j = i % ${u32Literal(rowSize)};
  let row = bitcast<i32>(in1[slot]);
  if (row < 0i || row >= ${rows}i) { out[i] = 0u; return; }
  out[i] = in0[u32(row) * ${u32Literal(rowSize)} + j];`,
    inputs,
    out,
  );
}

function firstOccurrenceDispatches(
  e: Eqn<"first_occurrence">,
  inputs: readonly WebGpuBuffer[],
  out: WebGpuBuffer,
): Dispatch[] {
  return single(
    sizeOf(e.out.shape),
    `
  let value = in0[i];
  var first = i;
  for (var k = 0u; k < i; k++) {
    if (in0[k] == value) { first = k; break; }
  }
  out[i] = first;`,
    inputs,
    out,
  );
}

function randomBitsDispatches(
  e: Eqn<"random_bits">,
  inputs: readonly WebGpuBuffer[],
  out: WebGpuBuffer,
): Dispatch[] {
  const body = `out[i] = threefry(in0[0], in0[1], ${u32Literal(e.params.stream)}, i);`;
  return single(sizeOf(e.out.shape), body, inputs, out, THREEFRY);
}

/** One dispatch per part, each writing its slab of the output. */
function concatDispatches(
  eqn: Eqn<"concat">,
  inputs: readonly WebGpuBuffer[],
  out: WebGpuBuffer,
): Dispatch[] {
  const axis = eqn.params.axis;
  const outStrides = stridesOf(eqn.out.shape);
  let start = 0;
  const dispatches: Dispatch[] = [];
  eqn.inputs.forEach((part, p) => {
    const count = sizeOf(part.shape);
    const { code, names } = unflatten("i", part.shape, "q");
    const target = offsetExpr(names, outStrides, start * outStrides[axis]);
    if (count > 0) {
      dispatches.push({
        source: elementwiseShader(1, count, `${code}\n  out[${target}] = in0[i];`),
        out,
        inputs: [inputs[p]],
        groups: spread(Math.ceil(count / GROUP)),
      });
    }
    start += part.shape[axis];
  });
  return dispatches;
}

/** Threefry-2x32 with 20 rounds, word for word as `kernels/reference/threefry.ts`. */
const THREEFRY = `
fn rotl(x: u32, r: u32) -> u32 { return (x << r) | (x >> (32u - r)); }
fn threefry(k0: u32, k1: u32, c0: u32, c1: u32) -> u32 {
  let ks = array<u32, 3>(k0, k1, k0 ^ k1 ^ 0x1bd11bdau);
  let rotations = array<u32, 8>(13u, 15u, 26u, 6u, 17u, 29u, 16u, 24u);
  var x0 = c0 + ks[0];
  var x1 = c1 + ks[1];
  for (var group = 0u; group < 5u; group++) {
    for (var r = 0u; r < 4u; r++) {
      x0 = x0 + x1;
      x1 = rotl(x1, rotations[(group % 2u) * 4u + r]);
      x1 = x1 ^ x0;
    }
    x0 = x0 + ks[(group + 1u) % 3u];
    x1 = x1 + ks[(group + 2u) % 3u] + group + 1u;
  }
  return x0;
}`;
