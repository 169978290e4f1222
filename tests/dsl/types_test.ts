/**
 * Typed shapes. The type-level assertions here are checked by `deno check` (and by `deno test`, which checks
 * first): each `// @ts-expect-error` line must fail to compile, or the check itself fails. The tests below
 * then confirm the run-time side and the wording of the compile errors.
 */
import assert from "node:assert/strict";
import {
  concat,
  grad,
  type Graph,
  type jit,
  nn,
  random,
  type SparseRows,
  type Tensor,
  vmap,
  zeros,
} from "../../mod.ts";

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true : false;
function expectType<_ extends true>(): void {}

const embedThenDense = nn.serial(nn.embed(100, 64), nn.dense(32));
expectType<Equal<typeof embedThenDense, nn.Layer<nn.Ids, 32, [nn.EmbedParams, nn.DenseParams]>>>();

// Layers that keep the feature dim (`Same`) let the literal flow through to the next check.
const block = nn.residual(nn.serial(nn.layerNorm(), nn.attend({ heads: 4, causal: true })));
const transformer = nn.serial(
  nn.embed(100, 64),
  nn.positional("sinusoidal", 32),
  block,
  nn.layerNorm(),
  nn.dense(100),
);
expectType<Equal<nn.OutOf<typeof transformer>, 100>>();
expectType<Equal<nn.OutOf<typeof block>, nn.Same>>();

// residual(f) takes what f gives when that is a literal, and keeps it.
const keeps = nn.serial(nn.embed(100, 64), nn.residual(nn.dense(64)));
expectType<Equal<typeof keeps, nn.Layer<nn.Ids, 64, [nn.EmbedParams, nn.DenseParams]>>>();
expectType<Equal<nn.InOf<ReturnType<typeof nn.residual<nn.Layer<number, 32>>>>, 32>>();

// Recurrent layers output `units` features.
const rnn = nn.serial(nn.embed(50, 16), nn.recur(nn.lstmCell(24)), nn.dense(50));
expectType<Equal<nn.OutOf<typeof rnn>, 50>>();
expectType<Equal<nn.OutOf<ReturnType<typeof nn.recur<8>>>, 8>>();

// Lists: branch makes a tuple, fn can take it, apply returns tensors accordingly.
const split = nn.branch(nn.dense(2), nn.dense(3));
expectType<Equal<nn.OutOf<typeof split>, [2, 3]>>();
expectType<Equal<ReturnType<typeof split.apply>, [Tensor, Tensor]>>();
const merged = nn.serial(split, nn.fn<[number, number], number>(([a, b]) => concat([a, b], -1)));
expectType<Equal<ReturnType<typeof merged.apply>, Tensor>>();

// Dims known only at run time widen to `number`: these compile, and init checks them instead.
const runtimeWidth: number = 64;
const widened = nn.serial(nn.embed(100, runtimeWidth), nn.residual(nn.dense(32)));
expectType<Equal<nn.OutOf<typeof widened>, 32>>();

// Params are typed: serial gives a tuple of its layers' params, repeat an array, residual passes f's through.
const lm = nn.serial(
  nn.embed(100, 16),
  nn.repeat(2, () => nn.residual(nn.serial(nn.layerNorm(), nn.attend({ heads: 2 })))),
  nn.recur(nn.gruCell(16)),
  nn.dense(100),
);
expectType<
  Equal<
    nn.ParamsOf<typeof lm>,
    [nn.EmbedParams, [nn.LayerNormParams, nn.AttendParams][], nn.CellParams, nn.DenseParams]
  >
>();
expectType<Equal<nn.ParamsOf<typeof nn.relu>, never>>(); // a function, not a layer
expectType<Equal<nn.ParamsOf<ReturnType<typeof nn.relu>>, nn.NoParams>>();

// Gradients are typed from the function and argnums: the params' structure, tensors at the leaves.
type LmParams = nn.ParamsOf<typeof lm>;
const lmLoss = (p: LmParams, ids: Tensor, _labels: Tensor) => (lm.apply(p, ids) as Tensor).mean();
expectType<Equal<ReturnType<ReturnType<typeof grad<typeof lmLoss>>>[0], nn.EmbedParams>>();
expectType<Equal<ReturnType<ReturnType<typeof grad<typeof lmLoss>>>[3]["w"], Tensor>>();
const both = grad((a: Tensor, b: { w: Tensor }) => a.sum().add(b.w.sum()), { argnums: [1, 0] });
expectType<Equal<ReturnType<typeof both>, [{ w: Tensor }, Tensor]>>();
const sparse = grad((t: Tensor) => t.sum(), { sparse: true });
expectType<Equal<ReturnType<typeof sparse>, Tensor | SparseRows>>();
// vmap and jit keep the function's signature.
const mapped = vmap((x: Tensor, n: number) => x.mul(n), { inAxes: [0, null] });
expectType<Equal<Parameters<typeof mapped>, [x: Tensor, n: number]>>();
expectType<
  Equal<
    ReturnType<typeof jit<typeof lmLoss>>,
    typeof lmLoss & { readonly cacheSize: number; graphFor(...args: Parameters<typeof lmLoss>): Graph }
  >
>();

/** Compositions that must not compile; never called, only type-checked. */
export function rejectedByDenoCheck(): unknown[] {
  return [
    // @ts-expect-error x + f(x) needs f to keep the last dim: residual(dense(32)) takes 32, gets 64
    nn.serial(nn.embed(100, 64), nn.residual(nn.dense(32))),
    // @ts-expect-error embed reads int ids, but dense gives float features
    nn.serial(nn.dense(3), nn.embed(10, 4)),
    // @ts-expect-error the second layer takes 8 features, the first gives 4
    nn.serial(nn.dense(4), nn.residual(nn.dense(8))),
    // @ts-expect-error a mismatch deep in a chain is found too
    nn.serial(nn.embed(10, 8), nn.layerNorm(), nn.dropout(0.1), nn.residual(nn.dense(4))),
    // @ts-expect-error f maps 8 features to 4, so x + f(x) cannot work
    nn.residual(nn.serial(nn.residual(nn.dense(8)), nn.dense(4))),
    // @ts-expect-error a repeated block must feed itself: it takes 8 features and gives 4
    nn.repeat(2, () => nn.serial(nn.residual(nn.dense(8)), nn.dense(4))),
    // @ts-expect-error no input fits both branches (8 features and 4 features)
    nn.branch(nn.residual(nn.dense(8)), nn.residual(nn.dense(4))),
    // @ts-expect-error dense takes one tensor, not the list a branch gives
    nn.serial(nn.branch(nn.dense(2), nn.dense(3)), nn.dense(4)),
  ];
}

Deno.test("a dim known only at run time compiles and is rejected by init, naming the path", () => {
  assert.throws(
    () => widened.init(random.key(0), [2, 3]),
    /serial\[1\]\.residual: x \+ f\(x\) needs f to keep the shape/,
  );
});

Deno.test("the typed models run with the shapes their types promise", () => {
  const { params, outputShape } = transformer.init(random.key(0), [2, 5]);
  assert.deepEqual(outputShape, [2, 5, 100]);
  assert.deepEqual(transformer.apply(params, zeros([2, 5], "int32")).shape, [2, 5, 100]);
  const m = merged.init(random.key(0), [1, 4]);
  assert.deepEqual(merged.apply(m.params, zeros([1, 4])).shape, [1, 5]);
});

Deno.test("deno check explains a mismatch: position, expected and actual dims", async () => {
  const dir = await Deno.makeTempDir({
    dir: new URL(".", import.meta.url).pathname,
    prefix: ".types_probe_",
  });
  try {
    const file = `${dir}/probe.ts`;
    const mod = new URL("../../mod.ts", import.meta.url).href;
    await Deno.writeTextFile(
      file,
      `import { nn } from "${mod}";\nnn.serial(nn.embed(100, 64), nn.residual(nn.dense(32)));\n`,
    );
    const { code, stderr } = await new Deno.Command(Deno.execPath(), {
      args: ["check", file],
      stderr: "piped",
      stdout: "null",
    })
      .output();
    const text = new TextDecoder().decode(stderr);
    assert.notEqual(code, 0);
    assert.match(text, /serial\[1\]: takes last dim 32 but gets last dim 64/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
