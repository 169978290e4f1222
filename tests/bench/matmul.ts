/**
 * sgemm through the public API: `jit(matmul)` on square float32 matrices, against TF.js's `matMul` on both
 * backends and numpy's `a @ b`. This times what a user gets (jit dispatch and the output's allocation
 * included); the raw kernel is covered by `tests/kernels/cpu_matmul_test.ts` for correctness.
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
  type Timing,
} from "./harness.ts";
import type { TfSetup, TfTensor } from "./tfjs.ts";

const gflops = (n: number, ms: number) => 2 * n ** 3 / ms / 1e6;

/** Timed calls at most per size: small products are noisy and cheap, large ones steady and slow. */
const maxReps = (n: number) => n <= 256 ? 30 : n <= 512 ? 15 : n <= 1024 ? 7 : 3;

const NUMPY = `
import json, sys, time
import numpy as np
rng = np.random.default_rng(0)
out = {}
for n, reps in json.loads(sys.argv[1]):
    a = rng.standard_normal((n, n), dtype=np.float32)
    b = rng.standard_normal((n, n), dtype=np.float32)
    a @ b  # warm-up
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        a @ b
        times.append(time.perf_counter() - start)
    times.sort()
    out[n] = times[len(times) // 2] * 1000
print(json.dumps(out))
`;

/** numpy's median ms per size, or the reason it is not available. */
export async function numpyMatmul(sizes: readonly number[]): Promise<Map<number, number> | string> {
  try {
    const args = JSON.stringify(sizes.map((n) => [n, maxReps(n)]));
    const out = await new Deno.Command("python3", { args: ["-c", NUMPY, args], stderr: "piped" }).output();
    if (!out.success) {
      const reason = new TextDecoder().decode(out.stderr).trim().split("\n").pop();
      return `python3 failed: ${reason}`;
    }
    const result = JSON.parse(new TextDecoder().decode(out.stdout)) as Record<string, number>;
    return new Map(Object.entries(result).map(([n, ms]) => [Number(n), ms]));
  } catch (error) {
    return `no python3 (${error instanceof Error ? error.message : error})`;
  }
}

/** The largest relative error of row 0 of `c = a · b` against a float64 dot product. */
function rowError(a: Float32Array, b: Float32Array, c: ArrayLike<number>, n: number): number {
  let worst = 0;
  for (let j = 0; j < n; j++) {
    let dot = 0, scale = 0;
    for (let p = 0; p < n; p++) {
      dot += a[p] * b[p * n + j];
      scale += Math.abs(a[p] * b[p * n + j]);
    }
    worst = Math.max(worst, Math.abs(c[j] - dot) / scale);
  }
  return worst;
}

function cell(t: Timing | undefined, n: number): string {
  return t ? formatTiming(t, ` · ${gflops(n, t.ms).toFixed(1)} GFLOP/s`) : "n/a";
}

/**
 * The largest size TF.js's cpu backend runs: at 0.2-0.6 GFLOP/s, 2048 took 79 s and 89 s a call on the
 * 2-core development machine, past the 60 s a call a row may take; --quick stops earlier.
 */
const tfjsCpuMaxN = (quick: boolean) => quick ? 512 : 1024;

/**
 * One size: Loom, both TF.js backends and numpy's figure. With `transB`, b is used transposed (`a · bᵀ`,
 * as backward passes multiply).
 */
async function sgemmRow(
  n: number,
  transB: boolean,
  options: BenchOptions,
  tfjs: TfSetup | null,
  numpy: Map<number, number> | string,
): Promise<Row> {
  progress(`sgemm n=${n}${transB ? ", b transposed" : ""}`);
  const [ah, bh] = [randomFloats(n * n, 1), randomFloats(n * n, 2)];
  const [a, b] = [L.tensor(ah, { shape: [n, n] }), L.tensor(bh, { shape: [n, n] })];
  // The reference product for the checks is a · b; with transB the stored operand is bᵀ.
  const stored = transB ? L.transpose(b) : b;
  const storedHost = stored.dataSync() as Float32Array;
  const matmul = L.jit((a: L.Tensor, b: L.Tensor) => L.matmul(a, transB ? L.transpose(b) : b));
  const notes: string[] = [];
  const check = (who: string, c: ArrayLike<number>) => {
    const err = rowError(ah, bh, c, n);
    if (!(err < 1e-4)) notes.push(`${who} WRONG: relative error ${err.toExponential(1)}`);
  };
  check("Loom", matmul(a, stored).dataSync() as Float32Array);
  const contenders: Contender[] = [{ name: "loom", run: () => matmul(a, stored) }];
  for (const backend of tfjs?.backends ?? []) {
    if (backend === "cpu" && n > tfjsCpuMaxN(options.quick)) {
      notes.push(
        options.quick ? "TF.js cpu not run above 512 in --quick" : "TF.js cpu not run: over a minute a call",
      );
      continue;
    }
    const { tf } = tfjs!;
    await tfjs!.use(backend);
    const [ta, tb] = [tf.tensor(ah, [n, n]), tf.tensor(storedHost, [n, n])];
    const product = tf.matMul(ta, tb, false, transB);
    check(`TF.js ${backend}`, product.dataSync());
    product.dispose();
    contenders.push({
      name: backend,
      prepare: () => tfjs!.use(backend),
      // Both TF.js backends compute synchronously: when matMul returns, the product is written.
      run: () => (tf.matMul(ta, tb, false, transB) as TfTensor).dispose(),
      firstCallIsFair: true,
    });
  }
  const t = await measure(contenders, { maxReps: maxReps(n), budgetMs: options.quick ? 800 : 3_000 });
  const cpu = t.get("cpu");
  const numpyMs = typeof numpy === "string" || transB ? undefined : numpy.get(n);
  return row(`sgemm ${n}×${n}×${n}${transB ? ", b transposed (a·bᵀ)" : ""} (jit matmul)`, {
    loom: cell(t.get("loom"), n),
    tfjsWasm: cell(t.get("wasm"), n),
    tfjsCpu: cell(cpu, n),
    numpy: numpyMs !== undefined
      ? cell({ ms: numpyMs, reps: maxReps(n) }, n)
      : typeof numpy === "string" && !transB
      ? `n/a (${numpy})`
      : "n/a",
    ratio: formatRatio(t.get("loom"), t.get("wasm")),
    notes: notes.join("; "),
  });
}

/** The sgemm rows: one per size, and one with a transposed operand. */
export async function matmulRows(options: BenchOptions, tfjs: TfSetup | null): Promise<Row[]> {
  const sizes = options.quick ? [256, 512, 1024] : [256, 512, 1024, 2048];
  // numpy first and alone: running beside the others it would take the cores they are timed on.
  progress("sgemm: numpy");
  const numpy = await numpyMatmul(sizes);
  const rows: Row[] = [];
  for (const n of sizes) {
    rows.push(await sgemmRow(n, false, options, tfjs, numpy));
    if (n === 512) rows.push(await sgemmRow(n, true, options, tfjs, numpy));
  }
  return rows;
}
