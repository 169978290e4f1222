/**
 * Layers: each one against an independent plain-JS implementation of its paper/PyTorch definition, its
 * gradients against finite differences, and the combinators' shape threading and error paths.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { grad, nn, random, SparseRows, summary, type Tensor, tensor, trace, zeros } from "../../mod.ts";
import { checkGradient } from "./gradcheck.ts";

type Matrix = number[][];

// ---------------------------------------------------------------------------------------------------------
// Plain-JS reference implementations (float64), written from the papers / PyTorch docs, not from the layers.

const sigmoid = (v: number) => 1 / (1 + Math.exp(-v));

function matmul(a: Matrix, b: Matrix): Matrix {
  return a.map((row) => b[0].map((_, j) => row.reduce((s, v, k) => s + v * b[k][j], 0)));
}

function addRow(a: Matrix, b: number[]): Matrix {
  return a.map((row) => row.map((v, j) => v + b[j]));
}

function columns(a: Matrix, from: number, count: number): Matrix {
  return a.map((row) => row.slice(from, from + count));
}

function asMatrix(t: Tensor): Matrix {
  return t.arraySync() as Matrix;
}

function close(actual: unknown, expected: unknown, tolerance = 1e-5, path = "value"): void {
  if (typeof expected === "number") {
    assert.ok(
      typeof actual === "number" && Math.abs(actual - expected) <= tolerance * (1 + Math.abs(expected)),
      `${path}: ${actual} vs ${expected}`,
    );
    return;
  }
  assert.ok(
    Array.isArray(actual) && Array.isArray(expected) && actual.length === expected.length,
    `${path}: shapes differ`,
  );
  expected.forEach((e, i) => close((actual as unknown[])[i], e, tolerance, `${path}[${i}]`));
}

/** One time step of PyTorch's LSTM with gates i, f, g, o (weights as [in, 4H], so z = x·wi + h·wh + b). */
function lstmReference(xs: Matrix[], p: { wi: Matrix; wh: Matrix; b: number[] }, units: number): Matrix[] {
  let h: Matrix = xs[0].map(() => new Array(units).fill(0));
  let c: Matrix = xs[0].map(() => new Array(units).fill(0));
  return xs.map((x) => {
    const z = addRow(matmul(x, p.wi).map((row, r) => row.map((v, j) => v + matmul(h, p.wh)[r][j])), p.b);
    const [i, f, g, o] = [0, 1, 2, 3].map((k) => columns(z, k * units, units));
    c = c.map((row, r) => row.map((cv, j) => sigmoid(f[r][j]) * cv + sigmoid(i[r][j]) * Math.tanh(g[r][j])));
    h = c.map((row, r) => row.map((cv, j) => sigmoid(o[r][j]) * Math.tanh(cv)));
    return h;
  });
}

/** PyTorch's GRU: r, z, n; n = tanh(W_in x + b_in + r * (W_hn h + b_hn)); h' = (1 - z) * n + z * h. */
function gruReference(
  xs: Matrix[],
  p: { wi: Matrix; wh: Matrix; bi: number[]; bh: number[] },
  units: number,
): Matrix[] {
  let h: Matrix = xs[0].map(() => new Array(units).fill(0));
  return xs.map((x) => {
    const a = addRow(matmul(x, p.wi), p.bi);
    const b = addRow(matmul(h, p.wh), p.bh);
    const part = (m: Matrix, k: number) => columns(m, k * units, units);
    const r = part(a, 0).map((row, i) => row.map((v, j) => sigmoid(v + part(b, 0)[i][j])));
    const z = part(a, 1).map((row, i) => row.map((v, j) => sigmoid(v + part(b, 1)[i][j])));
    const n = part(a, 2).map((row, i) => row.map((v, j) => Math.tanh(v + r[i][j] * part(b, 2)[i][j])));
    h = n.map((row, i) => row.map((nv, j) => (1 - z[i][j]) * nv + z[i][j] * h[i][j]));
    return h;
  });
}

function rnnReference(xs: Matrix[], p: { wi: Matrix; wh: Matrix; b: number[] }, units: number): Matrix[] {
  let h: Matrix = xs[0].map(() => new Array(units).fill(0));
  return xs.map((x) => {
    const hw = matmul(h, p.wh);
    h = addRow(matmul(x, p.wi), p.b).map((row, i) => row.map((v, j) => Math.tanh(v + hw[i][j])));
    return h;
  });
}

type Projection = { w: Matrix; b: number[] };

/** Multi-head self-attention for one sequence x [time, d], heads concatenated head-major, then projected. */
function attentionReference(
  x: Matrix,
  p: { query: Projection; key: Projection; value: Projection; output: Projection },
  heads: number,
  causal: boolean,
  keep?: boolean[],
): Matrix {
  const project = (q: Projection) => addRow(matmul(x, q.w), q.b);
  const [q, k, v] = [project(p.query), project(p.key), project(p.value)];
  const d = x[0].length;
  const hd = d / heads;
  const merged: Matrix = x.map(() => new Array(d).fill(0));
  for (let h = 0; h < heads; h++) {
    for (let i = 0; i < x.length; i++) {
      const allowed = x.map((_, j) => (!causal || j <= i) && (keep === undefined || keep[j]));
      const scores = x.map((_, j) => {
        let s = 0;
        for (let e = 0; e < hd; e++) s += q[i][h * hd + e] * k[j][h * hd + e];
        return s / Math.sqrt(hd);
      });
      const top = Math.max(...scores.filter((_, j) => allowed[j]));
      const weights = scores.map((s, j) => (allowed[j] ? Math.exp(s - top) : 0));
      const total = weights.reduce((a, b) => a + b, 0);
      for (let e = 0; e < hd; e++) {
        merged[i][h * hd + e] = weights.reduce((s, wgt, j) => s + (wgt / total) * v[j][h * hd + e], 0);
      }
    }
  }
  return addRow(matmul(merged, p.output.w), p.output.b);
}

function timeSteps(x: Tensor): Matrix[] {
  const data = x.arraySync() as number[][][];
  return data[0].map((_, t) => data.map((sequence) => sequence[t]));
}

function toTensorParams(p: Record<string, Tensor>): Record<string, Matrix | number[]> {
  return Object.fromEntries(Object.entries(p).map(([k, v]) => [k, v.arraySync() as Matrix]));
}

/** `sum(layer(x) * r)` for fixed random `r`: a scalar whose gradient involves every output. */
function objective(layer: nn.AnyLayer, shape: number[], seed: number, ctx: nn.Context = {}) {
  const { params, outputShape } = layer.init(random.key(seed), shape);
  const x = random.normal(random.key(seed + 1000), shape);
  const r = random.normal(random.key(seed + 2000), outputShape as number[]);
  const f = (p: nn.Params, input: Tensor) => (layer.apply(p, input, ctx) as Tensor).mul(r).sum();
  return { f, params, x };
}

/** Gradient checks w.r.t. params and input for three seeds. */
function checkLayerGradients(layer: nn.AnyLayer, shape: number[], ctx: nn.Context = {}): void {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 10_000 }), (seed) => {
      const { f, params, x } = objective(layer, shape, seed, ctx);
      checkGradient(f, [params, x], { argnum: 0, seed });
      checkGradient(f, [params, x], { argnum: 1, seed });
    }),
    { numRuns: 3 },
  );
}

// ---------------------------------------------------------------------------------------------------------
// dense, embed, layerNorm, activations

Deno.test("dense computes x·w + b with w [in, units], then the named activation", () => {
  const params = { w: tensor([[1, 2], [3, 4], [5, 6]]), b: tensor([0.5, -20]) };
  const x = tensor([[1, 1, 1]]);
  assert.deepEqual(nn.dense(2).apply(params, x).arraySync(), [[9.5, -8]]);
  assert.deepEqual(nn.dense(2, { activation: "relu" }).apply(params, x).arraySync(), [[9.5, 0]]);
  close(nn.dense(2, { activation: "tanh" }).apply(params, x).arraySync(), [[Math.tanh(9.5), Math.tanh(-8)]]);
  close(nn.dense(2, { activation: "sigmoid" }).apply(params, x).arraySync(), [[sigmoid(9.5), sigmoid(-8)]]);
  close(nn.dense(2, { activation: (t) => t.mul(2) }).apply(params, x).arraySync(), [[19, -16]]);
});

Deno.test("dense on any leading axes matches the matrix product, for random shapes", () => {
  fc.assert(
    fc.property(
      fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 1, maxLength: 3 }),
      fc.integer({ min: 1, max: 4 }),
      fc.integer({ min: 1, max: 4 }),
      fc.integer({ min: 0, max: 1000 }),
      (lead, inDim, units, seed) => {
        const layer = nn.dense(units);
        const shape = [...lead, inDim];
        const { params, outputShape } = layer.init(random.key(seed), shape);
        const { w, b } = params as nn.DenseParams;
        assert.deepEqual(w.shape, [inDim, units]);
        assert.deepEqual(b!.shape, [units]);
        const x = random.normal(random.key(seed + 1), shape);
        const y = layer.apply(params, x);
        assert.deepEqual(y.shape, outputShape);
        const rows = asMatrix(x.reshape([-1, inDim]));
        close(
          asMatrix(y.reshape([-1, units])),
          addRow(matmul(rows, asMatrix(w)), b!.arraySync() as number[]),
        );
      },
    ),
    { numRuns: 20 },
  );
});

Deno.test("dense starts with zero bias, Glorot-uniform w, He-normal w under relu, and no b with bias: false", () => {
  const glorot = nn.dense(200).init(random.key(1), [1, 300]).params as nn.DenseParams;
  assert.equal(glorot.b!.abs().sum().item(), 0);
  assert.ok(glorot.w.abs().max().item() <= Math.sqrt(6 / 500));
  close(glorot.w.square().mean().item(), 2 / 500, 0.05);
  const he = nn.dense(200, { activation: "relu" }).init(random.key(1), [1, 300]).params as nn.DenseParams;
  close(he.w.square().mean().item(), 2 / 300, 0.05);
  assert.deepEqual(Object.keys(nn.dense(3, { bias: false }).init(random.key(0), [2, 4]).params as object), [
    "w",
  ]);
});

Deno.test("embed looks up rows of its [vocab, dim] table and its gradient touches only those rows", () => {
  const layer = nn.embed(5, 2);
  const { params, outputShape } = layer.init(random.key(0), [2, 3]);
  const table = (params as nn.EmbedParams).table;
  assert.deepEqual(table.shape, [5, 2]);
  assert.deepEqual(outputShape, [2, 3, 2]);
  const ids = tensor([[4, 0, 4], [1, 1, 2]], { dtype: "int32" });
  const rows = table.arraySync() as Matrix;
  assert.deepEqual(layer.apply(params, ids).arraySync(), [[rows[4], rows[0], rows[4]], [
    rows[1],
    rows[1],
    rows[2],
  ]]);
  const g = grad((p: typeof params) => layer.apply(p, ids).sum(), { sparse: true })(params) as {
    table: SparseRows;
  };
  assert.ok(g.table instanceof SparseRows);
  assert.deepEqual(g.table.toDense().arraySync(), [[1, 1], [2, 2], [1, 1], [0, 0], [2, 2]]);
  assert.throws(() => layer.apply(params, ids.cast("float32")), /embed: expected a int32 input, got float32/);
  assert.throws(() => layer.apply(params, tensor([5], { dtype: "int32" })), /embed/);
});

Deno.test("embed starts N(0, 1), as PyTorch's nn.Embedding", () => {
  const { table } = nn.embed(400, 50).init(random.key(3), [1]).params as nn.EmbedParams;
  close(table.mean().item(), 0, 0.02);
  close(table.square().mean().item(), 1, 0.03);
});

Deno.test("layerNorm normalises the last axis with eps 1e-5 and biased variance, then gain and bias", () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 6 }), fc.integer({ min: 0, max: 1000 }), (features, seed) => {
      const x = random.normal(random.key(seed), [3, features], { stddev: 3, mean: 1 });
      const gain = random.normal(random.key(seed + 1), [features]);
      const bias = random.normal(random.key(seed + 2), [features]);
      const y = nn.layerNorm().apply({ gain, bias }, x);
      const g = gain.arraySync() as number[];
      const b = bias.arraySync() as number[];
      const expected = asMatrix(x).map((row) => {
        const mean = row.reduce((s, v) => s + v, 0) / row.length;
        const variance = row.reduce((s, v) => s + (v - mean) ** 2, 0) / row.length;
        return row.map((v, j) => ((v - mean) / Math.sqrt(variance + 1e-5)) * g[j] + b[j]);
      });
      close(asMatrix(y), expected, 1e-4);
    }),
    { numRuns: 15 },
  );
  const { params } = nn.layerNorm().init(random.key(0), [2, 3]);
  assert.deepEqual(Object.keys(params as object), ["gain", "bias"]);
  assert.deepEqual((params as nn.LayerNormParams).gain.arraySync(), [1, 1, 1]);
  assert.deepEqual((params as nn.LayerNormParams).bias?.arraySync(), [0, 0, 0]);
});

Deno.test("activation layers apply relu, tanh, gelu and sigmoid elementwise", () => {
  const x = tensor([-2, 0.5]);
  assert.deepEqual(nn.relu().apply({}, x).arraySync(), [0, 0.5]);
  close(nn.tanh().apply({}, x).arraySync(), [Math.tanh(-2), Math.tanh(0.5)]);
  close(nn.sigmoid().apply({}, x).arraySync(), [sigmoid(-2), sigmoid(0.5)]);
  close(nn.gelu().apply({}, x).arraySync(), [-0.04550026, 0.34573123]);
  assert.throws(
    () => nn.activation("swish" as nn.ActivationName),
    /unknown activation "swish"; use one of relu, tanh/,
  );
});

// ---------------------------------------------------------------------------------------------------------
// recurrent cells

const sequence = (seed: number) => random.normal(random.key(seed), [2, 5, 3]);

Deno.test("lstmCell follows PyTorch (gates i, f, g, o) and starts with forget bias 1", () => {
  const layer = nn.recur(nn.lstmCell(4));
  const { params } = layer.init(random.key(7), [2, 5, 3]);
  const p = params as nn.LstmParams;
  assert.deepEqual(p.wi.shape, [3, 16]);
  assert.deepEqual(p.wh.shape, [4, 16]);
  assert.deepEqual(p.b.arraySync(), [0, 0, 0, 0, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0]);
  // A random bias, so that every gate's bias position is exercised.
  const withBias = { ...p, b: random.normal(random.key(8), [16]) };
  const x = sequence(9);
  const expected = lstmReference(timeSteps(x), toTensorParams(withBias) as never, 4);
  const y = layer.apply(withBias, x);
  close(timeSteps(y), expected);
});

Deno.test("gruCell follows PyTorch: r, z, n with r gating (h·wh_n + bh_n)", () => {
  const layer = nn.recur(nn.gruCell(4));
  const { params } = layer.init(random.key(3), [2, 5, 3]);
  const p = {
    ...(params as nn.GruParams),
    bi: random.normal(random.key(4), [12]),
    bh: random.normal(random.key(5), [12]),
  };
  assert.deepEqual([p.wi.shape, p.wh.shape], [[3, 12], [4, 12]]);
  const x = sequence(6);
  close(timeSteps(layer.apply(p, x)), gruReference(timeSteps(x), toTensorParams(p) as never, 4));
});

Deno.test("rnnCell is h' = tanh(x·wi + h·wh + b)", () => {
  const layer = nn.recur(nn.rnnCell(4));
  const { params } = layer.init(random.key(3), [2, 5, 3]);
  const p = { ...(params as nn.RnnParams), b: random.normal(random.key(4), [4]) };
  const x = sequence(6);
  close(timeSteps(layer.apply(p, x)), rnnReference(timeSteps(x), toTensorParams(p) as never, 4));
});

Deno.test("recur with reverse runs time backwards; returnSequences: false gives the last step's output", () => {
  const cell = nn.gruCell(3);
  const { params } = nn.recur(cell).init(random.key(0), [2, 5, 3]);
  const x = sequence(1);
  const reversed = x.slice([0, 0, 0], [2, 5, 3]).take([4, 3, 2, 1, 0], 1);
  const forwardOnReversed = nn.recur(cell).apply(params, reversed);
  const backward = nn.recur(cell, { reverse: true }).apply(params, x);
  close(backward.arraySync(), forwardOnReversed.take([4, 3, 2, 1, 0], 1).arraySync());
  const last = nn.recur(cell, { returnSequences: false }).apply(params, x);
  close(
    last.arraySync(),
    nn.recur(cell).apply(params, x).slice([0, 4, 0], [2, 1, 3]).reshape([2, 3]).arraySync(),
  );
  const lastReverse = nn.recur(cell, { returnSequences: false, reverse: true }).apply(params, x);
  close(lastReverse.arraySync(), backward.slice([0, 0, 0], [2, 1, 3]).reshape([2, 3]).arraySync());
});

Deno.test("recur is causal: output t never depends on inputs after t (and the reverse on inputs before t)", () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 4 }), fc.integer({ min: 0, max: 1000 }), (t, seed) => {
      const cell = nn.lstmCell(3);
      const { params } = nn.recur(cell).init(random.key(seed), [1, 5, 3]);
      const x = random.normal(random.key(seed + 1), [1, 5, 3]);
      const changed = x.add(
        random.normal(random.key(seed + 2), [1, 5, 3]).mul(
          tensor([0, 1, 2, 3, 4]).greater(t).cast("float32").reshape([1, 5, 1]),
        ),
      );
      const upTo = (y: Tensor) => y.slice([0, 0, 0], [1, t + 1, 3]).arraySync();
      assert.deepEqual(upTo(nn.recur(cell).apply(params, changed)), upTo(nn.recur(cell).apply(params, x)));
      const reverse = nn.recur(cell, { reverse: true });
      const before = x.add(
        random.normal(random.key(seed + 3), [1, 5, 3]).mul(
          tensor([0, 1, 2, 3, 4]).less(t).cast("float32").reshape([1, 5, 1]),
        ),
      );
      const from = (y: Tensor) => y.slice([0, t, 0], [1, 5 - t, 3]).arraySync();
      assert.deepEqual(from(reverse.apply(params, before)), from(reverse.apply(params, x)));
    }),
    { numRuns: 8 },
  );
});

Deno.test("runCell from a carried state computes what one run over the joined sequence does", () => {
  const cells = { lstm: nn.lstmCell, gru: nn.gruCell, rnn: nn.rnnCell };
  fc.assert(
    fc.property(
      fc.constantFrom("lstm", "gru", "rnn" as const),
      fc.integer({ min: 1, max: 3 }),
      fc.integer({ min: 2, max: 7 }),
      fc.integer({ min: 0, max: 1000 }),
      (kind, batch, time, seed) => {
        const split = 1 + (seed % (time - 1)); // both parts non-empty
        const cell = cells[kind as keyof typeof cells](3);
        const params = cell.init(random.key(seed), 2);
        const x = random.normal(random.key(seed + 1), [batch, time, 2]);
        const whole = nn.runCell(cell, params, x);
        const first = nn.runCell(cell, params, x.slice([0, 0, 0], [batch, split, 2]));
        const rest = x.slice([0, split, 0], [batch, time - split, 2]);
        const second = nn.runCell(cell, params, rest, { state: first.state });
        close(first.sequence.arraySync(), whole.sequence.slice([0, 0, 0], [batch, split, 3]).arraySync());
        close(
          second.sequence.arraySync(),
          whole.sequence.slice([0, split, 0], [batch, time - split, 3]).arraySync(),
        );
        close(second.state.map((t) => t.arraySync()), whole.state.map((t) => t.arraySync()));
        // From a zero state, runCell is recur.
        close(whole.sequence.arraySync(), nn.recur(cell).apply(params, x).arraySync());
      },
    ),
    { numRuns: 25 },
  );
});

Deno.test("runCell rejects a state of the wrong length or shape, naming the cell", () => {
  const cell = nn.lstmCell(4);
  const params = cell.init(random.key(0), 3);
  const x = zeros([2, 5, 3]);
  assert.throws(
    () => nn.runCell(cell, params, x, { state: [zeros([2, 4])] }),
    /runCell\.lstmCell: expected a state of 2 tensor\(s\) \[batch, 4\], got 1/,
  );
  assert.throws(
    () => nn.runCell(cell, params, x, { state: [zeros([2, 4]), zeros([3, 4])] }),
    /runCell\.lstmCell\.state\[1\]: expected float32 \[2, 4\] .*got float32 \[3, 4\]; pass the state/,
  );
});

Deno.test("gradients through runCell reach the params and the initial state (finite differences)", () => {
  const cell = nn.lstmCell(3);
  const params = cell.init(random.key(2), 2);
  const x = random.normal(random.key(3), [2, 4, 2]);
  const state = [random.normal(random.key(4), [2, 3]), random.normal(random.key(5), [2, 3])];
  const weights = random.normal(random.key(6), [2, 4, 3]);
  const f = (p: nn.CellParams, s: Tensor[]) => {
    const run = nn.runCell(cell, p, x, { state: s });
    return run.sequence.mul(weights).sum().add(run.state[1].sum());
  };
  checkGradient(f, [params, state], { argnum: 0 });
  checkGradient(f, [params, state], { argnum: 1 });
});

// ---------------------------------------------------------------------------------------------------------
// attention

function attendCase(seed: number, causal: boolean, mask?: boolean[][]) {
  const layer = nn.attend({ heads: 2, causal });
  const { params } = layer.init(random.key(seed), [2, 4, 6]);
  // Random biases, so that every projection's bias is exercised.
  const p = Object.fromEntries(
    Object.entries(params as nn.AttendParams).map((
      [k, v],
      i,
    ) => [k, { w: v.w, b: random.normal(random.key(seed + i + 1), [6]) }]),
  ) as nn.AttendParams;
  const x = random.normal(random.key(seed + 10), [2, 4, 6]);
  const y = layer.apply(p, x, mask ? { mask: tensor(mask) } : {});
  const plain = Object.fromEntries(
    Object.entries(p).map(([k, v]) => [k, { w: asMatrix(v.w), b: v.b!.arraySync() as number[] }]),
  );
  const expected = (x.arraySync() as Matrix[]).map((sequence, i) =>
    attentionReference(sequence, plain as never, 2, causal, mask?.[i])
  );
  return { y, expected };
}

Deno.test("attend matches multi-head scaled dot-product attention with an output projection", () => {
  for (const causal of [false, true]) {
    const { y, expected } = attendCase(3, causal);
    close(y.arraySync(), expected, 1e-4);
  }
});

Deno.test("attend with a key padding mask ignores padded keys", () => {
  const mask = [[true, true, true, false], [true, false, true, true]];
  for (const causal of [false, true]) {
    const { y, expected } = attendCase(5, causal, mask);
    close(y.arraySync(), expected, 1e-4);
  }
  const layer = nn.attend({ heads: 2 });
  const { params } = layer.init(random.key(0), [2, 4, 6]);
  assert.throws(
    () => layer.apply(params, zeros([2, 4, 6]), { mask: zeros([2, 4]) }),
    /attend: ctx.mask must be bool \[2, 4\]/,
  );
});

Deno.test("attend params are four [d, d] projections with zero biases", () => {
  const { params } = nn.attend({ heads: 2 }).init(random.key(0), [1, 3, 4]);
  const p = params as nn.AttendParams;
  assert.deepEqual(Object.keys(p), ["query", "key", "value", "output"]);
  for (const projection of Object.values(p)) {
    assert.deepEqual(projection.w.shape, [4, 4]);
    assert.deepEqual(projection.b!.arraySync(), [0, 0, 0, 0]);
  }
  assert.throws(
    () => nn.attend({ heads: 3 }).init(random.key(0), [1, 3, 4]),
    /attend: 3 heads do not divide the 4 features/,
  );
});

Deno.test("causal attention: outputs never depend on later positions", () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 1000 }), (t, seed) => {
      const layer = nn.attend({ heads: 2, causal: true });
      const { params } = layer.init(random.key(seed), [1, 4, 4]);
      const x = random.normal(random.key(seed + 1), [1, 4, 4]);
      const later = tensor([0, 1, 2, 3]).greater(t).cast("float32").reshape([1, 4, 1]);
      const changed = x.add(random.normal(random.key(seed + 2), [1, 4, 4]).mul(later));
      const upTo = (y: Tensor) => y.slice([0, 0, 0], [1, t + 1, 4]).arraySync();
      assert.deepEqual(upTo(layer.apply(params, changed)), upTo(layer.apply(params, x)));
    }),
    { numRuns: 8 },
  );
});

// ---------------------------------------------------------------------------------------------------------
// positions and dropout

Deno.test("sinusoidal positions are sin on even dims and cos on odd dims, as in Vaswani et al.", () => {
  const table = nn.sinusoidalTable(6, 5).arraySync() as Matrix;
  for (let pos = 0; pos < 6; pos++) {
    for (let j = 0; j < 5; j++) {
      const angle = pos / Math.pow(10000, (2 * Math.floor(j / 2)) / 5);
      close(table[pos][j], j % 2 === 0 ? Math.sin(angle) : Math.cos(angle), 1e-6);
    }
  }
  const layer = nn.positional("sinusoidal", 8);
  const { params } = layer.init(random.key(0), [2, 6, 5]);
  assert.deepEqual(params, {});
  const x = random.normal(random.key(1), [2, 6, 5]);
  close(layer.apply(params, x).sub(x).arraySync(), [table, table], 1e-5);
});

Deno.test("learned positions add the first rows of a [maxLen, features] table", () => {
  const layer = nn.positional("learned", 8);
  const { params } = layer.init(random.key(0), [2, 3, 4]);
  const table = params.table!;
  assert.deepEqual(table.shape, [8, 4]);
  assert.ok(table.abs().max().item() < 0.2);
  assert.deepEqual(
    layer.apply(params, zeros([2, 3, 4])).arraySync(),
    [0, 1].map(() => (table.arraySync() as Matrix).slice(0, 3)),
  );
  assert.throws(
    () => layer.apply(params, zeros([1, 9, 4])),
    /positional: the sequence has 9 positions but maxLen is 8/,
  );
});

Deno.test("dropout is the identity unless training, then drops about `rate` and scales the rest by 1/(1-rate)", () => {
  const layer = nn.dropout(0.25);
  const x = random.normal(random.key(0), [4000]);
  assert.equal(layer.apply({}, x), x);
  assert.equal(layer.apply({}, x, { training: false, key: random.key(1) }), x);
  const y = layer.apply({}, x, { training: true, key: random.key(1) });
  const xs = x.dataSync();
  const ys = y.dataSync();
  let dropped = 0;
  ys.forEach((v, i) => {
    if (v === 0) dropped++;
    else close(v, xs[i] / 0.75, 1e-6);
  });
  assert.ok(Math.abs(dropped / 4000 - 0.25) < 0.03, `dropped ${dropped}`);
  assert.deepEqual(layer.apply({}, x, { training: true, key: random.key(1) }).dataSync(), ys);
  assert.notDeepEqual(layer.apply({}, x, { training: true, key: random.key(2) }).dataSync(), ys);
  assert.throws(
    () => layer.apply({}, x, { training: true }),
    /dropout: training with dropout needs a random key/,
  );
  assert.throws(() => nn.dropout(1), /dropout: rate must be in \[0, 1\)/);
});

Deno.test("serial gives each child its own key, so two dropouts draw different masks", () => {
  const model = nn.serial(nn.dropout(0.5), nn.fn((x) => x.mul(1)), nn.dropout(0.5));
  const { params } = model.init(random.key(0), [64]);
  const ones = tensor(new Float32Array(64).fill(1));
  const first = nn.serial(nn.dropout(0.5)).apply([{}], ones, { training: true, key: random.key(5) });
  const both = model.apply(params, ones, { training: true, key: random.key(5) });
  assert.notDeepEqual(first.dataSync(), both.dataSync());
  assert.ok(both.dataSync().some((v) => v === 4), "some elements survive both dropouts");
});

// ---------------------------------------------------------------------------------------------------------
// combinators

Deno.test("serial threads shapes through its layers and keeps one params entry per layer", () => {
  const model = nn.serial(nn.embed(10, 4), nn.dense(3, { activation: "tanh" }), nn.fn((x) => x.sum(-1)));
  const { params, outputShape } = model.init(random.key(0), [2, 5]);
  assert.deepEqual(outputShape, [2, 5]);
  assert.equal((params as unknown[]).length, 3);
  assert.deepEqual((params as unknown[])[2], {});
  const ids = tensor([[0, 1, 2, 3, 4], [5, 6, 7, 8, 9]], { dtype: "int32" });
  assert.deepEqual(model.apply(params, ids).shape, [2, 5]);
  assert.throws(
    () => model.apply((params as unknown[]).slice(0, 2) as never, ids),
    /serial: expected the params of 3 layers/,
  );
});

Deno.test("residual adds its input to f's output and keeps f's params", () => {
  const inner = nn.dense(3);
  const block = nn.residual(inner);
  const { params, outputShape } = block.init(random.key(0), [2, 3]);
  assert.deepEqual(Object.keys(params as object), ["w", "b"]);
  assert.deepEqual(outputShape, [2, 3]);
  const x = random.normal(random.key(1), [2, 3]);
  close(block.apply(params, x).arraySync(), x.add(inner.apply(params, x)).arraySync(), 1e-6);
});

Deno.test("branch feeds one input to every layer; parallel feeds input i to layer i", () => {
  const b = nn.branch(nn.dense(2), nn.fn((x) => x.mul(2)));
  const { params, outputShape } = b.init(random.key(0), [1, 3]);
  assert.deepEqual(outputShape, [[1, 2], [1, 3]]);
  const x = tensor([[1, 2, 3]]);
  const [a, doubled] = b.apply(params, x);
  assert.deepEqual(a.shape, [1, 2]);
  assert.deepEqual(doubled.arraySync(), [[2, 4, 6]]);
  const p = nn.parallel(nn.fn((v) => v.add(1)), nn.fn((v) => v.neg()));
  assert.deepEqual(p.init(random.key(0), [[2], [3]]).outputShape, [[2], [3]]);
  const [plus, minus] = p.apply([{}, {}], [tensor([1, 2]), tensor([1, 2, 3])]);
  assert.deepEqual([plus.arraySync(), minus.arraySync()], [[2, 3], [-1, -2, -3]]);
  assert.throws(
    () => p.apply([{}, {}], tensor([1])),
    /parallel: expected a list of 2 inputs \(one per layer\), got one/,
  );
});

Deno.test("repeat makes n blocks with their own params", () => {
  const stack = nn.repeat(3, () => nn.dense(4, { activation: "tanh" }));
  const { params } = stack.init(random.key(0), [2, 4]);
  const ws = (params as nn.DenseParams[]).map((p) => JSON.stringify(p.w.arraySync()));
  assert.equal(new Set(ws).size, 3);
  assert.deepEqual(stack.apply(params, zeros([2, 4])).shape, [2, 4]);
});

// ---------------------------------------------------------------------------------------------------------
// runtime shape errors name the path and the shapes

Deno.test("apply errors name the layer path and both shapes", () => {
  const width: number = 64; // a run-time dim: the type checker cannot see the mismatch below
  const model = nn.serial(nn.dense(width), nn.dense(width), nn.attend({ heads: 4 }));
  const { params } = model.init(random.key(0), [8, 16, width]);
  const wrong = [
    (params as unknown[])[0],
    nn.dense(32).init(random.key(1), [8, 16, 64]).params,
    (params as unknown[])[2],
  ];
  assert.throws(
    () => model.apply(wrong as never, zeros([8, 16, 64])),
    (e: Error) =>
      e instanceof nn.LayerError &&
      e.message === "serial[2].attend: expected input [batch, time, 64], got [8, 16, 32]",
  );
  assert.throws(
    () => model.init(random.key(0), [8, 64]),
    /^LayerError: serial\[2\]\.attend: expected input \[batch, time, features\], got \[8, 64\]$/,
  );
});

Deno.test("init errors name nested paths, and errors of ops inside a layer are located too", () => {
  const width: number = 64;
  const model = nn.serial(nn.embed(100, width), nn.repeat(2, () => nn.residual(nn.dense(32))));
  assert.throws(
    () => model.init(random.key(0), [2, 5]),
    /serial\[1\]\.repeat\[0\]\.residual: x \+ f\(x\) needs f to keep the shape, but dense maps \[2, 5, 64\] to \[2, 5, 32\]/,
  );
  const bad = nn.serial(nn.dense(2), nn.fn((x) => x.reshape([7])));
  assert.throws(() => bad.init(random.key(0), [3, 4]), /serial\[1\]\.fn: reshape/);
  assert.throws(
    () => nn.dense(2).apply({ w: zeros([3, 2]) }, zeros([2, 4])),
    /^LayerError: dense: expected input \[\.\.\., 3\], got \[2, 4\]$/,
  );
});

// ---------------------------------------------------------------------------------------------------------
// summary and graph view

Deno.test("summary lists each layer's path, output shape and parameter count", () => {
  const model = nn.serial(
    nn.embed(50, 8),
    nn.residual(nn.serial(nn.layerNorm(), nn.attend({ heads: 2 }))),
    nn.dense(50),
  );
  const text = summary(model, [4, 10]);
  const { params } = model.init(random.key(0), [4, 10]);
  const total = countParams(params);
  assert.match(text, new RegExp(`Total params: ${total.toLocaleString("en-US")}$`));
  assert.match(text, /^ {2}serial\[0\]\.embed +\[4, 10, 8\] +400$/m);
  assert.match(text, /^ {6}serial\[1\]\.residual\.serial\[1\]\.attend +\[4, 10, 8\] +288$/m);
  assert.match(text, /^ {2}serial\[2\]\.dense +\[4, 10, 50\] +450$/m);
});

function countParams(params: unknown): number {
  if (Array.isArray(params)) return params.reduce((n, p) => n + countParams(p), 0);
  if (params && typeof params === "object" && "size" in params) return (params as Tensor).size;
  return Object.values(params as object).reduce((n, p) => n + countParams(p), 0);
}

Deno.test("tracing a model's apply gives its graph as text, JSON and DOT", () => {
  const model = nn.serial(nn.dense(3, { activation: "tanh" }), nn.dense(1));
  const { params } = model.init(random.key(0), [2, 4]);
  const graph = trace((p: typeof params, x: Tensor) => model.apply(p, x), params, { shape: [2, 4] });
  assert.deepEqual(graph.outputs[0].shape, [2, 1]);
  assert.match(graph.toString(), /tanh/);
  assert.ok(graph.toJSON().eqns.some((e) => e.prim === "matmul"));
  assert.match(graph.toDot(), /^digraph/);
});

// ---------------------------------------------------------------------------------------------------------
// gradients: every layer, w.r.t. params and inputs, against finite differences

Deno.test("the gradient check itself rejects a wrong gradient", () => {
  const wrong = (x: Tensor) => x.mul(x.stopGradient()).sum();
  assert.throws(() => checkGradient(wrong, [tensor([1, 2, 3])]), /gradient check failed/);
});

Deno.test("gradients of dense (tanh, gelu, sigmoid, no bias) match finite differences", () => {
  checkLayerGradients(nn.dense(3, { activation: "tanh" }), [4, 5]);
  checkLayerGradients(nn.dense(3, { activation: "gelu" }), [2, 3, 5]);
  checkLayerGradients(nn.dense(2, { activation: "sigmoid", bias: false }), [4, 3]);
});

Deno.test("gradients of embed (sparse rows) match finite differences", () => {
  const layer = nn.embed(6, 3);
  const ids = tensor([[0, 5, 5], [2, 0, 1]], { dtype: "int32" });
  for (const seed of [1, 2, 3]) {
    const { params } = layer.init(random.key(seed), [2, 3]);
    const r = random.normal(random.key(seed + 1), [2, 3, 3]);
    checkGradient((p: typeof params) => layer.apply(p, ids).mul(r).sum(), [params], { seed });
  }
});

Deno.test("gradients of layerNorm, positional and dropout (fixed key) match finite differences", () => {
  checkLayerGradients(nn.layerNorm(), [3, 5]);
  checkLayerGradients(nn.positional("learned", 6), [2, 4, 3]);
  checkLayerGradients(nn.dropout(0.3), [4, 5], { training: true, key: random.key(9) });
  const sinusoidal = nn.positional("sinusoidal", 6);
  const r = random.normal(random.key(1), [2, 4, 3]);
  checkGradient((x: Tensor) => sinusoidal.apply({}, x).mul(r).sum(), [
    random.normal(random.key(2), [2, 4, 3]),
  ]);
});

Deno.test("gradients of attend, plain, causal and with a padding mask, match finite differences", () => {
  checkLayerGradients(nn.attend({ heads: 2 }), [2, 4, 6]);
  checkLayerGradients(nn.attend({ heads: 2, causal: true }), [2, 4, 6]);
  checkLayerGradients(nn.attend({ heads: 3 }), [2, 4, 6], {
    mask: tensor([[true, true, false, true], [true, true, true, false]]),
  });
});

Deno.test("gradients of recur with each cell over 5 steps (through time) match finite differences", () => {
  checkLayerGradients(nn.recur(nn.rnnCell(4)), [2, 5, 3]);
  checkLayerGradients(nn.recur(nn.lstmCell(4)), [2, 5, 3]);
  checkLayerGradients(nn.recur(nn.gruCell(4)), [2, 5, 3]);
  checkLayerGradients(nn.recur(nn.lstmCell(3), { reverse: true, returnSequences: false }), [2, 6, 2]);
});

Deno.test("gradients of the smooth activation layers match finite differences", () => {
  for (const layer of [nn.tanh(), nn.gelu(), nn.sigmoid()]) checkLayerGradients(layer, [3, 4]);
});

Deno.test("gradients through parallel, with a list of inputs, match finite differences", () => {
  const layer = nn.parallel(nn.dense(2, { activation: "tanh" }), nn.layerNorm());
  for (const seed of [1, 2, 3]) {
    const { params } = layer.init(random.key(seed), [[3, 4], [3, 5]]);
    const inputs = [random.normal(random.key(seed + 1), [3, 4]), random.normal(random.key(seed + 2), [3, 5])];
    const [r1, r2] = [
      random.normal(random.key(seed + 3), [3, 2]),
      random.normal(random.key(seed + 4), [3, 5]),
    ];
    const f = (p: typeof params, xs: Tensor[]) => {
      const [a, b] = layer.apply(p, xs);
      return a.mul(r1).sum().add(b.mul(r2).sum());
    };
    checkGradient(f, [params, inputs], { argnum: 0, seed });
    checkGradient(f, [params, inputs], { argnum: 1, seed });
  }
});

Deno.test("gradients of residual(serial(layerNorm(), attend(causal))) and other combinators match", () => {
  checkLayerGradients(nn.residual(nn.serial(nn.layerNorm(), nn.attend({ heads: 2, causal: true }))), [
    2,
    4,
    6,
  ]);
  checkLayerGradients(nn.repeat(2, () => nn.residual(nn.dense(4, { activation: "gelu" }))), [3, 4]);
  checkLayerGradients(
    nn.serial(
      nn.branch(nn.dense(2, { activation: "tanh" }), nn.layerNorm()),
      nn.fn<[number, number]>(([a, b]) => a.sum(-1).add(b.sum(-1))),
    ),
    [3, 4],
  );
});
