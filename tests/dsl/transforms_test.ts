/**
 * The transforms composed, as users combine them: per-example gradients (`jit(vmap(grad))`), Hessian-vector
 * products (`jvp` of `grad`), `grad` of a `vmap`, `vmap` of every layer's `apply`, and `jit` around each, on
 * the default backend and the reference. Expected values come from independent computations (loops over
 * examples, finite differences of gradients, explicit Hessians).
 */
import assert from "node:assert/strict";
import * as L from "../../mod.ts";
import {
  grad,
  jit,
  jvp,
  nn,
  random,
  setBackend,
  stack,
  type Tensor,
  tensor,
  valueAndGrad,
  vmap,
} from "../../mod.ts";
import { assertClose, randomTensor, rng } from "../helpers.ts";

type Mlp = { w1: Tensor; b1: Tensor; w2: Tensor };
const mlp = (seed: number): Mlp => ({
  w1: randomTensor(rng(seed), [4, 6]),
  b1: randomTensor(rng(seed + 1), [6]),
  w2: randomTensor(rng(seed + 2), [6, 3]),
});
/** Cross-entropy of one example (x: [4], label: int32 scalar). */
const exampleLoss = (p: Mlp, x: Tensor, label: Tensor) => {
  const logits = x.reshape([1, 4]).matmul(p.w1).add(p.b1).tanh().matmul(p.w2);
  return L.loss.crossEntropy(logits, label.reshape([1]));
};

for (const backend of ["cpu", "reference"] as const) {
  Deno.test(`transforms: jit(vmap(grad(loss), { inAxes: [null, 0, 0] })) gives per-example gradients (${backend})`, async () => {
    await setBackend(backend);
    try {
      const params = mlp(1);
      const xs = randomTensor(rng(4), [5, 4]);
      const labels = tensor([0, 2, 1, 1, 0], { dtype: "int32" });
      const perExample = jit(vmap(grad(exampleLoss), { inAxes: [null, 0, 0] }));
      const got = perExample(params, xs, labels);
      for (let n = 0; n < 5; n++) {
        const one = grad(exampleLoss)(
          params,
          xs.slice([n, 0], [1, 4]).reshape([4]),
          labels.slice([n], [1]).reshape([]),
        );
        for (const k of ["w1", "b1", "w2"] as const) {
          assertClose(got[k].slice([n], [1]).squeeze(0), one[k], {
            rtol: 1e-4,
            atol: 1e-6,
            message: `example ${n} ${k}`,
          });
        }
      }
      perExample(params, xs, labels);
      assert.equal(perExample.cacheSize, 1, "compiled once");
      // Their mean is the batch gradient.
      const batchLoss = (p: Mlp) => vmap((x: Tensor, y: Tensor) => exampleLoss(p, x, y))(xs, labels).mean();
      const batch = grad(batchLoss)(params);
      assertClose(got.w1.mean(0), batch.w1, { rtol: 1e-4, atol: 1e-6 });
    } finally {
      await setBackend("cpu");
    }
  });

  Deno.test(`transforms: jvp of grad gives Hessian-vector products (${backend})`, async () => {
    await setBackend(backend);
    try {
      // A quadratic form: the Hessian of x·A·x is A + Aᵀ, exactly.
      const a = randomTensor(rng(5), [4, 4]);
      const quadratic = (x: Tensor) => x.reshape([1, 4]).matmul(a).matmul(x.reshape([4, 1])).sum();
      const x = randomTensor(rng(6), [4]);
      const v = randomTensor(rng(7), [4]);
      const [g, hv] = jvp((t: Tensor) => grad(quadratic)(t), [x], [v]);
      assertClose(hv, a.add(a.transpose()).matmul(v.reshape([4, 1])).reshape([4]), {
        rtol: 1e-5,
        atol: 1e-6,
      });
      assertClose(g, grad(quadratic)(x));
      // A non-quadratic loss: against central differences of the gradient.
      const params = mlp(8);
      const direction = mlp(9);
      const xs = randomTensor(rng(10), [4]);
      const label = tensor(2, { dtype: "int32" });
      const gradOf = (p: Mlp) => grad(exampleLoss)(p, xs, label);
      const [, hvp] = jit((p: Mlp, d: Mlp) => jvp(gradOf, [p], [d]))(params, direction);
      const eps = 1e-2;
      const shifted = (s: number) =>
        gradOf({
          w1: params.w1.add(direction.w1.mul(s)),
          b1: params.b1.add(direction.b1.mul(s)),
          w2: params.w2.add(direction.w2.mul(s)),
        });
      const plus = shifted(eps);
      const minus = shifted(-eps);
      for (const k of ["w1", "b1", "w2"] as const) {
        assertClose(hvp[k], plus[k].sub(minus[k]).div(2 * eps), { rtol: 3e-2, atol: 3e-3, message: k });
      }
    } finally {
      await setBackend("cpu");
    }
  });
}

Deno.test("transforms: grad of a vmapped function is the sum of per-example gradients", () => {
  const w = randomTensor(rng(11), [3, 2]);
  const xs = randomTensor(rng(12), [6, 3]);
  const f = (m: Tensor, x: Tensor) => x.reshape([1, 3]).matmul(m).sin().sum();
  const total = grad((m: Tensor) => vmap(f, { inAxes: [null, 0] })(m, xs).sum())(w);
  const loop = Array.from({ length: 6 }, (_, n) => grad(f)(w, xs.slice([n, 0], [1, 3]).reshape([3])));
  assertClose(total, loop.reduce((s, g) => s.add(g)), { rtol: 1e-5, atol: 1e-6 });
});

Deno.test("transforms: vmap of jvp and jvp of vmap agree, and both match per-example tangents", () => {
  const f = (x: Tensor) => x.exp().mul(x.sum());
  const xs = randomTensor(rng(13), [4, 3]);
  const vs = randomTensor(rng(14), [4, 3]);
  const mapped = vmap((x: Tensor, v: Tensor) => jvp(f, [x], [v])[1])(xs, vs);
  const [, outer] = jvp((x: Tensor) => vmap(f)(x), [xs], [vs]);
  assertClose(mapped, outer, { rtol: 1e-5 });
  const loop = stack(
    Array.from(
      { length: 4 },
      (_, n) => jvp(f, [xs.slice([n, 0], [1, 3]).reshape([3])], [vs.slice([n, 0], [1, 3]).reshape([3])])[1],
    ),
    0,
  );
  assertClose(mapped, loop, { rtol: 1e-5 });
});

Deno.test("transforms: grad of jvp (a directional derivative's gradient) and jit of vmap", () => {
  const v = tensor([1, 2]);
  const directional = (x: Tensor) => jvp((t: Tensor) => t.pow(3).sum(), [x], [v])[1];
  // d/dx Σ 3x² v = 6 x v.
  assertClose(grad(directional)(tensor([1, 3])), tensor([6, 36]), { rtol: 1e-5 });
  const mapped = jit(vmap((x: Tensor) => x.softmax().max()));
  const xs = randomTensor(rng(15), [5, 7]);
  assertClose(mapped(xs), xs.softmax(1).max(1), { rtol: 1e-6 });
});

/** A layer's apply, vmapped over an extra leading axis, against the loop over that axis. */
function checkLayer(
  name: string,
  layer: nn.AnyLayer,
  example: number[],
  make: (seed: number) => Tensor,
  ctx?: nn.Context,
) {
  const { params } = layer.init(random.key(0), example);
  const inputs = Array.from({ length: 3 }, (_, n) => make(n + 1));
  const got = vmap((x: Tensor) => layer.apply(params, x, ctx) as Tensor)(stack(inputs, 0));
  const expected = stack(inputs.map((x) => layer.apply(params, x, ctx) as Tensor), 0);
  assertClose(got, expected, { rtol: 1e-5, atol: 1e-6, message: name });
}

Deno.test("transforms: vmap of every layer's apply matches applying it example by example", () => {
  const floats = (shape: number[]) => (seed: number) => randomTensor(rng(seed), shape);
  const ids = (shape: number[], vocab: number) => (seed: number) => {
    const r = rng(seed);
    return tensor(Array.from({ length: shape.reduce((a, b) => a * b) }, () => Math.floor(r() * vocab)), {
      dtype: "int32",
      shape,
    });
  };
  checkLayer("dense", nn.dense(5, { activation: "relu" }), [2, 4], floats([2, 4]));
  checkLayer("embed", nn.embed(9, 4), [2, 3], ids([2, 3], 9));
  checkLayer("attend", nn.attend({ heads: 2, causal: true }), [2, 5, 8], floats([2, 5, 8]));
  checkLayer("recur.lstm", nn.recur(nn.lstmCell(4)), [2, 5, 3], floats([2, 5, 3]));
  checkLayer("recur.gru", nn.recur(nn.gruCell(4), { reverse: true }), [2, 5, 3], floats([2, 5, 3]));
  checkLayer("recur.rnn", nn.recur(nn.rnnCell(4), { returnSequences: false }), [2, 5, 3], floats([2, 5, 3]));
  checkLayer("layerNorm", nn.layerNorm(), [2, 6], floats([2, 6]));
  checkLayer("positional sinusoidal", nn.positional("sinusoidal", 8), [1, 5, 4], floats([1, 5, 4]));
  checkLayer("positional learned", nn.positional("learned", 8), [1, 5, 4], floats([1, 5, 4]));
  checkLayer("dropout (eval)", nn.dropout(0.5), [2, 4], floats([2, 4]));
  checkLayer("activations", nn.serial(nn.gelu(), nn.tanh(), nn.sigmoid(), nn.relu()), [2, 4], floats([2, 4]));
  checkLayer("fn", nn.fn<number, nn.Same>((x) => x.softmax()), [2, 4], floats([2, 4]));
  checkLayer("residual", nn.residual(nn.serial(nn.layerNorm(), nn.dense(6))), [2, 6], floats([2, 6]));
  checkLayer("repeat", nn.repeat(2, () => nn.dense(4, { activation: "tanh" })), [2, 4], floats([2, 4]));
  checkLayer(
    "branch, parallel",
    nn.serial(
      nn.branch(nn.dense(3), nn.dense(2)),
      nn.parallel(nn.relu(), nn.tanh()),
      nn.fn<[number, number], number>((xs) => L.concat(xs, 1)),
    ),
    [2, 4],
    floats([2, 4]),
  );
  checkLayer(
    "transformer LM",
    nn.serial(
      nn.embed(11, 8),
      nn.positional("learned", 6),
      nn.residual(nn.serial(nn.layerNorm(), nn.attend({ heads: 2, causal: true }))),
      nn.dense(11),
    ),
    [2, 6],
    ids([2, 6], 11),
  );
});

Deno.test("transforms: a recurrent model carries its state through nn.carry under jit and grad", () => {
  const model = nn.serial(nn.embed(7, 4), nn.recur(nn.gruCell(5)), nn.recur(nn.lstmCell(3)), nn.dense(7));
  const { params } = model.init(random.key(2), [2, 6]);
  const x = tensor([[1, 2, 3, 4, 5, 6], [6, 5, 4, 3, 2, 1]], { dtype: "int32" });
  const whole = model.apply(params, x);
  const chunk = jit((p: typeof params, ids: Tensor, states: Tensor[][]) => {
    const carry = nn.carry(states);
    const logits = model.apply(p, ids, { carry });
    return [logits, carry.states] as const;
  });
  const first = nn.carry();
  const a = model.apply(params, x.slice([0, 0], [2, 4]), { carry: first });
  const [b, after] = chunk(params, x.slice([0, 4], [2, 2]), first.states);
  assertClose(L.concat([a, b], 1), whole, { rtol: 1e-5, atol: 1e-6 });
  assert.equal(after.length, 2, "one state per recurrent layer");
  assert.deepEqual(after[1].map((s) => s.shape), [[2, 3], [2, 3]], "the LSTM's h and c");
  // Gradients flow through the carried state into the first chunk's computation.
  const [, g] = valueAndGrad((s: Tensor[][]) =>
    model.apply(params, x.slice([0, 4], [2, 2]), { carry: nn.carry(s) }).sum()
  )(
    first.states,
  );
  assert.ok(g[0][0].abs().sum().item() > 0, "the carried state receives a gradient");
});
