/**
 * How the CPU backend computes every primitive: one table, typed over `PrimName`, so a primitive without a
 * lowering here fails `deno check`.
 *
 * - An elementwise primitive is a term of a fused loop: JavaScript for one element (`js`), and WebAssembly
 *   SIMD for four lanes (`simd`), or `null` where a kernel using it falls back to the JavaScript loop.
 * - Movement primitives that are index maps, and the constant and iota sources, are affine index arithmetic
 *   inside fused loops (`fused: "index"`); reductions, matmuls and scatter-adds are fused kernels of their
 *   own kind (`"reduce"`, `"sgemm"`, `"scatter"`).
 * - The rest run as standalone kernels (`kernel`).
 * @module
 */
import type { OpExpr } from "../passes/fuse.ts";
import type { DType, ElementwisePrim, PrimName, PrimParams } from "../../dsl/ir/mod.ts";
import {
  concatKernel,
  gatherKernel,
  hostKernel,
  randomBitsKernel,
  type StandaloneKernel,
} from "./standalone.ts";
import { type Code, SIMD, splatF32, splatI32 } from "./wasm.ts";

/**
 * What a SIMD lowering can do while it emits one operation: push its operands and constants, and call the
 * shared polynomial approximations.
 *
 * @example
 * ```ts
 * import type { SimdEmit } from "./lowering.ts";
 * import { SIMD } from "./wasm.ts";
 * const negate = (em: SimdEmit) => {
 *   em.operand(0);
 *   em.code.simd(SIMD.f32x4Neg);
 * };
 * if (typeof negate !== "function") throw new Error();
 * ```
 */
export interface SimdEmit {
  /** The function body being written. */
  readonly code: Code;
  /** Pushes the four lanes of operand `i` (bool operands as all-ones or all-zeros lane masks). */
  operand(i: number): void;
  /** Pushes a v128 constant (held in a local that is set once, before the loops). */
  konst(bytes: Uint8Array): void;
  /** Replaces the four lanes on the stack by e^x (within about 1 ulp). */
  exp(): void;
  /** Replaces the four lanes on the stack by tanh(x). */
  tanh(): void;
  /** Replaces the four lanes on the stack by ln x (within about 1 ulp). */
  log(): void;
}

/**
 * The SIMD lowering of elementwise primitive `P`.
 *
 * @example
 * ```ts
 * import { CPU_LOWERING } from "./lowering.ts";
 * const exp = CPU_LOWERING.exp.simd!;
 * if (!exp.supports("float32") || exp.supports("int32")) throw new Error();
 * ```
 */
export interface SimdLowering<P extends ElementwisePrim> {
  /** Whether four lanes can be computed for operands of `argDType` (the first operand's dtype). */
  supports(argDType: DType): boolean;
  /** Emits the operation, reading its operands through `em`. */
  emit(em: SimdEmit, e: OpExpr<P>): void;
}

/**
 * The lowering of elementwise primitive `P`: a JavaScript expression and, where it vectorises, SIMD code.
 *
 * @example
 * ```ts
 * import { CPU_LOWERING } from "./lowering.ts";
 * if (CPU_LOWERING.add.js(["a", "b"], "int32", {}) !== "((a + b) | 0)") throw new Error();
 * ```
 */
export interface ElementwiseLowering<P extends ElementwisePrim> {
  /** JavaScript for one element from the operands' code (`argDType`: the first operand's dtype). */
  js(args: readonly string[], argDType: DType, params: PrimParams<P>): string;
  /** Four lanes at a time, or `null` where a kernel using it is generated as a JavaScript loop. */
  readonly simd: SimdLowering<P> | null;
}

/**
 * The lowering of a non-elementwise primitive: folded into fused kernels, or a standalone kernel.
 *
 * @example
 * ```ts
 * import { CPU_LOWERING } from "./lowering.ts";
 * if (!("fused" in CPU_LOWERING.matmul) || CPU_LOWERING.matmul.fused !== "sgemm") throw new Error();
 * ```
 */
export type KernelLowering<P extends PrimName> =
  | { readonly fused: "index" | "reduce" | "sgemm" | "scatter" }
  | { readonly kernel: StandaloneKernel<P> };

/**
 * The CPU lowering of primitive `P`.
 *
 * @example
 * ```ts
 * import type { CpuLowering } from "./lowering.ts";
 * const gather: CpuLowering<"gather"> = { kernel: () => () => {} };
 * if (!("kernel" in gather)) throw new Error();
 * ```
 */
export type CpuLowering<P extends PrimName> = P extends ElementwisePrim ? ElementwiseLowering<P>
  : KernelLowering<P>;

const fround = (x: string) => `Math.fround(${x})`;
const isInt = (dtype: DType) => dtype === "int32" || dtype === "bool";

const floats = (dtype: DType) => dtype === "float32";
const numbers = (dtype: DType) => dtype !== "bool";
const any = () => true;

/** A one-instruction SIMD lowering of a unary or binary operation. */
function lanes<P extends ElementwisePrim>(
  supports: (dtype: DType) => boolean,
  opcode: (argDType: DType) => number,
): SimdLowering<P> {
  return {
    supports,
    emit(em, e) {
      e.args.forEach((_, i) => em.operand(i));
      em.code.simd(opcode(e.args[0].dtype));
    },
  };
}

/** A SIMD lowering that applies a shared approximation (exp, tanh, log) to the one operand. */
function approximation<P extends ElementwisePrim>(f: (em: SimdEmit) => void): SimdLowering<P> {
  return {
    supports: floats,
    emit(em) {
      em.operand(0);
      f(em);
    },
  };
}

/**
 * The coefficients (float32) of the polynomial in ln x = ln(1 + m) ≈ m - m²/2 + m³·p(m) of Cephes' logf,
 * highest degree first: the SIMD lowering's and {@linkcode LOGF_SOURCE}'s.
 *
 * @example
 * ```ts
 * import { LOG_COEFFICIENTS } from "./lowering.ts";
 * if (LOG_COEFFICIENTS.length !== 9 || Math.abs(LOG_COEFFICIENTS[8] - 1 / 3) > 1e-7) throw new Error();
 * ```
 */
export const LOG_COEFFICIENTS: readonly number[] = [
  7.0376836292e-2,
  -1.1514610310e-1,
  1.1676998740e-1,
  -1.2420140846e-1,
  1.4249322787e-1,
  -1.6668057665e-1,
  2.0000714765e-1,
  -2.4999993993e-1,
  3.3333331174e-1,
].map(Math.fround);

/**
 * The JavaScript of `logf(x)`, which generated kernels that take a logarithm declare: the float32 steps of the
 * SIMD lowering's ln x (Cephes' logf), each rounded with `Math.fround` as the lanes round it, so a kernel gives
 * the same bits whether it runs vectorised or as JavaScript (eager ops and fused loops may differ in which).
 * The coefficients are {@linkcode LOG_COEFFICIENTS}.
 *
 * @example
 * ```ts
 * import { LOGF_SOURCE } from "./lowering.ts";
 * const logf = new Function(`${LOGF_SOURCE}; return logf;`)() as (x: number) => number;
 * if (logf(1) !== 0 || logf(0) !== -Infinity || !Number.isNaN(logf(-1))) throw new Error();
 * if (Math.abs(logf(Math.E) - 1) > 1e-7) throw new Error(String(logf(Math.E)));
 * ```
 */
export const LOGF_SOURCE = `function logf(x) {
  const f = Math.fround;
  if (!(x > 0) || x === Infinity) return x === 0 ? -Infinity : x === Infinity ? Infinity : NaN;
  // x = half · 2^e with half in [0.5, 1): exact in float64, float32 subnormals included.
  let e = Math.floor(Math.log2(x)) + 1;
  let half = x * 2 ** -e;
  if (half >= 1) { half *= 0.5; e++; } else if (half < 0.5) { half *= 2; e--; }
  let m;
  if (half < ${Math.fround(Math.SQRT1_2)}) { e--; m = f(f(half + half) - 1); } else m = f(half - 1);
  const z = f(m * m);
  let p = ${LOG_COEFFICIENTS[0]};
  ${LOG_COEFFICIENTS.slice(1).map((k) => `p = f(f(p * m) + ${k});`).join(" ")}
  let y = f(f(p * m) * z);
  y = f(y + f(e * ${Math.fround(-2.12194440e-4)}));
  y = f(y + f(z * -0.5));
  y = f(y + m);
  return f(y + f(e * 0.693359375));
}`;

/**
 * The CPU lowering of every primitive.
 *
 * @example
 * ```ts
 * import { CPU_LOWERING } from "./lowering.ts";
 * if (CPU_LOWERING.exp.js(["x"], "float32", {}) !== "Math.fround(Math.exp(x))") throw new Error();
 * if (CPU_LOWERING.sin.simd !== null) throw new Error(); // sin kernels run as JavaScript loops
 * ```
 */
export const CPU_LOWERING: { readonly [P in PrimName]: CpuLowering<P> } = {
  neg: {
    js: ([a], t) => (isInt(t) ? `(-${a} | 0)` : `(-${a})`),
    simd: lanes(numbers, (t) => (t === "int32" ? SIMD.i32x4Neg : SIMD.f32x4Neg)),
  },
  exp: { js: ([a]) => fround(`Math.exp(${a})`), simd: approximation((em) => em.exp()) },
  log: { js: ([a]) => `logf(${a})`, simd: approximation((em) => em.log()) },
  sqrt: { js: ([a]) => fround(`Math.sqrt(${a})`), simd: lanes(floats, () => SIMD.f32x4Sqrt) },
  recip: {
    js: ([a]) => fround(`1 / ${a}`),
    simd: {
      supports: floats,
      emit(em) {
        em.konst(splatF32(1));
        em.operand(0);
        em.code.simd(SIMD.f32x4Div);
      },
    },
  },
  sin: { js: ([a]) => fround(`Math.sin(${a})`), simd: null },
  cos: { js: ([a]) => fround(`Math.cos(${a})`), simd: null },
  tanh: { js: ([a]) => fround(`Math.tanh(${a})`), simd: approximation((em) => em.tanh()) },
  stop_gradient: { js: ([a]) => a, simd: { supports: any, emit: (em) => em.operand(0) } },
  cast: {
    js: ([a], from, { dtype: to }) => {
      if (to === "bool") return `(${a} !== 0 ? 1 : 0)`;
      if (to === "int32") return from === "float32" ? `(${a} | 0)` : a;
      return isInt(from) ? fround(a) : a;
    },
    simd: {
      supports: any,
      emit(em, e) {
        em.operand(0);
        const from = e.args[0].dtype;
        const to = e.params.dtype;
        if (from === to) return;
        if (from === "bool") {
          // Masks are all-ones lanes: keep the bits of 1.0 (or of integer 1).
          em.konst(to === "float32" ? splatF32(1) : splatI32(1));
          em.code.simd(SIMD.v128And);
        } else if (to === "bool") {
          em.konst(new Uint8Array(16));
          em.code.simd(from === "float32" ? SIMD.f32x4Ne : SIMD.i32x4Ne);
        } else {
          em.code.simd(to === "float32" ? SIMD.f32x4ConvertI32x4S : SIMD.i32x4TruncSatF32x4S);
        }
      },
    },
  },

  add: {
    js: ([a, b], t) => (isInt(t) ? `((${a} + ${b}) | 0)` : fround(`${a} + ${b}`)),
    simd: lanes(numbers, (t) => (t === "int32" ? SIMD.i32x4Add : SIMD.f32x4Add)),
  },
  mul: {
    js: ([a, b], t) => (isInt(t) ? `Math.imul(${a}, ${b})` : fround(`${a} * ${b}`)),
    simd: lanes(numbers, (t) => (t === "int32" ? SIMD.i32x4Mul : SIMD.f32x4Mul)),
  },
  max: {
    js: ([a, b]) => `(${a} !== ${a} || ${b} !== ${b} ? NaN : ${a} > ${b} ? ${a} : ${b})`,
    simd: {
      supports: numbers,
      emit(em, e) {
        // The reference's max(a, b) is NaN if either is, else a > b ? a : b. f32x4.pmax(p, q) = p < q ? q : p
        // is one instruction (V8's f32x4.max is eight, and picks +0 over -0 where the reference picks b).
        const [a, b] = e.args;
        const c = em.code;
        if (a.dtype === "int32") {
          em.operand(0);
          em.operand(1);
          c.simd(SIMD.i32x4MaxS);
        } else if (a.kind === "const" && !Number.isNaN(a.value)) {
          // max(k, x) = pmax(x, k): equal values give x, as the reference does, and a NaN x stays.
          em.operand(1);
          em.operand(0);
          c.simd(SIMD.f32x4Pmax);
        } else if (b.kind === "const" && !Number.isNaN(b.value) && !Object.is(b.value, -0)) {
          // max(x, k) = pmax(x, k), except that x = -0 against k = +0 must give +0 (b): adding +0 does that
          // and changes nothing else.
          em.operand(0);
          em.operand(1);
          c.simd(SIMD.f32x4Pmax);
          if (Object.is(b.value, 0)) {
            em.operand(1);
            c.simd(SIMD.f32x4Add);
          }
        } else {
          // pmax(b, a) = b < a ? a : b is the reference's choice for numbers; where a is NaN take a.
          em.operand(0);
          em.operand(1);
          em.operand(0);
          c.simd(SIMD.f32x4Pmax);
          em.operand(0);
          em.operand(0);
          c.simd(SIMD.f32x4Ne);
          c.simd(SIMD.v128Bitselect);
        }
      },
    },
  },
  pow: { js: ([a, b]) => fround(`Math.pow(${a}, ${b})`), simd: null },
  less: {
    js: ([a, b]) => `(${a} < ${b} ? 1 : 0)`,
    simd: lanes(numbers, (t) => (t === "int32" ? SIMD.i32x4LtS : SIMD.f32x4Lt)),
  },
  equal: {
    js: ([a, b]) => `(${a} === ${b} ? 1 : 0)`,
    simd: lanes(any, (t) => (t === "float32" ? SIMD.f32x4Eq : SIMD.i32x4Eq)),
  },
  where: {
    js: ([c, a, b]) => `(${c} ? ${a} : ${b})`,
    simd: {
      supports: any,
      emit(em) {
        // bitselect(v1, v2, mask) takes v1's bits where the mask is set.
        em.operand(1);
        em.operand(2);
        em.operand(0);
        em.code.simd(SIMD.v128Bitselect);
      },
    },
  },

  reduce_sum: { fused: "reduce" },
  reduce_max: { fused: "reduce" },

  reshape: { fused: "index" },
  transpose: { fused: "index" },
  broadcast: { fused: "index" },
  slice: { fused: "index" },
  pad: { fused: "index" },
  concat: { kernel: concatKernel },

  matmul: { fused: "sgemm" },

  gather: { kernel: gatherKernel },
  scatter_add: { fused: "scatter" },
  first_occurrence: { kernel: hostKernel },

  full: { fused: "index" },
  iota: { fused: "index" },
  random_bits: { kernel: randomBitsKernel },
};

/**
 * The lowering of elementwise primitive `prim`, typed for any elementwise params.
 *
 * @example
 * ```ts
 * import { elementwiseLowering } from "./lowering.ts";
 * if (elementwiseLowering("tanh").simd === null) throw new Error();
 * ```
 */
export function elementwiseLowering(prim: ElementwisePrim): ElementwiseLowering<ElementwisePrim> {
  return CPU_LOWERING[prim] as ElementwiseLowering<ElementwisePrim>;
}
