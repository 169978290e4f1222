/**
 * `deno task bench`: Loom's CPU backend against TensorFlow.js (wasm and cpu backends, in the same process
 * and run) and numpy, on kernels and on whole training steps. Prints one markdown table on stdout
 * (progress goes to stderr) and writes it to `tests/bench/results.md`.
 *
 * Flags: `--quick` for a 1-2 minute smoke run; `--only=sgemm,mlp,...` to run some workloads (results.md
 * is then left alone). `LOOM_THREADS` sets Loom's threads (default: every core).
 *
 * Each workload runs in a child process of its own (`--workload=NAME`, which prints its rows as JSON), so
 * that rows stay independent: V8 heap, JIT state, resident memory for the memory row, and Loom's
 * WebAssembly memory. That memory never shrinks, and the timing loops here never yield to the event loop,
 * where the FinalizationRegistry callbacks that return dropped tensors' blocks run: in one process for all
 * workloads it kept growing from row to row (2.2 GiB after the sgemm rows when their operands came from
 * eager random ops), and a plain `for` loop dropping 16 MB results fails after about 240 calls with
 * "cannot grow WebAssembly memory to 4299554560 bytes".
 * @module
 */
import { cpus } from "node:os";
import { type BenchOptions, progress, type Row, row, toMarkdown } from "./harness.ts";
import { setupLoomCpu } from "./loom.ts";
import { loadTfjs, type TfSetup, wasmThreads } from "./tfjs.ts";
import { matmulRows } from "./matmul.ts";
import { elementwiseRows } from "./elementwise.ts";
import { softmaxRows } from "./softmax.ts";
import { mlpRows } from "./mlp.ts";
import { lstmRows } from "./lstm.ts";
import { transformerRows } from "./transformer.ts";
import { skipgramRows } from "./skipgram.ts";
import { memoryRows } from "./memory.ts";
import { jaxStep } from "./jax.ts";
import { word2vecRunRows } from "./word2vec_runs.ts";

type Workload = (options: BenchOptions, tfjs: TfSetup | null) => Promise<Row[]>;

/** The workloads, in table order, with environment variables their process gets. */
const WORKLOADS: [string, Workload, Record<string, string>?][] = [
  ["sgemm", matmulRows],
  ["elementwise", elementwiseRows],
  ["softmax", softmaxRows],
  ["mlp", mlpRows],
  ["lstm", lstmRows],
  ["transformer", transformerRows],
  // word2vec.c reports words per second per thread: compare at one thread as well as at all cores.
  ["skipgram-1", skipgramRows, { LOOM_THREADS: "1" }],
  ["skipgram", skipgramRows],
  ["word2vec-runs", (options) => word2vecRunRows(options)],
  ["memory", memoryRows],
];

/**
 * V8 flags a workload's process gets beyond the common ones. The memory row fixes the size of V8's young
 * generation (two 16 MiB semi-spaces): V8 otherwise grows it at a step its heuristics pick (seen anywhere
 * from before step 100 to step 2000), which raised the resident size by ~30 MB in one go while the
 * JavaScript memory in use stayed between 15 and 45 MB, and so measured V8's sizing rather than Loom.
 */
const EXTRA_V8_FLAGS: Record<string, string> = {
  memory: ",--min-semi-space-size=16,--max-semi-space-size=16",
};

/** Workloads with no TF.js contender: their processes do not load it (the memory row measures Loom alone). */
const WITHOUT_TFJS = new Set(["skipgram-1", "skipgram", "word2vec-runs", "memory"]);

/** What a child process reports. */
interface ChildReport {
  /** The workload's rows. */
  rows: Row[];
  /** Loom's threads. */
  threads: number;
  /** Whether Loom's sgemm used fused multiply-add. */
  relaxed: boolean;
  /** TF.js state, for the footnotes: null when it did not load. */
  tfjs: { wasmThreads: boolean } | null;
  /** Size of Loom's WebAssembly memory at the end, in bytes. */
  loomMemory: number;
}

interface Args {
  quick: boolean;
  only: Set<string> | null;
  workload: string | null;
}

function parseArgs(args: readonly string[]): Args {
  const known = WORKLOADS.map(([name]) => name);
  const parsed: Args = { quick: false, only: null, workload: null };
  for (const arg of args) {
    if (arg === "--quick") parsed.quick = true;
    else if (arg.startsWith("--only=")) parsed.only = new Set(arg.slice("--only=".length).split(","));
    else if (arg.startsWith("--workload=")) parsed.workload = arg.slice("--workload=".length);
    else throw new Error(`bench: unknown argument ${arg}; use --quick and/or --only=${known}`);
  }
  const unknown = [...(parsed.only ?? []), ...(parsed.workload ? [parsed.workload] : [])]
    .filter((name) => !known.includes(name));
  if (unknown.length) throw new Error(`bench: unknown workload ${unknown}; known: ${known}`);
  return parsed;
}

/** Child side: runs one workload and prints a {@linkcode ChildReport} as JSON on stdout. */
async function runWorkload(name: string, quick: boolean): Promise<void> {
  const { runtime } = await setupLoomCpu();
  const tfjs = WITHOUT_TFJS.has(name) ? null : await loadTfjs();
  const workload = WORKLOADS.find(([n]) => n === name)![1];
  let rows: Row[];
  try {
    rows = await workload({
      quick,
      threads: runtime.threads,
      loomMemory: () => runtime.memory.buffer.byteLength,
    }, tfjs);
  } catch (error) {
    // A failing workload is a finding to report, not a reason to lose the other rows.
    const message = error instanceof Error ? error.message : String(error);
    progress(`${name} failed: ${error instanceof Error ? error.stack : error}`);
    rows = [row(name, { loom: "failed", notes: `error: ${message.split("\n")[0]}` })];
  }
  const loomMemory = runtime.memory.buffer.byteLength;
  progress(`${name} done; Loom's WebAssembly memory is ${(loomMemory / 2 ** 20).toFixed(0)} MiB`);
  runtime.close();
  const report: ChildReport = {
    rows,
    threads: runtime.threads,
    relaxed: runtime.relaxed,
    tfjs: tfjs && { wasmThreads: wasmThreads(tfjs) },
    loomMemory,
  };
  console.log(JSON.stringify(report));
}

/** Parent side: one child per workload, with this process's V8 flags; a crashed child becomes a failed row. */
async function spawnWorkload(
  name: string,
  quick: boolean,
  env: Record<string, string> = {},
): Promise<ChildReport | null> {
  const args = [
    "run",
    "--allow-read",
    "--allow-write",
    "--allow-env",
    "--allow-run",
    "--allow-sys",
    `--v8-flags=--max-old-space-size=8192${EXTRA_V8_FLAGS[name] ?? ""}`,
    new URL(import.meta.url).pathname,
    `--workload=${name}`,
    ...(quick ? ["--quick"] : []),
  ];
  const child = new Deno.Command(Deno.execPath(), { args, env, stdout: "piped", stderr: "inherit" }).spawn();
  const { code, stdout } = await child.output();
  const lines = new TextDecoder().decode(stdout).trim().split("\n");
  try {
    return JSON.parse(lines[lines.length - 1]) as ChildReport;
  } catch {
    progress(`${name}: the child process exited with code ${code} without a report`);
    return null;
  }
}

/** The processor's name, for the header (node:os needs --allow-sys; Deno reads /proc only with -A). */
function cpuName(): string {
  try {
    return cpus()[0]?.model ?? "unknown CPU";
  } catch {
    return "unknown CPU";
  }
}

/** How to read the table: what was measured and how, and what differs between the sides. */
function footnotes(tfjs: ChildReport["tfjs"]): string[] {
  return [
    "- Times are medians of the timed calls that follow warm-up (two calls for Loom, whose first call " +
    "traces and compiles; one for the others); the contenders of a row run " +
    'interleaved in one process. "(1 run)" or "(2 runs)" marks a median of fewer than 3 calls (slow ' +
    "contenders get fewer repetitions). Loom / TF.js wasm is a ratio of times: below 1, Loom is faster. " +
    "Each workload runs in a fresh process, and every timed call starts after a task boundary (untimed), where " +
    "Loom's finalizers return dropped results' memory as TF.js's dispose() does.",
    tfjs
      ? `- TF.js 4.22.0 (tfjs-core; gradients registered by @tensorflow/tfjs): the wasm backend (XNNPACK)${
        tfjs.wasmThreads ? "" : " runs on one thread, since Deno gives it no cross-origin-isolated workers"
      }; the cpu backend is plain JavaScript. Backward passes multiply by transposed matrices: compare the ` +
        "two 512 sgemm rows for what that costs each library."
      : "- TF.js could not be loaded, so its columns are n/a.",
    "- Training rows: the same model, initial weights (Loom's init, copied into TF.js variables), batch and " +
    "Adam (eps 1e-8) on both sides, so the step-1 losses must agree; TF.js does forward, backward and update " +
    "with optimizer.minimize, Loom with one jit of valueAndGrad and optim.adam, params and state donated.",
    "- numpy: `a @ b` in float32 in a python3 process that stays up, its BLAS with its default threads (told " +
    "to sleep as soon as a product ends); it is timed in the same rounds as the other sgemm contenders, one " +
    "call each per round, and the notes give Loom / numpy as the median of the rounds' ratios.",
  ];
}

async function main(): Promise<void> {
  const { quick, only, workload } = parseArgs(Deno.args);
  if (workload) return await runWorkload(workload, quick);
  const started = performance.now();
  // Other processes on the 2 cores skew every timing: the load average says how busy the machine was.
  const loadBefore = Deno.loadavg()[0];
  const rows: Row[] = [];
  let meta: ChildReport | undefined;
  for (const [name, , env] of WORKLOADS) {
    if (only && !only.has(name)) continue;
    const report = await spawnWorkload(name, quick, env);
    if (report) {
      // JAX right after Loom's row, in the same minutes of this shared machine.
      const jax = await jaxStep(name, quick);
      if (jax !== "n/a") {
        for (const r of report.rows) {
          const loomMs = Number.parseFloat(r.loom) *
            (r.loom.includes(" s") && !r.loom.includes("ms") ? 1000 : 1);
          r.jax = typeof jax === "number" ? `${jax < 100 ? jax.toFixed(1) : jax.toFixed(0)} ms` : jax;
          if (typeof jax === "number" && Number.isFinite(loomMs)) {
            r.notes = `Loom / JAX ${(loomMs / jax).toFixed(2)}. ${r.notes}`;
          }
        }
      }
      rows.push(...report.rows);
      meta ??= report;
    } else {
      rows.push(row(name, { loom: "failed", notes: "the process crashed: see its output on stderr" }));
    }
  }
  const took = `${((performance.now() - started) / 60_000).toFixed(1)} min`;
  const command = `deno task bench${Deno.args.length ? ` ${Deno.args.join(" ")}` : ""}`;
  const date = new Date().toISOString().slice(0, 10);
  const threads = meta ? `${meta.threads} thread${meta.threads > 1 ? "s" : ""}` : "? threads";
  const simd = meta?.relaxed ? "relaxed-SIMD FMA" : "SIMD mul+add";
  const report = [
    `\`${command}\` on ${date}: ${cpuName()}, ${navigator.hardwareConcurrency} cores; ` +
    `Deno ${Deno.version.deno}; Loom cpu backend with ${threads} (${simd}); the run took ${took}; ` +
    `1-minute load average ${loadBefore.toFixed(2)} before it, ${Deno.loadavg()[0].toFixed(2)} after.`,
    "",
    toMarkdown(rows),
    "",
    ...footnotes(meta ? meta.tfjs : null),
  ].join("\n");
  console.log(only ? report : await writeResults(report));
}

/**
 * Writes results.md and formats it with `deno fmt` (the repository's fmt check covers markdown); returns
 * the formatted text, so that the table printed is the one in the file.
 */
async function writeResults(report: string): Promise<string> {
  const file = new URL("./results.md", import.meta.url);
  await Deno.writeTextFile(file, `${report}\n`);
  // From the repository root, so that deno.json's fmt settings apply.
  const root = new URL("../../", import.meta.url).pathname;
  const fmt = await new Deno.Command(Deno.execPath(), { args: ["fmt", "--quiet", file.pathname], cwd: root })
    .output();
  if (!fmt.success) progress(`deno fmt results.md failed: ${new TextDecoder().decode(fmt.stderr)}`);
  return await Deno.readTextFile(file);
}

if (import.meta.main) await main();
