/**
 * `deno task bench:webgpu`: Loom's WebGPU backend beside TF.js's (`@tensorflow/tfjs-backend-webgpu` 4.22) on
 * the same adapter in one headless Chromium page (TF.js's WebGPU backend does not start under Deno's
 * WebGPU: tensorflow/tfjs#8518), then Loom alone in Deno (its own WebGPU, and its CPU backend for the
 * transformer step). Prints a markdown table and writes it to `tests/bench/webgpu_results.md`.
 *
 * Flags: `--quick` (a smoke run), `--only=sgemm,softmax,...`, `--no-deno` (the browser page only),
 * `--budget=SECONDS` and `--deno-budget=SECONDS` (the page's and the Deno run's time, default 3600 and 1800;
 * past it, the rows measured so far), `--before=REV` (Loom at git revision REV timed in the same page beside
 * this tree's, in the kernel rows: a before/after column),
 * `--chromium=PATH` (default /usr/bin/chromium). `LOOM_CHROMIUM_FLAGS` adds Chromium flags (for a real GPU:
 * `--enable-features=Vulkan --use-vulkan=native --ignore-gpu-blocklist`, see gpu.sh).
 * @module
 */
import { chromium } from "playwright-core";
import type { GpuRow } from "./gpu_workloads.ts";
import type { Timing } from "./harness.ts";

const root = new URL("../../", import.meta.url).pathname;
const args = Deno.args;
const flag = (name: string) => args.find((a) => a.startsWith(`--${name}=`))?.split("=")[1];
const quick = args.includes("--quick");
const only = flag("only");
const executablePath = flag("chromium") ?? "/usr/bin/chromium";
const before = flag("before");

/** What the page reports. */
interface PageReport {
  adapter?: string;
  userAgent?: string;
  rows?: GpuRow[];
  error?: string;
}

/** Runs a command in the repository; its stdout, or an error with its stderr. */
async function run(command: string, args: string[]): Promise<Uint8Array> {
  const out = await new Deno.Command(command, { args, cwd: root, stdout: "piped", stderr: "piped" }).output();
  if (!out.success) {
    throw new Error(`${command} ${args.join(" ")} failed:\n${new TextDecoder().decode(out.stderr)}`);
  }
  return out.stdout;
}

/**
 * The page's entry: the page itself, and with `--before=REV` first a module that puts Loom at revision REV
 * (extracted with `git archive` into `dir`) on `globalThis.LoomBefore`.
 */
async function pageEntry(dir: string): Promise<string> {
  const page = `${root}tests/bench/gpu_page.ts`;
  if (!before) return page;
  const tree = `${dir}/before`;
  await Deno.mkdir(tree);
  await Deno.writeFile(`${dir}/before.tar`, await run("git", ["archive", before]));
  await run("tar", ["-xf", `${dir}/before.tar`, "-C", tree]);
  await Deno.writeTextFile(
    `${dir}/before_global.ts`,
    `import * as Loom from "${tree}/mod.ts";\n(globalThis as Record<string, unknown>).LoomBefore = Loom;\n`,
  );
  await Deno.writeTextFile(`${dir}/entry.ts`, `import "./before_global.ts";\nimport "${page}";\n`);
  return `${dir}/entry.ts`;
}

async function bundlePage(dir: string): Promise<void> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "bundle",
      "--config",
      `${root}deno.json`,
      "--platform",
      "browser",
      "--format",
      "esm",
      "-o",
      `${dir}/page.js`,
      await pageEntry(dir),
    ],
    cwd: root,
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) throw new Error(`deno bundle failed:\n${new TextDecoder().decode(out.stderr)}`);
}

/** Runs the page in headless Chromium and returns its report. */
async function inChromium(): Promise<PageReport> {
  const dir = await Deno.makeTempDir();
  await bundlePage(dir);
  await Deno.writeTextFile(
    `${dir}/index.html`,
    `<!doctype html><meta charset="utf-8"><title>Loom WebGPU bench</title><script type="module" src="page.js"></script>`,
  );
  const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen: () => {} }, async (request) => {
    const path = new URL(request.url).pathname;
    const file = path === "/" ? "index.html" : path.slice(1);
    if (file !== "index.html" && file !== "page.js") return new Response("not found", { status: 404 });
    const type = file.endsWith(".js") ? "text/javascript" : "text/html";
    return new Response(await Deno.readFile(`${dir}/${file}`), { headers: { "content-type": type } });
  });
  const profile = await Deno.makeTempDir();
  const extra = (Deno.env.get("LOOM_CHROMIUM_FLAGS") ?? "").split(/\s+/).filter(Boolean);
  const browser = await chromium.launchPersistentContext(profile, {
    executablePath,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--enable-unsafe-webgpu",
      ...extra,
    ],
  });
  try {
    const page = await browser.newPage();
    let finish: (report: PageReport) => void = () => {};
    const done = new Promise<PageReport>((resolve) => (finish = resolve));
    const rows: GpuRow[] = [];
    await page.exposeFunction("benchRow", (json: string) => rows.push(JSON.parse(json)));
    await page.exposeFunction("benchDone", (json: string) => finish(JSON.parse(json)));
    // Past the time budget, the rows measured so far.
    const budget = Number(flag("budget") ?? 3600);
    const timer = setTimeout(() => finish({ rows, error: `stopped after ${budget} s` }), budget * 1000);
    page.on("crash", () => finish({ error: "the page crashed" }));
    browser.on("close", () => finish({ error: "Chromium closed" }));
    let adapterName: string | undefined;
    let userAgent: string | undefined;
    page.on("console", (m) => {
      const text = m.text();
      if (text.startsWith("[adapter] ")) [adapterName, userAgent] = text.slice(10).split(" | ");
      console.error(`[chromium] ${text}`);
    });
    page.on("pageerror", (e) => console.error(`[chromium] page error: ${e.message}`));
    const query = [quick ? "quick" : "", only ? `only=${only}` : ""].filter(Boolean).join("&");
    await page.goto(`http://127.0.0.1:${server.addr.port}/${query ? `?${query}` : ""}`);
    const report = await done;
    clearTimeout(timer);
    return { adapter: adapterName, userAgent, ...report, rows: report.rows ?? rows };
  } finally {
    await browser.close();
    await server.shutdown();
    await Deno.remove(profile, { recursive: true });
    await Deno.remove(dir, { recursive: true });
  }
}

/** The transformer step on Loom's two backends in Deno, timed in the same rounds. */
interface DenoTransformer {
  cpu?: Timing;
  webgpu?: Timing;
  notes: string[];
}

/**
 * Runs Loom alone in a Deno child process (its WebGPU, and its CPU backend for the transformer step); past
 * `budget` seconds, the results it has printed so far.
 */
async function inDeno(budget: number): Promise<PageReport & { transformer?: DenoTransformer }> {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--unstable-webgpu",
      "--allow-read",
      "--allow-env",
      "--v8-flags=--max-old-space-size=8192",
      "tests/bench/gpu_deno.ts",
      ...(quick ? ["--quick"] : []),
      ...(only ? [`--only=${only}`] : []),
    ],
    cwd: root,
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const timer = setTimeout(() => child.kill(), budget * 1000);
  const out = await child.output();
  clearTimeout(timer);
  const report: PageReport & { transformer?: DenoTransformer } = { rows: [] };
  for (const line of new TextDecoder().decode(out.stdout).split("\n").filter(Boolean)) {
    const item = JSON.parse(line);
    if (item.row) report.rows!.push(item.row);
    else Object.assign(report, item);
  }
  if (!out.success) {
    report.error = `the Deno run stopped (exit ${out.code}${out.signal ? `, ${out.signal}` : ""})`;
  }
  return report;
}

const ms = (
  t?: Timing,
) => (t ? (t.ms >= 100 ? t.ms.toPrecision(3) : t.ms.toFixed(t.ms >= 10 ? 1 : 2)) : "n/a");
const cell = (t?: Timing, flops?: number) =>
  t ? `${ms(t)} ms${flops ? ` · ${(flops / t.ms / 1e6).toFixed(1)} GFLOP/s` : ""}` : "n/a";
const speedup = (
  loom?: Timing,
  other?: Timing,
) => (loom && other ? `${(other.ms / loom.ms).toFixed(2)}x` : "n/a");

const browser = await inChromium().catch((e: Error) => ({ error: e.message }) as PageReport);
const deno = args.includes("--no-deno") ? undefined : await inDeno(Number(flag("deno-budget") ?? 1800));
const lines: string[] = [];
// How to reproduce the table, and how busy the machine was (shared: other jobs move the times).
const load = Deno.loadavg().map((l) => l.toFixed(1)).join(", ");
lines.push(
  `\`deno task bench:webgpu${args.length ? ` ${args.join(" ")}` : ""}\`, ${new Date().toISOString()}`,
);
lines.push(`load average at the end: ${load}`);
lines.push(
  `Chromium (${browser.userAgent?.match(/Chrome\/[\d.]+/)?.[0] ?? "?"}), adapter: ${
    browser.adapter ?? "none"
  }`,
);
if (deno) lines.push(`Deno ${Deno.version.deno} (--unstable-webgpu), adapter: ${deno.adapter ?? "none"}`);
lines.push("");
const beforeColumn = before
  ? ` Loom webgpu at ${before} (Chromium) | speedup of this tree over ${before} |`
  : "";
lines.push(
  `| workload | Loom webgpu (Chromium) | TF.js webgpu (Chromium) | Loom speedup (TF.js time / Loom time) |${beforeColumn} Loom webgpu (Deno) | notes |`,
);
lines.push(`| --- | ---: | ---: | ---: |${before ? " ---: | ---: |" : ""} ---: | --- |`);
const denoRows = new Map((deno?.rows ?? []).map((r) => [r.label, r]));
/** Timed calls behind the medians, where few (slow contenders). */
const calls = (r: GpuRow) => {
  const few = [["Loom", r.loom], ["TF.js", r.tfjs], [before, r.before]].filter(([, t]) =>
    t && (t as Timing).reps < 3
  );
  return few.length ? [`timed calls: ${few.map(([n, t]) => `${n} ${(t as Timing).reps}`).join(", ")}`] : [];
};
for (const r of browser.rows ?? []) {
  // The transformer's Deno step is the one timed beside the CPU backend.
  const transformer = r.label.startsWith("train step: transformer") ? deno?.transformer?.webgpu : undefined;
  const d = denoRows.get(r.label) ?? (transformer ? { loom: transformer } : undefined);
  const beforeCells = before ? ` ${cell(r.before, r.flops)} | ${speedup(r.loom, r.before)} |` : "";
  // A "|" inside a cell would end it.
  const notes = [...r.notes, ...calls(r)].join("; ").replaceAll("|", "\\|");
  lines.push(
    `| ${r.label} | ${cell(r.loom, r.flops)} | ${cell(r.tfjs, r.flops)} | ${
      speedup(r.loom, r.tfjs)
    } |${beforeCells} ${cell(d?.loom, r.flops)} | ${notes} |`,
  );
}
if (deno?.transformer) {
  const { cpu, webgpu, notes } = deno.transformer;
  lines.push("");
  lines.push(
    `Transformer training step in Deno, timed in the same rounds: Loom cpu ${cell(cpu)}, Loom webgpu ${
      cell(webgpu)
    } (webgpu time / cpu time: ${cpu && webgpu ? (webgpu.ms / cpu.ms).toFixed(2) : "n/a"}; ${
      notes.join("; ")
    }).`,
  );
}
if (browser.error) lines.push(`\nChromium run failed: ${browser.error}`);
if (deno?.error) lines.push(`\nDeno run failed: ${deno.error}`);
const table = lines.join("\n");
console.log(table);
if (!quick && !only) {
  const file = `${root}tests/bench/webgpu_results.md`;
  await Deno.writeTextFile(file, `${table}\n`);
  // Formatted as the repository's fmt check wants markdown, from the root so that deno.json's settings apply.
  const fmt = await new Deno.Command(Deno.execPath(), {
    args: ["fmt", "--quiet", file],
    cwd: root,
    stderr: "piped",
  })
    .output();
  if (!fmt.success) console.error(`deno fmt ${file} failed: ${new TextDecoder().decode(fmt.stderr)}`);
}
