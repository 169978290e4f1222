/** jit: traces once per signature, reuses compiled graphs, handles pytrees, captures and transforms. */
import assert from "node:assert/strict";
import fc from "fast-check";
import * as L from "../../mod.ts";
import { grad, jit, type Tensor, tensor, valueAndGrad } from "../../mod.ts";
import { assertClose, randomTensor, rng } from "../helpers.ts";

Deno.test("jit: traces once per input signature and reuses the compiled graph", () => {
  let traces = 0;
  const f = jit((x: Tensor) => {
    traces++;
    return x.square().sum();
  });
  assert.equal(f(tensor([1, 2])).item(), 5);
  assert.equal(f(tensor([3, 4])).item(), 25);
  assert.equal(traces, 1);
  assert.equal(f(tensor([1, 2, 3])).item(), 14);
  assert.equal(f(tensor([1, 2], { dtype: "int32" })).item(), 5);
  assert.equal(traces, 3);
  assert.equal(f.cacheSize, 3);
});

Deno.test("jit: non-tensor arguments are part of the signature", () => {
  let traces = 0;
  const f = jit((x: Tensor, opts: { scale: number; training: boolean }) => {
    traces++;
    return opts.training ? x.mul(opts.scale) : x;
  });
  assert.deepEqual(f(tensor([1]), { scale: 2, training: true }).arraySync(), [2]);
  assert.deepEqual(f(tensor([1]), { scale: 3, training: true }).arraySync(), [3]);
  assert.deepEqual(f(tensor([1]), { scale: 3, training: true }).arraySync(), [3]);
  assert.equal(traces, 2);
});

Deno.test("jit: pytree inputs and outputs, captured constants, outputs that are inputs", () => {
  const bias = tensor([10, 20]);
  const f = jit((p: { w: Tensor; extra: Tensor[] }) => ({ y: p.w.add(bias), same: p.extra[0], n: 3 }));
  const out = f({ w: tensor([1, 2]), extra: [tensor([7])] }) as { y: Tensor; same: Tensor; n: number };
  assert.deepEqual(out.y.arraySync(), [11, 22]);
  assert.deepEqual(out.same.arraySync(), [7]);
  assert.equal(out.n, 3);
});

Deno.test("jit: compiled results equal eager results on random compositions", () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 1e6 }), (seed) => {
      const r = rng(seed);
      const x = randomTensor(r, [3, 4]);
      const w = randomTensor(r, [4, 2]);
      const f = (x: Tensor, w: Tensor) =>
        L.logSoftmax(L.matmul(x, w).tanh().add(L.mean(x, 1, true).slice([0, 0], [3, 1])), 1).sum();
      assertClose(jit(f)(x, w), f(x, w));
      const [v, g] = jit(valueAndGrad(f, { argnums: [0, 1] }))(x, w);
      const [ve, ge] = valueAndGrad(f, { argnums: [0, 1] })(x, w);
      assertClose(v, ve);
      assertClose(g[0], ge[0]);
      assertClose(g[1], ge[1]);
    }),
    { numRuns: 10 },
  );
});

Deno.test("jit: grad of a jitted function, and jit of grad of grad", () => {
  const f = jit((x: Tensor) => x.pow(3).sum());
  assert.deepEqual(grad(f)(tensor([1, 2])).arraySync(), [3, 12]);
  const second = jit(grad((x: Tensor) => grad(f)(x).sum()));
  assert.deepEqual(second(tensor([1, 2])).arraySync(), [6, 12]);
});

Deno.test("jit: sparse gradients come out of a compiled step as SparseRows", () => {
  const step = jit(grad((t: Tensor, ids: Tensor) => L.take(t, ids).sum(), { sparse: true }));
  const g = step(L.ones([4, 2]), tensor([3, 3], { dtype: "int32" }));
  assert.ok(g instanceof L.SparseRows);
  assert.deepEqual(g.toDense().arraySync(), [[0, 0], [0, 0], [0, 0], [2, 2]]);
});

Deno.test("jit: graphFor shows the traced graph, forward and backward in one", () => {
  const step = jit(valueAndGrad((w: Tensor, x: Tensor) => L.matmul(x, w).relu().sum()));
  const g = step.graphFor(L.zeros([3, 2]), L.zeros([4, 3]));
  const text = g.toString();
  assert.match(text, /matmul/);
  assert.ok(g.eqns.filter((e) => e.prim === "matmul").length >= 2, "the backward pass has its own matmul");
  assert.equal(g.outputs.length, 2);
});
