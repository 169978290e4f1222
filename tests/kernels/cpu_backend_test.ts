/**
 * The CPU backend against the reference interpreter: every primitive, random fused programs (fast-check),
 * gradients through them, thread-count independence, memory reuse, and clear errors.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import * as L from "../../mod.ts";
import { type Backend, registerBackend, setBackend, type Tensor } from "../../mod.ts";
import { createCpuBackend } from "../../kernels/cpu/mod.ts";
import { CpuRuntime } from "../../kernels/cpu/pool.ts";
import { checkIndices, CpuBuffer } from "../../kernels/cpu/standalone.ts";
import { hasRelaxedSimd } from "../../kernels/cpu/wasm.ts";
import { fuse } from "../../kernels/passes/fuse.ts";
import { planMemory } from "../../kernels/passes/memory.ts";
import { optimize } from "../../kernels/passes/simplify.ts";
import { assertClose, randomTensor, rng } from "../helpers.ts";
import { PRIMITIVE_CASES, runProgram, samplePrograms } from "./programs.ts";
import { showShape } from "../../dsl/ir/shape.ts";

/** Runs `body` with a fresh CPU backend (closing its workers afterwards), then restores the reference. */
async function withCpu(threads: number, body: (cpu: Backend) => void | Promise<void>): Promise<void> {
  const runtime = await CpuRuntime.create({ threads });
  const name = `cpu-test-${threads}`;
  try {
    registerBackend(name, () => createCpuBackend(runtime, { name }));
    await setBackend(name);
    await body(L.getBackend());
  } finally {
    await setBackend("reference");
    runtime.close();
  }
}

/** Evaluates `f` on host-data arguments under both backends and returns the outputs as host arrays. */
async function onBoth(f: (...args: Tensor[]) => unknown, make: () => Tensor[], threads = 1) {
  const flat = (out: unknown) => L.flatten(out).leaves.map((t) => t.dataSync());
  await setBackend("reference");
  const expected = flat(L.jit(f)(...make()));
  let actual: ReturnType<typeof flat> = [];
  await withCpu(threads, () => {
    actual = flat(L.jit(f)(...make()));
  });
  return { expected, actual };
}

function compare(
  expected: ArrayLike<number>[],
  actual: ArrayLike<number>[],
  rtol = 1e-4,
  atol = 1e-5,
  label = "",
) {
  assert.equal(actual.length, expected.length);
  expected.forEach((e, i) => assertClose(actual[i], e, { rtol, atol, message: `${label} output ${i}` }));
}

Deno.test("cpu: every primitive matches the reference backend", async () => {
  const x = () => randomTensor(rng(1), [3, 4], { lo: 0.2, hi: 2 });
  for (const [label, f] of PRIMITIVE_CASES) {
    const { expected, actual } = await onBoth(f, () => [x()]);
    compare(expected, actual, 1e-5, 1e-6, label);
  }
});

Deno.test("cpu: random fused programs and their gradients match the reference (fast-check)", async () => {
  const programs = samplePrograms(40, 42, 8);
  const results: { expected: ArrayLike<number>[]; actual: ArrayLike<number>[] }[] = [];
  const make = (n: number, seed: number) => (): [Tensor, Tensor] => [
    randomTensor(rng(seed), [n, n]),
    randomTensor(rng(seed + 1), [n, n]),
  ];
  await setBackend("reference");
  const run = () =>
    programs.map(([n, steps, seed]) => {
      const f = (x: Tensor, y: Tensor) => runProgram(steps, [x, y]).square().mean();
      const [value, grads] = L.jit(L.valueAndGrad(f, { argnums: [0, 1] }))(...make(n, seed)());
      return [value.dataSync(), grads[0].dataSync(), grads[1].dataSync()];
    });
  const expected = run();
  let actual: ArrayLike<number>[][] = [];
  await withCpu(2, () => {
    actual = run();
  });
  expected.forEach((e, i) => results.push({ expected: e, actual: actual[i] }));
  results.forEach(({ expected, actual }, i) =>
    compare(expected, actual, 2e-3, 2e-4, `program ${i} ${JSON.stringify(programs[i][1])}`)
  );
});

Deno.test("cpu: results are identical for 1 and 2 threads (elementwise, matmul, reductions, rows)", async () => {
  const make = (): [Tensor, Tensor] => [randomTensor(rng(5), [256, 300]), randomTensor(rng(6), [300, 200])];
  // Repeated rows, so that the scatter-add must add in index order on whichever thread owns a row.
  const rows = L.tensor(Int32Array.from({ length: 5000 }, (_, i) => (i * 7919) % 250), { dtype: "int32" });
  const f = (a: Tensor, b: Tensor) => [
    L.matmul(a, b),
    a.tanh().mul(2).add(1),
    a.sum(1),
    a.reshape([16, 16, 300]).square().sum(1),
    a.reshape([16, 16, 300]).max(1),
    L.take(a, rows),
    (L.grad((t: Tensor) => L.take(t, rows).mul(L.take(a, rows)).sum(), { sparse: true })(a) as L.SparseRows)
      .toDense(),
  ];
  let one: ArrayLike<number>[] = [];
  let two: ArrayLike<number>[] = [];
  await withCpu(1, () => {
    one = L.flatten(L.jit(f)(...make())).leaves.map((t) => t.dataSync());
  });
  await withCpu(2, () => {
    two = L.flatten(L.jit(f)(...make())).leaves.map((t) => t.dataSync());
  });
  one.forEach((o, i) => assert.deepEqual(Array.from(two[i]), Array.from(o), `output ${i}`));
});

Deno.test("cpu: an allocation beyond the memory limit fails with a clear error naming the tensor", async () => {
  await withCpu(1, () => {
    assert.throws(
      () => L.zeros([70000, 70000]),
      /cannot allocate 18\.3 GiB for float32\[70000,70000\]/,
    );
    // The backend still works afterwards.
    assert.equal(L.ones([3]).sum().item(), 3);
  });
});

Deno.test("cpu: a donated input no output took is freed at once; a buffer another tensor may hold is not", async () => {
  await withCpu(1, () => {
    const ptr = (t: Tensor) => (t as unknown as { _buffer: CpuBuffer })._buffer.ptr;
    const data = Float32Array.from({ length: 1000 }, (_, i) => i);
    const total = L.jit((x: Tensor) => x.sum(), { donate: [0] });
    // Freed by the call: the next block of that size is the same memory (the free list hands it back).
    const batch = L.tensor(data);
    assert.equal(total(batch).item(), 499500);
    assert.equal(ptr(L.tensor(data)), ptr(batch));
    // An identity output shares its input's buffer: donating the input later must not free it.
    const input = L.tensor(data);
    const same = L.jit((x: Tensor) => x)(input);
    assert.equal(ptr(same), ptr(input));
    total(input);
    const next = L.tensor(new Float32Array(1000).fill(7));
    assert.notEqual(ptr(next), ptr(input));
    assert.equal(same.sum().item(), 499500);
    // A donated input updated in place is the output: it stays allocated for the result.
    const doubled = L.jit((x: Tensor) => x.mul(2), { donate: [0] })(L.tensor(data));
    L.tensor(new Float32Array(1000).fill(-1));
    assert.equal(doubled.sum().item(), 999000);
  });
});

Deno.test("cpu: a task set aside runs during the next run, its own ops on this thread, and both results are right", async () => {
  await withCpu(2, (cpu) => {
    const r = rng(5);
    const x = randomTensor(r, [3000, 64]); // a row group two threads share
    const f = L.jit((t: Tensor) => t.exp().sum(1).mul(t.sum(1)));
    const expected = f(x).dataSync();
    const y = L.tensor(Float32Array.from({ length: 64 * 3000 }, (_, i) => (i % 7) / 7), {
      shape: [3000, 64],
    });
    const want = Array.from(f(y).dataSync());
    // Several times: whether the worker is still on the step's job when the task posts depends on timing.
    for (let attempt = 0; attempt < 8; attempt++) {
      let made: Float32Array | undefined;
      let madeDuringRun = false;
      let running = false;
      cpu.aside!(() => {
        madeDuringRun = running;
        // A compiled function and an eager op inside the step's job, while the worker is on it: each runs
        // whole on this thread (a job of their own would overwrite the open one's description).
        made = f(y).add(L.tensor(0)).dataSync() as Float32Array;
      });
      running = true;
      const actual = f(x).dataSync();
      running = false;
      assert.ok(madeDuringRun, "the task ran during the run");
      assert.deepEqual(Array.from(actual), Array.from(expected));
      assert.deepEqual(Array.from(made!), want);
    }
    // A run with no job for the workers (one tiny kernel) runs the task at its end.
    let ran = false;
    cpu.aside!(() => (ran = true));
    L.jit((t: Tensor) => t.add(1))(L.tensor([1]));
    assert.ok(ran);
  });
});

Deno.test("cpu: out-of-range gather indices are reported, eagerly and under jit", async () => {
  await withCpu(1, () => {
    assert.throws(() => L.take(L.zeros([4, 2]), [4]), /index 4 is out of range for an axis of size 4/);
    const compiled = L.jit((t: Tensor, i: Tensor) => L.take(t, i).exp().sum(1));
    assert.throws(
      () => compiled(L.zeros([4, 2]), L.tensor([1, -1], { dtype: "int32" })),
      /index -1 is out of range for an axis of size 4/,
    );
  });
});

Deno.test("cpu: the SIMD index check accepts exactly the indices in [0, rows) and names the first bad one (fast-check)", async () => {
  const runtime = await CpuRuntime.create({ threads: 1 });
  try {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 50 }),
        // Lengths around multiples of four: the vector loop, its lanes and the scalar tail.
        fc.integer({ min: 0, max: 4 }).chain((q) => fc.integer({ min: 4 * q, max: 4 * q + 3 })),
        fc.array(fc.integer({ min: -3, max: 60 }), { minLength: 64, maxLength: 64 }),
        fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
        fc.nat(63),
        (rows, count, values, extreme, at) => {
          const indices = Int32Array.from(values.slice(0, count));
          if (count > 0) indices[at % count] = at % 2 ? extreme : indices[at % count];
          const ptr = runtime.alloc(4 * Math.max(count, 1));
          try {
            new Int32Array(runtime.memory.buffer, ptr, count).set(indices);
            const bad = Array.from(indices).find((i) => !(i >= 0 && i < rows));
            const check = () => checkIndices(runtime, new CpuBuffer(ptr, 4 * count), count, rows);
            if (bad === undefined) check();
            else {assert.throws(
                check,
                new RegExp(`index ${bad} is out of range for an axis of size ${rows};`),
              );}
          } finally {
            runtime.free(ptr);
          }
        },
      ),
      { numRuns: 400, seed: 3 },
    );
  } finally {
    runtime.close();
  }
});

Deno.test("cpu: gathered rows feeding elementwise ops and reductions match the reference", async () => {
  const make = () => {
    const r = rng(17);
    return [
      randomTensor(r, [30, 12]),
      L.tensor(Int32Array.from({ length: 5 * 7 }, () => Math.floor(r() * 30)), {
        shape: [5, 7],
        dtype: "int32",
      }),
      randomTensor(r, [30]),
      L.tensor(Int32Array.from({ length: 30 * 3 }, (_, i) => i * 5 - 40), { shape: [30, 3], dtype: "int32" }),
    ];
  };
  const f = (table: Tensor, idx: Tensor, vector: Tensor, ints: Tensor) => [
    L.take(table, idx).mul(2).exp(),
    L.take(table, idx).square().add(1).log(),
    L.take(table, idx).mul(L.take(table, idx.slice([0, 0], [5, 1]))).sum(-1), // dot products
    L.take(table, idx).sum([0, 1]), // a column sum over looked-up rows
    L.take(vector, idx).add(1),
    L.take(ints, idx).add(3),
    L.take(table, idx).transpose([2, 0, 1]).mul(3),
  ];
  const { expected, actual } = await onBoth(f, make, 2);
  compare(expected, actual, 1e-5, 1e-6, "gathers");
});

Deno.test("cpu: rows read through their indices inside fused loops (SIMD and JavaScript) match the reference, gradients too (fast-check)", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.record({
        rows: fc.integer({ min: 1, max: 40 }),
        width: fc.integer({ min: 1, max: 21 }),
        p: fc.integer({ min: 1, max: 9 }),
        k: fc.integer({ min: 1, max: 6 }),
        seed: fc.integer({ min: 1, max: 10_000 }),
        threads: fc.constantFrom(1, 2),
      }),
      async ({ rows, width, p, k, seed, threads }) => {
        const make = () => {
          const r = rng(seed);
          const ids = (n: number, shape: number[]) =>
            L.tensor(Int32Array.from({ length: n }, () => Math.floor(r() * rows)), { shape, dtype: "int32" });
          return [
            randomTensor(r, [rows, width]),
            randomTensor(r, [rows, width]),
            ids(p, [p]),
            ids(p * k, [p, k]),
          ];
        };
        const loss = (a: Tensor, b: Tensor, centre: Tensor, negatives: Tensor) => {
          const hidden = L.take(a, centre);
          const scores = L.take(b, negatives).mul(hidden.unsqueeze(1)).sum(-1); // gathered rows in a row sum
          const mixed = L.take(b, negatives).mul(scores.unsqueeze(2)).sum(1); // and in a sum over the middle axis
          return L.softplus(scores).sum().add(mixed.sin().sum()); // sin: a JavaScript kernel
        };
        const f = (a: Tensor, b: Tensor, centre: Tensor, negatives: Tensor) => [
          loss(a, b, centre, negatives),
          ...L.grad((x: Tensor, y: Tensor) => loss(x, y, centre, negatives), { argnums: [0, 1] })(
            a,
            b,
          ) as Tensor[],
          L.take(b, negatives).sum([0, 1]), // a column sum over looked-up rows
        ];
        const { expected, actual } = await onBoth(f, make, threads);
        compare(expected, actual, 1e-4, 1e-5, `rows ${rows} width ${width} p ${p} k ${k}`);
      },
    ),
    { numRuns: 25, seed: 5 },
  );
});

Deno.test("cpu: sums whose vector loops are unrolled into independent accumulators, with per-row operands computed once a row, match the reference (fast-check)", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.record({
        shape: fc.tuple(
          fc.integer({ min: 1, max: 7 }),
          fc.integer({ min: 1, max: 6 }),
          fc.integer({ min: 1, max: 70 }),
        ),
        seed: fc.integer({ min: 1, max: 10_000 }),
        threads: fc.constantFrom(1, 2),
      }),
      async ({ shape, seed, threads }) => {
        const [a, b, c] = shape;
        const make = () => {
          const r = rng(seed);
          return [randomTensor(r, [a, b, c]), randomTensor(r, [a, b, 1]), randomTensor(r, [c])];
        };
        const f = (x: Tensor, perRow: Tensor, perColumn: Tensor) => {
          // perRow is the same along the last (vector) axis: its exp and scale are computed once per row.
          const scaled = x.mul(perRow.exp().mul(-0.5)).add(perColumn);
          return [
            scaled.sum(-1), // row sums: the innermost axis reduced (dot products, softmax denominators)
            scaled.sum(1), // a middle axis reduced under contiguous columns (word2vec's Σ_k g_k · n_k)
            scaled.sum([0, 1]), // column sums over two axes
            scaled.max(-1),
            scaled.square().sum(), // everything
            scaled.neg(), // elementwise, with the per-row factor hoisted
          ];
        };
        const { expected, actual } = await onBoth(f, make, threads);
        compare(expected, actual, 2e-6, 1e-6, `shape ${shape}`);
      },
    ),
    { numRuns: 40, seed: 9 },
  );
});

Deno.test("cpu: donated params are updated in place; a sparse update writes only the touched rows", async () => {
  await withCpu(1, () => {
    const vocab = 100_000;
    const dim = 64;
    const ids = L.tensor([5, 99_999, 5, 42], { dtype: "int32" });
    const loss = (table: Tensor) => L.take(table, ids).square().sum();
    const step = (table: Tensor) => {
      const g = L.grad(loss, { sparse: true })(table) as L.SparseRows;
      return new L.SparseRows(g.indices, g.values.mul(-0.1), g.shape).addTo(table);
    };
    const donating = L.jit(step, { donate: [0] });
    const copying = L.jit(step);
    const start = L.random.normal(L.random.key(0), [vocab, dim]);
    const expected = copying(copying(start));
    // A copy of start to donate (times 1, not plus 0, which would turn -0 into +0).
    let table = donating(L.mul(start, 1));
    const buffer = table._buffer;
    table = donating(table);
    assert.equal(table._buffer, buffer, "the second step wrote into the first step's buffer");
    const [got, want] = [table.dataSync(), expected.dataSync()];
    const mismatch = got.findIndex((v, i) => !Object.is(v, want[i]));
    assert.equal(mismatch, -1, `element ${mismatch}: ${got[mismatch]} vs ${want[mismatch]}`);
  });
});

Deno.test("cpu: a donated tensor cannot be used after the call", async () => {
  await withCpu(1, () => {
    const f = L.jit((x: Tensor) => x.mul(2), { donate: [0] });
    const x = L.ones([4]);
    const y = f(x);
    assert.deepEqual(y.arraySync(), [2, 2, 2, 2]);
    assert.throws(() => x.add(1), /donated to a jit call/);
    // A tensor passed twice is not donated (one use would overwrite the other's input).
    const g = L.jit((a: Tensor, b: Tensor) => a.add(b), { donate: [0, 1] });
    const z = L.ones([4]);
    assert.deepEqual(g(z, z).arraySync(), [2, 2, 2, 2]);
  });
});

Deno.test("memory plan: a donated table is scattered into in place and the result takes over its buffer", () => {
  const step = (table: Tensor, ids: Tensor) => {
    const g = L.grad((t: Tensor) => L.take(t, ids).square().sum(), { sparse: true })(table) as L.SparseRows;
    return new L.SparseRows(g.indices, g.values.mul(-0.1), g.shape).addTo(table);
  };
  const graph = optimize(L.jit(step).graphFor(L.zeros([1000, 8]), L.tensor([1, 2], { dtype: "int32" })));
  const program = fuse(graph);
  const scatter = program.kernels.find((k) => k.kind === "scatter")!;
  const donatedPlan = planMemory(program, new Set([graph.inputs[0]]));
  assert.ok(donatedPlan.inPlace.has(scatter));
  assert.deepEqual(donatedPlan.storage.get(scatter.output), { input: graph.inputs[0] });
  const plainPlan = planMemory(program);
  assert.ok(!plainPlan.inPlace.has(scatter), "without donation the caller's table is never overwritten");
});

Deno.test("cpu: vectorised exp and tanh agree with the reference to float32 precision over their whole range", async () => {
  const values = [
    ...Array.from({ length: 2001 }, (_, i) => -90 + i * 0.09),
    0,
    -0,
    1e-30,
    -1e-7,
    Infinity,
    -Infinity,
    NaN,
  ];
  const make = () => [L.tensor(values)];
  const { expected, actual } = await onBoth((x: Tensor) => [x.exp(), x.tanh(), x.sigmoid()], make, 2);
  // exp flushes results below the smallest normal float (x < -87.34) to zero: an absolute error < 1.2e-38.
  compare(expected.slice(0, 2), actual.slice(0, 2), 3e-7, 1.2e-38, "exp/tanh");
  // sigmoid = (tanh(x/2) + 1) / 2 turns tanh's last-bit error into an absolute one.
  compare(expected.slice(2), actual.slice(2), 0, 1e-7, "sigmoid");
});

Deno.test("cpu: log agrees with the reference to float32 precision, subnormals and specials too", async () => {
  const values = [
    ...Array.from({ length: 3001 }, (_, i) => Math.exp(-100 + i * 0.06)),
    ...Array.from({ length: 200 }, (_, i) => 1 + (i - 100) * 2 ** -23),
    1e-45,
    1e-40,
    2 ** -126,
    3.4e38,
    Infinity,
  ];
  const { expected, actual } = await onBoth((x: Tensor) => [x.log()], () => [L.tensor(values)], 2);
  compare(expected, actual, 3e-7, 0, "log");
  const specials = await onBoth((x: Tensor) => [x.log()], () => [L.tensor([0, -0, -1, -Infinity, NaN])], 1);
  assert.deepEqual(Array.from(specials.actual[0]), Array.from(specials.expected[0]));
});

Deno.test("cpu: log gives the same bits vectorised and as JavaScript (fused with sin, which has no SIMD lowering)", async () => {
  const r = rng(23);
  const values = [
    ...Array.from({ length: 4000 }, () => Math.exp((r() - 0.5) * 200)),
    ...Array.from({ length: 400 }, (_, i) => 1 + (i - 200) * 2 ** -23),
    ...Array.from({ length: 100 }, (_, i) => (i + 1) * 2 ** -149), // subnormals
    1e-45,
    2 ** -126,
    3.4e38,
    Math.SQRT1_2,
    Math.fround(Math.SQRT1_2),
    0,
    -0,
    -1,
    Infinity,
    -Infinity,
    NaN,
  ];
  await withCpu(2, () => {
    const x = L.tensor(values);
    const alone = (t: Tensor) => t.log();
    const withSin = (t: Tensor) => t.log().add(t.sin().mul(0)); // one loop computing both
    assert.deepEqual(L.explain(alone, x).kernels.map((k) => k.code.language), ["wasm"]);
    const scriptedKernels = L.explain(withSin, x).kernels;
    assert.deepEqual(scriptedKernels.map((k) => k.code.language), ["javascript"]);
    assert.match(scriptedKernels[0].code.text, /logf\(/);
    const [a, b] = [L.jit(alone)(x).dataSync(), L.jit(withSin)(x).dataSync()];
    values.forEach((v, i) => {
      const v32 = Math.fround(v);
      if (!Number.isFinite(v32) || v32 <= 0) return; // sin(±Infinity)·0 is NaN; compared below
      assert.ok(Object.is(a[i], b[i]), `log(${v}): ${a[i]} vectorised, ${b[i]} as JavaScript`);
    });
    const specials = L.jit((t: Tensor) => t.log())(L.tensor([0, -0, -1, Infinity, -Infinity, NaN]))
      .dataSync();
    assert.deepEqual(Array.from(specials), [-Infinity, -Infinity, NaN, Infinity, NaN, NaN]);
  });
});

Deno.test("cpu: maximum keeps NaN and the sign of zero as the reference does, bit for bit, vectorised or not", async () => {
  // Enough elements for the unrolled SIMD loop, its 4-wide tail and its scalar tail.
  const specials = [NaN, -0, 0, -1, 1, 2, -Infinity, Infinity, 1e-40, -1e-40];
  const values = Array.from({ length: 16 * 3 + 4 + 3 }, (_, i) => specials[i % specials.length]);
  const make = () => [L.tensor(values)];
  const constants = [0, -0, 2, -1];
  const { expected, actual } = await onBoth(
    (x: Tensor) => [
      ...constants.map((k) => x.maximum(k)),
      ...constants.map((k) => L.maximum(k, x.mul(3))),
      x.maximum(x.neg()),
      x.maximum(L.tensor(values.toReversed())),
    ],
    make,
    2,
  );
  const bits = (a: ArrayLike<number>) => Array.from(new Uint32Array(Float32Array.from(a).buffer));
  expected.forEach((e, i) => assert.deepEqual(bits(actual[i]), bits(e), `output ${i}`));
  // The reference's rule: NaN wins, else a > b ? a : b (so max(-0, 0) is 0 and max(0, -0) is -0).
  assert.ok(Object.is(expected[0][1], 0) && Object.is(expected[1][2], -0) && Number.isNaN(expected[0][0]));
});

Deno.test("cpu: vectorised sums (rows, columns, tails, unit axes) match the reference", async () => {
  const shapes: [number[], number[]][] = [
    [[7, 13], [1]],
    [[7, 13], [0]],
    [[3, 5, 9], [0, 2]],
    [[4, 1, 6], [1]],
    [[2, 3, 4, 5], [1, 2]],
    [[1, 3], [0]],
    [[6], [0]],
    [[5, 130], [0, 1]],
  ];
  for (const [shape, axes] of shapes) {
    const make = () => [randomTensor(rng(shape.length * 31 + axes[0]), shape)];
    const { expected, actual } = await onBoth(
      (
        x: Tensor,
      ) => [x.sum(axes), x.mul(x.exp()).sum(axes, true), x.greater(0).cast("float32").mul(x).sum(axes)],
      make,
      2,
    );
    compare(expected, actual, 1e-5, 1e-5, `${showShape(shape)} axes ${axes}`);
  }
});

Deno.test("cpu: max reductions (rows, columns, tails) are IEEE maxima: NaN wins, +0 beats -0, in any order (fast-check)", async () => {
  // Values drawn from a small set with NaN, ±0 and ±Infinity, so that every lane and tail meets them; half
  // the cases draw from values <= 0 only, so that maxima of ±0 (where -0 came first) are common.
  const pools = [[NaN, 0, -0, Infinity, -Infinity, 1.5, -2, 3, -0.25], [0, -0, -0, -0, -1, -Infinity]];
  const cases = fc.sample(
    fc.tuple(
      fc.constantFrom<[number[], number[]]>(
        [[7, 13], [1]],
        [[7, 13], [0]],
        [[3, 5, 9], [0, 2]],
        [[2, 3, 4, 5], [1, 2]],
        [[5, 130], [0, 1]],
        [[9, 4], [1]],
      ),
      fc.integer({ min: 0, max: 1e6 }),
      fc.double({ min: 0, max: 1, noNaN: true }), // how often a value is special rather than ordinary
      fc.integer({ min: 0, max: 1 }),
    ),
    { numRuns: 40, seed: 5 },
  );
  const bits = (a: ArrayLike<number>) => Array.from(new Uint32Array(Float32Array.from(a).buffer));
  for (const [[shape, axes], seed, special, which] of cases) {
    const r = rng(seed);
    const pool = pools[which];
    const values = Float32Array.from(
      { length: shape.reduce((p, q) => p * q, 1) },
      () => which === 1 || r() < special ? pool[Math.floor(r() * pool.length)] : r() * 4 - 2,
    );
    const make = () => [L.tensor(values, { shape })];
    const { expected, actual } = await onBoth((x: Tensor) => [x.max(axes), x.neg().max(axes, true)], make, 2);
    // Bit for bit, NaN payloads aside: the same NaNs, the same signs of zero.
    expected.forEach((e, i) => {
      const canonical = (a: ArrayLike<number>) => bits(Array.from(a, (v) => (v !== v ? NaN : v)));
      assert.deepEqual(canonical(actual[i]), canonical(e), `${showShape(shape)} axes ${axes} output ${i}`);
    });
  }
  // The reference itself: the order of the elements does not matter.
  await setBackend("reference");
  for (const row of [[NaN, 1], [1, NaN], [-0, 0], [0, -0], [-0, -0, -1]]) {
    const forward = L.tensor(row).max().item(), backward = L.tensor(row.toReversed()).max().item();
    assert.ok(Object.is(forward, backward), `max of ${row} is ${forward} one way, ${backward} the other`);
  }
  assert.ok(Number.isNaN(L.tensor([1, NaN, 2]).max().item()));
  assert.ok(Object.is(L.tensor([-0, 0]).max().item(), 0));
});

Deno.test("cpu: scatter-adds that compute their updates on the fly match the reference (fast-check)", async () => {
  // Each case: a table [rows, ...row], indices shaped [a] or [a, b], and updates built in one of five ways,
  // among them skip-gram's (a per-pair scalar times a per-centre row, reshaped to one row per index).
  const cases = fc.sample(
    fc.record({
      rows: fc.integer({ min: 1, max: 70 }),
      row: fc.constantFrom<number[]>([1], [3], [4], [7], [16], [17], [33], [2, 3], [100]),
      a: fc.integer({ min: 1, max: 9 }),
      b: fc.integer({ min: 1, max: 6 }),
      split: fc.boolean(),
      kind: fc.integer({ min: 0, max: 4 }),
      seed: fc.integer({ min: 1, max: 1e6 }),
    }),
    { numRuns: 40, seed: 7 },
  );
  const programs = cases.map(({ rows, row, a, b, split, kind, seed }) => {
    const r = rng(seed);
    const count = a * b;
    const width = row.reduce((x: number, y: number) => x * y, 1);
    const ids = Int32Array.from({ length: count }, () => Math.floor(r() * rows));
    const make = () => [
      randomTensor(rng(seed + 1), [rows, ...row]),
      L.tensor(ids, { shape: split ? [a, b] : [count], dtype: "int32" }),
      randomTensor(rng(seed + 2), [a, b, width]),
      randomTensor(rng(seed + 3), [a, 1, width]),
      randomTensor(rng(seed + 4), [a, b, 1]),
    ];
    const f = (table: Tensor, idx: Tensor, g: Tensor, u: Tensor, s: Tensor) => {
      const shape = [...idx.shape, ...row];
      const updates = [
        () => g.reshape(shape).mul(-0.5),
        () => s.mul(u).reshape(shape).mul(L.tensor(-0.025)),
        () => g.add(s).neg().reshape(shape),
        () => g.transpose([1, 0, 2]).transpose([1, 0, 2]).exp().reshape(shape),
        () => g.reshape([width, count]).transpose().reshape(shape).mul(2),
      ][kind]();
      return new L.SparseRows(idx.reshape([count]), updates.reshape([count, ...row]), table.shape).addTo(
        table,
      );
    };
    return {
      f,
      make,
      label: `rows ${rows} row ${showShape(row)} ids ${split ? `[${a},${b}]` : `[${count}]`} kind ${kind}`,
    };
  });
  const fused = programs.filter(({ f, make }) =>
    fuse(optimize(L.jit(f).graphFor(...make() as [Tensor, Tensor, Tensor, Tensor, Tensor]))).kernels
      .some((k) => k.kind === "scatter" && k.updates.kind !== "load")
  );
  assert.ok(fused.length >= cases.length / 2, `only ${fused.length} of ${cases.length} scatters fused`);
  for (const threads of [1, 2]) {
    for (const { f, make, label } of programs) {
      const { expected, actual } = await onBoth(f, make, threads);
      compare(expected, actual, 1e-6, 1e-6, `${label}, ${threads} threads`);
      // Donated, the scatter runs in place and only the touched rows change.
      let donated: ArrayLike<number>[] = [];
      await withCpu(threads, () => {
        donated = [
          L.jit(f, { donate: [0] })(...make() as [Tensor, Tensor, Tensor, Tensor, Tensor]).dataSync(),
        ];
      });
      compare(expected, donated, 1e-6, 1e-6, `${label}, donated, ${threads} threads`);
    }
  }
});

Deno.test("cpu: iotas in vectorised kernels (one-hot masks along rows and columns, tails) match the reference, bit for bit (fast-check)", async () => {
  await fc.assert(
    fc.asyncProperty(
      // Kernels over one element have no vector axis and run as JavaScript: at least two rows and classes.
      fc.integer({ min: 2, max: 5 }),
      fc.integer({ min: 2, max: 41 }),
      fc.integer({ min: 0, max: 1000 }),
      async (rows, classes, seed) => {
        const random = rng(seed);
        const ids = Array.from({ length: rows }, () => Math.floor(random() * (classes + 2)) - 1);
        const make = () => [randomTensor(rng(seed + 1), [rows, classes]), L.tensor(ids, { dtype: "int32" })];
        const f = (x: Tensor, labels: Tensor) => {
          const mask = L.oneHot(labels, classes, "bool");
          const columns = L.oneHot(L.arange(classes).cast("int32"), rows, "bool").transpose();
          return [
            L.where(mask, x.mul(3), x.neg()), // an elementwise kernel, iota along the row
            L.where(mask, x, 0).sum(-1), // a row reduction
            L.where(columns, x, 0).sum(0), // iota along the columns
            L.where(mask, 1, 0).add(L.where(columns, 2, 0)),
          ];
        };
        const { expected, actual } = await onBoth(f, make, 2);
        compare(expected, actual, 0, 0, `${rows}x${classes}`);
        let languages: string[] = [];
        await withCpu(1, () => {
          languages = L.explain(f, ...make()).kernels.map((k) => k.code.language);
        });
        assert.ok(languages.every((l) => l !== "javascript"), languages.join());
      },
    ),
    { numRuns: 25 },
  );
});

Deno.test("cpu: products that share a B pack it once per call, and a new B is packed again on the next call", async () => {
  // Three products read W (two of them transposed), as an unrolled RNN's steps do forwards and backwards.
  const f = (...[x, y, w]: Tensor[]) => [
    x.matmul(w).tanh().matmul(w.transpose()),
    y.matmul(w),
    x.matmul(w).matmul(w.transpose()),
  ];
  const shapes = [[20, 600], [3, 600], [600, 530]];
  const values = (seed: number) => () => shapes.map((shape, i) => randomTensor(rng(seed * 10 + i), shape));
  const flat = (out: Tensor[]) => out.map((t) => t.dataSync());
  const expected: ReturnType<typeof flat>[] = [];
  await setBackend("reference");
  for (const seed of [1, 2, 3]) expected.push(flat(f(...values(seed)())));
  await withCpu(2, () => {
    // One executable on new values each call: the B packed by an earlier call must not be reused.
    const compiled = L.jit(f);
    [1, 2, 3].forEach((seed, i) =>
      compare(expected[i], flat(compiled(...values(seed)())), 1e-4, 1e-4, `seed ${seed}`)
    );
  });
});

/** A row-wise op on a [P, D] value: each is a reduction along the rows and its use, or something that breaks a group. */
const ROW_OPS: ((v: Tensor, w: Tensor, ids: Tensor) => Tensor)[] = [
  (v) => v.div(v.square().sum(1, true).add(1).sqrt()), // row norms, then each row scaled by its own
  (v) => L.softmax(v, 1).mul(v.max(1, true)),
  (v) => v.sub(v.mean(0, true)), // a column statistic: a reduction over rows, which no group joins
  (v, w) => v.matmul(w).tanh(), // a product: not a member
  (v) => v.div(v.abs().mean(1, true).transpose().mean(1, true)), // every row's mean |v|, in each row
  (v) => v.tanh().exp().sum(1, true).mul(v.sin()), // a sin: the JavaScript generator
  (v, w, ids) => {
    // Rows of an input table, copied out since a product reads them too: the gather joins a group.
    const rows = L.take(w, ids);
    return v.mul(rows).sum(1, true).add(rows.exp()).add(rows.matmul(w));
  },
];

Deno.test("cpu: row groups (row-wise reductions and their uses run row block by row block) match the reference, gradients too, on 1 and 2 threads (fast-check)", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.record({
        // Small, or large enough for two threads to share a group (32,768 elements a thread).
        rows: fc.oneof(fc.integer({ min: 2, max: 64 }), fc.integer({ min: 1500, max: 3000 })),
        width: fc.integer({ min: 8, max: 40 }),
        ops: fc.array(fc.integer({ min: 0, max: ROW_OPS.length - 1 }), { minLength: 1, maxLength: 5 }),
        seed: fc.integer({ min: 1, max: 10_000 }),
        threads: fc.constantFrom(1, 2),
      }),
      async ({ rows, width, ops, seed, threads }) => {
        const make = () => {
          const r = rng(seed);
          return [
            randomTensor(r, [rows, width]),
            randomTensor(r, [width, width], { lo: -0.5, hi: 0.5 }),
            L.tensor(Int32Array.from({ length: rows }, () => Math.floor(r() * width)), { dtype: "int32" }),
          ];
        };
        const f = (x: Tensor, w: Tensor, ids: Tensor) =>
          L.valueAndGrad((v: Tensor) => ops.reduce((u, op) => ROW_OPS[op](u, w, ids), v).square().sum())(x);
        const { expected, actual } = await onBoth(f, make, threads);
        // Gradients sum terms of either sign: errors scale with the largest magnitude, not each element's.
        let scale = 1;
        for (const e of expected) for (let i = 0; i < e.length; i++) scale = Math.max(scale, Math.abs(e[i]));
        compare(expected, actual, 1e-4, 1e-6 * scale, `${rows}x${width} ops ${ops}`);
      },
    ),
    { numRuns: 30, seed: 17 },
  );
});

Deno.test("cpu: a row group too long for the workers' control block runs in parts, in order", async () => {
  // 40 normalisations: 80 kernels that all read their own rows, one group of more members than a job holds.
  const f = (x: Tensor) => {
    let v = x;
    for (let i = 0; i < 40; i++) v = v.div(v.abs().sum(1, true).add(1)).add(0.01 * i);
    return v;
  };
  const make = () => [randomTensor(rng(3), [2048, 17])];
  const { expected, actual } = await onBoth(f, make, 2);
  compare(expected, actual, 1e-5, 1e-6);
});

Deno.test("cpu: long sums stay accurate (float32 lanes gathered into float64 every 8 values): rows and columns of a million 0.1s", async () => {
  const tenth = Math.fround(0.1);
  const exact = 1e6 * tenth; // every float32 partial sum of a few tenths is exact enough; the total is not
  await withCpu(2, () => {
    const row = L.jit((x: Tensor) => x.sum(1))(L.full([1, 1e6], 0.1)).dataSync();
    const columns = L.jit((x: Tensor) => x.sum(0))(L.full([250_000, 8], 0.1)).dataSync();
    assert.ok(Math.abs(row[0] - exact) <= exact * 2 ** -23, `row sum ${row[0]}, exact ${exact}`);
    for (const c of columns) assert.ok(Math.abs(c - exact / 4) <= (exact / 4) * 2 ** -23, `column sum ${c}`);
  });
});

Deno.test("cpu: sums of products match the reference with fused multiply-adds (relaxed SIMD) and without (fast-check)", async () => {
  const modes = hasRelaxedSimd() ? [false, true] : [false];
  await fc.assert(
    fc.asyncProperty(
      fc.record({
        shape: fc.tuple(
          fc.integer({ min: 1, max: 9 }),
          fc.integer({ min: 1, max: 6 }),
          fc.integer({ min: 1, max: 150 }),
        ),
        seed: fc.integer({ min: 1, max: 10_000 }),
      }),
      async ({ shape, seed }) => {
        const make = () => {
          const r = rng(seed);
          return [
            randomTensor(r, shape),
            randomTensor(r, shape),
            randomTensor(r, [shape[0], 1, shape[2]]),
          ] as const;
        };
        const f = (
          a: Tensor,
          b: Tensor,
          c: Tensor,
        ) => [a.mul(b).sum(-1), a.mul(c).sum(1), a.mul(b).sum([0, 1])];
        await setBackend("reference");
        const expected = L.flatten(L.jit(f)(...make())).leaves.map((t) => t.dataSync());
        for (const relaxed of modes) {
          const runtime = await CpuRuntime.create({ threads: 1, relaxed });
          try {
            registerBackend(
              `cpu-fma-${relaxed}`,
              () => createCpuBackend(runtime, { name: `cpu-fma-${relaxed}` }),
            );
            await setBackend(`cpu-fma-${relaxed}`);
            const actual = L.flatten(L.jit(f)(...make())).leaves.map((t) => t.dataSync());
            compare(expected, actual, 2e-6, 2e-6, `relaxed ${relaxed}, shape ${shape}`);
          } finally {
            await setBackend("reference");
            runtime.close();
          }
        }
      },
    ),
    { numRuns: 25, seed: 23 },
  );
});
