/**
 * WebAssembly SIMD code generation for fused kernels: elementwise chains, sum and max reductions, and
 * scatter-adds whose updates are computed on the fly. Four lanes per instruction; operands read contiguously
 * or broadcast along the innermost axis. Each operation is emitted by its primitive's SIMD lowering
 * (`kernels/cpu/lowering.ts`): one IEEE float32 instruction where one exists, so results are bit-identical to
 * op-by-op float32 evaluation, and polynomial approximations for exp, tanh and log (within 1-2 ulp). Kernels with
 * an operation that has no SIMD lowering (sin, pow, ...), or strided innermost reads, fall back to the
 * JavaScript generator.
 * @module
 */
import type { Affine, ElementwiseKernel, Expr, ReduceKernel, ScatterKernel } from "../passes/fuse.ts";
import { sizeOf, stridesOf } from "../../dsl/ir/shape.ts";
import { collapse, collectAffines } from "./codegen.ts";
import { copyStripes, SCATTER_STRIPES } from "./rows.ts";
import { elementwiseLowering, LOG_COEFFICIENTS } from "./lowering.ts";
import { Code, type MemoryLimits, ModuleBuilder, OP, SIMD, splatF32, splatI32, ValType } from "./wasm.ts";

/** Whether the SIMD generator handles this kernel. */
function supported(k: ElementwiseKernel, innerCoeffs: readonly number[]): boolean {
  if (k.output.dtype === "bool") return false;
  return supportedExpr(k.expr, innerCoeffs);
}

/** Whether the SIMD emitter handles an expression whose operands move by `innerCoeffs` along the vector axis. */
function supportedExpr(expr: Expr, innerCoeffs: readonly number[]): boolean {
  if (innerCoeffs.some((c) => c !== 0 && c !== 1)) return false;
  const loadForms = new Set(loadAffines(expr));
  // The forms are collectAffines(expr) first (then the kernel's own), in that order.
  const formIndex = new Map(collectAffines(expr).map((f, i) => [f, i]));
  const inner = (form: Affine) => innerCoeffs[formIndex.get(form)!];
  const ok = (e: Expr): boolean => {
    switch (e.kind) {
      case "load":
      case "const":
        return true;
      case "gather":
        // One row per vector: the index stays put along the vector axis, which walks along the row.
        return (e.dtype === "float32" || e.dtype === "int32") && e.index.kind === "load" &&
          e.index.dtype === "int32" && inner(e.index.at) === 0;
      case "iota":
        // An iota's address local counts its value (see loopScaffold); a form shared with a load cannot.
        return e.dtype === "int32" && !loadForms.has(e.at);
      case "op": {
        const lanes = elementwiseLowering(e.prim).simd;
        return lanes !== null && lanes.supports(e.args[0].dtype) && e.args.every(ok);
      }
      default:
        return false;
    }
  };
  return ok(expr);
}

/**
 * The module of a SIMD elementwise kernel (exporting `kernel(lo, hi, ...inputPointers, outputPointer)`) and
 * the extent of its outer loop, or undefined when the kernel needs the JavaScript generator.
 *
 * @example
 * ```ts
 * import { trace, tensor } from "../../mod.ts";
 * import { fuse, type ElementwiseKernel } from "../passes/fuse.ts";
 * import { simdElementwiseModule } from "./simd.ts";
 * const exp = fuse(trace((x) => x.exp(), tensor([1]))).kernels[0] as ElementwiseKernel;
 * if (simdElementwiseModule(exp, { initial: 1 }) !== undefined) throw new Error("exp is not vectorised");
 * ```
 */
export function simdElementwiseModule(
  k: ElementwiseKernel,
  limits: MemoryLimits,
): { bytes: Uint8Array<ArrayBuffer>; outer: number } | undefined {
  const loads = collectAffines(k.expr);
  const outForm: Affine = { offset: 0, coeffs: stridesOf(k.shape) };
  const forms = [...loads, outForm];
  const dims = collapse(k.shape, forms, k.shape.map(() => 0));
  if (dims.length === 0) return undefined;
  if (!supported(k, dims[dims.length - 1].coeffs)) return undefined;
  return { bytes: buildModule(k, dims, forms, limits), outer: dims[0].n };
}

function buildModule(
  k: ElementwiseKernel,
  dims: { n: number; coeffs: number[] }[],
  forms: readonly Affine[],
  limits: MemoryLimits,
): Uint8Array<ArrayBuffer> {
  const inputs = k.inputs.length;
  const out = forms.length - 1;
  const levels = dims.length;
  const inner = dims[levels - 1].coeffs;
  return kernelModule(limits, inputs, (c) => {
    const LO = 0;
    const { addr, index, counted } = loopScaffold(c, k.expr, forms, dims, inputs);
    const emitter = new SimdEmitter(c, forms, inner);
    const nest = (level: number) => {
      if (level === 0) c.get(LO).set(index[0]);
      else c.i32Const(0).set(index[level]);
      if (level < levels - 1) {
        counted(level, 1, () => {
          forms.forEach((_, f) => c.get(addr[f][level]).set(addr[f][level + 1]));
          nest(level + 1);
        });
        return;
      }
      // Innermost: sixteen elements per step (four independent copies of the body, so that the CPU overlaps
      // their dependency chains) while sixteen remain, then four, then one at a time (operands splat).
      emitter.hoistInvariants(k.expr, addr.map((a) => a[level]));
      for (const [width, copies] of [[16, 4], [4, 1], [1, 1]]) {
        if (width === 16 && dims[level].n < 16 && level > 0) continue;
        counted(level, width, () => {
          for (let copy = 0; copy < copies; copy++) {
            c.get(addr[out][level]);
            emitter.emit(k.expr, addr.map((a) => a[level]), width > 1, 4 * copy);
            if (width > 1) c.v128Store(16 * copy);
            else if (k.output.dtype === "int32") c.simd(SIMD.i32x4ExtractLane, 0).op(OP.i32Store, 2, 0);
            else c.f32x4ExtractLane(0).f32Store();
          }
        });
      }
    };
    const loopsStart = c.bytes.length;
    nest(0);
    emitter.hoistConstants(loopsStart);
  });
}

/**
 * The module of a SIMD sum or max reduction of float32 values (exporting `kernel(lo, hi, ...inputPointers,
 * outputPointer)`), or undefined when the JavaScript generator must do it. Two layouts vectorise: a row
 * reduction, whose innermost reduced axis is contiguous (dot products, softmax denominators), and a column
 * reduction, whose innermost kept axis is contiguous (bias gradients, sums over a batch). Sums add float32
 * lanes, each lane at most `FLUSH_EVERY` (8) values before they join float64 lanes, rounded once to float32
 * at the end (more accurate than NumPy's pairwise float32 sum; the JavaScript generator sums in a float64);
 * maxima are IEEE 754 maxima in float32 lanes (exact, whatever the order).
 * `splittable` says whether rows `[lo, hi)` of the outer loop may go to different threads.
 *
 * @example
 * ```ts
 * import { trace, tensor } from "../../mod.ts";
 * import { fuse, type ReduceKernel } from "../passes/fuse.ts";
 * import { simdReduceModule } from "./simd.ts";
 * const dot = fuse(trace((a, b) => a.mul(b).sum(1), tensor([[1, 2, 3, 4, 5]]), tensor([[1, 1, 1, 1, 2]])));
 * const module = simdReduceModule(dot.kernels[0] as ReduceKernel, { initial: 1 })!;
 * const memory = new WebAssembly.Memory({ initial: 1 });
 * const kernel = new WebAssembly.Instance(new WebAssembly.Module(module.bytes), { env: { memory } }).exports
 *   .kernel as (...args: number[]) => void;
 * new Float32Array(memory.buffer, 0, 10).set([1, 2, 3, 4, 5, 1, 1, 1, 1, 2]);
 * kernel(0, module.outer, 0, 20, 64);
 * if (new Float32Array(memory.buffer, 64, 1)[0] !== 20) throw new Error();
 * ```
 */
export function simdReduceModule(
  k: ReduceKernel,
  limits: MemoryLimits,
  options: ReduceOptions = {},
): { bytes: Uint8Array<ArrayBuffer>; outer: number; splittable: boolean } | undefined {
  if (k.output.dtype !== "float32") return undefined;
  const rank = k.inShape.length;
  const kept = Array.from({ length: rank }, (_, d) => d).filter((d) => !k.axes.includes(d));
  const order = [...kept, ...k.axes];
  const outStrides = stridesOf(kept.map((d) => k.inShape[d]));
  const outForm: Affine = {
    offset: 0,
    coeffs: Array.from({ length: rank }, (_, d) => (kept.includes(d) ? outStrides[kept.indexOf(d)] : 0)),
  };
  const forms = [...collectAffines(k.prologue), outForm];
  const out = forms.length - 1;
  const permuted = forms.map((a) => ({ offset: a.offset, coeffs: order.map((d) => a.coeffs[d]) }));
  const dims = collapse(
    order.map((d) => k.inShape[d]),
    permuted,
    order.map((d) => (kept.includes(d) ? 0 : 1)),
  );
  if (dims.length === 0) return undefined;
  const keptLevels = dims.filter((d) => d.group === 0).length;
  const unit = (coeffs: readonly number[]) => coeffs.every((c) => c === 0 || c === 1);
  const last = dims.length - 1;
  // A row reduction if the operands run along the innermost reduced axis, else a column reduction.
  const candidates: number[] = [];
  if (dims[last].group === 1 && unit(dims[last].coeffs) && dims[last].coeffs.slice(0, out).includes(1)) {
    candidates.push(last);
  }
  if (keptLevels > 0 && unit(dims[keptLevels - 1].coeffs) && dims[keptLevels - 1].coeffs[out] === 1) {
    candidates.push(keptLevels - 1);
  }
  const vectorLevel = candidates.find((level) => supportedExpr(k.prologue, dims[level].coeffs));
  if (vectorLevel === undefined) return undefined;
  return {
    bytes: buildReduceModule(k, dims, forms, vectorLevel, keptLevels, limits, options),
    outer: dims[0].n,
    splittable: keptLevels > 0,
  };
}

/**
 * How to generate a reduction.
 *
 * @example
 * ```ts
 * import type { ReduceOptions } from "./simd.ts";
 * const options: ReduceOptions = { fusedMultiplyAdd: true };
 * ```
 */
export interface ReduceOptions {
  /**
   * Add a sum's products with relaxed SIMD's fused multiply-add (the engine must support it): one rounding
   * per product and sum instead of two, so the last bit may differ from `mul` then `add`.
   */
  readonly fusedMultiplyAdd?: boolean;
}

/** Vectors a sum reduction's loop handles per iteration, each into its own accumulators. */
const UNROLLED_COPIES = 4;

const isSumOf = (k: ReduceKernel) => k.op === "sum";
/**
 * Values a float32 lane of a sum adds before it is gathered into its float64 lanes: few enough that the
 * result is as accurate as NumPy's pairwise float32 sum (whose leaves add up to 16 values per partial sum),
 * while the loop adds float32 lanes (one instruction per vector instead of five).
 */
const FLUSH_EVERY = 8;

function buildReduceModule(
  k: ReduceKernel,
  dims: { n: number; coeffs: number[] }[],
  forms: readonly Affine[],
  vectorLevel: number,
  keptLevels: number,
  limits: MemoryLimits,
  options: ReduceOptions,
): Uint8Array<ArrayBuffer> {
  const inputs = k.inputs.length;
  const out = forms.length - 1;
  const levels = dims.length;
  const rowReduction = vectorLevel >= keptLevels;
  // A sum of products (a dot product) adds each product into its partial sum with one fused multiply-add.
  const product =
    options.fusedMultiplyAdd && isSumOf(k) && k.prologue.kind === "op" && k.prologue.prim === "mul"
      ? k.prologue.args
      : undefined;
  return kernelModule(limits, inputs, (c) => {
    const LO = 0;
    const { addr, index, counted } = loopScaffold(c, k.prologue, forms, dims, inputs);
    // Per unrolled copy, two float64x2 accumulators (lanes 0-1 and 2-3 of the float32 values); a scalar one
    // for row tails. A row reduction's copies sum the same row in independent chains (an add waits for the one
    // before it in its chain: one chain held a dot product at one vector per add latency); a column
    // reduction's copies are neighbouring columns.
    const copies = isSumOf(k) ? UNROLLED_COPIES : 1;
    const sets = Array.from({ length: copies }, () => [c.local(ValType.v128), c.local(ValType.v128)]);
    const accHigh = sets[0][1]; // the shuffle in highHalf reads it as a dummy operand
    const accScalar = c.local(ValType.f64);
    // Float32 partial sums, gathered into the float64 sets every FLUSH_EVERY vectors and at the end of a sum.
    const partials = sets.map(() => c.local(ValType.v128));
    const pending = c.local(ValType.i32);
    const emitter = new SimdEmitter(c, forms, dims[vectorLevel].coeffs);
    /** The high two float32 lanes of the v128 on the stack moved to the low two. */
    const highHalf = () => {
      c.get(accHigh); // any second operand: only the first one's bytes 8..15 are picked
      c.simd(SIMD.i8x16Shuffle, 8, 9, 10, 11, 12, 13, 14, 15, 8, 9, 10, 11, 12, 13, 14, 15);
    };
    // A max keeps float32 lanes with f32x4.pmax (one instruction; V8's f32x4.max is a chain of eight, whose
    // latency held the loop at 0.7x the JavaScript kernel's speed), and per lane whether a NaN and whether a
    // +0 went by: the store turns the lanes into IEEE 754's maximum (NaN wins, +0 beats -0), which does not
    // depend on the order. Row tails use f32.max, which is that maximum already.
    const isMax = k.op === "max";
    const maxLanes = c.local(ValType.v128), maxScalar = c.local(ValType.f32);
    const nanLanes = c.local(ValType.v128), plusZeroLanes = c.local(ValType.v128);
    const accumulate = (vector: boolean, level: number, copy = 0) => {
      const at = addr.map((a) => a[level]);
      if (product && (vector || !rowReduction)) {
        emitter.emit(product[0], at, vector, 4 * copy);
        emitter.emit(product[1], at, vector, 4 * copy);
        c.get(partials[copy]).f32x4RelaxedMadd().set(partials[copy]);
        return;
      }
      const value = c.local(ValType.v128);
      emitter.emit(k.prologue, at, vector, 4 * copy);
      c.set(value);
      if (isMax) {
        if (!vector && rowReduction) {
          c.get(maxScalar).get(value).f32x4ExtractLane(0).op(OP.f32Max).set(maxScalar);
        } else {
          c.get(maxLanes).get(value);
          c.simd(SIMD.f32x4Pmax);
          c.set(maxLanes);
          c.get(nanLanes).get(value).get(value);
          c.simd(SIMD.f32x4Ne);
          c.simd(SIMD.v128Or);
          c.set(nanLanes);
          c.get(plusZeroLanes).get(value).v128Const();
          c.simd(SIMD.i32x4Eq); // all bits zero: +0
          c.simd(SIMD.v128Or);
          c.set(plusZeroLanes);
        }
        return;
      }
      if (!vector && rowReduction) {
        c.get(accScalar).get(value).f32x4ExtractLane(0).op(OP.f64PromoteF32).op(OP.f64Add).set(accScalar);
        return;
      }
      c.get(partials[copy]).get(value).f32x4Add().set(partials[copy]);
    };
    /** Adds the partial sums of the first `count` copies to their float64 sets, and zeroes them. */
    const flush = (count: number) => {
      for (let copy = 0; copy < count; copy++) {
        const [low, high] = sets[copy];
        c.get(low).get(partials[copy]);
        c.simd(SIMD.f64x2PromoteLowF32x4);
        c.simd(SIMD.f64x2Add);
        c.set(low);
        c.get(high).get(partials[copy]);
        highHalf();
        c.simd(SIMD.f64x2PromoteLowF32x4);
        c.simd(SIMD.f64x2Add);
        c.set(high);
        c.v128Const().set(partials[copy]);
      }
    };
    const store = (vector: boolean, level: number, copy = 0) => {
      const at = addr[out][level];
      const [accLow, accHigh] = sets[copy];
      if (isMax) {
        // Lanes at ±0 that saw a +0 become +0; lanes that saw a NaN become NaN.
        c.v128Const().get(maxLanes).get(maxLanes).v128Const();
        c.simd(SIMD.f32x4Eq);
        c.get(plusZeroLanes);
        c.simd(SIMD.v128And);
        c.simd(SIMD.v128Bitselect);
        c.set(maxLanes);
        c.f32Const(NaN).f32x4Splat().get(maxLanes).get(nanLanes);
        c.simd(SIMD.v128Bitselect);
        c.set(maxLanes);
        c.get(at);
        if (rowReduction) {
          c.get(maxScalar);
          for (let lane = 0; lane < 4; lane++) c.get(maxLanes).f32x4ExtractLane(lane).op(OP.f32Max);
          c.f32Store();
        } else if (vector) c.get(maxLanes).v128Store();
        else c.get(maxLanes).f32x4ExtractLane(0).f32Store();
        return;
      }
      if (rowReduction) {
        // The copies' partial sums, in a fixed order (the same bits on any number of threads).
        for (let other = 1; other < copies; other++) {
          for (const half of [0, 1]) {
            c.get(sets[0][half]).get(sets[other][half]);
            c.simd(SIMD.f64x2Add);
            c.set(sets[0][half]);
          }
        }
        c.get(at);
        c.get(accLow);
        c.simd(SIMD.f64x2ExtractLane, 0);
        c.get(accLow);
        c.simd(SIMD.f64x2ExtractLane, 1);
        c.op(OP.f64Add);
        c.get(accHigh);
        c.simd(SIMD.f64x2ExtractLane, 0);
        c.get(accHigh);
        c.simd(SIMD.f64x2ExtractLane, 1);
        c.op(OP.f64Add).op(OP.f64Add).get(accScalar).op(OP.f64Add).op(OP.f32DemoteF64).f32Store();
      } else if (vector) {
        c.get(at).get(accLow);
        c.simd(SIMD.f32x4DemoteF64x2Zero);
        c.get(accHigh);
        c.simd(SIMD.f32x4DemoteF64x2Zero);
        c.simd(SIMD.i8x16Shuffle, 0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23);
        c.v128Store(16 * copy);
      } else {
        c.get(at).get(accLow);
        c.simd(SIMD.f64x2ExtractLane, 0);
        c.op(OP.f32DemoteF64).f32Store();
      }
    };
    // The loops from `level` inward; `vector` once the vector level above chose a 4-wide branch, `unrolled`
    // when it chose the branch of `copies` vectors at a time.
    const nest = (level: number, vector: boolean, unrolled: boolean) => {
      const used = unrolled ? copies : 1;
      if (level === keptLevels) {
        if (isMax) {
          c.f32Const(-Infinity).set(maxScalar).f32Const(-Infinity).f32x4Splat().set(maxLanes);
          c.v128Const().set(nanLanes).v128Const().set(plusZeroLanes);
        } else {
          // A row reduction's unrolled loop runs inside: every set starts at zero.
          const zeroed = rowReduction ? copies : used;
          for (const [low, high] of sets.slice(0, zeroed)) c.v128Const().set(low).v128Const().set(high);
          for (const partial of partials.slice(0, zeroed)) c.v128Const().set(partial);
          c.i32Const(0).set(pending);
          c.f64Const(0).set(accScalar);
        }
      }
      if (level === levels) {
        for (let copy = 0; copy < used; copy++) accumulate(vector, level - 1, copy);
        if (!isMax && (vector || !rowReduction)) {
          c.get(pending).i32Const(1).i32Add().set(pending);
          c.get(pending).i32Const(FLUSH_EVERY).i32GeS().if(() => {
            flush(used);
            c.i32Const(0).set(pending);
          });
        }
      } else {
        if (level === 0) c.get(LO).set(index[0]);
        else c.i32Const(0).set(index[level]);
        const inner = (v: boolean, u: boolean) => () => {
          if (level + 1 < levels) forms.forEach((_, f) => c.get(addr[f][level]).set(addr[f][level + 1]));
          nest(level + 1, v, u);
        };
        if (level === vectorLevel) {
          // A row reduction's vector loop is the innermost: what the rows share is computed before it.
          if (rowReduction) emitter.hoistInvariants(k.prologue, addr.map((a) => a[level]));
          if (copies > 1 && dims[level].n >= 4 * copies) counted(level, 4 * copies, inner(true, true));
          counted(level, 4, inner(true, false));
          counted(level, 1, inner(false, false));
        } else {
          counted(level, 1, inner(vector, unrolled));
        }
      }
      if (level === keptLevels) {
        if (!isMax) flush(rowReduction ? copies : used);
        if (rowReduction) store(vector, Math.max(level - 1, 0));
        else for (let copy = 0; copy < used; copy++) store(vector, Math.max(level - 1, 0), copy);
      }
    };
    nest(0, false, false);
    emitter.hoistConstants(0);
  });
}

/** The loop nest of a fused scatter-add: row levels, then one vector level along a table row. */
function scatterPlan(
  k: ScatterKernel,
): { dims: { n: number; group: number; coeffs: number[] }[]; forms: Affine[] } | undefined {
  if (k.output.dtype !== "float32") return undefined;
  const rowStrides = stridesOf(k.shape.slice(0, k.rowAxes));
  // The last form walks the indices: one per row, the same along a row.
  const indexForm: Affine = { offset: 0, coeffs: k.shape.map((_, d) => (d < k.rowAxes ? rowStrides[d] : 0)) };
  const forms = [...collectAffines(k.updates), indexForm];
  const dims = collapse(k.shape, forms, k.shape.map((_, d) => (d < k.rowAxes ? 0 : 1)));
  const along = dims.filter((d) => d.group === 1);
  if (along.length !== 1 || dims[dims.length - 1].group !== 1) return undefined;
  if (!supportedExpr(k.updates, along[0].coeffs)) return undefined;
  return { dims, forms };
}

/**
 * The module of a scatter-add whose updates are computed on the fly (float32 tables, updates that
 * {@linkcode supportedExpr} vectorises along a row), or undefined. It exports `kernel(lo, hi, base, indices,
 * ...updateInputs, out)` over the stripes `[lo, hi)` of table rows ({@linkcode SCATTER_STRIPES}), as the
 * plain scatter-add kernel of `rows.ts` does: unless `inPlace` it first copies its rows of `base` to `out`,
 * then walks every index in order and adds the update rows that land in its stripes, computing only those.
 *
 * @example
 * ```ts
 * import { jit, SparseRows, tensor, type Tensor, zeros } from "../../mod.ts";
 * import { fuse, type ScatterKernel } from "../passes/fuse.ts";
 * import { optimize } from "../passes/simplify.ts";
 * import { simdScatterAddModule } from "./simd.ts";
 * const step = (t: Tensor, i: Tensor, g: Tensor) => new SparseRows(i, g.mul(-0.5), t.shape).addTo(t);
 * const graph = optimize(jit(step).graphFor(zeros([3, 4]), tensor([2, 0], { dtype: "int32" }), zeros([2, 4])));
 * const k = fuse(graph).kernels.find((k) => k.kind === "scatter") as ScatterKernel;
 * const bytes = simdScatterAddModule(k, { initial: 1 }, true)!;
 * const memory = new WebAssembly.Memory({ initial: 1 });
 * const kernel = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } }).exports
 *   .kernel as (...args: number[]) => void;
 * new Int32Array(memory.buffer, 64, 2).set([2, 0]);
 * new Float32Array(memory.buffer, 128, 8).set([1, 2, 3, 4, 5, 6, 7, 8]);
 * kernel(0, 64, 0, 64, 128, 0); // in place into the zero table at byte 0
 * if (new Float32Array(memory.buffer, 0, 12).join() !== "-2.5,-3,-3.5,-4,0,0,0,0,-0.5,-1,-1.5,-2") {
 *   throw new Error(new Float32Array(memory.buffer, 0, 12).join());
 * }
 * ```
 */
export function simdScatterAddModule(
  k: ScatterKernel,
  limits: MemoryLimits,
  inPlace: boolean,
): Uint8Array<ArrayBuffer> | undefined {
  const plan = scatterPlan(k);
  if (!plan) return undefined;
  const { dims, forms } = plan;
  const rows = k.output.shape[0];
  const rowBytes = 4 * sizeOf(k.output.shape.slice(1));
  const inputs = k.inputs.length;
  const [LO, HI, BASE, INDICES, OUT] = [0, 1, 2, 3, 2 + inputs];
  const indexForm = forms.length - 1;
  const vectorLevel = dims.length - 1;
  return kernelModule(limits, inputs, (c) => {
    if (!inPlace) copyStripes(c, { rows, rowBytes, lo: LO, hi: HI, base: BASE, out: OUT });
    // Every thread walks all the update rows (the outer loop from 0 to its extent) and keeps its own.
    const [first, last] = [c.local(ValType.i32), c.local(ValType.i32)];
    c.i32Const(dims[0].n).set(last);
    const scaffold = loopScaffold(c, k.updates, forms, dims, inputs, {
      pointer: (f) => (f === indexForm ? INDICES : 2 + inputOf(k.updates, forms[f])),
      lo: first,
      hi: last,
    });
    const { addr, index, counted } = scaffold;
    const emitter = new SimdEmitter(c, forms, dims[vectorLevel].coeffs);
    const [row, dst, at] = [c.local(ValType.i32), c.local(ValType.i32), c.local(ValType.i32)];
    /** Adds the update row whose addresses are at `level` (-1: the start addresses) into its table row. */
    const addRow = (level: number) => {
      const from = Math.max(level, 0);
      c.get(addr[indexForm][from]).i32Load().set(row);
      // Rows of other threads' stripes are theirs: (row % stripes - lo) <u (hi - lo) is the test.
      c.get(row).i32Const(SCATTER_STRIPES - 1).i32And().get(LO).i32Sub().get(HI).get(LO).i32Sub().i32LtU();
      c.if(() => {
        c.get(OUT).get(row).i32Const(rowBytes).i32Mul().i32Add().set(dst);
        if (level >= 0) forms.forEach((_, f) => c.get(addr[f][level]).set(addr[f][vectorLevel]));
        c.i32Const(0).set(index[vectorLevel]);
        emitter.hoistInvariants(k.updates, addr.map((a) => a[vectorLevel]));
        for (const [width, copies] of [[16, 4], [4, 1], [1, 1]]) {
          if (width === 16 && dims[vectorLevel].n < 16) continue;
          counted(vectorLevel, width, () => {
            c.get(dst).get(index[vectorLevel]).i32Const(2).i32Shl().i32Add().set(at);
            for (let copy = 0; copy < copies; copy++) {
              c.get(at);
              if (width > 1) c.get(at).v128Load(16 * copy);
              else c.get(at).f32Load();
              emitter.emit(k.updates, addr.map((a) => a[vectorLevel]), width > 1, 4 * copy);
              if (width > 1) c.f32x4Add().v128Store(16 * copy);
              else c.f32x4ExtractLane(0).f32Add().f32Store();
            }
          });
        }
      });
    };
    const nest = (level: number) => {
      if (level === 0) c.get(first).set(index[0]);
      else c.i32Const(0).set(index[level]);
      counted(level, 1, () => {
        if (level + 1 < vectorLevel) {
          forms.forEach((_, f) => c.get(addr[f][level]).set(addr[f][level + 1]));
          nest(level + 1);
        } else {
          addRow(level);
        }
      });
    };
    const loopsStart = c.bytes.length;
    if (vectorLevel === 0) addRow(-1);
    else nest(0);
    emitter.hoistConstants(loopsStart);
  });
}

/**
 * Whether {@linkcode simdScatterAddModule} compiles this kernel.
 *
 * @example
 * ```ts
 * import type { ScatterKernel } from "../passes/fuse.ts";
 * import { simdScatterSupported } from "./simd.ts";
 * const v = (id: number, shape: number[], dtype: "float32" | "int32") => ({ id, shape, dtype }) as never;
 * const k: ScatterKernel = {
 *   kind: "scatter", shape: [2, 4], rowAxes: 1, output: v(0, [3, 4], "int32"), eqns: [],
 *   inputs: [v(0, [3, 4], "int32"), v(1, [2], "int32"), v(2, [2, 4], "int32")],
 *   updates: { kind: "load", dtype: "int32", input: 2, at: { offset: 0, coeffs: [4, 1] } },
 * };
 * if (simdScatterSupported(k)) throw new Error("integer tables take the plain scatter-add");
 * ```
 */
export function simdScatterSupported(k: ScatterKernel): boolean {
  return scatterPlan(k) !== undefined;
}

/** A module exporting `kernel(lo, hi, ...inputPointers, outputPointer)` with the body `body` writes. */
function kernelModule(
  limits: MemoryLimits,
  inputs: number,
  body: (c: Code) => void,
): Uint8Array<ArrayBuffer> {
  const mb = new ModuleBuilder().importMemory("env", "memory", limits);
  const params = [ValType.i32, ValType.i32, ...Array.from({ length: inputs + 1 }, () => ValType.i32)];
  mb.exportFunction("kernel", mb.addFunction(params, [], body));
  return mb.toBytes();
}

/**
 * The address bookkeeping of a kernel's loop nest over `dims`, for a function `kernel(lo, hi, ...inputs,
 * output)`: emits the start address of every affine form (the output's last) for row `lo` of the outer loop,
 * and returns the address and index locals per level and a builder of counted loops that advance them.
 * `options` name other locals: the parameter holding each form's base address, and the outer loop's range.
 */
function loopScaffold(
  c: Code,
  expr: Expr,
  forms: readonly Affine[],
  dims: readonly { n: number; coeffs: readonly number[] }[],
  inputs: number,
  options: { pointer?: (form: number) => number; lo?: number; hi?: number } = {},
) {
  const [LO, HI] = [options.lo ?? 0, options.hi ?? 1];
  const out = forms.length - 1;
  const levels = dims.length;
  // Parameter 2 + i is the byte address of input i; the output's comes last. An iota's form has no
  // operand: its address local starts from 0, so it holds 4 x the iota's value.
  const iotas = new Set(iotaAffines(expr));
  const pointer = options.pointer ?? ((f: number) => 2 + (f === out ? inputs : inputOf(expr, forms[f])));
  const base = (f: number) => (iotas.has(forms[f]) ? undefined : pointer(f));
  // addr[f][level]: byte address of form f at the current iteration of `level`.
  const addr = forms.map(() => Array.from({ length: levels }, () => c.local(ValType.i32)));
  const index = Array.from({ length: levels }, () => c.local(ValType.i32));
  // Bytes per element of each form: bool operands are bytes, everything else 4-byte words.
  const bytes = forms.map((form, f) => (f !== out && dtypeOf(expr, form) === "bool" ? 1 : 4));
  forms.forEach((form, f) => {
    const from = base(f);
    if (from === undefined) c.i32Const(bytes[f] * form.offset);
    else c.get(from).i32Const(bytes[f] * form.offset).i32Add();
    c.get(LO).i32Const(bytes[f] * dims[0].coeffs[f]).i32Mul().i32Add().set(addr[f][0]);
  });
  const advance = (level: number, count: number) =>
    forms.forEach((_, f) => {
      const step = bytes[f] * dims[level].coeffs[f] * count;
      if (step !== 0) c.get(addr[f][level]).i32Const(step).i32Add().set(addr[f][level]);
    });
  // A counted loop over `level` whose body may process `width` elements per iteration; the outer loop
  // runs to `hi`, inner ones to their extent.
  const counted = (level: number, width: number, body: () => void) =>
    c.block((exit) =>
      c.loop((again) => {
        c.get(index[level]).i32Const(width).i32Add();
        if (level === 0) c.get(HI);
        else c.i32Const(dims[level].n);
        c.i32GtS().brIf(exit);
        body();
        advance(level, width);
        c.get(index[level]).i32Const(width).i32Add().set(index[level]).br(again);
      })
    );
  return { addr, index, counted, lo: LO };
}

/** The affine forms of an expression's iotas. */
function iotaAffines(e: Expr, out: Affine[] = []): Affine[] {
  if (e.kind === "iota") out.push(e.at);
  if (e.kind === "op") e.args.forEach((a) => iotaAffines(a, out));
  return out;
}

/** The affine forms of an expression's loads (a gather's row and index included). */
function loadAffines(e: Expr, out: Affine[] = []): Affine[] {
  if (e.kind === "load") out.push(e.at);
  if (e.kind === "op") e.args.forEach((a) => loadAffines(a, out));
  if (e.kind === "gather") {
    loadAffines(e.index, out);
    out.push(e.at);
  }
  return out;
}

/** The dtype of the load (or gathered row) whose affine form is `form`. */
function dtypeOf(e: Expr, form: Affine): string | undefined {
  if (e.kind === "load") return e.at === form ? e.dtype : undefined;
  if (e.kind === "gather") return e.at === form ? e.dtype : dtypeOf(e.index, form);
  if (e.kind === "op") {
    for (const a of e.args) {
      const found = dtypeOf(a, form);
      if (found) return found;
    }
  }
  return undefined;
}

/**
 * The input index of the load whose affine form is `form`; for a gathered row's form, the table's (its
 * address local then walks the table from its start, and the row's offset is added where it is read).
 */
function inputOf(e: Expr, form: Affine): number {
  if (e.kind === "load") return e.at === form ? e.input : -1;
  if (e.kind === "gather") return e.at === form ? e.input : inputOf(e.index, form);
  if (e.kind === "op") {
    for (const a of e.args) {
      const found = inputOf(a, form);
      if (found >= 0) return found;
    }
  }
  return -1;
}

/** Pushes the v128 value of an expression (float lanes; bool values as all-ones/all-zeros lane masks). */
class SimdEmitter {
  private locals = new Map<Expr, number>();
  private readonly formIndex: Map<Affine, number>;

  constructor(private readonly c: Code, forms: readonly Affine[], private readonly inner: readonly number[]) {
    this.formIndex = new Map(forms.map((f, i) => [f, i]));
  }

  /** The splat constants the body reads, each held in a local that `hoistConstants` fills before the loops. */
  private readonly constants = new Map<string, { local: number; bytes: Uint8Array }>();
  /** Bytes of each contiguous operand that the current `emit` reads past its address local (unrolled copies). */
  private shift = 0;

  /**
   * Emits `e` once per element (or 4 elements when `vector`), reading form f at address local `addr[f]`;
   * `shift` elements further along the innermost axis for contiguous operands (an unrolled copy of the body).
   */
  emit(e: Expr, addr: readonly number[], vector: boolean, shift = 0): void {
    this.locals = new Map(this.pinned);
    this.shift = shift;
    this.node(e, addr, vector);
  }

  /** Subexpressions computed once per vector loop (see `hoistInvariants`), in their locals. */
  private pinned = new Map<Expr, number>();

  /**
   * Computes into locals, where it is called (just before a vector loop that is the innermost loop, reading
   * forms at address locals `addr`), the largest subexpressions of `e` that do not change along the vector
   * axis: a per-row scale such as a scatter-add's `bq · -lr` operands, loaded and splat once per row rather
   * than once per vector. `emit` then reads them; the next call replaces them.
   */
  hoistInvariants(e: Expr, addr: readonly number[]): void {
    this.pinned = new Map();
    const memo = new Map<Expr, boolean>();
    const invariant = (x: Expr): boolean => {
      let known = memo.get(x);
      if (known !== undefined) return known;
      switch (x.kind) {
        case "const":
          known = true;
          break;
        case "load":
        case "iota":
          known = this.inner[this.formIndex.get(x.at)!] === 0;
          break;
        case "gather":
          known = this.inner[this.formIndex.get(x.at)!] === 0 && invariant(x.index);
          break;
        case "op":
          known = x.args.every(invariant);
          break;
        default:
          known = false;
      }
      memo.set(x, known);
      return known;
    };
    const hoisted: Expr[] = [];
    const visit = (x: Expr) => {
      if (x.kind === "const" || hoisted.includes(x)) return;
      if (invariant(x)) hoisted.push(x);
      else if (x.kind === "op") x.args.forEach(visit);
    };
    visit(e);
    this.locals = new Map();
    this.shift = 0;
    for (const x of hoisted) {
      this.node(x, addr, true);
      this.c.drop(); // node() keeps the value in a local too
      this.pinned.set(x, this.locals.get(x)!);
    }
  }

  /**
   * Pushes a v128 constant from its local. V8 builds a `v128.const` with several scalar moves each time it
   * runs, which in a short elementwise body costs more than the arithmetic; a local set once stays in a register.
   */
  private konst(bytes: Uint8Array): Code {
    const key = bytes.join(",");
    let constant = this.constants.get(key);
    if (!constant) {
      constant = { local: this.c.local(ValType.v128), bytes };
      this.constants.set(key, constant);
    }
    return this.c.get(constant.local);
  }

  /** Inserts, at byte `at` of the body (before the loops), the code that fills the constants' locals. */
  hoistConstants(at: number): void {
    const prologue = new Code(this.c.params);
    for (const { local, bytes } of this.constants.values()) prologue.v128Const(bytes).set(local);
    this.c.bytes.splice(at, 0, ...prologue.bytes);
  }

  private node(e: Expr, addr: readonly number[], vector: boolean): void {
    const c = this.c;
    const known = this.locals.get(e);
    if (known !== undefined) {
      c.get(known);
      return;
    }
    const sub = (x: Expr) => this.node(x, addr, vector);
    switch (e.kind) {
      case "load": {
        const f = this.formIndex.get(e.at)!;
        const contiguous = vector && this.inner[f] === 1;
        c.get(addr[f]);
        if (e.dtype === "bool") {
          // Four bytes 0/1 (or one, splat) widened to 32-bit lanes, then turned into lane masks.
          if (contiguous) c.v128Load32Zero(this.shift);
          else c.v128Load8Splat(this.inner[f] === 1 ? this.shift : 0);
          c.simd(SIMD.i16x8ExtendLowI8x16U);
          c.simd(SIMD.i32x4ExtendLowI16x8U);
          this.konst(new Uint8Array(16));
          c.simd(SIMD.i32x4Ne);
          break;
        }
        // Contiguous along the innermost axis: a vector load; broadcast along it (or a tail): a splat.
        if (contiguous) c.v128Load(4 * this.shift);
        else c.v128Load32Splat(this.inner[f] === 1 ? 4 * this.shift : 0);
        break;
      }
      case "gather": {
        // The row form's local walks the table from its start; the row's offset comes from the index, one
        // scalar load (the index is the same across the lanes).
        const f = this.formIndex.get(e.at)!;
        const index = e.index as Extract<Expr, { kind: "load" }>;
        c.get(addr[f]);
        c.get(addr[this.formIndex.get(index.at)!]).i32Load();
        c.i32Const(4 * e.rowSize).i32Mul().i32Add();
        if (vector && this.inner[f] === 1) c.v128Load(4 * this.shift);
        else c.v128Load32Splat(this.inner[f] === 1 ? 4 * this.shift : 0);
        break;
      }
      case "iota": {
        // The form's address local is 4 x the value at this element; along a contiguous axis the lanes
        // count on from it (and `shift` further in an unrolled copy).
        const f = this.formIndex.get(e.at)!;
        c.get(addr[f]).i32Const(2).i32ShrU();
        if (vector && this.inner[f] === 1) {
          if (this.shift !== 0) c.i32Const(this.shift).i32Add();
          c.i32x4Splat();
          this.konst(new Uint8Array(new Int32Array([0, 1, 2, 3]).buffer));
          c.simd(SIMD.i32x4Add);
        } else {
          c.i32x4Splat();
        }
        break;
      }
      case "const":
        this.konst(
          e.dtype === "bool"
            ? new Uint8Array(16).fill(e.value ? 0xff : 0)
            : e.dtype === "int32"
            ? splatI32(e.value)
            : splatF32(e.value),
        );
        break;
      case "op": {
        const lanes = elementwiseLowering(e.prim).simd;
        if (!lanes) {
          throw new Error(`cpu simd: ${e.prim} has no SIMD lowering; the kernel should run as JavaScript`);
        }
        lanes.emit({
          code: c,
          operand: (i) => sub(e.args[i]),
          konst: (bytes) => this.konst(bytes),
          exp: () => this.exp(),
          tanh: () => this.tanh(),
          log: () => this.log(),
        }, e);
        break;
      }
    }
    const local = c.local(ValType.v128);
    c.tee(local);
    this.locals.set(e, local);
  }

  /** A fresh v128 local holding the value on top of the stack (popped). */
  private hold(): number {
    const local = this.c.local(ValType.v128);
    this.c.set(local);
    return local;
  }

  /** `p(x) = ((c0 x + c1) x + ...) x + cn` by Horner's rule, for x in a local. */
  private horner(x: number, coefficients: readonly number[]): void {
    const c = this.c;
    this.konst(splatF32(coefficients[0]));
    for (const k of coefficients.slice(1)) {
      c.get(x);
      c.simd(SIMD.f32x4Mul);
      this.konst(splatF32(k));
      c.simd(SIMD.f32x4Add);
    }
  }

  /**
   * e^x for the four lanes on the stack: x = n ln2 + r with |r| <= ln2/2 (ln2 split in two constants so that
   * r is exact), e^r by a degree-7 polynomial (Cephes' expf coefficients, about 1 ulp), scaled by 2^n built in
   * the exponent bits. Beyond the float32 range the result is +Infinity or 0; NaN stays NaN.
   */
  private exp(): void {
    const c = this.c;
    const x = this.hold();
    c.get(x);
    this.konst(splatF32(Math.LOG2E));
    c.simd(SIMD.f32x4Mul);
    c.simd(SIMD.f32x4Nearest);
    const n = this.hold();
    // r = x - n * 0.693359375 - n * -2.12194440e-4
    c.get(x).get(n);
    this.konst(splatF32(0.693359375));
    c.simd(SIMD.f32x4Mul);
    c.simd(SIMD.f32x4Sub);
    c.get(n);
    this.konst(splatF32(-2.12194440e-4));
    c.simd(SIMD.f32x4Mul);
    c.simd(SIMD.f32x4Sub);
    const r = this.hold();
    this.horner(r, [
      1.9875691500e-4,
      1.3981999507e-3,
      8.3334519073e-3,
      4.1665795894e-2,
      1.6666665459e-1,
      5.0000001201e-1,
    ]);
    c.get(r).get(r);
    c.simd(SIMD.f32x4Mul);
    c.simd(SIMD.f32x4Mul);
    c.get(r);
    c.simd(SIMD.f32x4Add);
    this.konst(splatF32(1));
    c.simd(SIMD.f32x4Add);
    // Times 2^n as 2^h · 2^(n-h) with h = n >> 1: each factor is a normal float built in the exponent bits,
    // even where n itself (-126..128 here) would not be.
    c.get(n);
    c.simd(SIMD.i32x4TruncSatF32x4S);
    const whole = this.hold();
    c.get(whole).i32Const(1);
    c.simd(SIMD.i32x4ShrS);
    const half = this.hold();
    const twoTo = (exponent: () => void) => {
      exponent();
      this.konst(new Uint8Array(new Int32Array(4).fill(127).buffer));
      c.simd(SIMD.i32x4Add);
      c.i32Const(23);
      c.simd(SIMD.i32x4Shl);
      c.simd(SIMD.f32x4Mul);
    };
    twoTo(() => c.get(half));
    twoTo(() => {
      c.get(whole).get(half);
      c.simd(SIMD.i32x4Sub);
    });
    const y = this.hold();
    // Overflow to +Infinity, underflow to 0.
    this.konst(splatF32(Infinity)).get(y).get(x);
    this.konst(splatF32(88.72283));
    c.simd(SIMD.f32x4Gt);
    c.simd(SIMD.v128Bitselect);
    const high = this.hold();
    this.konst(splatF32(0)).get(high).get(x);
    this.konst(splatF32(-87.33654));
    c.simd(SIMD.f32x4Lt);
    c.simd(SIMD.v128Bitselect);
  }

  /**
   * ln x for the four lanes on the stack (Cephes' logf, about 1 ulp): x = m·2^e with m in [√½, √2), then
   * ln(1 + (m - 1)) by a degree-9 polynomial plus e·ln 2 (ln 2 split in two constants, as in exp). Subnormal
   * lanes are scaled by 2^23 first. ln 0 is -Infinity, a negative lane or NaN gives NaN, +Infinity stays.
   */
  private log(): void {
    const c = this.c;
    const x = this.hold();
    const select = () => c.simd(SIMD.v128Bitselect);
    // Subnormal lanes times 2^23, so that their exponent field holds their scale (23 less).
    c.get(x);
    this.konst(splatF32(2 ** -126));
    c.simd(SIMD.f32x4Lt);
    const tiny = this.hold();
    c.get(x);
    this.konst(splatF32(2 ** 23));
    c.simd(SIMD.f32x4Mul);
    c.get(x).get(tiny);
    select();
    const bits = this.hold();
    // e = exponent field - 126 (- 23 when scaled): x = m·2^e with m in [0.5, 1).
    c.get(bits).i32Const(23);
    c.simd(SIMD.i32x4ShrU);
    this.konst(splatI32(0xff));
    c.simd(SIMD.v128And);
    this.konst(splatI32(126));
    c.simd(SIMD.i32x4Sub);
    c.get(tiny);
    this.konst(splatI32(23));
    c.simd(SIMD.v128And);
    c.simd(SIMD.i32x4Sub);
    const exponent = this.hold();
    c.get(bits);
    this.konst(splatI32(0x007fffff));
    c.simd(SIMD.v128And);
    this.konst(splatI32(0x3f000000));
    c.simd(SIMD.v128Or);
    const half = this.hold();
    // Below √½: m = 2·half - 1 and e - 1 (the mask's lanes are -1); else m = half - 1.
    c.get(half);
    this.konst(splatF32(Math.SQRT1_2));
    c.simd(SIMD.f32x4Lt);
    const low = this.hold();
    c.get(exponent).get(low);
    c.simd(SIMD.i32x4Add);
    c.simd(SIMD.f32x4ConvertI32x4S);
    const e = this.hold();
    c.get(half).get(half);
    c.simd(SIMD.f32x4Add);
    c.get(half).get(low);
    select();
    this.konst(splatF32(1));
    c.simd(SIMD.f32x4Sub);
    const m = this.hold();
    c.get(m).get(m);
    c.simd(SIMD.f32x4Mul);
    const z = this.hold();
    this.horner(m, LOG_COEFFICIENTS);
    c.get(m);
    c.simd(SIMD.f32x4Mul);
    c.get(z);
    c.simd(SIMD.f32x4Mul);
    /** Adds `local · factor` to the value on the stack. */
    const addScaled = (local: number, factor: number) => {
      c.get(local);
      this.konst(splatF32(factor));
      c.simd(SIMD.f32x4Mul);
      c.simd(SIMD.f32x4Add);
    };
    addScaled(e, -2.12194440e-4);
    addScaled(z, -0.5);
    c.get(m);
    c.simd(SIMD.f32x4Add);
    addScaled(e, 0.693359375);
    const finite = this.hold();
    // ln ±0 = -Infinity; ln of a negative number or NaN is NaN; ln +Infinity = +Infinity.
    this.konst(splatF32(-Infinity)).get(finite).get(x);
    this.konst(splatF32(0));
    c.simd(SIMD.f32x4Eq);
    select();
    const signed = this.hold();
    this.konst(splatF32(NaN)).get(signed).get(x);
    this.konst(splatF32(0));
    c.simd(SIMD.f32x4Lt);
    c.get(x).get(x);
    c.simd(SIMD.f32x4Ne);
    c.simd(SIMD.v128Or);
    select();
    const real = this.hold();
    this.konst(splatF32(Infinity)).get(real).get(x);
    this.konst(splatF32(Infinity));
    c.simd(SIMD.f32x4Eq);
    select();
  }

  /**
   * tanh of the four lanes on the stack: an odd polynomial below |x| = 0.625 (Cephes' tanhf coefficients),
   * else 1 - 2 / (e^(2|x|) + 1) with the sign of x.
   */
  private tanh(): void {
    const c = this.c;
    const x = this.hold();
    c.get(x);
    c.simd(SIMD.f32x4Abs);
    const ax = this.hold();
    c.get(ax).get(ax);
    c.simd(SIMD.f32x4Add);
    this.exp();
    this.konst(splatF32(1));
    c.simd(SIMD.f32x4Add);
    const d = this.hold();
    this.konst(splatF32(1));
    this.konst(splatF32(2)).get(d);
    c.simd(SIMD.f32x4Div);
    c.simd(SIMD.f32x4Sub);
    const big = this.hold();
    c.get(big);
    c.simd(SIMD.f32x4Neg);
    c.get(big).get(x);
    this.konst(splatF32(0));
    c.simd(SIMD.f32x4Lt);
    c.simd(SIMD.v128Bitselect);
    const large = this.hold();
    c.get(x).get(x);
    c.simd(SIMD.f32x4Mul);
    const z = this.hold();
    this.horner(z, [
      -5.70498872745e-3,
      2.06390887954e-2,
      -5.37397155531e-2,
      1.33314422036e-1,
      -3.33332819422e-1,
    ]);
    c.get(z);
    c.simd(SIMD.f32x4Mul);
    c.get(x);
    c.simd(SIMD.f32x4Mul);
    c.get(x);
    c.simd(SIMD.f32x4Add);
    c.get(large).get(ax);
    this.konst(splatF32(0.625));
    c.simd(SIMD.f32x4Lt);
    c.simd(SIMD.v128Bitselect);
  }
}
