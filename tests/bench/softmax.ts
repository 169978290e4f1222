/**
 * Softmax over the last axis of a 4096 x 1024 matrix: two reductions (max, sum) and two elementwise
 * passes, under `jit`, against TF.js's `softmax`.
 * @module
 */
import * as L from "../../mod.ts";
import {
  type BenchOptions,
  type Contender,
  formatRatio,
  formatTiming,
  measure,
  progress,
  randomFloats,
  type Row,
  row,
} from "./harness.ts";
import type { TfSetup } from "./tfjs.ts";

const SHAPE = [4096, 1024];

/** The softmax row. */
export async function softmaxRows(options: BenchOptions, tfjs: TfSetup | null): Promise<Row[]> {
  progress("softmax");
  const host = randomFloats(SHAPE[0] * SHAPE[1], 4, 5);
  const x = L.tensor(host, { shape: SHAPE });
  const softmax = L.jit((x: L.Tensor) => L.softmax(x, -1));
  const expected = softmax(x).dataSync() as Float32Array;
  const contenders: Contender[] = [{ name: "loom", run: () => softmax(x) }];
  const notes: string[] = [];
  for (const backend of tfjs?.backends ?? []) {
    const { tf } = tfjs!;
    await tfjs!.use(backend);
    const tx = tf.tensor(host, SHAPE);
    const y = tf.softmax(tx);
    const got = y.dataSync();
    y.dispose();
    if (got.some((v, i) => Math.abs(v - expected[i]) > 1e-5)) {
      notes.push(`Loom and TF.js ${backend} disagree`);
    }
    contenders.push({
      name: backend,
      prepare: () => tfjs!.use(backend),
      run: () => tf.softmax(tx).dispose(),
      firstCallIsFair: true,
    });
  }
  const t = await measure(contenders, {
    maxReps: options.quick ? 5 : 20,
    budgetMs: options.quick ? 500 : 3_000,
  });
  return [row("softmax 4096×1024, last axis (jit)", {
    loom: formatTiming(t.get("loom")),
    tfjsWasm: formatTiming(t.get("wasm")),
    tfjsCpu: formatTiming(t.get("cpu")),
    ratio: formatRatio(t.get("loom"), t.get("wasm")),
    notes: notes.join("; "),
  })];
}
