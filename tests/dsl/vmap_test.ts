/**
 * Batching, primitive by primitive: every primitive's batching rule against a loop over the batch, for every
 * choice of batched operands, on the default backend and the reference; the axes options; errors; and
 * random compositions (fast-check).
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import * as L from "../../mod.ts";
import { PRIM_NAMES, type PrimName, setBackend, stack, type Tensor, vmap } from "../../mod.ts";
import { bind } from "../../dsl/tensor.ts";
import { BATCH_RULES, type BatchRule } from "../../dsl/vmap.ts";
import { assertClose, randomTensor, rng } from "../helpers.ts";
import { runProgram, samplePrograms } from "../kernels/programs.ts";
import { PRIMITIVE_CASES, type PrimitiveCase } from "./primitive_cases.ts";

const caseOf = (prim: PrimName) => PRIMITIVE_CASES[prim] as PrimitiveCase<PrimName>;
const apply = (prim: PrimName, operands: Tensor[]) => bind(prim, operands, caseOf(prim).params as never);

/** Every non-empty choice of batched operands among `count`. */
function choices(count: number): boolean[][] {
  return Array.from(
    { length: 2 ** count - 1 },
    (_, m) => Array.from({ length: count }, (_, i) => ((m + 1) >> i & 1) === 1),
  );
}

const BATCH = 3;

for (const backend of ["cpu", "reference"] as const) {
  Deno.test(`vmap: every primitive's batching rule matches a loop over the batch (${backend})`, async () => {
    await setBackend(backend);
    try {
      for (const prim of PRIM_NAMES) {
        const c = caseOf(prim);
        const examples = Array.from({ length: BATCH }, (_, n) => c.operands(10 + 10 * n));
        if (examples[0].length === 0) {
          // A source has no operands to batch; its rule repeats the value for every example.
          const rule = BATCH_RULES[prim] as BatchRule<PrimName>;
          const got = rule([], [], c.params, BATCH);
          assertClose(got, stack(examples.map(() => apply(prim, [])), 0), { message: prim });
          continue;
        }
        for (const batched of choices(examples[0].length)) {
          // Batched operands differ per example; the others are example 0's, shared by all.
          const args = batched.map((b, i) => (b ? stack(examples.map((e) => e[i]), 0) : examples[0][i]));
          const got = vmap((...xs: Tensor[]) => apply(prim, xs), {
            inAxes: batched.map((b) => (b ? 0 : null)),
          })(...args);
          const expected = stack(
            examples.map((e) => apply(prim, e.map((x, i) => (batched[i] ? x : examples[0][i])))),
            0,
          );
          assert.equal(got.dtype, expected.dtype, `${prim} ${batched}: dtype`);
          assertClose(got, expected, {
            rtol: 1e-5,
            atol: 1e-6,
            message: `${prim} batched ${JSON.stringify(batched)}`,
          });
        }
      }
    } finally {
      await setBackend("cpu");
    }
  });
}

Deno.test("vmap: inAxes picks each argument's mapped axis (null: shared), outAxes places it in the result", () => {
  const xs = randomTensor(rng(1), [4, 3, 2]); // mapped over axis 2: two examples of [4, 3]
  const w = randomTensor(rng(2), [3, 5]);
  const f = (x: Tensor, m: Tensor) => x.matmul(m).tanh();
  const out = vmap(f, { inAxes: [2, null], outAxes: 1 })(xs, w);
  assert.deepEqual(out.shape, [4, 2, 5]);
  for (let n = 0; n < 2; n++) {
    const example = xs.slice([0, 0, n], [4, 3, 1]).reshape([4, 3]);
    assertClose(out.slice([0, n, 0], [4, 1, 5]).reshape([4, 5]), f(example, w), { rtol: 1e-5 });
  }
  const negative = vmap(f, { inAxes: [-1, null], outAxes: -1 })(xs, w);
  assert.deepEqual(negative.shape, [4, 5, 2]);
  assertClose(negative, out.transpose([0, 2, 1]));
});

Deno.test("vmap: pytree arguments and outputs, and an output that does not depend on the mapped axis", () => {
  const params = { w: L.tensor([[1, 0], [0, 2]]), b: L.tensor([1, 1]) };
  const xs = L.tensor([[1, 2], [3, 4], [5, 6]]);
  const f = (p: typeof params, x: Tensor) => ({ y: x.matmul(p.w).add(p.b), bias: p.b.sum() });
  const out = vmap(f, { inAxes: [null, 0] })(params, xs);
  assert.deepEqual(out.y.arraySync(), [[2, 5], [4, 9], [6, 13]]);
  assert.deepEqual(out.bias.arraySync(), [2, 2, 2], "an unmapped output is repeated for every example");
});

Deno.test("vmap: nested vmaps map over two axes", () => {
  const x = randomTensor(rng(3), [2, 3, 4]);
  const rowNorms = vmap(vmap((v: Tensor) => v.square().sum().sqrt()));
  assertClose(rowNorms(x), x.square().sum(2).sqrt(), { rtol: 1e-6 });
});

Deno.test("vmap: errors name the arguments, the sizes and the fix", () => {
  const f = (a: Tensor, b: Tensor) => a.add(b);
  assert.throws(
    () => vmap(f)(L.zeros([2, 3]), L.zeros([4, 3])),
    /mapped axes disagree: argument 0 \[2,3\] has 2 .* argument 1 \[4,3\] has 4/,
  );
  assert.throws(
    () => vmap(f, { inAxes: [0] })(L.zeros([2]), L.zeros([2])),
    /inAxes has 1 entries but the function was called with 2 arguments/,
  );
  assert.throws(() => vmap(f, { inAxes: [null, null] })(L.zeros([2]), L.zeros([2])), /no argument is mapped/);
  assert.throws(
    () => vmap(f, { inAxes: 2 })(L.zeros([2]), L.zeros([2])),
    /argument 0's axis 2 is out of range for rank 1/,
  );
});

Deno.test("vmap: random compositions match a loop over the batch (fast-check)", () => {
  for (const [n, steps, seed] of samplePrograms(25, 21, 6)) {
    const r = rng(seed);
    const xs = randomTensor(r, [BATCH, n, n]);
    const y = randomTensor(r, [n, n]);
    const f = (a: Tensor, b: Tensor) => runProgram(steps, [a, b]);
    const got = vmap(f, { inAxes: [0, null] })(xs, y);
    const expected = stack(
      Array.from({ length: BATCH }, (_, k) => f(xs.slice([k, 0, 0], [1, n, n]).reshape([n, n]), y)),
      0,
    );
    assertClose(got, expected, { rtol: 1e-4, atol: 1e-5, message: `program ${JSON.stringify(steps)}` });
  }
});

Deno.test("vmap: fast-check, mapping over an axis commutes with slicing it", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 4 }),
      fc.integer({ min: 0, max: 2 }),
      fc.integer({ min: 1, max: 1e6 }),
      (size, axis, seed) => {
        const shape = [2, 3, 2];
        shape[axis] = size;
        const x = randomTensor(rng(seed), shape);
        const f = (t: Tensor) => L.softmax(t.reshape([-1]), 0).slice([0], [2]).mul(t.sum());
        const got = vmap(f, { inAxes: axis })(x);
        for (let k = 0; k < size; k++) {
          const begin = [0, 0, 0];
          begin[axis] = k;
          const extent = [...shape];
          extent[axis] = 1;
          const example = x.slice(begin, extent).squeeze(axis);
          assertClose(got.slice([k, 0], [1, 2]).reshape([2]), f(example), { rtol: 1e-5 });
        }
      },
    ),
    { numRuns: 20, seed: 8 },
  );
});
