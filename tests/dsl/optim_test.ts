/**
 * Optimizers: each step against a float64 transcription of PyTorch's update rules, schedules and clipping by
 * hand, lazy sparse updates that leave untouched rows bit for bit alone, and a jitted step that compiles once.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { jit, nn, optim, random, SparseRows, type Tensor, tensor, valueAndGrad, zeros } from "../../mod.ts";

function close(actual: ArrayLike<number>, expected: ArrayLike<number>, tolerance = 1e-5): void {
  assert.equal(actual.length, expected.length);
  for (let i = 0; i < expected.length; i++) {
    assert.ok(
      Math.abs(actual[i] - expected[i]) <= tolerance * (1 + Math.abs(expected[i])),
      `[${i}] ${actual[i]} vs ${expected[i]}`,
    );
  }
}

const step = (n: number) => tensor(n, { dtype: "int32" });

/** PyTorch's Adam/AdamW for one element stream, in float64. */
function adamReference(p0: number[], grads: number[][], lr: number, weightDecay = 0): number[] {
  const [b1, b2, eps] = [0.9, 0.999, 1e-8];
  const p = [...p0];
  const m = p.map(() => 0);
  const v = p.map(() => 0);
  grads.forEach((g, k) => {
    const t = k + 1;
    p.forEach((_, i) => {
      p[i] *= 1 - lr * weightDecay;
      m[i] = b1 * m[i] + (1 - b1) * g[i];
      v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i];
      const mHat = m[i] / (1 - b1 ** t);
      const vHat = v[i] / (1 - b2 ** t);
      p[i] -= (lr * mHat) / (Math.sqrt(vHat) + eps);
    });
  });
  return p;
}

/** PyTorch's SGD with momentum (dampening 0), optionally Nesterov, in float64. */
function sgdReference(
  p0: number[],
  grads: number[][],
  lr: number,
  momentum: number,
  nesterov: boolean,
): number[] {
  const p = [...p0];
  const v = p.map(() => 0);
  for (const g of grads) {
    p.forEach((_, i) => {
      v[i] = momentum * v[i] + g[i];
      p[i] -= lr * (nesterov ? g[i] + momentum * v[i] : v[i]);
    });
  }
  return p;
}

function run(opt: optim.Optimizer, p0: number[], grads: number[][]): Float32Array {
  let params = { w: tensor(p0) };
  let state = opt.init(params);
  for (const g of grads) ({ params, state } = opt.update({ w: tensor(g) }, state, params));
  return params.w.dataSync() as Float32Array;
}

const gradients = fc.array(
  fc.array(fc.double({ min: -3, max: 3, noNaN: true }), { minLength: 3, maxLength: 3 }),
  {
    minLength: 1,
    maxLength: 5,
  },
);
const start = fc.array(fc.double({ min: -2, max: 2, noNaN: true }), { minLength: 3, maxLength: 3 });

Deno.test("sgd takes p -= lr·g", () => {
  close(run(optim.sgd({ lr: 0.5 }), [1, 2, 3], [[1, 0, -2], [2, 2, 2]]), [1 - 0.5 - 1, 2 - 1, 3 + 1 - 1]);
});

Deno.test("sgd with momentum and Nesterov follows PyTorch", () => {
  fc.assert(
    fc.property(start, gradients, fc.boolean(), (p0, grads, nesterov) => {
      close(
        run(optim.sgd({ lr: 0.1, momentum: 0.9, nesterov }), p0, grads),
        sgdReference(p0, grads, 0.1, 0.9, nesterov),
        1e-5,
      );
    }),
    { numRuns: 20 },
  );
});

Deno.test("adam follows PyTorch with bias correction and defaults β1 .9, β2 .999, eps 1e-8", () => {
  fc.assert(
    fc.property(start, gradients, (p0, grads) => {
      close(run(optim.adam({ lr: 0.01 }), p0, grads), adamReference(p0, grads, 0.01), 1e-5);
    }),
    { numRuns: 20 },
  );
});

Deno.test("adamw decays weights decoupled from the gradient, as PyTorch (default λ 0.01)", () => {
  fc.assert(
    fc.property(start, gradients, (p0, grads) => {
      close(
        run(optim.adamw({ lr: 0.05, weightDecay: 0.1 }), p0, grads),
        adamReference(p0, grads, 0.05, 0.1),
        1e-5,
      );
      close(run(optim.adamw({ lr: 0.05 }), p0, grads), adamReference(p0, grads, 0.05, 0.01), 1e-5);
    }),
    { numRuns: 20 },
  );
});

Deno.test("the state holds the step count and the next learning rate as tensors, and slots shaped like the params", () => {
  const params = { a: tensor([1, 2]), b: [tensor([[3]])] };
  const opt = optim.adam({ lr: 0.1 });
  const state = opt.init(params);
  assert.equal(state.step.dtype, "int32");
  assert.equal(state.step.item(), 0);
  assert.deepEqual((state.mu as typeof params).b[0].shape, [1, 1]);
  const next = opt.update({ a: tensor([1, 1]), b: [tensor([[1]])] }, state, params).state;
  assert.equal(next.step.item(), 1);
  const decaying = optim.sgd({ lr: optim.linearDecay({ from: 1, to: 0, steps: 4 }) });
  const first = decaying.init(params);
  assert.equal(first.lr.dtype, "float32");
  assert.equal(first.lr.item(), 1);
  assert.equal(
    decaying.update({ a: tensor([1, 1]), b: [tensor([[1]])] }, first, params).state.lr.item(),
    0.75,
  );
  assert.deepEqual(Object.keys(optim.sgd({ lr: 1, momentum: 0.5 }).init(params)), ["step", "lr", "velocity"]);
  assert.throws(
    () => opt.update({ a: tensor([1, 1]) }, state, params),
    /optim: got 1 gradients for 2 parameters/,
  );
  assert.throws(
    () => opt.update({ a: tensor([1]), b: [tensor([[1]])] }, state, params),
    /gradient 0 has shape \[1\] but its parameter has \[2\]/,
  );
});

Deno.test("schedules: linear decay, cosine decay and warmup give the documented rates", () => {
  const linear = optim.linearDecay({ from: 0.1, to: 0.01, steps: 9 });
  const cosine = optim.cosineDecay({ from: 1, to: 0.2, steps: 8 });
  for (const s of [0, 1, 4, 8, 9, 20]) {
    close([linear(step(s)).item()], [0.1 + (0.01 - 0.1) * Math.min(s, 9) / 9]);
    close([cosine(step(s)).item()], [0.2 + 0.8 * (1 + Math.cos(Math.PI * Math.min(s, 8) / 8)) / 2]);
  }
  const warm = optim.warmup({ steps: 3, then: cosine });
  close([0, 1, 2, 3, 7, 11].map((s) => warm(step(s)).item()), [
    1 / 3,
    2 / 3,
    1,
    1,
    cosine(step(4)).item(),
    0.2,
  ]);
  close([optim.warmup({ steps: 2, then: 0.5 })(step(0)).item()], [0.25]);
});

Deno.test("an optimizer uses its schedule at the number of updates done so far", () => {
  const opt = optim.sgd({ lr: optim.linearDecay({ from: 1, to: 0, steps: 4 }) });
  // Gradient 1 each step: the moves are lr(0) + lr(1) + lr(2) = 1 + 0.75 + 0.5.
  close(run(opt, [0], [[1], [1], [1]]), [-2.25]);
});

Deno.test("clipGlobalNorm scales all gradients by maxNorm / norm when the norm is larger", () => {
  const grads = { a: tensor([3, 0]), b: tensor([4]) };
  close([optim.globalNorm(grads).item()], [5]);
  const opt = optim.sgd({ lr: 1, clipGlobalNorm: 1 });
  const params = { a: tensor([0, 0]), b: tensor([0]) };
  const clipped = opt.update(grads, opt.init(params), params).params;
  close([...clipped.a.dataSync(), ...clipped.b.dataSync()], [-0.6, 0, -0.8], 1e-5);
  const small = optim.sgd({ lr: 1, clipGlobalNorm: 10 }).update(grads, opt.init(params), params).params;
  close([...small.a.dataSync(), ...small.b.dataSync()], [-3, 0, -4]);
  // A row repeated in a sparse gradient counts once, with its values summed: (3 + 4)² + 0².
  const sparse = new SparseRows(tensor([1, 1], { dtype: "int32" }), tensor([[3, 0], [4, 0]]), [3, 2]);
  close([optim.globalNorm({ s: sparse }).item()], [7]);
});

// ---------------------------------------------------------------------------------------------------------
// Sparse gradients: lazy updates

function sameBits(a: Tensor, b: Tensor, rows: number[]): void {
  const width = a.shape[1];
  const x = a.dataSync();
  const y = b.dataSync();
  for (const r of rows) {
    for (let j = 0; j < width; j++) {
      assert.ok(Object.is(x[r * width + j], y[r * width + j]), `row ${r} changed`);
    }
  }
}

const sparseSteps = [
  { indices: [4, 1, 4], values: [[1, -2, 0.5], [0.3, 0.3, 0.3], [2, 1, -1]] },
  { indices: [0, 4], values: [[-1, 1, 2], [0.5, 0.5, 0.5]] },
  { indices: [1, 1, 1], values: [[1, 1, 1], [1, 1, 1], [-3, 0, 2]] },
];

function sparseGrad(s: { indices: number[]; values: number[][] }): SparseRows {
  return new SparseRows(tensor(s.indices, { dtype: "int32" }), tensor(s.values), [6, 3]);
}

/** Lazy reference: dense summed gradient per step, and a per-row rule applied to touched rows only. */
function lazyReference(
  table: number[][],
  rule: (p: number, g: number, slots: number[], t: number) => number,
) {
  const slots = table.map((row) => row.map(() => [0, 0]));
  const out = table.map((row) => [...row]);
  sparseSteps.forEach((s, k) => {
    const summed = new Map<number, number[]>();
    s.indices.forEach((r, i) =>
      summed.set(r, (summed.get(r) ?? [0, 0, 0]).map((v, j) => v + s.values[i][j]))
    );
    for (const [r, g] of summed) out[r] = out[r].map((p, j) => rule(p, g[j], slots[r][j], k + 1));
  });
  return out;
}

Deno.test("sparse gradients update only the touched rows, summing repeats (sgd, momentum, adam, adamw)", () => {
  const initial = random.normal(random.key(0), [6, 3]);
  const table = initial.arraySync() as number[][];
  const cases: [optim.Optimizer, (p: number, g: number, s: number[], t: number) => number][] = [
    [optim.sgd({ lr: 0.1 }), (p, g) => p - 0.1 * g],
    [optim.sgd({ lr: 0.1, momentum: 0.9 }), (p, g, s) => {
      s[0] = 0.9 * s[0] + g;
      return p - 0.1 * s[0];
    }],
    [optim.adam({ lr: 0.1 }), (p, g, s, t) => {
      s[0] = 0.9 * s[0] + 0.1 * g;
      s[1] = 0.999 * s[1] + 0.001 * g * g;
      return p - (0.1 * s[0] / (1 - 0.9 ** t)) / (Math.sqrt(s[1] / (1 - 0.999 ** t)) + 1e-8);
    }],
    [optim.adamw({ lr: 0.1, weightDecay: 0.5 }), (p, g, s, t) => {
      const decayed = p * (1 - 0.05);
      s[0] = 0.9 * s[0] + 0.1 * g;
      s[1] = 0.999 * s[1] + 0.001 * g * g;
      return decayed - (0.1 * s[0] / (1 - 0.9 ** t)) / (Math.sqrt(s[1] / (1 - 0.999 ** t)) + 1e-8);
    }],
  ];
  for (const [opt, rule] of cases) {
    let params = { table: initial };
    let state = opt.init(params);
    for (const s of sparseSteps) ({ params, state } = opt.update({ table: sparseGrad(s) }, state, params));
    close(params.table.dataSync(), lazyReference(table, rule).flat(), 1e-5);
    // Rows 2, 3 and 5 were never touched: params and every moment are exactly as they started.
    sameBits(params.table, initial, [2, 3, 5]);
    for (const slot of ["velocity", "mu", "nu"]) {
      if (state[slot]) sameBits((state[slot] as { table: Tensor }).table, zeros([6, 3]), [2, 3, 5]);
    }
  }
});

Deno.test("an embedding trained through valueAndGrad changes only the rows it looked up", () => {
  const model = nn.serial(nn.embed(8, 4), nn.dense(2));
  const { params } = model.init(random.key(0), [1, 3]);
  const ids = tensor([[5, 2, 5]], { dtype: "int32" });
  const f = (p: typeof params) => model.apply(p, ids).square().mean();
  const [, grads] = valueAndGrad(f, { sparse: true })(params);
  assert.ok(grads[0].table instanceof SparseRows);
  const opt = optim.adam({ lr: 0.1 });
  const next = opt.update(grads, opt.init(params), params).params;
  sameBits(next[0].table, params[0].table, [0, 1, 3, 4, 6, 7]);
  const changed = [2, 5].every((r) =>
    next[0].table.slice([r, 0], [1, 4]).sub(params[0].table.slice([r, 0], [1, 4])).abs().sum().item() > 0
  );
  assert.ok(changed, "looked-up rows move");
});

Deno.test("a jitted training step compiles once: the step count and rate live in the state as tensors", () => {
  const model = nn.serial(nn.dense(4, { activation: "tanh" }), nn.dense(1));
  const { params } = model.init(random.key(0), [8, 2]);
  const opt = optim.adam({
    lr: optim.warmup({ steps: 2, then: optim.cosineDecay({ from: 0.05, steps: 10 }) }),
    clipGlobalNorm: 1,
  });
  const x = random.normal(random.key(1), [8, 2]);
  const y = x.sum(1, true).tanh();
  const lossOf = (p: typeof params) => model.apply(p, x).sub(y).square().mean();
  const update = (p: typeof params, s: optim.OptimizerState) => {
    const [value, grads] = valueAndGrad(lossOf)(p);
    return { ...opt.update(grads, s, p), value };
  };
  const jitted = jit(update);
  let [eager, compiled] = [{ params, state: opt.init(params) }, { params, state: opt.init(params) }];
  const losses: number[] = [];
  for (let i = 0; i < 6; i++) {
    eager = update(eager.params, eager.state);
    const out = jitted(compiled.params, compiled.state);
    compiled = out;
    losses.push(out.value.item());
  }
  assert.equal(jitted.cacheSize, 1);
  assert.equal(compiled.state.step.item(), 6);
  close(compiled.params[0].w.dataSync(), eager.params[0].w.dataSync(), 1e-6);
  assert.ok(losses[5] < losses[0], `loss went down: ${losses}`);
});
