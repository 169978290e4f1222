/**
 * The WebGPU backend against the reference interpreter: every primitive (eagerly and under jit), random
 * programs with their gradients (fast-check), and a few training steps. Where no WebGPU adapter exists (no
 * `--unstable-webgpu`, no Vulkan driver), the tests are skipped with the reason.
 */
import assert from "node:assert/strict";
import * as L from "../../mod.ts";
import { setBackend, type Tensor } from "../../mod.ts";
import { assertClose, randomTensor, rng } from "../helpers.ts";
import { PRIMITIVE_CASES, runProgram, samplePrograms } from "./programs.ts";
import { webGpuBackend } from "../../kernels/webgpu/mod.ts";

const unavailable = await setBackend("webgpu").then(() => "", (e: Error) => e.message);
await setBackend("reference");
if (unavailable) console.log(`webgpu tests skipped: ${unavailable}`);

/** Reads every tensor of a pytree (asynchronously, as WebGPU reads). */
const readAll = (out: unknown) => Promise.all(L.flatten(out).leaves.map((t) => t.data()));

/** Runs `body` with WebGPU as the current backend, then restores the reference. */
async function onWebGpu<T>(body: () => T | Promise<T>): Promise<T> {
  await setBackend("webgpu");
  try {
    return await body();
  } finally {
    await setBackend("reference");
  }
}

/** `f` on the reference and on WebGPU, with arguments made afresh on each; both outputs as host arrays. */
async function onBoth(f: (...args: Tensor[]) => unknown, make: () => Tensor[]) {
  await setBackend("reference");
  const expected = await readAll(f(...make()));
  return { expected, actual: await onWebGpu(() => readAll(f(...make()))) };
}

/** A test that needs a WebGPU adapter (ignored, with the reason printed above, where there is none). */
function gpuTest(name: string, fn: () => Promise<void>): void {
  Deno.test({ name: `webgpu: ${name}`, ignore: unavailable !== "", fn });
}

function compare(
  expected: ArrayLike<number>[],
  actual: ArrayLike<number>[],
  rtol: number,
  atol: number,
  label: string,
) {
  assert.equal(actual.length, expected.length, label);
  expected.forEach((e, i) => assertClose(actual[i], e, { rtol, atol, message: `${label} output ${i}` }));
}

gpuTest("every primitive matches the reference backend, eagerly and under jit", async () => {
  const x = () => [randomTensor(rng(1), [3, 4], { lo: 0.2, hi: 2 })];
  for (const [label, f] of PRIMITIVE_CASES) {
    const eager = await onBoth(f, x);
    // exp, log, sin, cos, tanh and pow are the device's: a few float32 ulps from the reference.
    compare(eager.expected, eager.actual, 2e-5, 1e-6, `${label} (eager)`);
    const jitted = await onBoth(L.jit(f), x);
    compare(jitted.expected, jitted.actual, 2e-5, 1e-6, `${label} (jit)`);
  }
});

gpuTest("random programs and their gradients match the reference (fast-check)", async () => {
  const programs = samplePrograms(20, 7, 6);
  for (const [n, steps, seed] of programs) {
    const f = (x: Tensor, y: Tensor) => runProgram(steps, [x, y]).square().mean();
    const step = L.jit(L.valueAndGrad(f, { argnums: [0, 1] }));
    const make = () => [randomTensor(rng(seed), [n, n]), randomTensor(rng(seed + 1), [n, n])];
    const { expected, actual } = await onBoth((x, y) => step(x, y), make);
    compare(expected, actual, 2e-3, 2e-4, `program ${JSON.stringify(steps)} on ${n}x${n}`);
  }
});

gpuTest("training steps of an MLP with Adam follow the reference's losses and params", async () => {
  const { nn } = L;
  const model = nn.serial(nn.dense(16, { activation: "relu" }), nn.dense(4));
  const train = async () => {
    const x = randomTensor(rng(3), [8, 5]);
    const y = L.tensor(Int32Array.from({ length: 8 }, (_, i) => i % 4), { dtype: "int32" });
    let params = model.init(L.random.key(0), [8, 5]).params;
    const opt = L.optim.adam({ lr: 0.01 });
    let state = opt.init(params);
    const step = L.jit((p: typeof params, s: L.optim.OptimizerState) => {
      const [loss, grads] = L.valueAndGrad((q: typeof params) => L.loss.crossEntropy(model.apply(q, x), y))(
        p,
      );
      const next = opt.update(grads, s, p);
      return [loss, next.params, next.state] as const;
    });
    const losses: number[] = [];
    for (let i = 0; i < 5; i++) {
      let loss: Tensor;
      [loss, params, state] = step(params, state);
      losses.push((await loss.data())[0]);
    }
    return { losses, params: await readAll(params) };
  };
  await setBackend("reference");
  const expected = await train();
  const actual = await onWebGpu(train);
  assertClose(actual.losses, expected.losses, { rtol: 1e-4, atol: 1e-5, message: "losses" });
  compare(expected.params, actual.params, 1e-3, 1e-4, "params after 5 steps");
});

gpuTest(
  "a tensor over the device's buffer limit fails with an error naming it, its size and the fix",
  async () => {
    await onWebGpu(() => {
      // 2^31 floats (8 GiB) is over any device's limit for one buffer; nothing is allocated.
      assert.throws(
        () => L.zeros([2 ** 16, 2 ** 15]),
        /webgpu backend: float32\[65536, 32768\], the result of full needs 8589934592 bytes, over this device's \d+-byte limit for one buffer; use smaller batches or the cpu backend/,
      );
    });
  },
);

gpuTest(
  "a kernel that would bind more buffers than the device allows is split; the other kernels stay fused",
  async () => {
    // A device at WebGPU's default limits binds 8 storage buffers a shader: a sum of 10 inputs' squares would
    // be one kernel reading 10 buffers (and writing one), so it splits; the chain on `y` is one kernel still.
    const adapter = (await navigator.gpu.requestAdapter())!;
    const device = await adapter.requestDevice();
    assert.equal(device.limits.maxStorageBuffersPerShaderStage, 8);
    L.registerBackend("webgpu-8", () => webGpuBackend(device));
    const f = (y: Tensor, ...xs: Tensor[]) => [
      xs.reduce((acc, x) => acc.add(x.mul(x)), L.zeros([5])),
      y.mul(2).add(1).exp().neg(),
    ];
    const make = () => Array.from({ length: 11 }, (_, i) => randomTensor(rng(20 + i), [5]));
    const jitted = () => L.jit(f) as (...args: Tensor[]) => Tensor[];
    await setBackend("reference");
    const expected = await readAll(jitted()(...make()));
    await setBackend("webgpu-8");
    try {
      const actual = await readAll(jitted()(...make()));
      compare(expected, actual, 1e-6, 1e-6, "split kernel");
      const report = L.explain(f, ...make().map((t) => ({ shape: t.shape })));
      for (const k of report.kernels) assert.ok(k.inputs.length + 1 <= 8, `${k.summary} binds over 8`);
      const chain = report.kernels.filter((k) => k.summary.includes("exp"));
      assert.equal(chain.length, 1, "the chain on y is one kernel");
      assert.ok(chain[0].eqns.length >= 4, chain[0].summary);
      assert.ok(report.kernels.length < report.optimized.eqns.length, "not every equation is a kernel");
    } finally {
      await setBackend("reference");
    }
  },
);

gpuTest(
  "max reductions are IEEE maxima as on the reference: NaN wins, +0 beats -0, in any order",
  async () => {
    const rows = [
      [NaN, 1, 2],
      [1, NaN, 2],
      [-0, 0, -1],
      [0, -0, -1],
      [-0, -0, -Infinity],
      [-Infinity, -3, -2],
    ];
    const make = () => [L.tensor(rows.flat(), { shape: [rows.length, 3] })];
    const f = (x: Tensor) => [x.max(1), x.transpose().max(0), x.max()];
    for (const g of [f, L.jit(f)]) {
      const { expected, actual } = await onBoth(g, make);
      const show = (a: ArrayLike<number>) =>
        Array.from(a, (v) => (Object.is(v, -0) ? "-0" : String(v))).join();
      expected.forEach((e, i) => assert.equal(show(actual[i]), show(e), `output ${i}`));
    }
  },
);

gpuTest("jvp, vmap and per-example gradients (jit(vmap(grad))) match the reference", async () => {
  const make = () => [
    randomTensor(rng(1), [4, 3]),
    randomTensor(rng(2), [5, 4]),
    L.tensor([0, 2, 1, 1, 0], { dtype: "int32" }),
    randomTensor(rng(3), [4, 3]),
  ];
  const loss = (w: Tensor, x: Tensor, label: Tensor) =>
    L.loss.crossEntropy(x.reshape([1, 4]).matmul(w), label.reshape([1]));
  const f = (w: Tensor, xs: Tensor, labels: Tensor, v: Tensor) => [
    L.jit(L.vmap(L.grad(loss), { inAxes: [null, 0, 0] }))(w, xs, labels),
    L.jvp((u: Tensor) => xs.matmul(u).tanh(), [w], [v])[1],
    L.vmap((x: Tensor) => x.softmax().max())(xs),
  ];
  const { expected, actual } = await onBoth(f, make);
  expected.forEach((e, i) => assertClose(actual[i], e, { rtol: 1e-4, atol: 1e-5, message: `output ${i}` }));
});

/** Sizes that hit every edge of the tiles: one, odd, prime, a tile, a tile plus one, several tiles plus one. */
const EDGES = [1, 3, 17, 64, 65, 257];

gpuTest("tiled matmuls match the reference at every tile edge, transposed and batched", async () => {
  const cases: [number, number, number, boolean, boolean, number][] = [];
  for (const [i, m] of EDGES.entries()) {
    const n = EDGES[(i + 2) % EDGES.length];
    const k = EDGES[(i + 4) % EDGES.length];
    cases.push([m, n, k, i % 2 === 0, i % 3 === 0, 1]);
    cases.push([k, m, n, false, true, 1]);
  }
  cases.push([64, 64, 64, true, true, 3], [17, 65, 64, false, false, 2], [65, 64, 257, true, false, 2]);
  cases.push([64, 64, 2048, false, false, 1], [3, 257, 1024, false, true, 1]); // split-K
  for (const [c, [m, n, k, ta, tb, batch]] of cases.entries()) {
    const make = () => [
      randomTensor(rng(c), batch > 1 ? [batch, ...(ta ? [k, m] : [m, k])] : ta ? [k, m] : [m, k]),
      randomTensor(rng(c + 100), batch > 1 ? [batch, ...(tb ? [n, k] : [k, n])] : tb ? [n, k] : [k, n]),
    ];
    const swap = (t: Tensor, yes: boolean) =>
      yes ? t.transpose(t.shape.map((_, a) => (a < t.rank - 2 ? a : 2 * t.rank - 3 - a))) : t;
    const f = L.jit((a: Tensor, b: Tensor) => swap(a, ta).matmul(swap(b, tb)));
    const { expected, actual } = await onBoth(f, make);
    compare(expected, actual, 1e-4, 1e-4 * Math.sqrt(k), `matmul ${batch}x${m}x${n}x${k} ta=${ta} tb=${tb}`);
  }
});

gpuTest("matmul epilogues (bias, activation, residual) match the reference", async () => {
  for (const [m, n, k] of [[17, 65, 64], [65, 3, 257], [64, 64, 64]]) {
    const make = () => [
      randomTensor(rng(m), [m, k]),
      randomTensor(rng(n), [k, n]),
      randomTensor(rng(k), [n]),
      randomTensor(rng(m + n), [m, n]),
    ];
    const f = L.jit((x: Tensor, w: Tensor, b: Tensor, r: Tensor) => [
      x.matmul(w).add(b).relu(),
      L.gelu(x.matmul(w).add(b)).add(r),
      x.matmul(w).tanh(),
    ]);
    const { expected, actual } = await onBoth(f, make);
    compare(expected, actual, 1e-4, 1e-3, `epilogues ${m}x${n}x${k}`);
  }
});

gpuTest("tree reductions over every axis match the reference", async () => {
  for (const shape of [[65, 257], [3, 17, 64], [257, 3], [1, 1024]]) {
    const make = () => [randomTensor(rng(shape[0]), shape)];
    for (let axis = 0; axis < shape.length; axis++) {
      const f = L.jit((
        x: Tensor,
      ) => [x.sum(axis), x.max(axis), x.exp().sum(axis), x.sum([0, shape.length - 1])]);
      const { expected, actual } = await onBoth(f, make);
      compare(expected, actual, 1e-4, 1e-4, `reductions of [${shape}] over ${axis}`);
    }
  }
});

gpuTest("row kernels (softmax, logSoftmax, layerNorm, cross-entropy) and their gradients match", async () => {
  const { nn } = L;
  const norm = nn.layerNorm();
  // 4100 columns hold too many words for registers: passes read global memory again.
  for (const [rows, cols] of [[1, 3], [17, 64], [65, 17], [3, 257], [4, 1024], [2, 2049], [2, 4100]]) {
    const params = norm.init(L.random.key(1), [rows, cols]).params;
    const make = () => [
      randomTensor(rng(rows), [rows, cols], { lo: -4, hi: 4 }),
      L.tensor(Int32Array.from({ length: rows }, (_, i) => (i * 7) % cols), { dtype: "int32" }),
    ];
    const f = L.jit((x: Tensor, y: Tensor) => [
      L.softmax(x),
      L.logSoftmax(x),
      norm.apply(params, x),
      L.loss.crossEntropy(x, y),
      L.grad((z: Tensor) => L.loss.crossEntropy(z, y))(x),
      L.grad((z: Tensor) => norm.apply(params, z).square().sum())(x),
    ]);
    const { expected, actual } = await onBoth(f, make);
    compare(expected, actual, 1e-4, 1e-5, `rows ${rows}x${cols}`);
  }
});

gpuTest(
  "row kernels: softmax and layerNorm read their input once, in one stage for their statistics",
  async () => {
    const norm = L.nn.layerNorm();
    const params = norm.init(L.random.key(1), [4, 1024]).params;
    const wgsl = (f: (x: Tensor) => Tensor) =>
      onWebGpu(() => L.explain(f, { shape: [4, 1024] }).kernels.map((k) => k.code.text).join("\n"));
    for (
      const [label, f, merge] of [
        ["softmax", (x: Tensor) => L.softmax(x), "online_merge("],
        ["logSoftmax", (x: Tensor) => L.logSoftmax(x), "online_merge("],
        ["layerNorm", (x: Tensor) => norm.apply(params, x), "welford_merge("],
      ] as const
    ) {
      const source = await wgsl(f);
      assert.equal(source.match(/workgroupBarrier/g)?.length, 2, `${label}: one stage, two barriers`);
      assert.ok(source.includes(merge), `${label}: ${merge}`);
      // 32 invocations, each with 8 vectors of the row, loaded once.
      assert.equal(source.match(/in0\[/g)?.length, 8, `${label}: loads of the input`);
    }
  },
);

gpuTest("row kernels: masked rows, shifted rows and non-finite values as on the reference", async () => {
  const [rows, cols] = [6, 300];
  const norm = L.nn.layerNorm();
  const params = norm.init(L.random.key(2), [rows, cols]).params;
  const make = () => {
    const x = randomTensor(rng(5), [rows, cols], { lo: -3, hi: 3 });
    // Row r masks its columns from 50 r on (row 0 entirely), as causal attention does.
    const masked = Uint8Array.from(
      { length: rows * cols },
      (_, i) => Number(i % cols >= 50 * Math.floor(i / cols)),
    );
    return [x, L.tensor(masked, { shape: [rows, cols], dtype: "bool" })];
  };
  const f = L.jit((x: Tensor, keep: Tensor) => {
    const scores = L.where(keep, x, -Infinity);
    return [
      L.softmax(scores),
      L.logSoftmax(scores.slice([1, 0], [rows - 1, cols])),
      // A mean of 1e4 and a spread of 3: E[x²] - E[x]² would lose every digit in float32.
      norm.apply(params, x.add(1e4)),
      L.softmax(L.where(keep, x, NaN)),
    ];
  });
  const { expected, actual } = await onBoth(f, make);
  // Row 0 is all -∞: NaN on both (0/0), like the rows holding NaN.
  compare([0, 1, 3].map((i) => expected[i]), [0, 1, 3].map((i) => actual[i]), 1e-4, 1e-5, "masked rows");
  // Both sides centre on Σx / C with Σx rounded to float32 (3e6, whose ulp is 0.25) and a mean of 1e4 (ulp
  // 1e-3): up to 1e-3 apart over σ = 1.7. The naive E[x²] - E[x]² would be off by the whole variance.
  compare([expected[2]], [actual[2]], 1e-4, 2e-3, "shifted rows");
});

gpuTest("attention: scores, mask, softmax and weighted sum in one kernel match the reference", async () => {
  // Queries and keys at block edges (3, 17, 33, 65), head widths 4 to 64, causal and not, several heads.
  for (
    const [batch, time, dim, heads, causal] of [
      [1, 3, 8, 2, true],
      [2, 17, 16, 4, true],
      [1, 33, 64, 1, false],
      [3, 65, 128, 2, true],
    ] as const
  ) {
    const attend = L.nn.attend({ heads, causal });
    const params = attend.init(L.random.key(3), [batch, time, dim]).params;
    const f = (x: Tensor) => attend.apply(params, x) as Tensor;
    const code = await onWebGpu(() =>
      L.explain(f, { shape: [batch, time, dim] }).kernels.map((k) => k.code.text)
    );
    // The scores and the softmax are computed inside the values' kernel: no row kernel is left.
    assert.equal(code.filter((t) => t.includes("fn score(")).length, 1, code.join("\n\n"));
    assert.ok(!code.some((t) => t.includes("online_merge(st")), "no row kernel");
    const { expected, actual } = await onBoth(L.jit(f), () => [randomTensor(rng(time), [batch, time, dim])]);
    compare(
      expected,
      actual,
      1e-4,
      1e-5,
      `attention ${batch}x${time}x${dim}, ${heads} heads, causal ${causal}`,
    );
  }
  // Where the weights are read elsewhere (the gradient), the scores stay a matmul and a row kernel.
  const attend = L.nn.attend({ heads: 2, causal: true });
  const params = attend.init(L.random.key(4), [2, 17, 16]).params;
  const g = L.jit((x: Tensor) =>
    L.grad((z: Tensor) => (attend.apply(params, z) as Tensor).square().sum())(x)
  );
  const { expected, actual } = await onBoth(g, () => [randomTensor(rng(9), [2, 17, 16])]);
  compare(expected, actual, 1e-4, 1e-4, "attention gradient");
});

gpuTest("scatter-adds of repeated rows match the reference, in place when donated", async () => {
  for (const [vocab, dim, count] of [[17, 3, 65], [257, 64, 17], [5, 65, 257]]) {
    const make = () => [
      randomTensor(rng(vocab), [vocab, dim]),
      randomTensor(rng(dim), [count, dim]),
      L.tensor(Int32Array.from({ length: count }, (_, i) => (i * 5) % vocab), { dtype: "int32" }),
    ];
    const f = (t: Tensor, u: Tensor, ids: Tensor) => new L.SparseRows(ids, u.mul(-0.5), t.shape).addTo(t);
    for (const g of [L.jit(f), L.jit(f, { donate: [0] })]) {
      const { expected, actual } = await onBoth(g, make);
      compare(expected, actual, 1e-5, 1e-5, `scatter ${vocab}x${dim}, ${count} rows`);
    }
  }
});
