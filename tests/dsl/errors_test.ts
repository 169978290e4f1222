/** Bad input gets errors that name the op, the shapes or values involved, and what to do. */
import assert from "node:assert/strict";
import * as L from "../../mod.ts";
import { grad, jit, type Tensor, tensor } from "../../mod.ts";

function throwsMatching(f: () => unknown, ...patterns: RegExp[]): void {
  let message = "";
  try {
    f();
  } catch (e) {
    message = (e as Error).message;
  }
  assert.ok(message, "expected an error");
  for (const p of patterns) assert.match(message, p);
}

Deno.test("errors: a shape mismatch names the op, both shapes and the broadcasting rule", () => {
  throwsMatching(
    () => L.add(L.zeros([2, 3]), L.zeros([4])),
    /^add:/,
    /\[2,3\]/,
    /\[4\]/,
    /size 3/,
    /size 4/,
    /trailing axes/,
    /equal or 1/,
  );
  throwsMatching(() => tensor([1, 2]).mul(tensor([1, 2, 3])), /^mul:/, /\[2\]/, /\[3\]/);
  throwsMatching(
    () => L.matmul(L.zeros([2, 3]), L.zeros([4, 5])),
    /^matmul/,
    /\[2,3\]/,
    /\[4,5\]/,
    /\(3\)/,
    /\(4\)/,
  );
  throwsMatching(() => L.concat([L.zeros([2, 3]), L.zeros([3, 3])], 1), /^concat/, /\[2,3\]/, /\[3,3\]/);
  throwsMatching(() => L.expand(L.zeros([3]), [2, 2]), /^expand/, /\[3\]/, /\[2,2\]/);
});

Deno.test("errors: a wrong dtype names the op, the dtype and the fix", () => {
  throwsMatching(
    () => L.take(L.zeros([3, 2]), tensor([0.5])),
    /^take: indices must be int32, got float32/,
    /cast/,
  );
  throwsMatching(() => L.where(tensor([1, 0]), 1, 2), /^where: expected a bool tensor, got float32/);
  throwsMatching(() => L.logicalNot(tensor([1])), /^logicalNot: expected a bool tensor/);
  throwsMatching(() => L.random.uniform(tensor([1, 2]), [2]), /random\.uniform: expected a key/, /float32/);
  throwsMatching(
    () => L.cast(tensor([1]), "float64" as "float32"),
    /^cast: unknown dtype "float64"/,
    /float32, int32, bool/,
  );
});

Deno.test("errors: an out-of-range take index names the index, the axis size and the valid range", () => {
  throwsMatching(() => L.take(L.zeros([10, 4]), [3, 12]), /index 12/, /size 10/, /\[0, 10\)/);
  throwsMatching(() => L.take(L.zeros([10, 4]), [-1]), /index -1/);
  throwsMatching(() => jit((t: Tensor) => L.take(t, [10]))(L.zeros([10])), /index 10 is out of range/);
});

Deno.test("errors: a reshape size mismatch names both shapes and element counts", () => {
  throwsMatching(
    () => L.reshape(L.zeros([2, 3]), [4, 2]),
    /^reshape/,
    /\[2,3\] \(6 elements\)/,
    /\[4,2\] \(8 elements\)/,
  );
  throwsMatching(() => L.reshape(L.zeros([2, 3]), [4, -1]), /^reshape/, /not a multiple of 4/);
  throwsMatching(() => L.reshape(L.zeros([2, 3]), [-1, -1]), /at most one -1/);
});

Deno.test("errors: NaN and Infinity are allowed in tensor() data", () => {
  const t = tensor([NaN, Infinity, -Infinity]);
  assert.deepEqual(t.arraySync(), [NaN, Infinity, -Infinity]);
  assert.ok(Number.isNaN(t.sum().item()));
});

Deno.test("errors: grad of a non-scalar function says to reduce it first", () => {
  throwsMatching(
    () => grad((x: Tensor) => x.mul(2))(tensor([1, 2])),
    /^grad: .*scalar/,
    /float32\[2\]/,
    /\.sum\(\)/,
  );
  throwsMatching(() => grad((_x: Tensor) => 3)(tensor([1])), /^grad: .*returned number/);
  throwsMatching(
    () => grad((x: Tensor) => x.sum())(tensor([1], { dtype: "int32" })),
    /only float32/,
    /int32\[1\]/,
  );
  throwsMatching(
    () => grad((x: Tensor) => x.sum(), { argnums: 2 })(tensor([1])),
    /argnums 2 is out of range/,
  );
});

Deno.test("errors: ragged arrays, bad shapes, bad axes", () => {
  throwsMatching(() => tensor([[1, 2], [3]]), /ragged/, /lengths 2 and 1/);
  throwsMatching(
    () => tensor([1, 2, 3], { shape: [2, 2] }),
    /shape \[2,2\] needs 4 values but the data has 3/,
  );
  throwsMatching(() => L.zeros([2, -1]), /non-negative integers/);
  throwsMatching(
    () => L.sum(L.zeros([2, 3]), 2),
    /^sum: axis 2 is out of range for a tensor of rank 2/,
    /\[-2, 1\]/,
  );
  throwsMatching(() => L.slice(L.zeros([4]), [2], [3]), /^slice: axis 0 of \[4\] has size 4/, /\[2, 5\)/);
  throwsMatching(() => L.squeeze(L.zeros([2, 3]), 0), /^squeeze: axis 0 of \[2,3\] has size 2/);
  throwsMatching(
    () => L.add(tensor([1]), "2" as unknown as number),
    /^add: expected a Tensor or number, got string/,
  );
});

Deno.test("errors: a tracer that leaks out of jit is reported, not silently misused", () => {
  let leaked: Tensor | undefined;
  jit((x: Tensor) => {
    leaked = x.mul(2);
    return x;
  })(tensor([1]));
  throwsMatching(() => leaked!.add(1), /leaked/);
  throwsMatching(() => leaked!.dataSync(), /leaked/);
});
