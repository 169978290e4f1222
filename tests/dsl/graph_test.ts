/** Graphs: what trace records, and the three printed forms (text, JSON, DOT). */
import assert from "node:assert/strict";
import * as L from "../../mod.ts";
import { type Tensor, tensor, trace } from "../../mod.ts";

Deno.test("trace: records one equation per primitive with shapes and dtypes", () => {
  const g = trace((x: Tensor, w: Tensor) => L.matmul(x, w).tanh(), { shape: [8, 4] }, { shape: [4, 2] });
  assert.deepEqual(g.eqns.map((e) => e.prim), ["matmul", "tanh"]);
  assert.deepEqual([...g.outputs[0].shape], [8, 2]);
  assert.equal(g.inputs.length, 2);
});

Deno.test("trace: text form reads like a jaxpr", () => {
  const g = trace((x: Tensor) => x.exp().sum(0), tensor([[1, 2], [3, 4]]));
  assert.equal(
    g.toString(),
    [
      "{ lambda a:f32[2,2] . let",
      "    b:f32[2,2] = exp a",
      "    c:f32[2] = reduce_sum[axes=[0]] b",
      "  in (c) }",
    ].join("\n"),
  );
});

Deno.test("trace: JSON form lists inputs, equations and outputs by name", () => {
  const g = trace((x: Tensor) => x.reshape([4]).take([0, 3]), { shape: [2, 2] });
  const json = JSON.parse(JSON.stringify(g));
  assert.deepEqual(json.inputs, [{ name: "a", shape: [2, 2], dtype: "float32" }]);
  assert.deepEqual(json.captures.length, 1, "the index list is a captured constant");
  assert.deepEqual(json.eqns.map((e: { prim: string }) => e.prim), ["reshape", "gather"]);
  assert.deepEqual(json.eqns[1].shape, [2]);
  assert.equal(json.outputs.length, 1);
});

Deno.test("trace: DOT form is a digraph with one edge per operand", () => {
  const g = trace((x: Tensor, y: Tensor) => x.mul(y).add(x), { shape: [3] }, { shape: [3] });
  const dot = g.toDot();
  assert.match(dot, /^digraph loom \{/);
  assert.equal((dot.match(/->/g) ?? []).length, 4 + g.outputs.length);
  assert.match(dot, /shape=box, label="c = mul"/);
  assert.ok(dot.trimEnd().endsWith("}"));
});

Deno.test("trace: a traced tensor cannot be read", () => {
  assert.throws(() => trace((x: Tensor) => x.dataSync(), { shape: [1] }), /tracer .* has no value yet/);
});
