/**
 * WebAssembly kernels for row gathers and row scatter-adds: the sparse reads and updates of embedding tables
 * (word2vec, embeddings, lazy optimizer steps). Each kernel is specialised to its row width and row count,
 * and follows the runtime's `kernel(lo, hi, ...pointers)` convention so that the worker pool can split it:
 * a gather over output rows, a scatter-add over interleaved stripes of table rows (each thread adds only
 * into its own rows, in index order, so the result does not depend on the thread count).
 * @module
 */
import { type Code, type MemoryLimits, ModuleBuilder, SIMD, ValType } from "./wasm.ts";

/** Rows up to this many bytes are copied or added by straight-line code. */
const UNROLL_BYTES = 1024;

/**
 * A gather kernel: `kernel(lo, hi, table, indices, out)` copies rows `indices[i]` of `table` to rows `i` of
 * `out` for i in `[lo, hi)`. Indices must already be checked (the caller reports bad ones by name).
 *
 * @example
 * ```ts
 * import { gatherRowsModule } from "./rows.ts";
 * const memory = new WebAssembly.Memory({ initial: 1 });
 * const bytes = gatherRowsModule(8, { initial: 1 });
 * const kernel = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } }).exports
 *   .kernel as (...args: number[]) => void;
 * new Float32Array(memory.buffer, 0, 6).set([1, 2, 3, 4, 5, 6]); // a [3, 2] table at byte 0
 * new Int32Array(memory.buffer, 64, 2).set([2, 0]); // indices at byte 64
 * kernel(0, 2, 0, 64, 128);
 * if (new Float32Array(memory.buffer, 128, 4).join() !== "5,6,1,2") throw new Error();
 * ```
 */
export function gatherRowsModule(rowBytes: number, limits: MemoryLimits): Uint8Array<ArrayBuffer> {
  const mb = new ModuleBuilder().importMemory("env", "memory", limits);
  const [LO, HI, TABLE, INDICES, OUT] = [0, 1, 2, 3, 4];
  const fn = mb.addFunction(Array(5).fill(ValType.i32), [], (c) => {
    const i = c.local(ValType.i32);
    c.get(LO).set(i);
    c.block((exit) =>
      c.loop((again) => {
        c.get(i).get(HI).i32GeS().brIf(exit);
        // out + i·rowBytes <- table + indices[i]·rowBytes
        c.get(OUT).get(i).i32Const(rowBytes).i32Mul().i32Add();
        c.get(TABLE).get(INDICES).get(i).i32Const(2).i32Shl().i32Add().i32Load().i32Const(rowBytes).i32Mul()
          .i32Add();
        if (rowBytes % 16 === 0 && rowBytes <= UNROLL_BYTES) {
          // Short rows of whole vectors: straight-line loads and stores instead of a memmove call.
          const [to, from] = [c.local(ValType.i32), c.local(ValType.i32)];
          c.set(from).set(to);
          for (let at = 0; at < rowBytes; at += 16) c.get(to).get(from).v128Load(at).v128Store(at);
        } else {
          c.i32Const(rowBytes);
          c.memoryCopy();
        }
        c.get(i).i32Const(1).i32Add().set(i).br(again);
      })
    );
  });
  mb.exportFunction("kernel", fn);
  return mb.toBytes();
}

/**
 * Stripes a scatter-add's table rows are dealt into: row r belongs to stripe `r % SCATTER_STRIPES`, and the
 * pool splits stripes between threads. Interleaving balances the threads when the hits crowd into some rows
 * (a vocabulary sorted by frequency draws most negatives from its first rows, which a split into contiguous
 * ranges gave to one thread).
 *
 * @example
 * ```ts
 * import { SCATTER_STRIPES } from "./rows.ts";
 * if ((SCATTER_STRIPES & (SCATTER_STRIPES - 1)) !== 0) throw new Error("a power of two");
 * ```
 */
export const SCATTER_STRIPES = 64;

/**
 * A scatter-add kernel over a table of `rows` rows of `width` elements (float32, or int32 when `int`):
 * `kernel(lo, hi, base, indices, updates, out)` handles the table rows whose stripe
 * ({@linkcode SCATTER_STRIPES}) is in `[lo, hi)`: unless `inPlace`, it first copies them from `base` to
 * `out`; then for i = 0..count-1 in order, if `indices[i]` is one of its rows, adds row i of `updates`
 * into that row of `out`. Each row is one thread's, so the sums do not depend on the thread count.
 * Indices must already be checked.
 *
 * @example
 * ```ts
 * import { SCATTER_STRIPES, scatterAddRowsModule } from "./rows.ts";
 * const memory = new WebAssembly.Memory({ initial: 1 });
 * const bytes = scatterAddRowsModule({ rows: 2, width: 2, count: 3, int: false, inPlace: true }, { initial: 1 });
 * const kernel = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } }).exports
 *   .kernel as (...args: number[]) => void;
 * new Float32Array(memory.buffer, 0, 4).set([0, 0, 10, 10]); // a [2, 2] table
 * new Int32Array(memory.buffer, 64, 3).set([1, 0, 1]);
 * new Float32Array(memory.buffer, 128, 6).set([1, 2, 3, 4, 5, 6]);
 * kernel(0, SCATTER_STRIPES, 0, 64, 128, 0);
 * if (new Float32Array(memory.buffer, 0, 4).join() !== "3,4,16,18") throw new Error();
 * ```
 */
export function scatterAddRowsModule(
  shape: { rows: number; width: number; count: number; int: boolean; inPlace: boolean },
  limits: MemoryLimits,
): Uint8Array<ArrayBuffer> {
  const { rows, width, count, int, inPlace } = shape;
  const rowBytes = 4 * width;
  const vectorBytes = rowBytes - (rowBytes % 16);
  const mb = new ModuleBuilder().importMemory("env", "memory", limits);
  const [LO, HI, BASE, INDICES, UPDATES, OUT] = [0, 1, 2, 3, 4, 5];
  const fn = mb.addFunction(Array(6).fill(ValType.i32), [], (c) => {
    const [i, row, dst, src, j] = [0, 0, 0, 0, 0].map(() => c.local(ValType.i32));
    if (!inPlace) copyStripes(c, { rows, rowBytes, lo: LO, hi: HI, base: BASE, out: OUT });
    c.i32Const(0).set(i);
    c.block((exit) =>
      c.loop((again) => {
        c.get(i).i32Const(count).i32GeS().brIf(exit);
        c.get(INDICES).get(i).i32Const(2).i32Shl().i32Add().i32Load().set(row);
        // Rows of other threads' stripes are theirs: (row % stripes - lo) <u (hi - lo) is the test.
        c.get(row).i32Const(SCATTER_STRIPES - 1).i32And().get(LO).i32Sub().get(HI).get(LO).i32Sub().i32LtU();
        c.if(() => {
          c.get(OUT).get(row).i32Const(rowBytes).i32Mul().i32Add().set(dst);
          c.get(UPDATES).get(i).i32Const(rowBytes).i32Mul().i32Add().set(src);
          c.i32Const(0).set(j);
          if (vectorBytes > 0 && vectorBytes <= UNROLL_BYTES) {
            // Short rows: straight-line code, each vector at a constant offset (no loop bookkeeping).
            for (let at = 0; at < vectorBytes; at += 16) {
              c.get(dst).get(dst).v128Load(at).get(src).v128Load(at);
              if (int) c.i32x4Add();
              else c.f32x4Add();
              c.v128Store(at);
            }
          } else if (vectorBytes > 0) {
            c.block((done) =>
              c.loop((next) => {
                c.get(j).i32Const(vectorBytes).i32GeS().brIf(done);
                c.get(dst).get(j).i32Add();
                c.get(dst).get(j).i32Add().v128Load();
                c.get(src).get(j).i32Add().v128Load();
                if (int) c.i32x4Add();
                else c.f32x4Add();
                c.v128Store();
                c.get(j).i32Const(16).i32Add().set(j).br(next);
              })
            );
          }
          for (let tail = vectorBytes; tail < rowBytes; tail += 4) {
            c.get(dst);
            if (int) c.get(dst).i32Load(tail).get(src).i32Load(tail).i32Add().i32Store(tail);
            else c.get(dst).f32Load(tail).get(src).f32Load(tail).f32Add().f32Store(tail);
          }
        });
        c.get(i).i32Const(1).i32Add().set(i).br(again);
      })
    );
  });
  mb.exportFunction("kernel", fn);
  return mb.toBytes();
}

/**
 * Emits the copy `out <- base` of the table rows whose stripe ({@linkcode SCATTER_STRIPES}) is in
 * `[lo, hi)`: what a scatter-add that is not in place does first. `lo`, `hi`, `base` and `out` are locals.
 *
 * @example
 * ```ts
 * import { copyStripes, SCATTER_STRIPES } from "./rows.ts";
 * import { ModuleBuilder, ValType } from "./wasm.ts";
 * const mb = new ModuleBuilder().importMemory("env", "memory", { initial: 1 });
 * const fn = mb.addFunction([ValType.i32, ValType.i32, ValType.i32, ValType.i32], [], (c) =>
 *   copyStripes(c, { rows: 3, rowBytes: 4, lo: 0, hi: 1, base: 2, out: 3 }));
 * mb.exportFunction("kernel", fn);
 * const memory = new WebAssembly.Memory({ initial: 1 });
 * const kernel = new WebAssembly.Instance(new WebAssembly.Module(mb.toBytes()), { env: { memory } }).exports
 *   .kernel as (...args: number[]) => void;
 * new Float32Array(memory.buffer, 0, 3).set([1, 2, 3]);
 * kernel(0, SCATTER_STRIPES, 0, 64);
 * if (new Float32Array(memory.buffer, 64, 3).join() !== "1,2,3") throw new Error();
 * ```
 */
export function copyStripes(
  c: Code,
  at: { rows: number; rowBytes: number; lo: number; hi: number; base: number; out: number },
): void {
  const { rows, rowBytes, lo, hi, base, out } = at;
  const [first, last] = [c.local(ValType.i32), c.local(ValType.i32)];
  // out <- base on this thread's rows: rows lo..hi-1 of every block of SCATTER_STRIPES rows.
  c.get(lo).set(first);
  c.block((exit) =>
    c.loop((again) => {
      c.get(first).i32Const(rows).i32GeS().brIf(exit);
      // last = min(first + (hi - lo), rows)
      c.get(first).get(hi).i32Add().get(lo).i32Sub().set(last);
      c.get(last).i32Const(rows).get(last).i32Const(rows).i32LtS().select().set(last);
      c.get(out).get(first).i32Const(rowBytes).i32Mul().i32Add();
      c.get(base).get(first).i32Const(rowBytes).i32Mul().i32Add();
      c.get(last).get(first).i32Sub().i32Const(rowBytes).i32Mul();
      c.memoryCopy();
      c.get(first).i32Const(SCATTER_STRIPES).i32Add().set(first).br(again);
    })
  );
}

/**
 * The bounds check of gathers' and scatters' indices: `largest(ptr, count)` returns the largest of the
 * `count` int32 indices at byte `ptr` read as unsigned numbers (0 when there are none), so one comparison,
 * `largest < rows`, tells whether every index is a row (a negative index reads as 2³¹ or more). Four lanes at
 * a time: word2vec's 7,680 negatives take under a microsecond, a JavaScript loop ten.
 *
 * @example
 * ```ts
 * import { indexBoundModule } from "./rows.ts";
 * const memory = new WebAssembly.Memory({ initial: 1 });
 * const largest = new WebAssembly.Instance(new WebAssembly.Module(indexBoundModule({ initial: 1 })), {
 *   env: { memory },
 * }).exports.largest as (ptr: number, count: number) => number;
 * new Int32Array(memory.buffer, 0, 6).set([3, 9, 2, 4, 1, 7]);
 * if (largest(0, 6) !== 9 || largest(8, 4) !== 7 || largest(0, 0) !== 0) throw new Error();
 * new Int32Array(memory.buffer, 20, 1)[0] = -1;
 * if (largest(0, 6) >>> 0 !== 2 ** 32 - 1) throw new Error("a negative index is the largest");
 * ```
 */
export function indexBoundModule(limits: MemoryLimits): Uint8Array<ArrayBuffer> {
  const mb = new ModuleBuilder().importMemory("env", "memory", limits);
  const [PTR, COUNT] = [0, 1];
  const fn = mb.addFunction([ValType.i32, ValType.i32], [ValType.i32], (c) => {
    const [end, vectorEnd, lanes, largest, value] = [
      c.local(ValType.i32),
      c.local(ValType.i32),
      c.local(ValType.v128),
      c.local(ValType.i32),
      c.local(ValType.i32),
    ];
    c.get(PTR).get(COUNT).i32Const(2).i32Shl().i32Add().set(end);
    c.get(PTR).get(COUNT).i32Const(-4).i32And().i32Const(2).i32Shl().i32Add().set(vectorEnd);
    c.v128Const().set(lanes);
    c.block((exit) =>
      c.loop((again) => {
        c.get(PTR).get(vectorEnd).i32GeU().brIf(exit);
        c.get(lanes).get(PTR).v128Load().simd(SIMD.i32x4MaxU).set(lanes);
        c.get(PTR).i32Const(16).i32Add().set(PTR).br(again);
      })
    );
    /** largest = value when value is larger, unsigned. */
    const keepLarger = () => {
      c.get(value).get(largest).get(value).get(largest).i32GtU().select().set(largest);
    };
    c.i32Const(0).set(largest);
    for (let lane = 0; lane < 4; lane++) {
      c.get(lanes).simd(SIMD.i32x4ExtractLane, lane).set(value);
      keepLarger();
    }
    c.block((exit) =>
      c.loop((again) => {
        c.get(PTR).get(end).i32GeU().brIf(exit);
        c.get(PTR).i32Load().set(value);
        keepLarger();
        c.get(PTR).i32Const(4).i32Add().set(PTR).br(again);
      })
    );
    c.get(largest);
  });
  mb.exportFunction("largest", fn);
  return mb.toBytes();
}
