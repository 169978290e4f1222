/** Graph passes on small graphs: the text before and after each pass, and what the fused program reads. */
import assert from "node:assert/strict";
import fc from "fast-check";
import * as L from "../../mod.ts";
import type { Tensor } from "../../mod.ts";
import { type Expr, fuse } from "../../kernels/passes/fuse.ts";
import { groupRows, rowGroups } from "../../kernels/passes/row_groups.ts";
import { runProgram, samplePrograms } from "./programs.ts";
import { assertClose, randomTensor, rng } from "../helpers.ts";
import { mergeMatmulSums } from "../../kernels/passes/matmul_sums.ts";
import { planMemory } from "../../kernels/passes/memory.ts";
import {
  eliminateCommonSubexpressions,
  eliminateDeadCode,
  optimize,
  simplify,
} from "../../kernels/passes/simplify.ts";

const lines = (...l: string[]) => l.join("\n");

Deno.test("simplify: x*1, x+0, transpose of transpose and neg of neg disappear", () => {
  const g = L.trace((x: Tensor) => x.mul(1).add(0).transpose().transpose().neg().neg(), { shape: [2, 3] });
  assert.equal(g.eqns.length, 12);
  assert.equal(simplify(g).toString(), lines("{ lambda a:f32[2,3] . let", "  in (a) }"));
});

Deno.test("simplify: splat constants fold through reshape, broadcast and arithmetic", () => {
  const g = L.trace((x: Tensor) => L.full([2], 3).mul(L.full([2], 2)).add(x), { shape: [2] });
  assert.equal(
    simplify(g).toString(),
    lines(
      "{ lambda a:f32[2] . let",
      '    b:f32[2] = full[shape=[2] value=6 dtype="float32"]',
      "    c:f32[2] = add b a",
      "  in (c) }",
    ),
  );
  const summed = L.trace((x: Tensor) => L.ones([4, 3]).sum(0).add(x), { shape: [3] });
  assert.match(simplify(summed).toString(), /full\[shape=\[3\] value=4 dtype="float32"\]/);
});

Deno.test("CSE: the same primitive on the same operands is computed once", () => {
  const g = L.trace((x: Tensor) => x.exp().add(x.exp()), { shape: [3] });
  assert.equal(
    g.toString(),
    lines(
      "{ lambda a:f32[3] . let",
      "    b:f32[3] = exp a",
      "    c:f32[3] = exp a",
      "    d:f32[3] = add b c",
      "  in (d) }",
    ),
  );
  assert.equal(
    eliminateCommonSubexpressions(g).toString(),
    lines("{ lambda a:f32[3] . let", "    b:f32[3] = exp a", "    c:f32[3] = add b b", "  in (c) }"),
  );
});

Deno.test("CSE: constants NaN, Infinity and -Infinity stay apart", async () => {
  const f = (x: Tensor) => [NaN, -Infinity, Infinity].map((v) => L.where(L.greater(x, 0), x, v));
  const g = eliminateCommonSubexpressions(L.trace(f, { shape: [2] }));
  assert.equal(new Set(g.outputs).size, 3, g.toString());
  const out = await Promise.all(L.jit(f)(L.tensor([-1, 2])).map((t) => t.data()));
  assert.deepEqual(out.map((o) => o[0]), [NaN, -Infinity, Infinity]);
});

Deno.test("DCE: equations no output depends on are dropped", () => {
  const g = L.trace((x: Tensor) => {
    x.log();
    return x.neg();
  }, { shape: [3] });
  assert.equal(g.eqns.length, 2);
  assert.equal(
    eliminateDeadCode(g).toString(),
    lines("{ lambda a:f32[3] . let", "    b:f32[3] = neg a", "  in (b) }"),
  );
});

Deno.test("fusion: matmul absorbs a transposed operand; bias, relu and the sum fuse into one reduction", () => {
  const g = L.trace(
    (x: Tensor, w: Tensor) => x.matmul(w.transpose()).add(1).relu().sum(0),
    { shape: [4, 3] },
    {
      shape: [5, 3],
    },
  );
  assert.equal(
    fuse(optimize(g)).toString(),
    lines(
      "k0 matmul[4,5] d <- (a, b): batch=1 m=4 n=5 k=3 transB",
      "k1 reduce[5] j <- (d): sum[axes=[0]] where(less(0, add(d, 1)), add(d, 1), 0)",
    ),
  );
});

Deno.test("fusion: an 8-op elementwise chain over a broadcast bias is one loop with two inputs", () => {
  const g = L.trace(
    (x: Tensor, b: Tensor) => x.mul(2).add(b).maximum(0).mul(x).sub(1).neg().add(3).mul(0.5),
    { shape: [16, 8] },
    { shape: [8] },
  );
  const program = fuse(optimize(g));
  assert.equal(program.kernels.length, 1);
  assert.equal(program.kernels[0].kind, "elementwise");
  assert.equal(program.kernels[0].inputs.length, 2);
});

Deno.test("fusion: a value used by two kernels is materialized once, not recomputed", () => {
  const g = L.trace((x: Tensor) => {
    const e = x.exp();
    return [e.sum(0), e.max(1)];
  }, { shape: [4, 4] });
  const program = fuse(optimize(g));
  assert.deepEqual(program.kernels.map((k) => k.kind), ["elementwise", "reduce", "reduce"]);
  assert.match(program.toString(), /k0 elementwise\[4,4\] b <- \(a\): exp\(a\)/);
});

Deno.test("fusion: a value a few cheap ops compute is recomputed in each kernel that uses it", () => {
  const f = (x: Tensor) => {
    const positive = x.greater(0); // one comparison, used by two reductions
    const e = x.exp(); // costly, used by two reductions: materialized once
    return [L.where(positive, x, 0).sum(1), L.where(positive, e, 1).sum(0), e.max(1)];
  };
  const program = fuse(optimize(L.trace(f, { shape: [4, 4] })));
  const text = program.toString();
  assert.deepEqual(program.kernels.map((k) => k.kind), ["elementwise", "reduce", "reduce", "reduce"], text);
  assert.match(text, /k0 elementwise\[4,4\] \w+ <- \(a\): exp\(a\)/);
  // Both reductions read x and compare it themselves: no boolean buffer.
  assert.ok(program.kernels.every((k) => k.output.dtype !== "bool"), text);
  const host = [-1, 2, 0, 3, 4, -5, 6, 0, 1, 1, -1, -1, 0, 0, 0, 2];
  const [rows, columns] = L.jit(f)(L.tensor(host, { shape: [4, 4] })) as Tensor[];
  assert.deepEqual(Array.from(rows.dataSync()), [5, 10, 2, 2]);
  const want = [0, 1, 2, 3].map((j) =>
    [0, 1, 2, 3].reduce((s, i) => s + (host[4 * i + j] > 0 ? Math.exp(host[4 * i + j]) : 1), 0)
  );
  Array.from(columns.dataSync()).forEach((v, j) =>
    assert.ok(Math.abs(v - want[j]) < 1e-5 * want[j], `${v} vs ${want[j]}`)
  );
});

Deno.test("fusion: cross-entropy's one-hot mask is recomputed from stored labels in the loss and its gradient", () => {
  const f = (logits: Tensor, labels: Tensor) =>
    L.valueAndGrad((x: Tensor) => L.loss.crossEntropy(x, labels, { ignoreIndex: -1 }))(logits);
  const program = fuse(optimize(L.trace(f, { shape: [64, 500] }, { shape: [64], dtype: "int32" })));
  const text = program.toString();
  // No [64, 500] mask or log-softmax table is written, and the label's gradient is no scatter into zeros.
  const big = program.kernels.filter((k) => k.output.shape.join() === "64,500");
  assert.ok(big.every((k) => k.output.dtype === "float32"), text);
  assert.ok(program.kernels.every((k) => k.kind !== "scatter"), text);
  assert.equal(big.length, 2, text); // exp(x - max), stored for the sum and the gradient; the gradient
  assert.match(text, /where\(equal\(\w+, iota\)/);
});

Deno.test("fusion: a reshape that merges axes of a computed value fuses over the finer axes", () => {
  // [B, C, D] -> [B·C, D] is not affine from the merged index back, so the kernel loops over [B, C, D].
  const f = (u: Tensor, s: Tensor, y: Tensor) => u.mul(s).reshape([6, 5]).mul(y);
  const g = L.trace(f, { shape: [2, 1, 5] }, { shape: [2, 3, 1] }, { shape: [6, 5] });
  const program = fuse(optimize(g));
  assert.match(program.toString(), /^k0 elementwise\[6,5\] \w+ <- \(a, b, c\): mul\(mul\(a, b\), c\)$/);
  assert.deepEqual(program.kernels[0].kind === "elementwise" && program.kernels[0].shape, [2, 3, 5]);
  const r = rng(3);
  const args = [[2, 1, 5], [2, 3, 1], [6, 5]].map((shape) => randomTensor(r, shape));
  const [u, s, y] = args.map((t) => Array.from(t.dataSync() as Float32Array));
  const out = Array.from((L.jit(f)(...args as [Tensor, Tensor, Tensor])).dataSync());
  const want = y.map((v: number, i: number) => {
    const [b, c, d] = [Math.floor(i / 15), Math.floor(i / 5) % 3, i % 5];
    return Math.fround(Math.fround(u[b * 5 + d] * s[b * 3 + c]) * v);
  });
  assert.deepEqual(out, want);
});

Deno.test("fusion: a scatter-add computes its scaled update rows itself; none are written to memory", () => {
  const step = (table: Tensor, ids: Tensor, s: Tensor, u: Tensor) =>
    new L.SparseRows(ids, s.mul(u).reshape([6, 4]).mul(-0.1), table.shape).addTo(table);
  const g = L.trace(step, { shape: [10, 4] }, { shape: [6], dtype: "int32" }, { shape: [2, 3, 1] }, {
    shape: [2, 1, 4],
  });
  assert.match(
    fuse(optimize(g)).toString(),
    /^k0 scatter\[10,4\] \w+ <- \(a, b, c, d\): rows \+= mul\(mul\(c, d\), -0.10*1\d*\)$/,
  );
  // A backend that cannot compute these updates gets them materialized, and the scatter loads them.
  const plain = fuse(optimize(g), { scatterUpdates: (k) => k.updates.kind === "load" });
  assert.deepEqual(plain.kernels.map((k) => k.kind), ["elementwise", "scatter"], plain.toString());
});

Deno.test("fusion (gatherLoads): word2vec's negatives' rows are read from the table by the reductions that use them; rows a scatter-add needs are stored", () => {
  const lossOf = (p: { input: Tensor; output: Tensor }, centre: Tensor, negatives: Tensor) => {
    const hidden = L.take(p.input, centre); // [P, D]
    const scores = L.take(p.output, negatives).mul(hidden.unsqueeze(1)).sum(-1); // [P, K]
    return L.softplus(scores).sum();
  };
  const step = (input: Tensor, output: Tensor, centre: Tensor, negatives: Tensor) => {
    const g = L.grad((p: { input: Tensor; output: Tensor }) => lossOf(p, centre, negatives), {
      sparse: true,
    })(
      { input, output },
    ) as { input: L.SparseRows; output: L.SparseRows };
    return [g.input.addTo(input), g.output.addTo(output)];
  };
  const ids = (shape: number[]) => ({ shape, dtype: "int32" as const });
  const graph = optimize(L.trace(step, { shape: [50, 8] }, { shape: [50, 8] }, ids([6]), ids([6, 3])));
  const gatherOutputs = (options: { gatherLoads?: boolean }) =>
    fuse(graph, options).kernels.filter((k) => k.kind === "opaque" && k.eqn.prim === "gather")
      .map((k) => k.output.shape.join("x"));
  // Copied first, by default: the centre rows [6, 8] and the negatives' rows [6, 3, 8].
  assert.deepEqual(gatherOutputs({}).sort(), ["6x3x8", "6x8"]);
  // Read where used: only the centre rows stay stored, because the output table's scatter-add scales them.
  const program = fuse(graph, { gatherLoads: true });
  assert.deepEqual(gatherOutputs({ gatherLoads: true }), ["6x8"]);
  const readers = program.kernels.filter((k) =>
    k.kind === "reduce" && /\w+\[\w+\]/.test(program.describe(k))
  );
  assert.equal(readers.length, 2, program.toString()); // the scores and the centre rows' gradient
  assert.ok(program.kernels.every((k) => k.kind !== "scatter" || !/\w+\[\w+\]/.test(program.describe(k))));
});

Deno.test("memory plan: intermediates share slots by liveness; lockstep elementwise kernels write in place", () => {
  const chain = L.trace((x: Tensor) => x.matmul(x).matmul(x).matmul(x).matmul(x), { shape: [8, 8] });
  assert.equal(planMemory(fuse(chain)).slotBytes.length, 2);
  const g = L.trace((x: Tensor, w: Tensor) => x.matmul(w).tanh().matmul(w).sum(), { shape: [8, 8] }, {
    shape: [8, 8],
  });
  const program = fuse(optimize(g));
  const plan = planMemory(program);
  const tanh = program.kernels.find((k) => k.kind === "elementwise")!;
  assert.ok(plan.inPlace.has(tanh), program.toString());
});

Deno.test("simplify: the gradient of slices taken side by side is one concat, not a sum of pads", () => {
  const f = (x: Tensor) => {
    let total = L.zeros([]);
    for (let t = 0; t < 4; t++) total = total.add(x.slice([0, t], [2, 1]).mul(x.slice([0, t], [2, 1])).sum());
    return total;
  };
  const g = optimize(L.jit(L.grad(f)).graphFor(L.zeros([2, 5])));
  const prims = g.eqns.map((e) => e.prim);
  assert.equal(prims.filter((p) => p === "pad").length, 0, g.toString());
  assert.equal(prims.filter((p) => p === "concat").length, 1, g.toString());
  assert.deepEqual(L.grad(f)(L.ones([2, 5])).arraySync(), [[2, 2, 2, 2, 0], [2, 2, 2, 2, 0]]);
});

/** `Σ_i a_i·b_i (+ extra)` in float64 from the operands' values: the sum the merged product must equal. */
function sumOfProducts(lefts: Tensor[], rights: Tensor[], extra?: Tensor): number[] {
  const [m, n] = [lefts[0].shape[0], rights[0].shape[1]];
  const out = extra ? Array.from(extra.dataSync(), Number) : new Array(m * n).fill(0);
  lefts.forEach((a, p) => {
    const [x, y, k] = [a.dataSync(), rights[p].dataSync(), a.shape[1]];
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) for (let l = 0; l < k; l++) out[i * n + j] += x[i * k + l] * y[l * n + j];
    }
  });
  return out;
}

Deno.test("matmul sums: a recurrent weight's gradient, Σ_t h_tᵀ·dz_t, becomes one product over stacked steps", () => {
  const random = rng(11);
  // Four steps, the first from the zero state (a splat the pass makes in the transposed shape).
  const hs = [L.zeros([3, 5]), ...[1, 2, 3].map(() => randomTensor(random, [3, 5]))];
  const dzs = hs.map(() => randomTensor(random, [3, 8]));
  const f = (...xs: Tensor[]) => {
    let total = L.zeros([5, 8]);
    for (let t = 0; t < 4; t++) total = total.add(xs[t].transpose().matmul(xs[4 + t]));
    return total;
  };
  const g = optimize(L.trace(f, ...hs, ...dzs));
  const prims = g.eqns.map((e) => e.prim);
  assert.equal(prims.filter((p) => p === "matmul").length, 1, g.toString());
  assert.equal(prims.filter((p) => p === "add").length, 0, g.toString());
  // The stacked steps are read transposed by the product (a transpose of the concat, which fusion folds).
  assert.ok(g.eqns.some((e) => e.prim === "transpose" && e.inputs[0].shape.join() === "12,5"), g.toString());
  assertClose(L.jit(f)(...hs, ...dzs), sumOfProducts(hs.map((h) => h.transpose()), dzs), { rtol: 1e-5 });
});

Deno.test("matmul sums: products used elsewhere or with a long inner axis stay apart", () => {
  const [a, b] = [L.zeros([4, 4]), L.zeros([4, 4])];
  const shared = L.trace(
    (x: Tensor, y: Tensor) => {
      const p = x.matmul(y);
      return [p.add(y.matmul(x)), p];
    },
    a,
    b,
  );
  assert.equal(mergeMatmulSums(shared), shared);
  // k = 64 against [4, 4]: copying the operands costs more than the partial result it saves.
  const long = L.trace(
    (x: Tensor, y: Tensor) => x.matmul(y).add(x.matmul(y.mul(2))),
    L.zeros([4, 64]),
    L.zeros([64, 4]),
  );
  assert.equal(mergeMatmulSums(long), long);
});

Deno.test("matmul sums (property): any tree of thin products and other terms keeps its value on the CPU backend", () => {
  fc.assert(
    fc.property(
      fc.record({
        m: fc.integer({ min: 6, max: 12 }),
        n: fc.integer({ min: 6, max: 12 }),
        ks: fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 2, maxLength: 5 }),
        transposed: fc.boolean(),
        extra: fc.boolean(),
        seed: fc.integer({ min: 0, max: 1000 }),
      }),
      ({ m, n, ks, transposed, extra, seed }) => {
        const random = rng(seed);
        const lefts = ks.map((k) => randomTensor(random, transposed ? [k, m] : [m, k]));
        const rights = ks.map((k) => randomTensor(random, [k, n]));
        const bias = randomTensor(random, [m, n]);
        const f = (...xs: Tensor[]) => {
          const products = ks.map((_, i) =>
            (transposed ? xs[i].transpose() : xs[i]).matmul(xs[ks.length + i])
          );
          // Alternate the association so that trees, not only chains, are covered.
          let total = extra ? products[0].add(xs[xs.length - 1]) : products[0];
          for (const p of products.slice(1)) total = random() < 0.5 ? total.add(p) : p.add(total);
          return total;
        };
        const inputs = [...lefts, ...rights, bias];
        const merged = optimize(L.trace(f, ...inputs)).eqns.filter((e) => e.prim === "matmul").length;
        assert.equal(merged, 1);
        const expected = sumOfProducts(
          transposed ? lefts.map((t) => t.transpose()) : lefts,
          rights,
          extra ? bias : undefined,
        );
        assertClose(L.jit(f)(...inputs), expected, { rtol: 1e-4, atol: 1e-5 });
      },
    ),
    { numRuns: 25 },
  );
});

/** word2vec's skip-gram step on a small table: dot products with the negatives' rows, their gradient, SGD. */
function skipGramStepGraph() {
  const lossOf = (
    p: { input: Tensor; output: Tensor },
    centre: Tensor,
    context: Tensor,
    negatives: Tensor,
  ) => {
    const hidden = L.take(p.input, centre); // [P, D]
    const positive = L.take(p.output, context).mul(hidden).sum(-1); // [P]
    const scores = L.take(p.output, negatives).mul(hidden.unsqueeze(1)).sum(-1); // [P, K]
    return L.softplus(positive.neg()).add(L.softplus(scores).sum(-1)).sum();
  };
  const step = (input: Tensor, output: Tensor, centre: Tensor, context: Tensor, negatives: Tensor) => {
    const [value, g] = L.valueAndGrad(
      (p: { input: Tensor; output: Tensor }) => lossOf(p, centre, context, negatives),
      { sparse: true },
    )({ input, output }) as [Tensor, { input: L.SparseRows; output: L.SparseRows }];
    return [value, g.input.scale(-0.1).addTo(input), g.output.scale(-0.1).addTo(output)];
  };
  const ids = (shape: number[]) => ({ shape, dtype: "int32" as const });
  return optimize(L.trace(step, { shape: [50, 8] }, { shape: [50, 8] }, ids([6]), ids([6]), ids([6, 3])));
}

/** Checks that `kernels` run in an order where every input is a graph input or written by an earlier kernel. */
function assertRunnableOrder(
  graph: L.Graph,
  kernels: readonly { inputs: readonly L.Var[]; output: L.Var }[],
) {
  const ready = new Set<L.Var>([...graph.inputs, ...graph.captures.map((c) => c.v)]);
  for (const k of kernels) {
    for (const v of k.inputs) assert.ok(ready.has(v), `v${v.id} is read before it is written`);
    ready.add(k.output);
  }
}

Deno.test("row groups: word2vec's row-wise kernels run as one group; the loss's total and the scatter-adds wait after it", () => {
  const graph = skipGramStepGraph();
  const program = fuse(graph, { gatherLoads: true });
  const grouping = rowGroups(program.kernels, () => true);
  assert.equal(grouping.groups.length, 1, JSON.stringify(grouping.groups));
  const [{ start, end, rows }] = grouping.groups;
  const members = grouping.kernels.slice(start, end);
  assert.equal(rows, 6);
  // The rows of the centre and context words, the two dot products, the two sums that read the negatives'
  // rows, and the elementwise steps between them.
  assert.ok(members.length >= 7, members.map((k) => program.describe(k)).join("\n"));
  assert.ok(members.every((k) => groupRows(k) === 6));
  const rowGathers = members.filter((k) => k.kind === "opaque" && k.eqn.prim === "gather");
  assert.equal(rowGathers.length, 2);
  assert.equal(members.filter((k) => k.kind !== "elementwise" && k.kind !== "reduce").length, 2);
  assert.equal(members.filter((k) => k.kind === "reduce" && readsGather(k.prologue)).length, 2);
  const after = grouping.kernels.slice(end);
  assert.equal(after.filter((k) => k.kind === "scatter").length, 3);
  assert.ok(after.some((k) => k.kind === "reduce" && k.output.shape.length === 0), "the loss's total waits");
  assert.equal(grouping.kernels.length, program.kernels.length);
  assertRunnableOrder(graph, grouping.kernels);
  // A backend that cannot split a kernel's rows gets no group with it.
  assert.deepEqual(rowGroups(program.kernels, () => false).groups, []);
});

Deno.test("row groups: a kernel that reads another row of a member's output does not join; one that reads its own row does", () => {
  const graph = optimize(L.trace((x: Tensor) => {
    const norms = x.exp().sum(1); // [P]: a member
    const scaled = x.div(norms.reshape([5, 1])); // row p reads norms[p]: joins
    const mixed = x.mul(norms.reshape([1, 5])).sum(1); // row p reads every row's norm: waits
    return [scaled.sum(1), mixed];
  }, { shape: [5, 5] }));
  const program = fuse(graph);
  const grouping = rowGroups(program.kernels, () => true);
  const described = grouping.kernels.map((k) => program.describe(k));
  assert.equal(grouping.groups.length, 1, described.join("\n"));
  const { start, end } = grouping.groups[0];
  const mixedKernel = grouping.kernels.findIndex((k) =>
    k.kind === "reduce" && k.inputs.length === 2 && k.inputs.some((v) => v.shape.length === 1)
  );
  assert.ok(
    mixedKernel >= end,
    `the kernel that reads every row's norm runs after the group:\n${described.join("\n")}`,
  );
  assert.ok(end - start >= 2);
  assertRunnableOrder(graph, grouping.kernels);
});

/** Whether every element a load reads at loop row p lies in row p of a value of `rowSize` elements a row (by enumeration). */
function readsOwnRows(
  at: { offset: number; coeffs: readonly number[] },
  shape: readonly number[],
  rowSize: number,
) {
  const total = shape.reduce((a, b) => a * b, 1);
  for (let flat = 0; flat < total; flat++) {
    let [rest, address] = [flat, at.offset];
    const index = shape.map(() => 0);
    for (let d = shape.length - 1; d >= 0; d--) {
      index[d] = rest % shape[d];
      rest = Math.floor(rest / shape[d]);
      address += at.coeffs[d] * index[d];
    }
    if (Math.floor(address / rowSize) !== index[0] || address < 0) return false;
  }
  return true;
}

Deno.test("row groups (property): on random programs, groups keep a runnable order and members read only their own rows of earlier members", () => {
  for (const [n, steps] of samplePrograms(60, 7, 8)) {
    const graph = optimize(L.trace((x: Tensor, y: Tensor) => runProgram(steps, [x, y]), { shape: [n, n] }, {
      shape: [n, n],
    }));
    const program = fuse(graph, { gatherLoads: true });
    const grouping = rowGroups(program.kernels, () => true);
    assert.equal(grouping.kernels.length, program.kernels.length);
    assert.equal(new Set(grouping.kernels).size, program.kernels.length);
    assertRunnableOrder(graph, grouping.kernels);
    for (const { start, end, rows } of grouping.groups) {
      const members = grouping.kernels.slice(start, end);
      assert.ok(members.length >= 2);
      members.forEach((k, m) => {
        assert.equal(groupRows(k), rows);
        const expr = k.kind === "elementwise" ? k.expr : k.kind === "reduce" ? k.prologue : undefined;
        const shape = k.kind === "elementwise" ? k.shape : k.kind === "reduce" ? k.inShape : [];
        k.inputs.forEach((v, i) => {
          const writer = members.slice(0, m).find((w) => w.output === v);
          if (!writer) return;
          // A row gather reads its table and indices anywhere: it may not read what a member writes.
          assert.ok(expr !== undefined, `${program.describe(k)} reads a member's output`);
          const rowSize = v.shape.reduce((a, b) => a * b, 1) / rows;
          for (const load of loadsOfInput(expr, i)) {
            assert.ok(readsOwnRows(load, shape, rowSize), `${program.describe(k)} reads other rows`);
          }
        });
      });
    }
  }
});

/** Whether an expression reads rows of a table through their indices. */
function readsGather(e: Expr): boolean {
  if (e.kind === "gather") return true;
  if (e.kind === "op") return e.args.some(readsGather);
  return e.kind === "pad" && readsGather(e.inside);
}

/** The affine forms of the loads of input `i` in an expression (gathers fail the test: rows anywhere). */
function loadsOfInput(e: Expr, i: number): { offset: number; coeffs: readonly number[] }[] {
  switch (e.kind) {
    case "load":
      return e.input === i ? [e.at] : [];
    case "op":
      return e.args.flatMap((a) => loadsOfInput(a, i));
    case "pad":
      return loadsOfInput(e.inside, i);
    case "gather":
      return [...(e.input === i ? [{ offset: -1, coeffs: e.at.coeffs }] : []), ...loadsOfInput(e.index, i)];
    default:
      return [];
  }
}

Deno.test("memory plan: inside a row group, a later member does not take the slot of a value an earlier member reads", () => {
  const graph = optimize(L.trace(
    (x: Tensor, w: Tensor) => {
      const h = x.matmul(w); // not a member: its slot frees once the first member has read it
      const norms = h.mul(h).sum(1, true); // member 1 reads h
      return x.div(norms).exp().matmul(w); // member 2 writes a [P, D] value, as large as h, for the product
    },
    { shape: [6, 4] },
    { shape: [4, 4] },
  ));
  const program = fuse(graph);
  const grouping = rowGroups(program.kernels, () => true);
  assert.equal(grouping.groups.length, 1, program.toString());
  const { start } = grouping.groups[0];
  const h = grouping.kernels[start - 1].output;
  const later = grouping.kernels.slice(start + 1).map((k) => k.output);
  const slotOf = (plan: ReturnType<typeof planMemory>, v: L.Var) => JSON.stringify(plan.storage.get(v));
  const sequential = planMemory({ graph, kernels: grouping.kernels });
  // Run one kernel after the other, a member would reuse h's slot (the hazard the groups must avoid).
  assert.ok(later.some((v) => slotOf(sequential, v) === slotOf(sequential, h)), "the test needs the reuse");
  const grouped = planMemory({ graph, kernels: grouping.kernels }, new Set(), grouping.groups);
  assert.ok(later.every((v) => slotOf(grouped, v) !== slotOf(grouped, h)));
});
