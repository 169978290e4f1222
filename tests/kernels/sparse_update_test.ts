/**
 * Sparse updates: a compiled, donated SGD or Adam step over a 100k x 300 embedding table touches only the
 * rows in the batch — every kernel that produces a table-sized value is a scatter-add written in place.
 */
import assert from "node:assert/strict";
import * as L from "../../mod.ts";
import { optim, type Tensor } from "../../mod.ts";
import { fuse } from "../../kernels/passes/fuse.ts";
import { planMemory } from "../../kernels/passes/memory.ts";
import { optimize } from "../../kernels/passes/simplify.ts";

const VOCAB = 100_000;
const DIM = 300;

function stepGraph(opt: optim.Optimizer) {
  const params = { table: L.zeros([VOCAB, DIM]) };
  const state = opt.init(params);
  const ids = L.tensor([3, 99_999, 3, 7, 42], { dtype: "int32" });
  const lossFn = (p: { table: Tensor }, i: Tensor) => L.take(p.table, i).square().sum();
  const step = (p: { table: Tensor }, s: optim.OptimizerState, i: Tensor) => {
    const g = L.grad(lossFn, { sparse: true })(p, i);
    const next = opt.update(g, s, p);
    return [next.params, next.state];
  };
  const graph = optimize(L.jit(step).graphFor(params, state, ids));
  const leaves = L.flatten([params, state]).leaves.length;
  return { graph, donated: new Set(graph.inputs.slice(0, leaves)) };
}

for (const [name, opt] of [["sgd", optim.sgd({ lr: 0.1 })], ["adam", optim.adam({ lr: 0.01 })]] as const) {
  Deno.test(`sparse update: a donated ${name} step writes only the touched rows of the table`, () => {
    const { graph, donated } = stepGraph(opt);
    const program = fuse(graph);
    const plan = planMemory(program, donated);
    const tableSized = program.kernels.filter((k) => k.output.shape.join() === `${VOCAB},${DIM}`);
    assert.ok(tableSized.length >= 1, program.toString());
    for (const k of tableSized) {
      assert.ok(k.kind === "scatter", `kernel ${k.kind} over the whole table`);
      assert.ok(plan.inPlace.has(k), "the scatter-add writes into the donated table");
    }
    // No other kernel reads a whole table: only gathers of the touched rows do.
    for (const k of program.kernels) {
      if (tableSized.includes(k)) continue;
      for (const v of k.inputs) {
        if (v.shape.join() !== `${VOCAB},${DIM}`) continue;
        assert.ok(k.kind === "opaque" && k.eqn.prim === "gather", `${k.kind} reads the whole table`);
      }
    }
  });
}
