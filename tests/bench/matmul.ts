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
  pairedRatio,
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

/**
 * A numpy process that reads a size per line, multiplies two fixed random n×n float32 matrices (made, and
 * multiplied once untimed, the first time it meets n) and prints the milliseconds of the product alone.
 */
const NUMPY_SERVER = `
import sys, time
import numpy as np
rng = np.random.default_rng(0)
held = {}
for line in sys.stdin:
    n = int(line)
    if n not in held:
        held.clear()
        held[n] = (rng.standard_normal((n, n), dtype=np.float32), rng.standard_normal((n, n), dtype=np.float32))
        held[n][0] @ held[n][1]
    a, b = held[n]
    start = time.perf_counter()
    a @ b
    print((time.perf_counter() - start) * 1000, flush=True)
`;

/** numpy's sgemm as a contender timed in rounds beside Loom's, or the reason it is not available. */
export interface Numpy {
  /** A contender for size n (its times are measured by numpy's process around `a @ b`). */
  contender(n: number): Contender;
  /** Ends the process. */
  close(): Promise<void>;
}

/** Starts numpy's process, or says why it cannot run. */
export async function startNumpy(): Promise<Numpy | string> {
  let child: Deno.ChildProcess;
  try {
    // OpenBLAS's threads poll for a while after a product by default (2^28 cycles); in rounds they would take
    // the cores from the contender timed next, so they sleep at once.
    child = new Deno.Command("python3", {
      args: ["-c", NUMPY_SERVER],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
      env: { OPENBLAS_THREAD_TIMEOUT: "4" },
    }).spawn();
  } catch (error) {
    return `no python3 (${error instanceof Error ? error.message : error})`;
  }
  const writer = child.stdin.getWriter();
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).pipeThrough(lineSplitter()).getReader();
  const ask = async (n: number): Promise<number> => {
    await writer.write(new TextEncoder().encode(`${n}\n`));
    const { value, done } = await lines.read();
    if (done) throw new Error("numpy's process ended");
    return Number(value);
  };
  const close = async () => {
    await writer.close().catch(() => {});
    await lines.cancel().catch(() => {});
    const stderr = await new Response(child.stderr).text();
    await child.status;
    return stderr;
  };
  try {
    await ask(64);
  } catch {
    const reason = (await close()).trim().split("\n").pop();
    return `python3 with numpy failed: ${reason}`;
  }
  return {
    contender: (n) => ({ name: "numpy", run: () => {}, timed: () => ask(n), firstCallIsFair: true }),
    close: async () => void await close(),
  };
}

/** Splits a text stream into lines. */
function lineSplitter(): TransformStream<string, string> {
  let rest = "";
  return new TransformStream({
    transform(chunk, controller) {
      const parts = (rest + chunk).split("\n");
      rest = parts.pop()!;
      for (const line of parts) controller.enqueue(line);
    },
  });
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
  numpy: Numpy | string,
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
  if (typeof numpy !== "string" && !transB) contenders.push(numpy.contender(n));
  const t = await measure(contenders, { maxReps: maxReps(n), budgetMs: options.quick ? 800 : 3_000 });
  const cpu = t.get("cpu");
  const numpyTiming = t.get("numpy");
  // Loom's rate over numpy's, round by round (each round runs both, one after the other).
  const versusNumpy = pairedRatio(numpyTiming, t.get("loom"));
  if (versusNumpy !== undefined) {
    notes.push(`Loom / numpy ${versusNumpy.toFixed(2)} (median over ${numpyTiming!.reps} rounds of both)`);
  }
  return row(`sgemm ${n}×${n}×${n}${transB ? ", b transposed (a·bᵀ)" : ""} (jit matmul)`, {
    loom: cell(t.get("loom"), n),
    tfjsWasm: cell(t.get("wasm"), n),
    tfjsCpu: cell(cpu, n),
    numpy: numpyTiming
      ? cell(numpyTiming, n)
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
  const numpy = await startNumpy();
  const rows: Row[] = [];
  try {
    for (const n of sizes) {
      rows.push(await sgemmRow(n, false, options, tfjs, numpy));
      if (n === 512) rows.push(await sgemmRow(n, true, options, tfjs, numpy));
    }
  } finally {
    if (typeof numpy !== "string") await numpy.close();
  }
  return rows;
}
