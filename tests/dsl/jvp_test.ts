/**
 * Forward mode, primitive by primitive: every primitive's JVP against central finite differences, and
 * against its VJP (⟨vjp(u), v⟩ = ⟨u, jvp(v)⟩), on the default backend and the reference; then properties
 * over random compositions (fast-check).
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import * as L from "../../mod.ts";
import {
  jvp,
  PRIM_NAMES,
  type PrimName,
  setBackend,
  SparseRows,
  type Tensor,
  tensor,
  vjp,
} from "../../mod.ts";
import { bind } from "../../dsl/tensor.ts";
import { assertClose, randomTensor, rng } from "../helpers.ts";
import { runProgram, samplePrograms } from "../kernels/programs.ts";
import { PRIMITIVE_CASES, type PrimitiveCase } from "./primitive_cases.ts";

const caseOf = (prim: PrimName) => PRIMITIVE_CASES[prim] as PrimitiveCase<PrimName>;
const apply = (prim: PrimName, operands: Tensor[]) => bind(prim, operands, caseOf(prim).params as never);

/** A random direction for each operand: float operands get one, others zeros of their shape. */
function directions(operands: readonly Tensor[], differentiable: readonly number[], seed: number): Tensor[] {
  return operands.map((x, i) =>
    differentiable.includes(i) ? randomTensor(rng(seed + i), [...x.shape]) : L.zerosLike(x)
  );
}

const dot = (a: Tensor, b: Tensor) => a.mul(b).sum().item();

const backends = ["cpu", "reference"] as const;

for (const backend of backends) {
  Deno.test(`jvp: every primitive's tangent matches central finite differences (${backend})`, async () => {
    await setBackend(backend);
    try {
      for (const prim of PRIM_NAMES) {
        const c = caseOf(prim);
        if (c.differentiable.length === 0) continue;
        for (const seed of [1, 2]) {
          const x = c.operands(seed);
          const v = directions(x, c.differentiable, 100 + seed);
          const [y, dy] = jvp((...args: Tensor[]) => apply(prim, args), x, v);
          assert.deepEqual(dy.shape, y.shape, `${prim}: the tangent has the output's shape`);
          if (c.smooth === false) {
            assert.ok(dy.dataSync().every((t) => t === 0), `${prim}: no tangent flows through it`);
            continue;
          }
          const eps = 1e-2;
          const at = (s: number) =>
            apply(prim, x.map((xi, i) => (c.differentiable.includes(i) ? xi.add(v[i].mul(s)) : xi)));
          const numeric = at(eps).sub(at(-eps)).div(2 * eps);
          assertClose(dy, numeric, {
            rtol: 2e-2,
            atol: 2e-3,
            message: `${prim} (seed ${seed}) jvp vs finite differences`,
          });
        }
      }
    } finally {
      await setBackend("cpu");
    }
  });

  Deno.test(`jvp: every primitive's JVP is the adjoint of its VJP, <vjp(u), v> = <u, jvp(v)> (${backend})`, async () => {
    await setBackend(backend);
    try {
      for (const prim of PRIM_NAMES) {
        const c = caseOf(prim);
        if (c.differentiable.length === 0 || c.smooth === false) continue;
        const x = c.operands(7);
        const v = directions(x, c.differentiable, 200);
        const f = (...args: Tensor[]) => apply(prim, args);
        const [y, dy] = jvp(f, x, v);
        const u = randomTensor(rng(300), [...y.shape]);
        const [, back] = vjp(f, ...x);
        const cts = back(u);
        const left = c.differentiable.reduce((total, i) => {
          const ct = cts[i] instanceof SparseRows ? cts[i].toDense() : cts[i] as Tensor;
          return total + dot(ct, v[i]);
        }, 0);
        const right = dot(u, dy);
        assert.ok(
          Math.abs(left - right) <= 1e-4 * (1 + Math.abs(right)),
          `${prim}: <vjp(u), v> = ${left} but <u, jvp(v)> = ${right}`,
        );
      }
    } finally {
      await setBackend("cpu");
    }
  });
}

Deno.test("jvp: integer and boolean results carry a zero tangent, and integer inputs take none", () => {
  const x = tensor([0.5, 1.5, 2.5]);
  const [, dy] = jvp((a: Tensor) => a.mul(2).cast("int32"), [x], [tensor([1, 1, 1])]);
  assert.deepEqual([...dy.dataSync()], [0, 0, 0]);
  const [, db] = jvp((a: Tensor) => a.greater(1), [x], [tensor([1, 1, 1])]);
  assert.deepEqual([...db.dataSync()], [0, 0, 0]);
  const ids = tensor([2, 0], { dtype: "int32" });
  const table = tensor([[1, 2], [3, 4], [5, 6]]);
  const [rows, drows] = jvp((t: Tensor, i: Tensor) => L.take(t, i), [table, ids], [
    L.onesLike(table),
    L.zerosLike(ids),
  ]);
  assert.deepEqual(rows.arraySync(), [[5, 6], [1, 2]]);
  assert.deepEqual(drows.arraySync(), [[1, 1], [1, 1]]);
});

Deno.test("jvp: pytrees of primals and tangents, and outputs that are pytrees", () => {
  const params = { w: tensor([[1, 2], [3, 4]]), b: tensor([1, -1]) };
  const dir = { w: tensor([[1, 0], [0, 0]]), b: tensor([0, 1]) };
  const f = (p: typeof params, x: Tensor) => ({ y: x.matmul(p.w).add(p.b), norm: p.w.square().sum() });
  const x = tensor([[1, 1]]);
  const [out, tangent] = jvp(f, [params, x], [dir, L.zerosLike(x)]);
  assert.deepEqual(out.y.arraySync(), [[5, 5]]);
  assert.deepEqual(tangent.y.arraySync(), [[1, 1]]); // x·dw + db = [1, 0] + [0, 1]
  assert.equal(tangent.norm.item(), 2); // 2 w · dw = 2
});

Deno.test("jvp: errors name the mismatch and the fix", () => {
  const f = (a: Tensor, b: Tensor) => a.add(b);
  assert.throws(
    () => jvp(f, [tensor([1]), tensor([2])], [tensor([1])] as never),
    /tangents must have the structure of primals/,
  );
  assert.throws(
    () => jvp(f, [tensor([1]), tensor([2])], [tensor([1, 2]), tensor([1])]),
    /tangent 0 has shape \[2\], its primal has \[1\]/,
  );
  assert.throws(
    () => jvp(f, [tensor([1]), tensor([2])], [tensor([1], { dtype: "int32" }), tensor([1])]),
    /tangent 0 is int32; the tangent of a float32 value must be float32/,
  );
});

Deno.test("jvp: random compositions match finite differences and stay adjoint to vjp (fast-check)", () => {
  for (const [n, steps, seed] of samplePrograms(25, 11, 6)) {
    const r = rng(seed);
    const x = randomTensor(r, [n, n]);
    const y = randomTensor(r, [n, n]);
    const f = (a: Tensor, b: Tensor) => runProgram(steps, [a, b]);
    const v: [Tensor, Tensor] = [randomTensor(r, [n, n]), randomTensor(r, [n, n])];
    const [out, dout] = jvp(f, [x, y], v);
    const eps = 1e-2;
    const numeric = f(x.add(v[0].mul(eps)), y.add(v[1].mul(eps))).sub(
      f(x.sub(v[0].mul(eps)), y.sub(v[1].mul(eps))),
    )
      .div(2 * eps);
    // Programs with kinks (relu, abs, max) may sit within a step of one: count, rather than demand, agreement.
    const close = dout.dataSync().filter((t, i) =>
      Math.abs(t - numeric.dataSync()[i]) <= 3e-2 * (1 + Math.abs(t))
    ).length;
    assert.ok(
      close >= 0.9 * dout.size,
      `program ${JSON.stringify(steps)}: ${close}/${dout.size} tangents match`,
    );
    const u = randomTensor(r, [...out.shape]);
    // An input the program does not use gets no cotangent (null).
    const [ga, gb] = vjp(f, x, y)[1](u) as (Tensor | SparseRows | null)[];
    const along = (
      g: Tensor | SparseRows | null,
      d: Tensor,
    ) => (g === null ? 0 : dot(g instanceof SparseRows ? g.toDense() : g, d));
    const left = along(ga, v[0]) + along(gb, v[1]);
    const right = dot(u, dout);
    assert.ok(
      Math.abs(left - right) <= 1e-3 * (1 + Math.abs(right)),
      `program ${JSON.stringify(steps)}: ${left} vs ${right}`,
    );
  }
});

Deno.test("jvp: fast-check, linearity in the tangent: jvp(f, x, a·v) = a·jvp(f, x, v)", () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 1000 }), fc.double({ min: -3, max: 3, noNaN: true }), (seed, a) => {
      const r = rng(seed);
      const x = randomTensor(r, [3, 2]);
      const v = randomTensor(r, [3, 2]);
      const f = (t: Tensor) => t.tanh().matmul(t.transpose()).exp().sum(1);
      const [, d1] = jvp(f, [x], [v]);
      const [, d2] = jvp(f, [x], [v.mul(a)]);
      assertClose(d2, d1.mul(a), { rtol: 1e-4, atol: 1e-5 });
    }),
    { numRuns: 30, seed: 5 },
  );
});
