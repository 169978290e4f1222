/**
 * WGSL building blocks shared by every WebGPU kernel: the buffer wrapper, the dispatch record, literals,
 * loads and stores of 32-bit words, index arithmetic, the helper functions shaders may call, and the shader
 * skeleton of one invocation per output element.
 * @module
 */
import type { DType, Shape } from "../../dsl/ir/mod.ts";

/** Invocations per workgroup of the one-per-element skeleton; workgroups spread over x and y. */
export const GROUP = 64;
/** The most workgroups along one dimension of a dispatch. */
export const MAX_GROUPS = 65535;

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

/**
 * One dispatch: a shader, the buffer it writes, the buffers it reads, and its workgroup counts.
 *
 * @example
 * ```ts
 * import { type Dispatch, elementwiseShader, WebGpuBuffer } from "./wgsl.ts";
 * const none = new WebGpuBuffer(undefined as unknown as GPUBuffer, 0);
 * const d: Dispatch = { source: elementwiseShader(0, 4, "out[i] = 0u;"), out: none, inputs: [], groups: [1, 1, 1] };
 * if (d.groups[0] !== 1) throw new Error();
 * ```
 */
export interface Dispatch {
  /** The WGSL source (its bindings: `out`, then `in0`, `in1`, ... in the order of `inputs`). */
  readonly source: string;
  /** The buffer written. */
  readonly out: WebGpuBuffer;
  /** The buffers read. */
  readonly inputs: readonly WebGpuBuffer[];
  /** Workgroups along x, y and z. */
  readonly groups: readonly [number, number, number];
}

/**
 * What a kernel's lowering may ask of the backend: scratch buffers that live as long as the compiled graph
 * (split-K partial sums, say).
 *
 * @example
 * ```ts
 * import { type KernelContext, WebGpuBuffer } from "./wgsl.ts";
 * const ctx: KernelContext = { scratch: (words) => new WebGpuBuffer(undefined as unknown as GPUBuffer, words) };
 * if (ctx.scratch(4).words !== 4) throw new Error();
 * ```
 */
export interface KernelContext {
  /** A buffer of `words` words for this kernel alone. */
  scratch(words: number): WebGpuBuffer;
}

/**
 * `n` as a WGSL u32 literal.
 *
 * @example
 * ```ts
 * import { u32Literal } from "./wgsl.ts";
 * if (u32Literal(3) !== "3u") throw new Error();
 * ```
 */
export const u32Literal = (n: number): string => `${n >>> 0}u`;

/**
 * The 32-bit word of a host value stored as `dtype`, as a typed array of the reference would store it (an
 * int32 truncates and wraps, NaN and infinities becoming 0; a bool is 1 for any non-zero value).
 *
 * @example
 * ```ts
 * import { wordOf } from "./wgsl.ts";
 * if (wordOf(1, "float32") !== 0x3f800000 || wordOf(-1, "int32") !== 0xffffffff) throw new Error();
 * ```
 */
export function wordOf(value: number, dtype: DType): number {
  if (dtype === "float32") return new Uint32Array(new Float32Array([value]).buffer)[0];
  if (dtype === "bool") return value !== 0 ? 1 : 0;
  return value >>> 0;
}

/**
 * A typed WGSL expression for element `index` of binding `name` holding `dtype`.
 *
 * @example
 * ```ts
 * import { load } from "./wgsl.ts";
 * if (load("in0", "i", "float32") !== "bitcast<f32>(in0[i])") throw new Error();
 * ```
 */
export function load(name: string, index: string, dtype: DType): string {
  if (dtype === "float32") return `bitcast<f32>(${name}[${index}])`;
  if (dtype === "int32") return `bitcast<i32>(${name}[${index}])`;
  return `(${name}[${index}] != 0u)`;
}

/**
 * The word to store for the typed WGSL expression `value` of `dtype`.
 *
 * @example
 * ```ts
 * import { word } from "./wgsl.ts";
 * if (word("x", "bool") !== "select(0u, 1u, x)") throw new Error();
 * ```
 */
export function word(value: string, dtype: DType): string {
  return dtype === "bool" ? `select(0u, 1u, ${value})` : `bitcast<u32>(${value})`;
}

/**
 * A WGSL literal of `value` stored as `dtype` (float32 through its bits, so NaN, ±Infinity and -0 survive;
 * non-finite ones through `f32_bits`, which Chromium does not fold).
 *
 * @example
 * ```ts
 * import { literal } from "./wgsl.ts";
 * if (literal(Infinity, "float32") !== "f32_bits(2139095040u)") throw new Error();
 * ```
 */
export function literal(value: number, dtype: DType): string {
  if (dtype === "bool") return value !== 0 ? "true" : "false";
  const bits = u32Literal(wordOf(value, dtype));
  if (dtype !== "float32") return `bitcast<i32>(${bits})`;
  return Number.isFinite(Math.fround(value)) ? `bitcast<f32>(${bits})` : `f32_bits(${bits})`;
}

/**
 * Statements that split the flat index `flat` into the u32 indices `${prefix}0..` of `shape` (row-major);
 * returns them and the index names.
 *
 * @example
 * ```ts
 * import { unflatten } from "./wgsl.ts";
 * const { names } = unflatten("i", [2, 3], "q");
 * if (names.join() !== "q0,q1") throw new Error();
 * ```
 */
export function unflatten(flat: string, shape: Shape, prefix: string): { code: string; names: string[] } {
  const names = shape.map((_, a) => `${prefix}${a}`);
  if (shape.length === 0) return { code: "", names };
  const lines = [`var ${prefix}rest = ${flat};`];
  for (let a = shape.length - 1; a >= 0; a--) {
    lines.push(`let ${names[a]} = ${prefix}rest % ${u32Literal(shape[a])};`);
    if (a > 0) lines.push(`${prefix}rest = ${prefix}rest / ${u32Literal(shape[a])};`);
  }
  return { code: lines.join("\n  "), names };
}

/**
 * Splits the u32 expression `flat` into i32 indices `${prefix}0..` of `shape` (row-major); returns the code
 * and the names.
 *
 * @example
 * ```ts
 * import { indicesOf } from "./wgsl.ts";
 * if (indicesOf("i", [4], "q").names.join() !== "q0") throw new Error();
 * ```
 */
export function indicesOf(flat: string, shape: Shape, prefix: string): { code: string; names: string[] } {
  const { code, names } = unflatten(flat, shape, `${prefix}u`);
  const signed = names.map((_, a) => `${prefix}${a}`);
  const casts = names.map((u, a) => `let ${signed[a]} = i32(${u});`);
  return { code: [code, ...casts].filter(Boolean).join("\n  "), names: signed };
}

/**
 * `Σ names[a] * strides[a] (+ base)` as a u32 expression (terms with stride 0 left out).
 *
 * @example
 * ```ts
 * import { offsetExpr } from "./wgsl.ts";
 * if (offsetExpr(["a", "b"], [4, 0], 1) !== "a * 4u + 1u") throw new Error();
 * ```
 */
export function offsetExpr(names: readonly string[], strides: readonly number[], base = 0): string {
  const terms = names.flatMap((n, a) => (strides[a] === 0 ? [] : [`${n} * ${u32Literal(strides[a])}`]));
  if (base !== 0 || terms.length === 0) terms.push(u32Literal(base));
  return terms.join(" + ");
}

/**
 * Helper functions any shader may call (every shader includes them; the compiler drops those unused).
 *
 * @example
 * ```ts
 * import { HELPERS } from "./wgsl.ts";
 * if (!HELPERS.includes("fn f32_bits")) throw new Error();
 * ```
 */
export const HELPERS = `
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
 * The binding declarations of a shader, then the helpers: `out` (read-write; `atomic` for atomic access, 4-word
 * vectors for `vectorOut`), then `in0..` (arrays of words, or of 4-word vectors for the inputs listed in
 * `vectors`).
 *
 * @example
 * ```ts
 * import { bindings } from "./wgsl.ts";
 * if (!bindings(1).includes("var<storage, read> in0: array<u32>;")) throw new Error();
 * if (!bindings(1, { vectors: [0] }).includes("in0: array<vec4<u32>>;")) throw new Error();
 * if (!bindings(0, { vectorOut: true }).includes("out: array<vec4<u32>>;")) throw new Error();
 * ```
 */
export function bindings(
  inputs: number,
  options: {
    readonly atomic?: boolean;
    readonly vectors?: readonly number[];
    readonly vectorOut?: boolean;
  } = {},
): string {
  const outType = options.atomic ? "atomic<u32>" : options.vectorOut ? "vec4<u32>" : "u32";
  return [
    `@group(0) @binding(0) var<storage, read_write> out: array<${outType}>;`,
    ...Array.from({ length: inputs }, (_, k) => {
      const type = options.vectors?.includes(k) ? "vec4<u32>" : "u32";
      return `@group(0) @binding(${k + 1}) var<storage, read> in${k}: array<${type}>;`;
    }),
  ].join("\n") + `\n${HELPERS}`;
}

/**
 * Workgroup counts for `groups` workgroups, spread over x and y (at most 65,535 along each).
 *
 * @example
 * ```ts
 * import { spread } from "./wgsl.ts";
 * if (spread(70000).join() !== "65535,2,1") throw new Error();
 * ```
 */
export function spread(groups: number): [number, number, number] {
  return [Math.min(groups, MAX_GROUPS), Math.ceil(groups / MAX_GROUPS), 1];
}

/**
 * A whole shader of one invocation per element: `out` then `in0..` bindings, `body` run with the element's
 * flat index `i` for each of `count` elements; `extra` holds functions only some bodies need.
 *
 * @example
 * ```ts
 * import { elementwiseShader } from "./wgsl.ts";
 * if (!elementwiseShader(1, 10, "out[i] = in0[i];").includes("if (i >= 10u) { return; }")) throw new Error();
 * ```
 */
export function elementwiseShader(inputs: number, count: number, body: string, extra = ""): string {
  return `${bindings(inputs)}${extra}
@compute @workgroup_size(${GROUP})
fn main(@builtin(workgroup_id) group: vec3<u32>, @builtin(local_invocation_index) lane: u32) {
  let i = (group.y * ${u32Literal(MAX_GROUPS)} + group.x) * ${u32Literal(GROUP)} + lane;
  if (i >= ${u32Literal(count)}) { return; }
  ${body}
}
`;
}

/**
 * One dispatch of `body` over `count` elements (none when `count` is 0).
 *
 * @example
 * ```ts
 * import { single, WebGpuBuffer } from "./wgsl.ts";
 * const none = new WebGpuBuffer(undefined as unknown as GPUBuffer, 0);
 * if (single(0, "", [], none).length !== 0) throw new Error();
 * ```
 */
export function single(
  count: number,
  body: string,
  inputs: readonly WebGpuBuffer[],
  out: WebGpuBuffer,
  extra = "",
): Dispatch[] {
  if (count === 0) return [];
  return [{
    source: elementwiseShader(inputs.length, count, body, extra),
    out,
    inputs,
    groups: spread(Math.ceil(count / GROUP)),
  }];
}
