/**
 * Elementwise fusion: a chain of 8 elementwise ops over 4M floats under `jit`, against the same chain on
 * TF.js (one pass per op, as TF.js does not fuse) and against a plain copy of the same 16 MB. A fused loop
 * reads x and writes y once, so its floor is the memory traffic of a copy: the target is chain/copy <= 1.5x.
 * @module
 */
import * as L from "../../mod.ts";
import {
  type BenchOptions,
  type Contender,
  formatMs,
  formatRatio,
  formatTiming,
  measure,
  progress,
  randomFloats,
  type Row,
  row,
  type Timing,
} from "./harness.ts";
import type { Tf, TfSetup, TfTensor } from "./tfjs.ts";

const SIZE = 4 << 20;

/** The chain, written once for both libraries (Loom's and TF.js's tensors have these methods). */
const loomChain = (x: L.Tensor) => x.mul(2).add(1).maximum(0).mul(x).sub(0.5).neg().add(3).mul(0.25);
const tfChain = (tf: Tf, x: TfTensor) =>
  tf.mul(tf.add(tf.neg(tf.sub(tf.mul(tf.maximum(tf.add(tf.mul(x, 2), 1), 0), x), 0.5)), 3), 0.25);

/** The chain row and the one-op row. */
export async function elementwiseRows(options: BenchOptions, tfjs: TfSetup | null): Promise<Row[]> {
  progress("elementwise chain");
  const host = randomFloats(SIZE, 3);
  const x = L.tensor(host);
  const chain = L.jit(loomChain);
  const one = L.jit((x: L.Tensor) => x.neg());
  const expected = chain(x).dataSync() as Float32Array;
  const copyTarget = new Float32Array(SIZE);
  const contenders: Contender[] = [
    { name: "loom chain", run: () => chain(x) },
    { name: "loom one", run: () => one(x) },
    { name: "copy", run: () => copyTarget.set(host), firstCallIsFair: true },
  ];
  const wrong: string[] = [];
  for (const backend of tfjs?.backends ?? []) {
    const { tf } = tfjs!;
    await tfjs!.use(backend);
    const tx = tf.tensor(host, [SIZE]);
    const y = tf.tidy(() => tfChain(tf, tx));
    const got = y.dataSync();
    y.dispose();
    // Same ops in the same order in float32: any real difference means the two sides computed different things.
    if (got.some((v, i) => Math.abs(v - expected[i]) > 1e-5 * (1 + Math.abs(v)))) {
      wrong.push(`Loom and TF.js ${backend} disagree`);
    }
    const prepare = () => tfjs!.use(backend);
    contenders.push(
      { name: `${backend} chain`, prepare, run: () => tf.tidy(() => tfChain(tf, tx)).dispose() },
      { name: `${backend} one`, prepare, run: () => tf.neg(tx).dispose() },
    );
  }
  const t = await measure(contenders, {
    maxReps: options.quick ? 5 : 20,
    budgetMs: options.quick ? 500 : 3_000,
  });
  const copy = t.get("copy")!;
  const overCopy = (what: Timing | undefined) => what ? `${(what.ms / copy.ms).toFixed(1)}x` : "n/a";
  const chainRow = (kind: "chain" | "one", workload: string, notes: string) =>
    row(workload, {
      loom: formatTiming(t.get(`loom ${kind}`)),
      tfjsWasm: formatTiming(t.get(`wasm ${kind}`)),
      tfjsCpu: formatTiming(t.get(`cpu ${kind}`)),
      ratio: formatRatio(t.get(`loom ${kind}`), t.get(`wasm ${kind}`)),
      notes,
    });
  return [
    chainRow(
      "chain",
      "8 elementwise ops, 4M f32 (jit)",
      `chain / copy: Loom ${overCopy(t.get("loom chain"))} (target ≤ 1.5x), TF.js wasm ${
        overCopy(t.get("wasm chain"))
      }; copy = Float32Array.set of the 16 MB, ${formatMs(copy.ms)}${
        wrong.length ? `; ${wrong.join("; ")}` : ""
      }`,
    ),
    chainRow(
      "one",
      "1 elementwise op (neg), 4M f32 (jit)",
      `one pass / copy: Loom ${overCopy(t.get("loom one"))}, TF.js wasm ${overCopy(t.get("wasm one"))}`,
    ),
  ];
}
