/**
 * Single-precision matrix multiply (sgemm) in WebAssembly SIMD, emitted by {@linkcode ModuleBuilder}.
 *
 * The kernel follows the usual blocked design: for each `KC`-deep slice of the shared dimension
 * a block of B is packed into `NR`-wide column panels and a block of A into `MR`-tall row panels
 * (this is where `transA`/`transB` are absorbed: packing reads with either stride), then a
 * register-tiled microkernel computes `MR x NR` tiles of C from the packed panels with
 * `MR * NR / 4` v128 accumulators. Every element of C is the sum over k in the same order
 * regardless of how C is split into tiles or threads, which is what makes multi-threaded
 * results bit-identical to single-threaded ones.
 * @module
 */

import { type Code, type Label, type MemoryLimits, ModuleBuilder, ValType } from "./wasm.ts";

/**
 * Tile and block sizes of the kernel. `mr x 4*nv` is the register tile, `kc` the depth of a
 * packed slice (so that panels stay in L1), `mc`/`nc` the rows/columns of a packed A/B block.
 *
 * @example
 * ```ts
 * import { buildSgemmModule, type GemmTiling } from "./matmul.ts";
 * const tiling: GemmTiling = { mr: 4, nv: 2, kc: 128, mc: 64, nc: 1024, unroll: 2 };
 * buildSgemmModule({ relaxed: false, memory: { initial: 1 }, tiling });
 * ```
 */
export interface GemmTiling {
  /** Rows of the register tile. */
  mr: number;
  /** Columns of the register tile, in 4-float vectors (NR = 4 * nv). */
  nv: number;
  /** Depth of one packed slice of k. */
  kc: number;
  /** Rows of a packed A block (a multiple of mr). */
  mc: number;
  /** Columns of a packed B block (a multiple of 4 * nv). */
  nc: number;
  /** How many k steps the microkernel's loop body does per iteration. */
  unroll: number;
  /**
   * Pack A in groups of four k steps (see {@linkcode packedAOffset}) and read it with whole-vector
   * loads and lane broadcasts instead of one `load32_splat` per row and step: fewer loads per
   * multiply-add (see {@linkcode DEFAULT_TILING}). Needs `unroll` to be a multiple of 4.
   */
  aLanes?: boolean;
}

/**
 * The tiling chosen by measurement on x64 (Emerald Rapids Xeon, V8 in Deno 2.9, one thread, n = 512
 * and 1024, each variant interleaved call by call with the others on one memory, median of the
 * per-round ratios):
 * - At 128 bits, every vector load and every lane broadcast that feeds the multiply-adds costs about
 *   as much as one: natively (`tests/bench/native/kernel128.c`), the 5x8 loop below runs 1.4-1.5x
 *   faster with its broadcasts left out. So the tile is chosen for the fewest loads and broadcasts
 *   per multiply-add. (Deno runs WebAssembly without V8's trap handler, so each load also carries a
 *   compare and a branch; with `--no-wasm-bounds-checks`, for measurement only, the 5x8 loop ran at
 *   the same speed within noise.)
 * - 5x8 with A packed in groups of four k steps (`aLanes`): per step one vector holds rows 0-3
 *   and row 4 comes from a vector loaded once per group, so 3.25 loads per 10 FMAs instead of
 *   8 per 12. It ran 1.24-1.31x the 6x8 kernel that splat-loads each A value. 10 accumulators,
 *   2 B vectors, the A vector, row 4's group vector and one broadcast fill V8's 15 allocatable
 *   xmm registers; 6x8 with vector A loads needs 17 and spills (0.81x). Also tried, on panels in
 *   L1: 4x8 with lane rotations of A instead of broadcasts, 3x12, 2x16 with grouped A, and 3x3 and
 *   2x5 tiles of 4-lane partial sums along k (no broadcasts, a horizontal sum at the end): 0.80-0.91x.
 * - kc 512 with mc 45 (an A block of 90 KB either way) ran 0.92-0.95x the time of kc 256 with mc 95 at
 *   n = 1024 and 0.92-0.94x at 2048 (0.99x at 512): half as many passes over C. kc 768 and 1024 (mc 30,
 *   20) were no better; unroll 4..8 were within noise; kc 128 was slower; mc 90 to 360 with kc 512 were
 *   no better either.
 *
 * @example
 * ```ts
 * import { DEFAULT_TILING } from "./matmul.ts";
 * if (DEFAULT_TILING.mc % DEFAULT_TILING.mr !== 0) throw new Error();
 * ```
 */
export const DEFAULT_TILING: Readonly<GemmTiling> = {
  mr: 5,
  nv: 2,
  kc: 512,
  mc: 45,
  nc: 2048,
  unroll: 8,
  aLanes: true,
};

/**
 * Options of {@linkcode buildSgemmModule}.
 *
 * @example
 * ```ts
 * import type { SgemmModuleOptions } from "./matmul.ts";
 * const options: SgemmModuleOptions = { relaxed: true, memory: { initial: 1, maximum: 10, shared: true } };
 * ```
 */
export interface SgemmModuleOptions {
  /** Use `f32x4.relaxed_madd` (fused multiply-add) instead of `mul` + `add`. */
  relaxed: boolean;
  /** The limits of the imported `env.memory` (shared for worker pools). */
  memory: MemoryLimits;
  /** Register tile and cache blocks; {@linkcode DEFAULT_TILING} when omitted. */
  tiling?: GemmTiling;
}

/**
 * Bit flags of the `flags` argument of the exported `gemm` function. With `packedB`, `b` is
 * not B but all of op(B) already packed (see {@linkcode packedBOffset}): threads that share
 * one B then pack it once between them instead of once each.
 *
 * @example
 * ```ts
 * import { GemmFlags } from "./matmul.ts";
 * const flags = GemmFlags.transB | GemmFlags.accumulate; // C += A · Bᵀ
 * ```
 */
export const GemmFlags = { transA: 1, transB: 2, accumulate: 4, packedB: 8 } as const;

/**
 * The exported kernel: C (+)= op(A) · op(B) for one matrix, pointers in bytes, leading
 * dimensions in elements, `work` a scratch area of {@linkcode gemmScratchBytes} bytes.
 *
 * @example
 * ```ts
 * import { buildSgemmModule, type GemmFunction } from "./matmul.ts";
 * const memory = new WebAssembly.Memory({ initial: 40 });
 * const module = new WebAssembly.Module(buildSgemmModule({ relaxed: false, memory: { initial: 40 } }));
 * const gemm = new WebAssembly.Instance(module, { env: { memory } }).exports.gemm as GemmFunction;
 * new Float32Array(memory.buffer).set([2, 3], 1); // a = 2 at byte 4, b = 3 at byte 8
 * gemm(4, 8, 12, 1, 1, 1, 1, 1, 1, 0, 64);
 * if (new Float32Array(memory.buffer)[3] !== 6) throw new Error();
 * ```
 */
export type GemmFunction = (
  a: number,
  b: number,
  c: number,
  m: number,
  n: number,
  k: number,
  lda: number,
  ldb: number,
  ldc: number,
  flags: number,
  work: number,
) => void;

/**
 * The exported packer of B panels: packs the `count x depth` block whose element (j, p) is at
 * `src + j*ws + p*ds` (byte strides) into `NR`-wide panels at `dst`, zero-padding the last one.
 *
 * @example
 * ```ts
 * import { buildSgemmModule, type PackFunction } from "./matmul.ts";
 * const memory = new WebAssembly.Memory({ initial: 1 });
 * const module = new WebAssembly.Module(buildSgemmModule({ relaxed: false, memory: { initial: 1 } }));
 * const packB = new WebAssembly.Instance(module, { env: { memory } }).exports.packB as PackFunction;
 * const f32 = new Float32Array(memory.buffer);
 * f32.set([1, 2, 3], 0); // one row of 3 columns
 * packB(0, 4, 12, 3, 1, 64); // into one 8-wide panel at byte 64
 * if (f32.slice(16, 24).join() !== "1,2,3,0,0,0,0,0") throw new Error();
 * ```
 */
export type PackFunction = (
  src: number,
  ws: number,
  ds: number,
  count: number,
  depth: number,
  dst: number,
) => void;

/**
 * Where `gemm` with {@linkcode GemmFlags}.packedB expects the panels of columns from `col` (a
 * multiple of NR) of the k-slice starting at `depthStart` (a multiple of kc): element offset
 * from the packed base, for op(B) of `n` columns and `k` rows.
 *
 * @example
 * ```ts
 * import { packedBOffset } from "./matmul.ts";
 * // second kc-slice, columns from 16: after one full slice (256 x 24 padded columns) + 2 panels
 * if (packedBOffset({ n: 20, k: 300, depthStart: 256, col: 16 }) !== 256 * 24 + 16 * 44) throw new Error();
 * ```
 */
export function packedBOffset(
  at: { n: number; k: number; depthStart: number; col: number },
  tiling: GemmTiling = DEFAULT_TILING,
): number {
  const nr = 4 * tiling.nv;
  const depth = Math.min(tiling.kc, at.k - at.depthStart);
  return at.depthStart * Math.ceil(at.n / nr) * nr + at.col * depth;
}

/**
 * Elements of op(B) packed for {@linkcode GemmFlags}.packedB (columns padded to NR).
 *
 * @example
 * ```ts
 * import { packedBElements } from "./matmul.ts";
 * if (packedBElements(10, 3) !== 10 * 8) throw new Error();
 * ```
 */
export function packedBElements(k: number, n: number, tiling: GemmTiling = DEFAULT_TILING): number {
  const nr = 4 * tiling.nv;
  return k * Math.ceil(n / nr) * nr;
}

const align64 = (bytes: number) => Math.ceil(bytes / 64) * 64;

/**
 * Bytes of scratch one thread needs: packed A block, one spill tile for edges, packed B block.
 *
 * @example
 * ```ts
 * import { gemmScratchBytes } from "./matmul.ts";
 * if (gemmScratchBytes() % 64 !== 0) throw new Error();
 * ```
 */
export function gemmScratchBytes(tiling: GemmTiling = DEFAULT_TILING): number {
  const { mr, nv, kc, mc, nc } = tiling;
  return align64(mc * kc * 4) + align64(mr * nv * 16) + align64(kc * nc * 4);
}

function checkTiling(t: GemmTiling): void {
  const nr = 4 * t.nv;
  const ok = t.mr >= 1 && t.nv >= 1 && t.kc >= 1 && t.mc % t.mr === 0 && t.nc % nr === 0 &&
    t.unroll >= 1 && (t.unroll & (t.unroll - 1)) === 0 && (!t.aLanes || t.unroll % 4 === 0);
  if (!ok) {
    throw new RangeError(
      `sgemm tiling ${
        JSON.stringify(t)
      }: mc must be a multiple of mr, nc of 4*nv, unroll a power of 2 (a multiple of 4 with aLanes)`,
    );
  }
}

/** `while (cond) body` as block/loop; `cond` leaves an i32 on the stack. */
function whileLoop(c: Code, cond: () => void, body: (exit: Label) => void): void {
  c.block((exit) =>
    c.loop((repeat) => {
      cond();
      c.i32Eqz().brIf(exit);
      body(exit);
      c.br(repeat);
    })
  );
}

/** `local += by`, where `by` is a constant or pushes an i32. */
function addTo(c: Code, local: number, by: number | (() => void)): void {
  c.get(local);
  if (typeof by === "number") c.i32Const(by);
  else by();
  c.i32Add().set(local);
}

/** Pushes min(a, b) of two i32 locals. */
function minLocals(c: Code, a: number, b: number): void {
  c.get(a).get(b).get(a).get(b).i32LtS().select();
}

/** Rows of an `mr`-row panel that load four at a time as one vector (the rest have a vector per group). */
const laneRowsOf = (mr: number) => mr - mr % 4;

/**
 * Where the A value of panel row `row` (0 <= row < mr) at depth step `step` of a `depth`-deep
 * slice sits in a packed panel with {@linkcode GemmTiling.aLanes}, in floats from the panel's
 * start. Whole groups of four steps come first, each `4 * mr` floats: for each of the four steps
 * the values of the first `mr - mr % 4` rows (so four rows load as one vector), then for each
 * remaining row its four values (one vector that serves the whole group). Steps past the last
 * whole group are laid out plainly, `mr` values per step.
 *
 * @example
 * ```ts
 * import { packedAOffset } from "./matmul.ts";
 * // mr = 5: step 1 of the first group holds rows 0-3 at 4..7, row 4's group vector is 16..19
 * if (packedAOffset(5, 10, 2, 1) !== 6 || packedAOffset(5, 10, 4, 1) !== 17) throw new Error();
 * if (packedAOffset(5, 10, 3, 9) !== 48) throw new Error(); // past the groups: 9 * 5 + 3
 * ```
 */
export function packedAOffset(mr: number, depth: number, row: number, step: number): number {
  const laneRows = laneRowsOf(mr);
  if (step >= depth - depth % 4) return step * mr + row;
  const group = 4 * mr * (step >> 2), within = step & 3;
  return row < laneRows
    ? group + within * laneRows + row
    : group + 4 * laneRows + 4 * (row - laneRows) + within;
}

/** Byte lanes of an `i8x16.shuffle` picking 32-bit lanes: 0-3 of the first operand, 4-7 of the second. */
const lanes32 = (...picks: number[]) => picks.flatMap((lane) => [0, 1, 2, 3].map((byte) => 4 * lane + byte));

/** The v128 locals {@linkcode transpose4} works in. */
const transposeScratch = (c: Code) => ({
  quads: Array.from({ length: 4 }, () => c.local(ValType.v128)),
  pairs: Array.from({ length: 4 }, () => c.local(ValType.v128)),
});

/**
 * Emits a 4x4 transpose: loads four vectors (four depth steps of a row each) from the address in
 * local `pointer`, advancing it by local `stride` bytes after each, then calls `store(step, push)`
 * for each step, where `push()` pushes that step's four rows.
 * `scratch` comes from {@linkcode transposeScratch}.
 */
function transpose4(
  c: Code,
  scratch: { quads: readonly number[]; pairs: readonly number[] },
  pointer: number,
  stride: number,
  store: (step: number, push: () => void) => void,
): void {
  const { quads, pairs } = scratch;
  for (let row = 0; row < 4; row++) {
    c.get(pointer).v128Load().set(quads[row]);
    addTo(c, pointer, () => c.get(stride));
  }
  // Rows 0/1 and 2/3 interleaved (lower halves, then upper), then 64-bit halves of those paired.
  c.get(quads[0]).get(quads[1]).i8x16Shuffle(lanes32(0, 4, 1, 5)).set(pairs[0]);
  c.get(quads[2]).get(quads[3]).i8x16Shuffle(lanes32(0, 4, 1, 5)).set(pairs[1]);
  c.get(quads[0]).get(quads[1]).i8x16Shuffle(lanes32(2, 6, 3, 7)).set(pairs[2]);
  c.get(quads[2]).get(quads[3]).i8x16Shuffle(lanes32(2, 6, 3, 7)).set(pairs[3]);
  for (let step = 0; step < 4; step++) {
    const [low, high] = step < 2 ? [pairs[0], pairs[1]] : [pairs[2], pairs[3]];
    store(
      step,
      () => c.get(low).get(high).i8x16Shuffle(step % 2 ? lanes32(2, 3, 6, 7) : lanes32(0, 1, 4, 5)),
    );
  }
}

/**
 * Emits the A packer for {@linkcode GemmTiling.aLanes}: the same signature as the plain packer
 * ({@linkcode emitPack}), panels of `mr` rows in the order of {@linkcode packedAOffset}, the last
 * partial panel zero-padded. Whole groups of four steps of a full panel move as vectors: with A
 * row-major (consecutive steps adjacent) four rows' vectors are transposed 4x4 in registers, with
 * A transposed (consecutive rows adjacent) a step's four rows are one vector already. The rest
 * (partial panels, steps past the last group, and in the transposed case the rows past the
 * four-row vectors) goes element by element. Element by element throughout, packing A took 3% of
 * a 1024 product on one thread.
 */
function emitPackA(mb: ModuleBuilder, mr: number): number {
  const i32 = ValType.i32;
  const laneRows = laneRowsOf(mr);
  return mb.addFunction([i32, i32, i32, i32, i32, i32], [], (c) => {
    const [src, ws, ds, count, depth, dst] = [0, 1, 2, 3, 4, 5];
    const [rows, row, step, s, full, t, end, stepScale, rowBase, vectorRows] = Array.from(
      { length: 10 },
      () => c.local(i32),
    );
    const scratch = transposeScratch(c);
    const increment = (local: number, by: number | (() => void)) => addTo(c, local, by);
    const groupBytes = 16 * mr;
    /** Row-major A: for each group, rows q..q+3's four steps transposed into four steps of four rows. */
    const transposeGroups = () => {
      c.i32Const(0).set(step).get(dst).set(t);
      whileLoop(c, () => c.get(step).get(full).i32LtS(), () => {
        c.get(src).get(step).i32Const(2).i32Shl().i32Add().set(s); // row 0 of this group
        for (let quad = 0; quad < laneRows; quad += 4) {
          transpose4(c, scratch, s, ws, (within, push) => {
            c.get(t);
            push();
            c.v128Store(4 * (within * laneRows + quad));
          });
        }
        for (let extra = laneRows; extra < mr; extra++) {
          c.get(t).get(s).v128Load().v128Store(4 * (4 * laneRows + 4 * (extra - laneRows)));
          increment(s, () => c.get(ws));
        }
        increment(t, groupBytes);
        increment(step, 4);
      });
    };
    /** Transposed A: each step's rows are adjacent, so four rows of a step are one vector. */
    const copyStepQuads = () => {
      c.i32Const(0).set(step).get(src).set(s).get(dst).set(t);
      whileLoop(c, () => c.get(step).get(full).i32LtS(), () => {
        for (let within = 0; within < 4; within++) {
          for (let quad = 0; quad < laneRows; quad += 4) {
            c.get(t).get(s).v128Load(4 * quad).v128Store(4 * (within * laneRows + quad));
          }
          increment(s, () => c.get(ds));
        }
        increment(t, groupBytes);
        increment(step, 4);
      });
    };
    c.get(depth).i32Const(~3).i32And().set(full);
    whileLoop(c, () => c.get(count).i32Const(0).i32GtS(), () => {
      c.i32Const(mr).set(rows);
      minLocals(c, rows, count);
      c.set(rows);
      // Rows whose whole groups the vector copies below move (the rest go element by element).
      c.i32Const(0).set(vectorRows);
      c.get(rows).i32Const(mr).i32LtS().if(() => {
        // Partial panel: zero it first, so the missing rows multiply as zeros.
        c.get(dst).set(t).get(dst).get(depth).i32Const(4 * mr).i32Mul().i32Add().set(end);
        whileLoop(c, () => c.get(t).get(end).i32LtU(), () => {
          c.get(t).f32Const(0).f32Store();
          increment(t, 4);
        });
      }, () => {
        c.get(ds).i32Const(4).i32Eq().if(() => {
          transposeGroups();
          c.i32Const(mr).set(vectorRows);
        }, () => {
          if (laneRows === 0) return;
          c.get(ws).i32Const(4).i32Eq().if(() => {
            copyStepQuads();
            c.i32Const(laneRows).set(vectorRows);
          });
        });
      });
      c.i32Const(0).set(row);
      whileLoop(c, () => c.get(row).get(rows).i32LtS(), () => {
        // In whole groups the offset is 4*mr*(step >> 2) + (step & 3)*stepScale + rowBase.
        c.get(row).i32Const(laneRows).i32LtS().if(() => {
          c.i32Const(laneRows).set(stepScale).get(row).set(rowBase);
        }, () => {
          c.i32Const(1).set(stepScale).get(row).i32Const(laneRows).i32Sub().i32Const(2).i32Shl();
          c.i32Const(4 * laneRows).i32Add().set(rowBase);
        });
        c.get(full).i32Const(0).get(row).get(vectorRows).i32LtS().select().set(step);
        c.get(src).get(row).get(ws).i32Mul().i32Add().get(step).get(ds).i32Mul().i32Add().set(s);
        whileLoop(c, () => c.get(step).get(full).i32LtS(), () => {
          c.get(dst);
          c.get(step).i32Const(2).i32ShrU().i32Const(4 * mr).i32Mul();
          c.get(step).i32Const(3).i32And().get(stepScale).i32Mul().i32Add().get(rowBase).i32Add();
          c.i32Const(2).i32Shl().i32Add().get(s).f32Load().f32Store();
          increment(s, () => c.get(ds));
          increment(step, 1);
        });
        whileLoop(c, () => c.get(step).get(depth).i32LtS(), () => {
          c.get(dst).get(step).i32Const(mr).i32Mul().get(row).i32Add().i32Const(2).i32Shl().i32Add();
          c.get(s).f32Load().f32Store();
          increment(s, () => c.get(ds));
          increment(step, 1);
        });
        increment(row, 1);
      });
      increment(src, () => c.get(ws).i32Const(mr).i32Mul());
      increment(dst, () => c.get(depth).i32Const(4 * mr).i32Mul());
      c.get(count).i32Const(mr).i32Sub().set(count);
    });
  });
}

/**
 * Emits `pack(src, ws, ds, count, depth, dst)`: copies a `count x depth` block whose element
 * (w, p) is at `src + w*ws + p*ds` (byte strides) into panels of `width` rows, each panel laid
 * out depth-major (`width` consecutive floats per depth step) and zero-padded to full width.
 * Both layouts of a matrix are the same call with the two strides swapped.
 */
function emitPack(mb: ModuleBuilder, width: number): number {
  const i32 = ValType.i32;
  return mb.addFunction([i32, i32, i32, i32, i32, i32], [], (c) => {
    const [src, ws, ds, count, depth, dst] = [0, 1, 2, 3, 4, 5];
    const p = c.local(i32), s = c.local(i32), t = c.local(i32), w = c.local(i32), end = c.local(i32);
    const scratch = transposeScratch(c);
    const panelBytes = width * 4;
    const increment = (local: number, by: number | (() => void)) => addTo(c, local, by);
    /** for p in 0..depth: body(); s += ds; dst += one panel row */
    const overDepth = (body: () => void) => {
      c.get(src).set(s).i32Const(0).set(p);
      whileLoop(c, () => c.get(p).get(depth).i32LtS(), () => {
        body();
        increment(s, () => c.get(ds));
        increment(dst, panelBytes);
        increment(p, 1);
      });
    };
    whileLoop(c, () => c.get(count).i32Const(0).i32GtS(), () => {
      c.get(count).i32Const(width).i32GeS().if(() => {
        const scalarCopy = () =>
          overDepth(() => {
            c.get(s).set(t);
            for (let x = 0; x < width; x++) {
              c.get(dst).get(t).f32Load().f32Store(4 * x);
              if (x + 1 < width) increment(t, () => c.get(ws));
            }
          });
        // Panel rows contiguous in memory (ws == 4 bytes): copy whole vectors.
        const vectorCopy = () =>
          overDepth(() => {
            for (let v = 0; v < width / 4; v++) c.get(dst).get(s).v128Load(16 * v).v128Store(16 * v);
          });
        // Depth steps adjacent (ds == 4 bytes): four steps of four rows at a time, transposed in
        // registers; the steps past the last group of four go element by element.
        const transposingCopy = () => {
          c.get(src).set(s).i32Const(0).set(p);
          whileLoop(c, () => c.get(p).i32Const(4).i32Add().get(depth).i32LeS(), () => {
            for (let quad = 0; quad < width; quad += 4) {
              c.get(s).get(ws).i32Const(quad).i32Mul().i32Add().set(t);
              transpose4(c, scratch, t, ws, (step, push) => {
                c.get(dst);
                push();
                c.v128Store(step * panelBytes + 4 * quad);
              });
            }
            increment(s, 16);
            increment(dst, 4 * panelBytes);
            increment(p, 4);
          });
          whileLoop(c, () => c.get(p).get(depth).i32LtS(), () => {
            c.get(s).set(t);
            for (let x = 0; x < width; x++) {
              c.get(dst).get(t).f32Load().f32Store(4 * x);
              if (x + 1 < width) increment(t, () => c.get(ws));
            }
            increment(s, 4);
            increment(dst, panelBytes);
            increment(p, 1);
          });
        };
        if (width % 4 === 0) {
          c.get(ws).i32Const(4).i32Eq().if(vectorCopy, () => {
            c.get(ds).i32Const(4).i32Eq().if(transposingCopy, scalarCopy);
          });
        } else scalarCopy();
      }, () => {
        // Last, partial panel: zero it, then copy the valid rows; the microkernel then runs
        // a full tile and only the valid part of it is written to C.
        c.get(dst).set(t).get(dst).get(depth).i32Const(panelBytes).i32Mul().i32Add().set(end);
        whileLoop(c, () => c.get(t).get(end).i32LtU(), () => {
          c.get(t).f32Const(0).f32Store();
          increment(t, 4);
        });
        overDepth(() => {
          c.get(s).set(t).i32Const(0).set(w);
          whileLoop(c, () => c.get(w).get(count).i32LtS(), () => {
            c.get(dst).get(w).i32Const(2).i32Shl().i32Add().get(t).f32Load().f32Store();
            increment(t, () => c.get(ws));
            increment(w, 1);
          });
        });
      });
      increment(src, () => c.get(ws).i32Const(width).i32Mul());
      c.get(count).i32Const(width).i32Sub().set(count);
    });
  });
}

/**
 * Builds the sgemm module: it imports `env.memory` and exports `gemm` ({@linkcode GemmFunction}).
 *
 * @example
 * ```ts
 * import { buildSgemmModule, type GemmFunction } from "./matmul.ts";
 * const memory = new WebAssembly.Memory({ initial: 40 });
 * const bytes = buildSgemmModule({ relaxed: false, memory: { initial: 40 } });
 * const { exports } = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } });
 * const f32 = new Float32Array(memory.buffer);
 * f32.set([1, 2, 3, 4], 0); // A = [[1, 2], [3, 4]] at byte 0, B = identity at byte 16
 * f32.set([1, 0, 0, 1], 4);
 * (exports.gemm as GemmFunction)(0, 16, 32, 2, 2, 2, 2, 2, 2, 0, 64);
 * if (f32.slice(8, 12).join() !== "1,2,3,4") throw new Error();
 * ```
 */
export function buildSgemmModule(options: SgemmModuleOptions): Uint8Array<ArrayBuffer> {
  const tiling = options.tiling ?? DEFAULT_TILING;
  checkTiling(tiling);
  const { mr: MR, nv: NV, kc: KC, mc: MC, nc: NC, unroll: U } = tiling;
  const NR = 4 * NV;
  const i32 = ValType.i32, v128 = ValType.v128;

  const mb = new ModuleBuilder().importMemory("env", "memory", options.memory);
  const packA = tiling.aLanes ? emitPackA(mb, MR) : emitPack(mb, MR);
  const packB = emitPack(mb, NR);

  const gemm = mb.addFunction(new Array(11).fill(i32), [], (c) => {
    const [a, b, cBase, m, n, k, lda, ldb, ldc, flags, work] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
    const L = () => c.local(i32);
    const [lda4, ldb4, ldc4, packedA, tile, packedB, blockB, nPadded, first, tmp] = Array.from(
      { length: 10 },
      L,
    );
    const [jc, nc, pc, kc, ic, mc, jr, nr, ir, mr, ap, bp, cp, steps, row, col] = Array.from(
      { length: 16 },
      L,
    );
    const spill = c.local(ValType.f32);
    const acc = Array.from({ length: MR * NV }, () => c.local(v128));
    const bv = Array.from({ length: NV }, () => c.local(v128));
    const av = c.local(v128), aQuad = c.local(v128);
    /** With aLanes: rows read four at a time from one vector, and the other rows' group vectors. */
    const laneRows = tiling.aLanes ? laneRowsOf(MR) : 0;
    const tailQuads = tiling.aLanes ? Array.from({ length: MR - laneRows }, () => c.local(v128)) : [];
    const increment = (local: number, by: number | (() => void)) => addTo(c, local, by);
    const isSet = (bit: number) => c.get(flags).i32Const(bit).i32And();
    /** local = min(limit, total - start) */
    const blockSize = (local: number, limit: number, total: number, start: number) => {
      c.i32Const(limit).set(local).get(total).get(start).i32Sub().set(tmp);
      minLocals(c, local, tmp);
      c.set(local);
    };

    c.get(m).i32Eqz().get(n).i32Eqz().i32Or().if(() => c.return());
    c.get(lda).i32Const(2).i32Shl().set(lda4);
    c.get(ldb).i32Const(2).i32Shl().set(ldb4);
    c.get(ldc).i32Const(2).i32Shl().set(ldc4);
    c.get(n).i32Const(NR - 1).i32Add().i32Const(NR).i32DivU().i32Const(NR).i32Mul().set(nPadded);
    c.get(work).set(packedA);
    c.get(work).i32Const(align64(MC * KC * 4)).i32Add().tee(tile);
    c.i32Const(align64(MR * NR * 4)).i32Add().set(packedB);

    /** acc[r] += a · B for each B vector of the step (a: the broadcast A value of row r). */
    const multiplyRow = (r: number) => {
      for (let v = 0; v < NV; v++) {
        const x = acc[r * NV + v];
        c.get(av).get(bv[v]);
        if (options.relaxed) c.get(x).f32x4RelaxedMadd();
        else c.f32x4Mul().get(x).f32x4Add();
        c.set(x);
      }
    };
    const loadB = (u: number) => {
      for (let v = 0; v < NV; v++) c.get(bp).v128Load(4 * (u * NR + 4 * v)).set(bv[v]);
    };
    /** One k step of a plain panel (MR values per step); the u-th of an unrolled run, so offsets are constants. */
    const plainStep = (u: number) => {
      loadB(u);
      for (let r = 0; r < MR; r++) {
        c.get(ap).v128Load32Splat(4 * packedAOffset(MR, 0, r, u)).set(av); // plain: u * MR + r
        multiplyRow(r);
      }
    };
    /**
     * The u-th k step of an unrolled run over whole groups of a panel packed by packedAOffset, whose
     * offsets (from `ap`, the run's start) the loads take; `U` steps are all whole groups.
     */
    const groupedStep = (u: number) => {
      const at = (row: number, step: number) => 4 * packedAOffset(MR, U, row, step);
      const within = u & 3;
      loadB(u);
      if (within === 0) {
        // Each row past the four-row vectors has one vector for the group: its four steps.
        tailQuads.forEach((quad, t) => c.get(ap).v128Load(at(laneRows + t, u)).set(quad));
      }
      for (let r = 0; r < MR; r++) {
        if (r < laneRows) {
          if (r % 4 === 0) c.get(ap).v128Load(at(r, u)).set(aQuad);
          c.get(aQuad).get(aQuad).splatLane32(r % 4).set(av);
        } else {
          const quad = tailQuads[r - laneRows];
          c.get(quad).get(quad).splatLane32(within).set(av);
        }
        multiplyRow(r);
      }
    };
    /** Runs `count` iterations of `body` (count in `steps`, may be 0). */
    const countedLoop = (body: () => void) =>
      c.block((done) => {
        c.get(steps).i32Eqz().brIf(done);
        c.loop((repeat) => {
          body();
          c.get(steps).i32Const(1).i32Sub().tee(steps).brIf(repeat);
        });
      });

    const microkernel = () => {
      for (const x of acc) c.v128Const().set(x);
      const step = tiling.aLanes ? groupedStep : plainStep;
      c.get(kc).i32Const(Math.log2(U)).i32ShrU().set(steps);
      countedLoop(() => {
        for (let u = 0; u < U; u++) step(u);
        increment(ap, U * MR * 4);
        increment(bp, U * NR * 4);
      });
      if (tiling.aLanes && U > 4) {
        // Whole groups of four steps left over from the unrolled loop.
        c.get(kc).i32Const(U - 1).i32And().i32Const(2).i32ShrU().set(steps);
        countedLoop(() => {
          for (let u = 0; u < 4; u++) groupedStep(u);
          increment(ap, 4 * MR * 4);
          increment(bp, 4 * NR * 4);
        });
      }
      const single = tiling.aLanes ? 4 : U; // steps past the last group (or unrolled run) are plain
      if (single > 1) {
        c.get(kc).i32Const(single - 1).i32And().set(steps);
        countedLoop(() => {
          plainStep(0);
          increment(ap, MR * 4);
          increment(bp, NR * 4);
        });
      }
      // Write back: full tiles straight from registers, edge tiles through the spill tile.
      c.get(mr).i32Const(MR).i32Eq().get(nr).i32Const(NR).i32Eq().i32And().if(() => {
        const writeRows = (add: boolean) => {
          c.get(cp).set(row);
          for (let r = 0; r < MR; r++) {
            for (let v = 0; v < NV; v++) {
              c.get(row);
              if (add) c.get(row).v128Load(16 * v).get(acc[r * NV + v]).f32x4Add();
              else c.get(acc[r * NV + v]);
              c.v128Store(16 * v);
            }
            if (r + 1 < MR) increment(row, () => c.get(ldc4));
          }
        };
        c.get(first).if(() => writeRows(false), () => writeRows(true));
      }, () => {
        for (let r = 0; r < MR; r++) {
          for (let v = 0; v < NV; v++) c.get(tile).get(acc[r * NV + v]).v128Store(16 * (r * NV + v));
        }
        c.i32Const(0).set(row);
        whileLoop(c, () => c.get(row).get(mr).i32LtS(), () => {
          c.i32Const(0).set(col);
          whileLoop(c, () => c.get(col).get(nr).i32LtS(), () => {
            // C[row, col] = spill (first k slice, not accumulating) or C[row, col] + spill
            c.get(tile).get(row).i32Const(NR).i32Mul().get(col).i32Add().i32Const(2).i32Shl().i32Add();
            c.f32Load().set(spill);
            c.get(cp).get(row).get(ldc4).i32Mul().i32Add().get(col).i32Const(2).i32Shl().i32Add().tee(tmp);
            c.get(spill).get(tmp).f32Load().get(spill).f32Add().get(first).select().f32Store();
            increment(col, 1);
          });
          increment(row, 1);
        });
      });
    };

    // Loop nest: jc (NC columns) > pc (KC deep) > ic (MC rows) > jr (NR columns) > ir (MR rows).
    c.i32Const(0).set(jc);
    c.loop((nextJc) => {
      blockSize(nc, NC, n, jc);
      c.i32Const(0).set(pc);
      c.loop((nextPc) => {
        // A do-while, so k == 0 still runs once and writes zeros when not accumulating.
        blockSize(kc, KC, k, pc);
        c.get(pc).i32Eqz().get(flags).i32Const(GemmFlags.accumulate).i32And().i32Eqz().i32And().set(first);
        isSet(GemmFlags.packedB).if(() => {
          c.get(b).get(pc).get(nPadded).i32Mul().get(jc).get(kc).i32Mul().i32Add().i32Const(2).i32Shl()
            .i32Add();
          c.set(blockB);
        }, () => {
          // B block element (p, j) = b[p*ldb + j], or b[j*ldb + p] when transposed.
          c.get(b);
          c.get(jc).get(ldb).i32Mul().get(pc).i32Add();
          c.get(pc).get(ldb).i32Mul().get(jc).i32Add();
          isSet(GemmFlags.transB).select().i32Const(2).i32Shl().i32Add();
          c.get(ldb4).i32Const(4);
          isSet(GemmFlags.transB).select();
          c.i32Const(4).get(ldb4);
          isSet(GemmFlags.transB).select();
          c.get(nc).get(kc).get(packedB).call(packB);
          c.get(packedB).set(blockB);
        });
        c.i32Const(0).set(ic);
        whileLoop(c, () => c.get(ic).get(m).i32LtS(), () => {
          blockSize(mc, MC, m, ic);
          // A block element (i, p) = a[i*lda + p], or a[p*lda + i] when transposed.
          c.get(a);
          c.get(pc).get(lda).i32Mul().get(ic).i32Add();
          c.get(ic).get(lda).i32Mul().get(pc).i32Add();
          isSet(GemmFlags.transA).select().i32Const(2).i32Shl().i32Add();
          c.i32Const(4).get(lda4);
          isSet(GemmFlags.transA).select();
          c.get(lda4).i32Const(4);
          isSet(GemmFlags.transA).select();
          c.get(mc).get(kc).get(packedA).call(packA);
          c.i32Const(0).set(jr);
          whileLoop(c, () => c.get(jr).get(nc).i32LtS(), () => {
            blockSize(nr, NR, nc, jr);
            c.i32Const(0).set(ir);
            whileLoop(c, () => c.get(ir).get(mc).i32LtS(), () => {
              blockSize(mr, MR, mc, ir);
              c.get(packedA).get(ir).get(kc).i32Mul().i32Const(2).i32Shl().i32Add().set(ap);
              c.get(blockB).get(jr).get(kc).i32Mul().i32Const(2).i32Shl().i32Add().set(bp);
              c.get(cBase).get(ic).get(ir).i32Add().get(ldc).i32Mul().get(jc).i32Add().get(jr).i32Add();
              c.i32Const(2).i32Shl().i32Add().set(cp);
              microkernel();
              increment(ir, MR);
            });
            increment(jr, NR);
          });
          increment(ic, MC);
        });
        c.get(pc).i32Const(KC).i32Add().tee(pc).get(k).i32LtS().brIf(nextPc);
      });
      c.get(jc).i32Const(NC).i32Add().tee(jc).get(n).i32LtS().brIf(nextJc);
    });
  });
  mb.exportFunction("gemm", gemm);
  mb.exportFunction("packB", packB);
  return mb.toBytes();
}
