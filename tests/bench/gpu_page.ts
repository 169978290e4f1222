/**
 * The browser page of `deno task bench:webgpu`: TF.js with its WebGPU backend and Loom's WebGPU backend in
 * one page, on the same adapter, running the WebGPU workloads; the results go to the runner through the
 * function it exposes (`benchDone`). Bundled for the browser by the runner.
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
// tfjs-core alone has no gradients: training rows need them registered.
import "@tensorflow/tfjs-core/dist/register_all_gradients";
import "@tensorflow/tfjs-backend-webgpu";
import * as L from "../../mod.ts";
import { gpuRows, type Loom } from "./gpu_workloads.ts";
import type { Tf } from "./tfjs.ts";

const { benchDone: report, benchRow, LoomBefore } = globalThis as unknown as {
  benchDone: (json: string) => Promise<void>;
  benchRow: (json: string) => Promise<void>;
  /** Loom at another revision, where the runner bundled one (`--before`). */
  LoomBefore?: Loom;
};
const params = new URLSearchParams(location.search);

try {
  const adapter = await navigator.gpu.requestAdapter();
  const info = adapter?.info;
  const name = info
    ? [info.vendor, info.architecture, info.device, info.description].filter(Boolean).join(" ")
    : "";
  console.log(`[adapter] ${name || "(the adapter gives no name)"} | ${navigator.userAgent}`);
  tf.enableProdMode();
  if (!(await tf.setBackend("webgpu"))) throw new Error("TF.js: the webgpu backend did not initialise");
  await tf.ready();
  await L.setBackend("webgpu");
  await LoomBefore?.setBackend("webgpu");
  const rows = await gpuRows({
    before: LoomBefore,
    tf: tf as unknown as Tf,
    quick: params.has("quick"),
    only: params.get("only")?.split(","),
    log: (m) => console.log(`[bench] ${m}`),
    onRow: (row) => benchRow(JSON.stringify(row)),
  });
  await report(
    JSON.stringify({ adapter: name || "(the adapter gives no name)", userAgent: navigator.userAgent, rows }),
  );
} catch (e) {
  await report(JSON.stringify({ error: e instanceof Error ? `${e.message}\n${e.stack}` : String(e) }));
}
