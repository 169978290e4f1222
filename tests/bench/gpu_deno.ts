/**
 * The Deno half of `deno task bench:webgpu`: Loom alone on Deno's WebGPU (`--unstable-webgpu`), and the
 * transformer training step on Loom's CPU backend for comparison. Prints one JSON line on stdout per
 * result as it comes: `{ "cpuTransformer" }`, `{ "adapter" }`, then `{ "row" }` for each row.
 * @module
 */
import * as L from "../../mod.ts";
import { gpuRows, trainingRow } from "./gpu_workloads.ts";
import { tfTransformer, transformerTraining } from "./transformer.ts";

const quick = Deno.args.includes("--quick");
const only = Deno.args.find((a) => a.startsWith("--only="))?.split("=")[1].split(",");
const log = (m: string) => console.error(`[bench deno] ${m}`);

if (!only || only.includes("transformer")) {
  const row = await trainingRow("transformer on cpu", transformerTraining(), tfTransformer, 65, {
    tf: null,
    quick,
    log,
  });
  console.log(JSON.stringify({ cpuTransformer: row.loom }));
}
const adapter = await navigator.gpu?.requestAdapter();
const info = adapter?.info;
const name = info
  ? [info.vendor, info.architecture, info.device, info.description].filter(Boolean).join(" ")
  : "";
console.log(JSON.stringify({ adapter: name || "(no name)" }));
await L.setBackend("webgpu");
await gpuRows({ tf: null, quick, only, log, onRow: (row) => console.log(JSON.stringify({ row })) });
Deno.exit(0);
