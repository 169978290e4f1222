/**
 * sgemm throughput, side by side: Loom's WebAssembly kernel on one thread and on all threads,
 * TensorFlow.js's wasm backend (XNNPACK, one thread: its threaded build needs a browser), and
 * numpy (BLAS, its default threads) when python3 has it.
 *
 * Run: `deno run -A tests/bench/sgemm.ts` (LOOM_THREADS sets Loom's thread count).
 * @module
 */

import { CpuRuntime } from "../../kernels/cpu/pool.ts";

/**
 * One size of the benchmark: median GFLOP/s of each contender (null where unavailable).
 *
 * @example
 * ```ts
 * import type { Row } from "./sgemm.ts";
 * const row: Row = { n: 256, loom1: 30, loomAll: 55, threads: 2, relaxed: true, tfjsWasm: 14, numpy: null };
 * ```
 */
export interface Row {
  /** m = n = k. */
  n: number;
  /** Loom, one thread. */
  loom1: number;
  /** Loom with all its threads. */
  loomAll: number;
  /** Threads of the `loomAll` runtime. */
  threads: number;
  /** Whether Loom used fused multiply-add (relaxed SIMD). */
  relaxed: boolean;
  /** TF.js wasm backend. */
  tfjsWasm: number | null;
  /** numpy `a @ b` in float32. */
  numpy: number | null;
}

const SIZES = [256, 512, 1024, 2048];
/** Timed repetitions per size: enough for a stable median, few enough to finish in a minute or two. */
const reps = (n: number) => n <= 256 ? 60 : n <= 512 ? 20 : n <= 1024 ? 9 : 3;
const gflops = (n: number, ms: number) => 2 * n ** 3 / ms / 1e6;

function median(values: number[]): number {
  const sorted = [...values].sort((x, y) => x - y);
  return sorted[sorted.length >> 1];
}

type Contender = () => void;

/** Sets up TF.js's wasm backend from the npm package's own files; null if that fails. */
async function tfjsContender(): Promise<((n: number) => Contender) | null> {
  try {
    // deno-lint-ignore no-import-prefix -- a bench-only dependency, pinned here rather than in deno.json
    const tf = await import("npm:@tensorflow/tfjs-core@4.22.0");
    // deno-lint-ignore no-import-prefix -- as above
    const wasm = await import("npm:@tensorflow/tfjs-backend-wasm@4.22.0");
    // The .wasm binaries sit next to the package's entry point in Deno's npm cache.
    const dist = new URL("./", import.meta.resolve("npm:@tensorflow/tfjs-backend-wasm@4.22.0"));
    wasm.setWasmPaths(dist.protocol === "file:" ? decodeURIComponent(dist.pathname) : dist.href);
    if (!(await tf.setBackend("wasm"))) return null;
    await tf.ready();
    return (n) => {
      const a = tf.randomUniform([n, n]), b = tf.randomUniform([n, n]);
      // The wasm backend computes eagerly: when matMul returns, the product is done.
      return () => tf.matMul(a, b).dispose();
    };
  } catch (error) {
    console.error("TF.js wasm unavailable:", error instanceof Error ? error.message : error);
    return null;
  }
}

const NUMPY_SCRIPT = `
import json, sys, time
import numpy as np
out = {}
for n, reps in json.loads(sys.argv[1]):
    a = np.random.rand(n, n).astype(np.float32)
    b = np.random.rand(n, n).astype(np.float32)
    a @ b
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        a @ b
        times.append(time.perf_counter() - t)
    times.sort()
    out[n] = 2 * n**3 / times[len(times) // 2] / 1e9
print(json.dumps(out))
`;

/** numpy's GFLOP/s per size, or null when python3 or numpy is missing. */
async function numpyBench(sizes: number[]): Promise<Map<number, number> | null> {
  try {
    const args = JSON.stringify(sizes.map((n) => [n, reps(n)]));
    const { success, stdout } = await new Deno.Command("python3", { args: ["-c", NUMPY_SCRIPT, args] })
      .output();
    if (!success) return null;
    const result = JSON.parse(new TextDecoder().decode(stdout)) as Record<string, number>;
    return new Map(Object.entries(result).map(([n, value]) => [Number(n), value]));
  } catch {
    return null;
  }
}

/** Loom on `rt` for size n: operands filled once, then timed calls of sgemm. */
function loomContender(rt: CpuRuntime, n: number): { run: Contender; release: () => void } {
  const a = rt.alloc(n * n * 4), b = rt.alloc(n * n * 4), c = rt.alloc(n * n * 4);
  rt.f32(a, n * n).forEach((_, i, view) => view[i] = (i % 13) / 13);
  rt.f32(b, n * n).forEach((_, i, view) => view[i] = (i % 7) / 7);
  const run = () => rt.sgemm(a, b, c, { m: n, n, k: n });
  run();
  // Spot-check one element against a plain dot product, so a fast wrong kernel cannot win.
  const [av, bv] = [rt.f32(a, n * n), rt.f32(b, n * n)];
  let dot = 0;
  for (let p = 0; p < n; p++) dot += av[(n - 1) * n + p] * bv[p * n + n - 1];
  const got = rt.f32(c, n * n)[n * n - 1];
  if (Math.abs(got - dot) > 1e-4 * Math.abs(dot)) {
    throw new Error(`Loom sgemm is wrong at n=${n}: ${got} vs ${dot}`);
  }
  return { run, release: () => [a, b, c].forEach((ptr) => rt.free(ptr)) };
}

/**
 * Measures every contender at each size (interleaving the in-process ones, so that a noisy
 * machine treats them alike) and returns median GFLOP/s.
 *
 * @example
 * ```ts ignore
 * import { runSgemmBench } from "./sgemm.ts";
 * console.table(await runSgemmBench([256]));
 * ```
 */
export async function runSgemmBench(sizes: number[] = SIZES): Promise<Row[]> {
  // numpy first and alone: run alongside, it would take the cores the others are timed on.
  const numpy = await numpyBench(sizes);
  const one = await CpuRuntime.create({ threads: 1 });
  const all = await CpuRuntime.create();
  const tfjs = await tfjsContender();
  const rows: Row[] = [];
  try {
    for (const n of sizes) {
      const loom1 = loomContender(one, n), loomAll = loomContender(all, n);
      const contenders: [string, Contender][] = [["loom1", loom1.run], ["loomAll", loomAll.run]];
      if (tfjs) contenders.push(["tfjs", tfjs(n)]);
      const times = new Map<string, number[]>(contenders.map(([name]) => [name, []]));
      for (let warm = 0; warm < 2; warm++) contenders.forEach(([, run]) => run());
      // Rounds of short bursts: interleaving spreads machine noise over all contenders, and a
      // burst times the back-to-back calls of real use (a pool's workers are then awake).
      const burst = n <= 512 ? 5 : 1;
      for (let round = 0; round * burst < reps(n); round++) {
        for (const [name, run] of contenders) {
          for (let call = 0; call < burst; call++) {
            const start = performance.now();
            run();
            times.get(name)!.push(performance.now() - start);
          }
        }
      }
      loom1.release();
      loomAll.release();
      const result = (name: string) => gflops(n, median(times.get(name)!));
      rows.push({
        n,
        loom1: result("loom1"),
        loomAll: result("loomAll"),
        threads: all.threads,
        relaxed: all.relaxed,
        tfjsWasm: tfjs ? result("tfjs") : null,
        numpy: null,
      });
    }
  } finally {
    one.close();
    all.close();
  }
  for (const row of rows) row.numpy = numpy?.get(row.n) ?? null;
  return rows;
}

/**
 * Formats rows as a markdown table with Loom's all-thread throughput relative to the others.
 *
 * @example
 * ```ts
 * import { toMarkdown } from "./sgemm.ts";
 * const table = toMarkdown([{ n: 8, loom1: 1, loomAll: 2, threads: 2, relaxed: true, tfjsWasm: 1, numpy: null }]);
 * if (!table.includes("| 8 |")) throw new Error(table);
 * ```
 */
export function toMarkdown(rows: Row[]): string {
  const fmt = (x: number | null) => x === null ? "n/a" : x.toFixed(1);
  const ratio = (x: number, y: number | null) => y === null ? "n/a" : `${(x / y).toFixed(2)}x`;
  const t = rows[0]?.threads ?? 1;
  const lines = [
    `| n | Loom 1 thread | Loom ${t} threads | TF.js wasm | numpy | Loom ${t}T / TF.js | Loom ${t}T / numpy |`,
    "|---:|---:|---:|---:|---:|---:|---:|",
    ...rows.map((r) =>
      `| ${r.n} | ${fmt(r.loom1)} | ${fmt(r.loomAll)} | ${fmt(r.tfjsWasm)} | ${fmt(r.numpy)} | ` +
      `${ratio(r.loomAll, r.tfjsWasm)} | ${ratio(r.loomAll, r.numpy)} |`
    ),
  ];
  return lines.join("\n");
}

if (import.meta.main) {
  const rows = await runSgemmBench();
  console.log(`sgemm, median GFLOP/s (Loom ${rows[0]?.relaxed ? "relaxed FMA" : "mul+add"})\n`);
  console.log(toMarkdown(rows));
}
