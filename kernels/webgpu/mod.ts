/**
 * The WebGPU backend: graphs compiled to WGSL compute shaders, generated for their shapes and cached by
 * their source; each primitive's lowering is in `WEBGPU_LOWERING`. It runs where `navigator.gpu` exists: browsers with WebGPU, and Deno (2.9 has it
 * without a flag, older versions with `--unstable-webgpu`; on a machine without a GPU, through a software
 * driver such as Mesa's lavapipe).
 *
 * `jit` compiles a graph with the passes the CPU backend uses (simplification, then fusion): each fused
 * kernel (an elementwise chain with the movement ops inside it, a reduction with the chain feeding it, a
 * matmul reading transposed operands in place, a scatter-add computing its updates) is one shader, and a
 * call submits all of them at once. Eager ops compile one-equation graphs the same way. What it is today: correct, not
 * yet fast: reductions and matmuls are one invocation per output element (no tiling, no shared memory), no
 * buffer reuse between calls, and reads are asynchronous only (`await t.data()`, no `dataSync()`). Tensors
 * are 32-bit words on the device: float32 and int32 as their bits, bool as 0/1.
 *
 * Differences from the reference backend (the oracle it is tested against): float32 sums and dot products
 * accumulate in float32 (the reference rounds a float64 sum once), `exp`/`log`/`sin`/`cos`/`tanh`/`pow` are
 * the device's (within a few ulp), gather and scatter-add skip indices out of range instead of throwing, and
 * NaN handling follows the device (WGSL lets implementations assume that no NaN occurs), except in `max` and
 * max reductions, which test NaN on the bits.
 * @module
 */
import {
  allocHost,
  type Backend,
  type CompileReport,
  type DeviceBuffer,
  type DType,
  type ElementwisePrim,
  type Eqn,
  type Executable,
  type Graph,
  type HostArray,
  type PrimName,
  type PrimParams,
  type Shape,
  sizeOf,
  stridesOf,
  type Var,
} from "../../dsl/ir/mod.ts";
import {
  type Affine,
  type ElementwiseKernel,
  type Expr,
  fuse,
  type Kernel,
  type MatmulKernel,
  type OpaqueKernel,
  type ReduceKernel,
  type ScatterKernel,
} from "../passes/fuse.ts";
import { reportProgram } from "../passes/report.ts";
import { optimize } from "../passes/simplify.ts";

/** Invocations per workgroup; a dispatch spreads its workgroups over x and y (at most 65,535 each). */
const GROUP = 64;
const MAX_GROUPS = 65535;

/**
 * A tensor's storage on the device: `words` 32-bit words (float32 and int32 as their bits, bool as 0/1).
 *
 * @example
 * ```ts
 * import { createWebGpuBackend, WebGpuBuffer } from "./mod.ts";
 * const backend = await createWebGpuBackend().catch(() => undefined); // undefined where there is no adapter
 * if (backend) {
 *   const buffer = backend.fromHost(new Uint8Array([1, 0, 1]), [3], "bool") as WebGpuBuffer;
 *   if (buffer.words !== 3) throw new Error(); // a bool takes a word on the device
 * }
 * ```
 */
export class WebGpuBuffer {
  /** Wraps `buffer`, which holds `words` words (its byte size may be larger). */
  constructor(readonly buffer: GPUBuffer, readonly words: number) {}
}

/** One dispatch: a shader, the buffer it writes, the buffers it reads, and how many invocations it needs. */
interface Dispatch {
  /** The WGSL source (its bindings: `out`, then `in0`, `in1`, ... in the order of `inputs`). */
  source: string;
  /** The buffer written. */
  out: WebGpuBuffer;
  /** The buffers read. */
  inputs: readonly WebGpuBuffer[];
  /** Invocations (the shader returns early past `count`). */
  count: number;
}

// ---------------------------------------------------------------------------------------------------------
// WGSL generation

const u32Literal = (n: number) => `${n >>> 0}u`;

/**
 * The 32-bit word of a host value stored as `dtype`, as a typed array of the reference would store it (an
 * int32 truncates and wraps, NaN and infinities becoming 0; a bool is 1 for any non-zero value).
 */
function wordOf(value: number, dtype: DType): number {
  if (dtype === "float32") return new Uint32Array(new Float32Array([value]).buffer)[0];
  if (dtype === "bool") return value !== 0 ? 1 : 0;
  return value >>> 0;
}

/** A typed WGSL expression for element `index` of binding `name` holding `dtype`. */
function load(name: string, index: string, dtype: DType): string {
  if (dtype === "float32") return `bitcast<f32>(${name}[${index}])`;
  if (dtype === "int32") return `bitcast<i32>(${name}[${index}])`;
  return `(${name}[${index}] != 0u)`;
}

/** The word to store for the typed WGSL expression `value` of `dtype`. */
function word(value: string, dtype: DType): string {
  return dtype === "bool" ? `select(0u, 1u, ${value})` : `bitcast<u32>(${value})`;
}

/**
 * Statements that split the flat index `flat` into the indices `${prefix}0..` of `shape` (row-major), as
 * u32 lets; returns them and the index names.
 */
function unflatten(flat: string, shape: Shape, prefix: string): { code: string; names: string[] } {
  const names = shape.map((_, a) => `${prefix}${a}`);
  if (shape.length === 0) return { code: "", names };
  const lines = [`var ${prefix}rest = ${flat};`];
  for (let a = shape.length - 1; a >= 0; a--) {
    lines.push(`let ${names[a]} = ${prefix}rest % ${u32Literal(shape[a])};`);
    if (a > 0) lines.push(`${prefix}rest = ${prefix}rest / ${u32Literal(shape[a])};`);
  }
  return { code: lines.join("\n  "), names };
}

/** `Σ names[a] * strides[a] (+ base)` as a u32 expression (terms with stride 0 left out). */
function offsetExpr(names: readonly string[], strides: readonly number[], base = 0): string {
  const terms = names.flatMap((n, a) => (strides[a] === 0 ? [] : [`${n} * ${u32Literal(strides[a])}`]));
  if (base !== 0 || terms.length === 0) terms.push(u32Literal(base));
  return terms.join(" + ");
}

/** Helper functions a body may call. */
const HELPERS = `
// A float from its bits, through a function parameter: Chromium's WGSL compiler folds a bitcast of a constant
// and rejects the shader when the value is NaN or infinite ("value nan cannot be represented as 'f32'").
fn f32_bits(bits: u32) -> f32 { return bitcast<f32>(bits); }
fn nan_f32() -> f32 { return f32_bits(0x7fc00000u); }
fn inf_f32() -> f32 { return f32_bits(0x7f800000u); }
fn is_nan(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u; }
fn is_finite(x: f32) -> bool { return (bitcast<u32>(x) & 0x7f800000u) != 0x7f800000u; }
// float32 to int32 as the reference casts: truncate, wrap modulo 2^32, non-finite to 0.
fn f32_to_i32(x: f32) -> i32 {
  if (!is_finite(x)) { return 0i; }
  let t = trunc(x);
  if (abs(t) < 2147483648.0) { return i32(t); }
  let wrapped = t - floor(t / 4294967296.0) * 4294967296.0;
  return bitcast<i32>(u32(wrapped));
}
// A max reduction's step: IEEE 754's maximum (NaN wins and stays, +0 beats -0), as the reference.
fn takes_max(acc: f32, v: f32) -> bool {
  if (is_nan(acc)) { return false; }
  return is_nan(v) || v > acc || (v == 0.0 && acc == 0.0 && bitcast<u32>(acc) == 0x80000000u);
}
fn max_f32(a: f32, b: f32) -> f32 {
  if (is_nan(a) || is_nan(b)) { return nan_f32(); }
  return select(b, a, a > b);
}
fn tanh_f32(x: f32) -> f32 {
  // tanh(x) = 1 - 2 / (e^(2x) + 1), exact to float32 beyond |x| = 9 (and no e^(2x) overflow there).
  if (abs(x) > 9.0) { return sign(x); }
  if (abs(x) < 0.0005) { return x; }
  return 1.0 - 2.0 / (exp(2.0 * x) + 1.0);
}
// Math.pow's cases that WGSL's pow leaves undefined: x <= 0, and y = 0.
fn pow_f32(x: f32, y: f32) -> f32 {
  if (y == 0.0) { return 1.0; }
  if (is_nan(x) || is_nan(y)) { return nan_f32(); }
  if (x == 0.0) { return select(0.0, inf_f32(), y < 0.0); }
  if (x < 0.0) {
    if (floor(y) != y) { return nan_f32(); }
    let magnitude = exp2(y * log2(-x));
    let odd = abs(y) < 16777216.0 && (i32(abs(y)) & 1i) == 1i;
    return select(magnitude, -magnitude, odd);
  }
  return exp2(y * log2(x));
}
`;

/**
 * A whole shader: `out` then `in0..` bindings, one invocation per `count` element, `body` run with `i`;
 * `extra` holds functions only some bodies need.
 */
function shader(inputs: number, count: number, body: string, extra = ""): string {
  const bindings = [
    `@group(0) @binding(0) var<storage, read_write> out: array<u32>;`,
    ...Array.from(
      { length: inputs },
      (_, k) => `@group(0) @binding(${k + 1}) var<storage, read> in${k}: array<u32>;`,
    ),
  ];
  return `${bindings.join("\n")}
${HELPERS}${extra}
@compute @workgroup_size(${GROUP})
fn main(@builtin(workgroup_id) group: vec3<u32>, @builtin(local_invocation_index) lane: u32) {
  let i = (group.y * ${u32Literal(MAX_GROUPS)} + group.x) * ${u32Literal(GROUP)} + lane;
  if (i >= ${u32Literal(count)}) { return; }
  ${body}
}
`;
}

/**
 * The WGSL lowering of elementwise primitive `P`: an expression of its operands' WGSL (`argDType`: the
 * first operand's dtype; `outDType`: the result's).
 *
 * @example
 * ```ts
 * import { WEBGPU_LOWERING } from "./mod.ts";
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
 * import { WEBGPU_LOWERING } from "./mod.ts";
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
 * import type { WebGpuLowering } from "./mod.ts";
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
 * import { WEBGPU_LOWERING } from "./mod.ts";
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

function castExpr(x: string, from: DType, to: DType): string {
  if (from === to) return x;
  if (to === "bool") return from === "float32" ? `(${x} != 0.0)` : `(${x} != 0i)`;
  if (to === "int32") return from === "float32" ? `f32_to_i32(${x})` : `select(0i, 1i, ${x})`;
  return from === "int32" ? `f32(${x})` : `select(0.0, 1.0, ${x})`;
}

/** One dispatch of `body` over the `count` elements of `out`, reading `inputs`. */
function single(
  count: number,
  body: string,
  inputs: readonly WebGpuBuffer[],
  out: WebGpuBuffer,
  extra = "",
): Dispatch[] {
  return count === 0 ? [] : [{ source: shader(inputs.length, count, body, extra), out, inputs, count }];
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
        source: shader(1, count, `${code}\n  out[${target}] = in0[i];`),
        out,
        inputs: [inputs[p]],
        count,
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

// ---------------------------------------------------------------------------------------------------------
// Fused kernels (from the shared fusion pass): one shader per kernel

/** Splits `flat` into i32 indices `${prefix}0..` of `shape` (row-major); returns the code and the names. */
function indicesOf(flat: string, shape: Shape, prefix: string): { code: string; names: string[] } {
  const { code, names } = unflatten(flat, shape, `${prefix}u`);
  const signed = names.map((_, a) => `${prefix}${a}`);
  const casts = names.map((u, a) => `let ${signed[a]} = i32(${u});`);
  return { code: [code, ...casts].filter(Boolean).join("\n  "), names: signed };
}

/**
 * A WGSL literal of `value` stored as `dtype` (float32 through its bits, so NaN, ±Infinity and -0 survive;
 * non-finite ones through `f32_bits`, which Chromium does not fold).
 */
function literal(value: number, dtype: DType): string {
  if (dtype === "bool") return value !== 0 ? "true" : "false";
  const bits = u32Literal(wordOf(value, dtype));
  if (dtype !== "float32") return `bitcast<i32>(${bits})`;
  return Number.isFinite(Math.fround(value)) ? `bitcast<f32>(${bits})` : `f32_bits(${bits})`;
}

/** Emits a fused expression as WGSL `let`s, one per node, shared nodes once. */
class ExprEmitter {
  readonly lines: string[] = [];
  private readonly names = new Map<Expr, string>();

  /** `indices` are the i32 names of the iteration axes the affine forms' coefficients refer to. */
  constructor(private readonly indices: readonly string[]) {}

  private affine(a: Affine): string {
    const terms = a.coeffs.flatMap((c, d) => (c === 0 ? [] : [`${this.indices[d]} * ${c}i`]));
    return `(${[`${a.offset}i`, ...terms].join(" + ")})`;
  }

  emit(e: Expr): string {
    const known = this.names.get(e);
    if (known) return known;
    let code: string;
    switch (e.kind) {
      case "const":
        return literal(e.value, e.dtype);
      case "load":
        code = load(`in${e.input}`, `u32(${this.affine(e.at)})`, e.dtype);
        break;
      case "iota":
        code = e.dtype === "float32" ? `f32(${this.affine(e.at)})` : this.affine(e.at);
        break;
      case "op": {
        const args = e.args.map((a) => this.emit(a));
        const lowering = WEBGPU_LOWERING[e.prim] as WgslElementwise<ElementwisePrim>;
        code = lowering.wgsl(args, e.args[0]?.dtype ?? e.dtype, e.dtype, e.params);
        break;
      }
      case "pad": {
        // Outside, the inner expression reads clamped addresses (WGSL's bounds behaviour); select drops it.
        const inside = this.emit(e.inside);
        const guards = e.guards.map((g) =>
          `(${this.affine(g.at)} >= 0i && ${this.affine(g.at)} < ${g.size}i)`
        );
        code = `select(${literal(e.value, e.dtype)}, ${inside}, ${guards.join(" && ") || "true"})`;
        break;
      }
      case "acc":
        throw new Error("webgpu backend: an accumulator outside a reduction");
    }
    const name = `t${this.names.size}`;
    this.names.set(e, name);
    this.lines.push(`let ${name} = ${code};`);
    return name;
  }
}

/** `expr` evaluated at the iteration index `indices`: its statements and the name of its value. */
function emitExpr(expr: Expr, indices: readonly string[]): { code: string; value: string } {
  const emitter = new ExprEmitter(indices);
  const value = emitter.emit(expr);
  return { code: emitter.lines.join("\n    "), value };
}

function elementwiseDispatch(
  k: ElementwiseKernel,
  inputs: readonly WebGpuBuffer[],
  out: WebGpuBuffer,
): Dispatch[] {
  const n = sizeOf(k.shape);
  if (n === 0) return [];
  const { code, names } = indicesOf("i", k.shape, "q");
  const { code: body, value } = emitExpr(k.expr, names);
  const source = shader(inputs.length, n, `${code}\n    ${body}\n  out[i] = ${word(value, k.output.dtype)};`);
  return [{ source, out, inputs, count: n }];
}

function reduceDispatch(k: ReduceKernel, inputs: readonly WebGpuBuffer[], out: WebGpuBuffer): Dispatch[] {
  const n = sizeOf(k.output.shape);
  if (n === 0) return [];
  const rank = k.inShape.length;
  const kept = Array.from({ length: rank }, (_, a) => a).filter((a) => !k.axes.includes(a));
  const reduced = [...k.axes].sort((p, q) => p - q);
  const { code, names } = indicesOf("i", kept.map((a) => k.inShape[a]), "q");
  // Every input axis by name: kept ones from the output index, reduced ones from the loops (in input order,
  // the reference's order of accumulation).
  const axisNames = Array.from(
    { length: rank },
    (_, a) => kept.includes(a) ? names[kept.indexOf(a)] : `r${reduced.indexOf(a)}`,
  );
  const { code: body, value } = emitExpr(k.prologue, axisNames);
  const dtype = k.output.dtype;
  const float = dtype === "float32";
  const init = k.op === "sum"
    ? (float ? "0.0" : "0i")
    : (float ? "f32_bits(0xff800000u)" : "bitcast<i32>(0x80000000u)");
  const step = k.op === "sum"
    ? `acc = acc + ${value};`
    : float
    ? `if (takes_max(acc, ${value})) { acc = ${value}; }`
    : `if (${value} > acc) { acc = ${value}; }`;
  const loops = reduced.map((a, j) => `for (var r${j} = 0i; r${j} < ${k.inShape[a]}i; r${j}++) {`);
  const source = shader(
    inputs.length,
    n,
    `${code}
  var acc = ${init};
  ${loops.join(" ")}
    ${body}
    ${step}
  ${reduced.map(() => "}").join(" ")}
  out[i] = ${word("acc", dtype)};`,
  );
  return [{ source, out, inputs, count: n }];
}

function matmulDispatch(k: MatmulKernel, inputs: readonly WebGpuBuffer[], out: WebGpuBuffer): Dispatch[] {
  const { batch, m, n, k: depth, transA, transB } = k;
  const count = batch * m * n;
  if (count === 0) return [];
  const a = transA ? `b * ${m * depth}u + p * ${m}u + row` : `b * ${m * depth}u + row * ${depth}u + p`;
  const b = transB ? `b * ${depth * n}u + col * ${depth}u + p` : `b * ${depth * n}u + p * ${n}u + col`;
  const source = shader(
    2,
    count,
    `let col = i % ${n}u;
  let row = (i / ${n}u) % ${m}u;
  let b = i / ${m * n}u;
  var acc = 0.0;
  for (var p = 0u; p < ${depth}u; p++) {
    acc = acc + bitcast<f32>(in0[${a}]) * bitcast<f32>(in1[${b}]);
  }
  out[i] = bitcast<u32>(acc);`,
  );
  return [{ source, out, inputs, count }];
}

/**
 * A copy of the base, then one invocation per element of a row that adds every row's update to it in index
 * order, computing the update from its expression.
 */
function scatterDispatch(k: ScatterKernel, inputs: readonly WebGpuBuffer[], out: WebGpuBuffer): Dispatch[] {
  const base = k.inputs[0];
  const n = sizeOf(base.shape);
  const rows = base.shape[0];
  const rowShape = k.shape.slice(k.rowAxes);
  const rowSize = sizeOf(rowShape);
  const count = sizeOf(k.shape.slice(0, k.rowAxes));
  const dispatches: Dispatch[] = [];
  if (n > 0) {
    dispatches.push({ source: shader(1, n, "out[i] = in0[i];"), out, inputs: [inputs[0]], count: n });
  }
  if (rowSize === 0 || count === 0) return dispatches;
  const rowIndex = indicesOf("t", k.shape.slice(0, k.rowAxes), "s");
  const colIndex = indicesOf("i", rowShape, "q");
  const { code: body, value } = emitExpr(k.updates, [...rowIndex.names, ...colIndex.names]);
  const dtype = k.output.dtype;
  const sum = dtype === "float32"
    ? `bitcast<u32>(bitcast<f32>(out[o]) + ${value})`
    : `bitcast<u32>(bitcast<i32>(out[o]) + ${value})`;
  const source = shader(
    inputs.length,
    rowSize,
    `${colIndex.code}
  for (var t = 0u; t < ${count}u; t++) {
    let row = bitcast<i32>(in1[t]);
    if (row < 0i || row >= ${rows}i) { continue; }
    ${rowIndex.code}
    ${body}
    let o = u32(row) * ${rowSize}u + i;
    out[o] = ${sum};
  }`,
  );
  dispatches.push({ source, out, inputs, count: rowSize });
  return dispatches;
}

/** The dispatches of one fused kernel, reading `inputs` (one per `k.inputs`) and writing `out`. */
function kernelDispatches(k: Kernel, inputs: readonly WebGpuBuffer[], out: WebGpuBuffer): Dispatch[] {
  switch (k.kind) {
    case "elementwise":
      return elementwiseDispatch(k, inputs, out);
    case "reduce":
      return reduceDispatch(k, inputs, out);
    case "matmul":
      return matmulDispatch(k, inputs, out);
    case "scatter":
      return scatterDispatch(k, inputs, out);
    case "opaque":
      return standaloneDispatches(k, inputs, out);
  }
}

/** A primitive that fusion left on its own runs as the dispatches its WebGPU lowering names. */
function standaloneDispatches(
  k: OpaqueKernel,
  inputs: readonly WebGpuBuffer[],
  out: WebGpuBuffer,
): Dispatch[] {
  const lowering = WEBGPU_LOWERING[k.eqn.prim] as WgslKernel<PrimName>;
  if (!("kernel" in lowering)) {
    throw new Error(
      `webgpu backend: fusion left ${k.eqn.prim} on its own, but it lowers as "${lowering.fused}"`,
    );
  }
  return lowering.kernel(k.eqn, inputs, out);
}

// ---------------------------------------------------------------------------------------------------------
// The backend

/**
 * Creates the WebGPU backend on the first adapter `navigator.gpu` offers, or throws an error that says how
 * to get one.
 *
 * @example
 * ```ts
 * import { createWebGpuBackend } from "./mod.ts";
 * import { trace } from "../../mod.ts";
 * const backend = await createWebGpuBackend().catch((e: Error) => e.message);
 * if (typeof backend !== "string") {
 *   const x = backend.fromHost(new Float32Array([1, 2]), [2], "float32");
 *   const [y] = backend.compile(trace((a) => a.mul(a), { shape: [2] })).run([x]);
 *   if ((await backend.read(y, [2], "float32")).join() !== "1,4") throw new Error();
 * } else if (!backend.includes("webgpu backend")) throw new Error(backend);
 * ```
 */
export async function createWebGpuBackend(): Promise<Backend> {
  const gpu = (globalThis.navigator as Navigator | undefined)?.gpu;
  if (!gpu) {
    throw new Error(
      "webgpu backend: navigator.gpu is missing; run Deno with --unstable-webgpu (on Linux without a GPU, " +
        "install Mesa's software Vulkan: apt-get install mesa-vulkan-drivers libvulkan1), or use a browser with WebGPU",
    );
  }
  const adapter = await gpu.requestAdapter();
  if (!adapter) {
    throw new Error(
      "webgpu backend: no WebGPU adapter (no GPU or driver found); on Linux without a GPU, install Mesa's " +
        "software Vulkan (apt-get install mesa-vulkan-drivers libvulkan1), or use the cpu backend",
    );
  }
  const device = await adapter.requestDevice({
    requiredLimits: {
      maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize,
      maxBufferSize: adapter.limits.maxBufferSize,
    },
  });
  let failure: string | undefined;
  device.addEventListener("uncapturederror", (event) => {
    failure ??= (event as GPUUncapturedErrorEvent).error.message;
  });
  const pipelines = new Map<string, GPUComputePipeline>();
  const released = new FinalizationRegistry<GPUBuffer>((buffer) => buffer.destroy());
  const maxWords = Math.floor(device.limits.maxStorageBufferBindingSize / 4);
  const maxBindings = device.limits.maxStorageBuffersPerShaderStage;

  const allocate = (words: number, what: () => string): WebGpuBuffer => {
    if (words > maxWords) {
      throw new RangeError(
        `webgpu backend: ${what()} needs ${words * 4} bytes, over this device's ${maxWords * 4}-byte limit ` +
          "for one buffer; use smaller batches or the cpu backend",
      );
    }
    const buffer = device.createBuffer({
      size: Math.max(4, words * 4),
      usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
    });
    const wrapper = new WebGpuBuffer(buffer, words);
    released.register(wrapper, buffer);
    return wrapper;
  };

  // Explicit layouts: "auto" would leave out the bindings a shader happens not to read.
  const layouts = new Map<number, GPUBindGroupLayout>();
  const layoutFor = (inputs: number) => {
    let layout = layouts.get(inputs);
    if (!layout) {
      layout = device.createBindGroupLayout({
        entries: Array.from({ length: inputs + 1 }, (_, binding) => ({
          binding,
          visibility: GPUShaderStage.COMPUTE,
          buffer: { type: binding === 0 ? "storage" : "read-only-storage" } as const,
        })),
      });
      layouts.set(inputs, layout);
    }
    return layout;
  };
  const pipelineFor = (source: string, inputs: number) => {
    let pipeline = pipelines.get(source);
    if (!pipeline) {
      const module = device.createShaderModule({ code: source });
      const layout = device.createPipelineLayout({ bindGroupLayouts: [layoutFor(inputs)] });
      pipeline = device.createComputePipeline({ layout, compute: { module, entryPoint: "main" } });
      pipelines.set(source, pipeline);
    }
    return pipeline;
  };

  const submit = (dispatches: readonly Dispatch[]) => {
    if (dispatches.length === 0) return;
    const encoder = device.createCommandEncoder();
    for (const d of dispatches) {
      const pipeline = pipelineFor(d.source, d.inputs.length);
      const bindGroup = device.createBindGroup({
        layout: layoutFor(d.inputs.length),
        entries: [d.out, ...d.inputs].map((b, binding) => ({ binding, resource: { buffer: b.buffer } })),
      });
      const pass = encoder.beginComputePass();
      pass.setPipeline(pipeline);
      pass.setBindGroup(0, bindGroup);
      const groups = Math.ceil(d.count / GROUP);
      pass.dispatchWorkgroups(Math.min(groups, MAX_GROUPS), Math.ceil(groups / MAX_GROUPS));
      pass.end();
    }
    device.queue.submit([encoder.finish()]);
  };

  return {
    name: "webgpu",
    fromHost(data: HostArray, shape: Shape): DeviceBuffer {
      const words = sizeOf(shape);
      const out = allocate(words, () => `a tensor [${shape.join(", ")}]`);
      if (words > 0) {
        // A copy as words (host data may sit on a SharedArrayBuffer, which writeBuffer does not take).
        const bits = data instanceof Uint8Array
          ? Uint32Array.from(data.subarray(0, words))
          : new Uint32Array(data.slice(0, words).buffer);
        device.queue.writeBuffer(out.buffer, 0, bits);
      }
      return out;
    },
    async read(buffer: DeviceBuffer, shape: Shape, dtype: DType): Promise<HostArray> {
      const source = buffer as WebGpuBuffer;
      const words = sizeOf(shape);
      const host = allocHost(dtype, words);
      if (words === 0) return host;
      const staging = device.createBuffer({
        size: words * 4,
        usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
      });
      const encoder = device.createCommandEncoder();
      encoder.copyBufferToBuffer(source.buffer, 0, staging, 0, words * 4);
      device.queue.submit([encoder.finish()]);
      await staging.mapAsync(GPUMapMode.READ);
      const bits = new Uint32Array(staging.getMappedRange().slice(0));
      staging.unmap();
      staging.destroy();
      if (failure !== undefined) {
        const message = failure;
        failure = undefined;
        throw new Error(`webgpu backend: the device reported an error: ${message}`);
      }
      if (dtype === "bool") host.set(bits);
      else host.set(dtype === "float32" ? new Float32Array(bits.buffer) : new Int32Array(bits.buffer));
      return host;
    },
    explain(graph: Graph): CompileReport {
      const program = fuse(optimize(graph));
      // Shader sources do not depend on the buffers bound to them.
      const unbound = new WebGpuBuffer(undefined as unknown as GPUBuffer, 0);
      return reportProgram("webgpu", program, (k) => ({
        language: "wgsl",
        text: kernelDispatches(k, k.inputs.map(() => unbound), unbound).map((d) => d.source).join("\n\n"),
      }));
    },
    compile(graph: Graph): Executable {
      const simplified = optimize(graph);
      const bound = [...simplified.inputs, ...simplified.captures.map((c) => c.v)];
      // A shader binds its output and every buffer it reads; past the device's limit, every equation is a
      // kernel of its own (reading at most its own operands).
      const fused = fuse(simplified);
      const fits = fused.kernels.every((k) => k.inputs.length + 1 <= maxBindings);
      const program = fits ? fused : fuse(simplified, { isolate: true });
      // Errors name the primitive that makes each result.
      const origin = new Map<Var, string>(simplified.eqns.map((e) => [e.out, e.prim]));
      const steps = program.kernels.map((k) => ({
        inputs: k.inputs,
        output: k.output,
        run: (ins: WebGpuBuffer[], out: WebGpuBuffer) => kernelDispatches(k, ins, out),
      }));
      return {
        run(inputs) {
          const env = new Map<Var, DeviceBuffer>();
          bound.forEach((v, i) => env.set(v, inputs[i]));
          const dispatches: Dispatch[] = [];
          for (const step of steps) {
            const out = allocate(
              sizeOf(step.output.shape),
              () =>
                `${step.output.dtype}[${step.output.shape.join(", ")}], the result of ${
                  origin.get(step.output)
                }`,
            );
            dispatches.push(...step.run(step.inputs.map((v) => env.get(v) as WebGpuBuffer), out));
            env.set(step.output, out);
          }
          submit(dispatches); // one submission for the whole graph, in order
          return simplified.outputs.map((v) => {
            const buffer = env.get(v);
            if (!buffer) throw new Error(`webgpu backend: output ${v.id} was not computed`);
            return buffer;
          });
        },
      };
    },
  };
}
