/** Gradients through every DSL layer agree between the CPU backend and the reference interpreter. */
import * as L from "../../mod.ts";
import { nn, registerBackend, setBackend, type Tensor } from "../../mod.ts";
import { createCpuBackend } from "../../kernels/cpu/mod.ts";
import { CpuRuntime } from "../../kernels/cpu/pool.ts";
import { assertClose } from "../helpers.ts";

type Case = { name: string; layer: nn.AnyLayer; input: () => Tensor; training?: boolean };

const floats = (shape: number[]) => () => L.random.normal(L.random.key(7), shape);
const ids = (shape: number[], vocab: number) => () =>
  L.random.uniform(L.random.key(8), shape).mul(vocab).cast("int32");

const cases: Case[] = [
  { name: "dense relu", layer: nn.dense(5, { activation: "relu" }), input: floats([3, 4]) },
  {
    name: "dense gelu over a batch of sequences",
    layer: nn.dense(3, { activation: "gelu" }),
    input: floats([2, 3, 4]),
  },
  { name: "embed", layer: nn.serial(nn.embed(11, 4), nn.dense(2)), input: ids([2, 5], 11) },
  { name: "layerNorm", layer: nn.layerNorm(), input: floats([3, 6]) },
  { name: "attend causal", layer: nn.attend({ heads: 2, causal: true }), input: floats([2, 5, 4]) },
  { name: "positional learned", layer: nn.positional("learned", 8), input: floats([2, 5, 4]) },
  { name: "positional sinusoidal", layer: nn.positional("sinusoidal", 8), input: floats([2, 5, 4]) },
  { name: "recur rnn", layer: nn.recur(nn.rnnCell(3), { returnSequences: true }), input: floats([2, 5, 4]) },
  {
    name: "recur lstm",
    layer: nn.recur(nn.lstmCell(3), { returnSequences: true }),
    input: floats([2, 6, 4]),
  },
  { name: "recur gru reversed", layer: nn.recur(nn.gruCell(3), { reverse: true }), input: floats([2, 5, 4]) },
  {
    name: "residual(serial(layerNorm, attend))",
    layer: nn.residual(nn.serial(nn.layerNorm(), nn.attend({ heads: 2, causal: true }))),
    input: floats([2, 4, 4]),
  },
  { name: "dropout (training)", layer: nn.dropout(0.3), input: floats([4, 4]), training: true },
];

function gradients(c: Case): Float32Array[] {
  const { params } = c.layer.init(L.random.key(1), c.input().shape);
  const loss = (p: unknown, x: Tensor) =>
    (c.layer.apply(p, x, { key: L.random.key(2), training: c.training }) as Tensor).square().mean();
  const float = c.input().dtype === "float32";
  const [value, grads] = L.jit(L.valueAndGrad(loss, { argnums: float ? [0, 1] : [0] }))(params, c.input());
  const leaves = L.flatten(grads).leaves;
  return [value, ...leaves].map((t) => t.dataSync() as Float32Array);
}

Deno.test("cpu: gradients through every layer match the reference backend", async () => {
  await setBackend("reference");
  const expected = cases.map(gradients);
  const runtime = await CpuRuntime.create({ threads: 2 });
  try {
    registerBackend("cpu-layers", () => createCpuBackend(runtime, { name: "cpu-layers" }));
    await setBackend("cpu-layers");
    cases.forEach((c, i) => {
      const actual = gradients(c);
      expected[i].forEach((e, j) =>
        assertClose(actual[j], e, { rtol: 1e-3, atol: 1e-5, message: `${c.name} leaf ${j}` })
      );
    });
  } finally {
    await setBackend("reference");
    runtime.close();
  }
});
