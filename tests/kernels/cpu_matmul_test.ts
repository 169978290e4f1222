import assert from "node:assert/strict";
import fc from "fast-check";
import { CpuRuntime, type MatmulShape } from "../../kernels/cpu/pool.ts";
import { hasRelaxedSimd } from "../../kernels/cpu/wasm.ts";
import {
  buildSgemmModule,
  DEFAULT_TILING,
  GemmFlags,
  type GemmFunction,
  gemmScratchBytes,
  type GemmTiling,
  packedBElements,
} from "../../kernels/cpu/matmul.ts";

/** Allocates `values` in the runtime and returns the pointer. */
function put(rt: CpuRuntime, values: ArrayLike<number>): number {
  const ptr = rt.alloc(Math.max(4, values.length * 4));
  rt.f32(ptr, values.length).set(values);
  return ptr;
}

function resolved(shape: MatmulShape) {
  const { m, n, k, batch = 1, transA = false, transB = false } = shape;
  const lda = shape.lda ?? (transA ? m : k), ldb = shape.ldb ?? (transB ? k : n), ldc = shape.ldc ?? n;
  return {
    m,
    n,
    k,
    batch,
    transA,
    transB,
    lda,
    ldb,
    ldc,
    strideA: shape.strideA ?? m * k,
    strideB: shape.strideB ?? k * n,
    strideC: shape.strideC ?? m * n,
  };
}

/** Elements spanned by each operand of `shape`, so tests allocate exactly what is read. */
function spans(shape: MatmulShape) {
  const s = resolved(shape);
  const span = (rows: number, ld: number, stride: number) => (s.batch - 1) * stride + rows * ld;
  return {
    a: span(s.transA ? s.k : s.m, s.lda, s.strideA),
    b: span(s.transB ? s.n : s.k, s.ldb, s.strideB),
    c: span(s.m, s.ldc, s.strideC),
  };
}

/**
 * The oracle: a triple loop in float64. Returns the expected C and, per element, the scale of
 * the float32 rounding error (sum of |a·b| plus |C before|) used for a relative tolerance.
 */
function naive(a: Float32Array, b: Float32Array, c0: Float32Array, shape: MatmulShape) {
  const s = resolved(shape);
  const want = Float64Array.from(c0), scale = new Float64Array(c0.length);
  for (let t = 0; t < s.batch; t++) {
    for (let i = 0; i < s.m; i++) {
      for (let j = 0; j < s.n; j++) {
        let sum = 0, abs = 0;
        for (let p = 0; p < s.k; p++) {
          const x = a[t * s.strideA + (s.transA ? p * s.lda + i : i * s.lda + p)];
          const y = b[t * s.strideB + (s.transB ? j * s.ldb + p : p * s.ldb + j)];
          sum += x * y;
          abs += Math.abs(x * y);
        }
        const at = t * s.strideC + i * s.ldc + j;
        const before = shape.accumulate ? c0[at] : 0;
        want[at] = before + sum;
        scale[at] = abs + Math.abs(before);
      }
    }
  }
  return { want, scale };
}

/** Runs `shape` on random data in `rt` and checks every element of C against {@linkcode naive}. */
function checkAgainstNaive(rt: CpuRuntime, shape: MatmulShape, seed: number) {
  const sizes = spans(shape);
  let state = seed >>> 0 || 1;
  const random = () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32 - 0.5;
  };
  const a = Float32Array.from({ length: sizes.a }, random);
  const b = Float32Array.from({ length: sizes.b }, random);
  const c0 = Float32Array.from({ length: sizes.c }, random);
  const [pa, pb, pc] = [put(rt, a), put(rt, b), put(rt, c0)];
  rt.sgemm(pa, pb, pc, shape);
  const got = rt.f32(pc, sizes.c).slice();
  rt.free(pa), rt.free(pb), rt.free(pc);

  const { want, scale } = naive(a, b, c0, shape);
  for (let i = 0; i < got.length; i++) {
    const tolerance = 1e-5 * scale[i] + 1e-7;
    if (!(Math.abs(got[i] - want[i]) <= tolerance)) {
      assert.fail(`C[${i}] = ${got[i]}, want ${want[i]} (±${tolerance}) for ${JSON.stringify(shape)}`);
    }
  }
}

Deno.test("sgemm multiplies a 2x3 by a 3x2 matrix", async () => {
  const rt = await CpuRuntime.create({ threads: 1 });
  try {
    const a = put(rt, [1, 2, 3, 4, 5, 6]); // [[1, 2, 3], [4, 5, 6]]
    const b = put(rt, [1, 0, 0, 1, 1, 1]); // [[1, 0], [0, 1], [1, 1]]
    const c = rt.alloc(16);
    rt.sgemm(a, b, c, { m: 2, n: 2, k: 3 });
    assert.deepEqual([...rt.f32(c, 4)], [4, 5, 10, 11]);
  } finally {
    rt.close();
  }
});

Deno.test("sgemm reads transposed operands in place", async () => {
  const rt = await CpuRuntime.create({ threads: 1 });
  try {
    const aT = put(rt, [1, 4, 2, 5, 3, 6]); // A = [[1, 2, 3], [4, 5, 6]] stored as 3x2
    const bT = put(rt, [1, 0, 1, 0, 1, 1]); // B = [[1, 0], [0, 1], [1, 1]] stored as 2x3
    const c = rt.alloc(16);
    rt.sgemm(aT, bT, c, { m: 2, n: 2, k: 3, transA: true, transB: true });
    assert.deepEqual([...rt.f32(c, 4)], [4, 5, 10, 11]);
  } finally {
    rt.close();
  }
});

Deno.test("sgemm with accumulate adds to C, and k = 0 means an empty sum", async () => {
  const rt = await CpuRuntime.create({ threads: 1 });
  try {
    const a = put(rt, [2]), b = put(rt, [3]), c = put(rt, [10]);
    rt.sgemm(a, b, c, { m: 1, n: 1, k: 1, accumulate: true });
    assert.equal(rt.f32(c, 1)[0], 16);
    rt.sgemm(a, b, c, { m: 1, n: 1, k: 0, accumulate: true });
    assert.equal(rt.f32(c, 1)[0], 16);
    rt.sgemm(a, b, c, { m: 1, n: 1, k: 0 });
    assert.equal(rt.f32(c, 1)[0], 0);
  } finally {
    rt.close();
  }
});

Deno.test("sgemm runs a batch with per-matrix strides, and stride 0 shares an operand", async () => {
  const rt = await CpuRuntime.create({ threads: 1 });
  try {
    const a = put(rt, [1, 2, 3, 4]); // two 1x2 rows: [1, 2] and [3, 4]
    const b = put(rt, [1, 10]); // one 2x1 column shared by both
    const c = rt.alloc(8);
    rt.sgemm(a, b, c, { batch: 2, m: 1, n: 1, k: 2, strideB: 0 });
    assert.deepEqual([...rt.f32(c, 2)], [21, 43]);
  } finally {
    rt.close();
  }
});

Deno.test("sgemm rejects operands outside the memory and overlapping outputs", async () => {
  const rt = await CpuRuntime.create({ threads: 1 });
  try {
    const a = rt.alloc(64);
    const end = rt.memory.buffer.byteLength;
    assert.throws(() => rt.sgemm(a, a, end - 8, { m: 2, n: 2, k: 2 }), RangeError);
    assert.throws(() => rt.sgemm(a, a, a, { m: 2, n: 2, k: 2, batch: 2, strideC: 0 }), /overlap/);
    assert.throws(() => rt.sgemm(a, a, a, { m: 2, n: 2, k: 2, lda: 1 }), /lda/);
  } finally {
    rt.close();
  }
});

const edgeSizes = [1, 2, 3, 5, 6, 7, 8, 9, 11, 12, 13, 16, 17, 23, 31, 33];

/** Shapes with sizes at tile edges, primes, transposes, padded strides, batches, accumulation. */
const shapes = fc.record({
  m: fc.oneof(fc.constantFrom(...edgeSizes), fc.integer({ min: 1, max: 70 })),
  n: fc.oneof(fc.constantFrom(...edgeSizes), fc.integer({ min: 1, max: 70 })),
  k: fc.oneof(fc.constantFrom(...edgeSizes, 0), fc.integer({ min: 1, max: 80 })),
  batch: fc.integer({ min: 1, max: 3 }),
  transA: fc.boolean(),
  transB: fc.boolean(),
  accumulate: fc.boolean(),
  padA: fc.integer({ min: 0, max: 3 }),
  padB: fc.integer({ min: 0, max: 3 }),
  padC: fc.integer({ min: 0, max: 3 }),
}).map(({ padA, padB, padC, ...s }): MatmulShape => ({
  ...s,
  lda: (s.transA ? s.m : s.k) + padA,
  ldb: (s.transB ? s.k : s.n) + padB,
  ldc: s.n + padC,
  strideA: ((s.transA ? s.k : s.m) * ((s.transA ? s.m : s.k) + padA)) + padA,
  strideB: ((s.transB ? s.n : s.k) * ((s.transB ? s.k : s.n) + padB)) + padB,
  strideC: s.m * (s.n + padC) + padC,
}));

/** Shapes that cross the cache blocks (kc = 256, mc = 95, nc = 2048) at least once. */
const blockEdgeShapes: MatmulShape[] = [
  { m: 97, n: 19, k: 257, accumulate: true },
  { m: 193, n: 8, k: 513, transA: true },
  { m: 7, n: 2053, k: 3, transB: true },
  { m: 100, n: 30, k: 300, transA: true, transB: true, batch: 2 },
];

for (const relaxed of [false, true]) {
  const kernel = relaxed ? "fused multiply-add" : "multiply then add";
  Deno.test({
    name: `sgemm (${kernel}) matches a float64 triple loop on random shapes`,
    ignore: relaxed && !hasRelaxedSimd(),
    fn: async () => {
      const rt = await CpuRuntime.create({ threads: 1, relaxed });
      try {
        assert.equal(rt.relaxed, relaxed);
        fc.assert(fc.property(shapes, fc.integer(), (shape, seed) => checkAgainstNaive(rt, shape, seed)), {
          numRuns: 150,
        });
        blockEdgeShapes.forEach((shape, i) => checkAgainstNaive(rt, shape, i + 1));
      } finally {
        rt.close();
      }
    },
  });
}

Deno.test("every register tile, with A loaded by lanes or by splats, matches the triple loop", () => {
  const tilings: GemmTiling[] = [
    { ...DEFAULT_TILING, mr: 6, mc: 96, aLanes: false },
    { ...DEFAULT_TILING, mr: 4, mc: 8, kc: 16, aLanes: true },
    // k slices of 7 and 13 steps: a leftover group after the unrolled loop, then plain steps
    { ...DEFAULT_TILING, mr: 9, nv: 1, mc: 18, kc: 7, unroll: 8, aLanes: true },
    { ...DEFAULT_TILING, mr: 5, mc: 10, kc: 13, unroll: 8, aLanes: true },
    { ...DEFAULT_TILING, mr: 3, nv: 3, mc: 9, nc: 24, aLanes: true }, // fewer than 4 rows: group vectors only
    DEFAULT_TILING,
  ];
  const shapes: MatmulShape[] = [
    { m: 13, n: 11, k: 37 },
    { m: 22, n: 9, k: 17, transA: true, accumulate: true },
    { m: 5, n: 30, k: 40, transB: true },
  ];
  const pages = 128, memory = new WebAssembly.Memory({ initial: pages });
  for (const tiling of tilings) {
    const module = new WebAssembly.Module(
      buildSgemmModule({ relaxed: false, memory: { initial: pages }, tiling }),
    );
    const gemm = new WebAssembly.Instance(module, { env: { memory } }).exports.gemm as GemmFunction;
    shapes.forEach((shape, seed) => {
      const s = resolved(shape), sizes = spans(shape);
      let state = seed + 7;
      const random = () => (state = (Math.imul(state, 1664525) + 1013904223) >>> 0) / 2 ** 32 - 0.5;
      const [a, b, c0] = [sizes.a, sizes.b, sizes.c].map((length) => Float32Array.from({ length }, random));
      const [pa, pb, pc] = [64, 64 + 4 * a.length, 64 + 4 * (a.length + b.length)];
      const work = Math.ceil((pc + 4 * c0.length) / 64) * 64;
      assert.ok(work + gemmScratchBytes(tiling) <= pages * 65536);
      const f32 = new Float32Array(memory.buffer);
      f32.set(a, pa / 4), f32.set(b, pb / 4), f32.set(c0, pc / 4);
      const flags = (s.transA ? GemmFlags.transA : 0) | (s.transB ? GemmFlags.transB : 0) |
        (shape.accumulate ? GemmFlags.accumulate : 0);
      gemm(pa, pb, pc, s.m, s.n, s.k, s.lda, s.ldb, s.ldc, flags, work);
      const got = f32.slice(pc / 4, pc / 4 + c0.length), { want, scale } = naive(a, b, c0, shape);
      got.forEach((value, i) =>
        assert.ok(
          Math.abs(value - want[i]) <= 1e-5 * scale[i] + 1e-7,
          `tiling ${JSON.stringify(tiling)}, ${JSON.stringify(shape)}: C[${i}] = ${value}, want ${want[i]}`,
        )
      );
    });
  }
});

Deno.test("sgemm gives bit-identical results with 1 and 2 threads", async () => {
  const one = await CpuRuntime.create({ threads: 1 });
  const two = await CpuRuntime.create({ threads: 2 });
  try {
    // Large enough that the two-thread runtime really splits the work (or across the batch).
    const bigShapes = fc.record({
      m: fc.integer({ min: 120, max: 520 }),
      n: fc.integer({ min: 100, max: 300 }),
      k: fc.integer({ min: 40, max: 300 }),
      batch: fc.integer({ min: 1, max: 3 }),
      transA: fc.boolean(),
      transB: fc.boolean(),
      accumulate: fc.boolean(),
    });
    // Fixed cases: B packed once and shared by the threads (several kc slices and column groups,
    // a partial last panel), B shared across a batch, and C wider than tall (columns split).
    const fixed: MatmulShape[] = [
      { m: 600, n: 300, k: 700, transB: true },
      { m: 520, n: 260, k: 300, batch: 2, strideB: 0, accumulate: true },
      { m: 130, n: 700, k: 90, transA: true },
    ];
    const sameBits = (shape: MatmulShape) => {
      const sizes = spans(shape);
      const a = Float32Array.from({ length: sizes.a }, (_, i) => Math.sin(i) * 3);
      const b = Float32Array.from({ length: sizes.b }, (_, i) => Math.cos(i * 0.7));
      const c = Float32Array.from({ length: sizes.c }, (_, i) => (i % 7) - 3);
      const results = [one, two].map((rt) => {
        const [pa, pb, pc] = [put(rt, a), put(rt, b), put(rt, c)];
        rt.sgemm(pa, pb, pc, shape);
        const bits = new Uint32Array(rt.f32(pc, sizes.c).slice().buffer);
        rt.free(pa), rt.free(pb), rt.free(pc);
        return bits;
      });
      assert.deepEqual(results[0], results[1], JSON.stringify(shape));
    };
    fixed.forEach(sameBits);
    fc.assert(fc.property(bigShapes, sameBits), { numRuns: 16 });
  } finally {
    one.close();
    two.close();
  }
});

Deno.test("sgemm with op(B) packed beforehand gives the bits of packing it per product, on 1 and 2 threads", async () => {
  const one = await CpuRuntime.create({ threads: 1 });
  const two = await CpuRuntime.create({ threads: 2 });
  try {
    const shapes = fc.record({
      m: fc.integer({ min: 1, max: 60 }),
      n: fc.integer({ min: 1, max: 700 }),
      // Past kc (512): several packed slices.
      k: fc.integer({ min: 1, max: 1100 }),
      transA: fc.boolean(),
      transB: fc.boolean(),
      accumulate: fc.boolean(),
    });
    const sameBits = (shape: MatmulShape) => {
      const sizes = spans(shape);
      const a = Float32Array.from({ length: sizes.a }, (_, i) => Math.sin(i) * 3);
      const b = Float32Array.from({ length: sizes.b }, (_, i) => Math.cos(i * 0.7));
      const c = Float32Array.from({ length: sizes.c }, (_, i) => (i % 7) - 3);
      const run = (rt: CpuRuntime, prepacked: boolean) => {
        const [pa, pb, pc] = [put(rt, a), put(rt, b), put(rt, c)];
        const packed = rt.alloc(4 * packedBElements(shape.k, shape.n));
        if (prepacked) rt.packB(pb, shape, packed);
        rt.sgemm(pa, pb, pc, prepacked ? { ...shape, prepackedB: packed } : shape);
        const bits = new Uint32Array(rt.f32(pc, sizes.c).slice().buffer);
        rt.free(pa), rt.free(pb), rt.free(pc), rt.free(packed);
        return bits;
      };
      const expected = run(one, false);
      for (const rt of [one, two]) assert.deepEqual(run(rt, true), expected, JSON.stringify(shape));
    };
    [{ m: 20, n: 800, k: 200 }, { m: 20, n: 200, k: 800, transB: true }, { m: 7, n: 300, k: 1030 }].forEach(
      sameBits,
    );
    fc.assert(fc.property(shapes, sameBits), { numRuns: 30 });
    assert.throws(
      () => one.sgemm(0, 0, 0, { m: 1, n: 1, k: 1, batch: 2, prepackedB: 64 }),
      /prepackedB needs batch 1, got 2/,
    );
  } finally {
    one.close();
    two.close();
  }
});

Deno.test("alloc reuses freed blocks of the same size class and grows the memory", async () => {
  const rt = await CpuRuntime.create({ threads: 1, initialHeapBytes: 1 << 16 });
  try {
    const p = rt.alloc(1000);
    assert.equal(p % 64, 0);
    rt.free(p);
    assert.equal(rt.alloc(1024), p, "1000 and 1024 bytes share a size class");
    const q = rt.alloc(100);
    assert.notEqual(q, p);
    assert.throws(() => rt.free(q + 4), /not an allocated block/);

    const before = rt.f32(q, 4);
    before.set([1, 2, 3, 4]);
    const bytes = rt.memory.buffer.byteLength;
    const big = rt.alloc(bytes); // forces the memory to grow
    assert.ok(rt.memory.buffer.byteLength > bytes);
    rt.f32(big, 4).set([9, 9, 9, 9]);
    assert.deepEqual([...before], [1, 2, 3, 4], "views made before growing still read the same memory");
    assert.deepEqual([...rt.f32(q, 4)], [1, 2, 3, 4]);
  } finally {
    rt.close();
  }
});

Deno.test("the thread count comes from the option, else LOOM_THREADS", async () => {
  const saved = Deno.env.get("LOOM_THREADS");
  Deno.env.set("LOOM_THREADS", "1");
  try {
    const fromEnv = await CpuRuntime.create();
    assert.equal(fromEnv.threads, 1);
    fromEnv.close();
    const fromOption = await CpuRuntime.create({ threads: 2 });
    assert.equal(fromOption.threads, 2);
    fromOption.close();
    await assert.rejects(() => CpuRuntime.create({ threads: 0 }), RangeError);
  } finally {
    if (saved === undefined) Deno.env.delete("LOOM_THREADS");
    else Deno.env.set("LOOM_THREADS", saved);
  }
});

Deno.test("without cross-origin isolation the runtime falls back to one thread and unshared memory", async () => {
  // Browsers without COOP/COEP headers report crossOriginIsolated === false and have no shared memory.
  Object.defineProperty(globalThis, "crossOriginIsolated", { value: false, configurable: true });
  try {
    const rt = await CpuRuntime.create({ threads: 4 });
    try {
      assert.equal(rt.threads, 1);
      assert.ok(!(rt.memory.buffer instanceof SharedArrayBuffer));
      checkAgainstNaive(rt, { m: 13, n: 17, k: 300, transA: true }, 7);
    } finally {
      rt.close();
    }
  } finally {
    delete (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated;
  }
});
