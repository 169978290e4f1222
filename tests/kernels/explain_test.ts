/**
 * `explain`: what each backend reports of its compilation — kernels covering the optimized graph, with the
 * code they run (WebAssembly that validates, JavaScript that names its operations).
 */
import assert from "node:assert/strict";
import { explain, setBackend, type Tensor } from "../../mod.ts";

const mlpLoss = (x: Tensor, w: Tensor, b: Tensor) => x.matmul(w).add(b).tanh().sin().sum();

Deno.test("explain (cpu): every equation is computed by some kernel, in graph order, with real code", () => {
  const report = explain(mlpLoss, { shape: [4, 3] }, { shape: [3, 5] }, { shape: [5] });
  assert.equal(report.backend, "cpu");
  const covered = new Set(report.kernels.flatMap((k) => k.eqns));
  report.optimized.eqns.forEach((e, i) => {
    if (e.prim !== "reshape") assert.ok(covered.has(i), `equation ${i} (${e.prim}) belongs to a kernel`);
  });
  assert.deepEqual(report.kernels.map((k) => k.kind), ["matmul", "reduce"]);
  const [matmul, reduce] = report.kernels;
  assert.equal(matmul.code.language, "none");
  // sin has no SIMD lowering, so the reduction (which computes add, tanh and sin on the fly) is JavaScript.
  assert.equal(reduce.code.language, "javascript");
  assert.match(reduce.code.text, /Math\.sin/);
  assert.deepEqual(reduce.inputs, [matmul.output, report.optimized.names().get(report.optimized.inputs[2])]);
  const simd = explain((x: Tensor) => x.mul(2).add(1).exp(), { shape: [64] }).kernels[0].code;
  assert.equal(simd.language, "wasm");
  assert.ok(simd.bytes && WebAssembly.validate(simd.bytes as Uint8Array<ArrayBuffer>), "a valid module");
});

Deno.test("explain (reference): one interpreted kernel per equation", async () => {
  await setBackend("reference");
  try {
    const report = explain(mlpLoss, { shape: [4, 3] }, { shape: [3, 5] }, { shape: [5] });
    assert.equal(report.kernels.length, report.optimized.eqns.length);
    assert.deepEqual(report.kernels.map((k) => k.eqns[0]), report.optimized.eqns.map((_, i) => i));
  } finally {
    await setBackend("cpu");
  }
});
