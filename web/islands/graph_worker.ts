/**
 * The graph viewer's Web Worker: asks Loom's `explain` what a backend compiles a model's training step into,
 * lays out the traced graph and the optimized one, each kernel's equations boxed together (Graphviz through
 * @viz-js/viz, as SVG), and turns each kernel's code into text (WebAssembly through wabt's wasm2wat).
 * Message in: `{ model }` (a name of the zoo) or `{ code }` (playground code that calls `graph`), with
 * `backend` ("cpu" or "webgpu"). Out: the drawing, or `{ error }`.
 * @module
 */
import { instance } from "@viz-js/viz";
import { explain, setBackend } from "../../mod.ts";
import { fromCode, type Traceable, ZOO } from "./graph_models.ts";
import { kernelDot } from "./kernel_dot.ts";
import { kernelText } from "./wat.ts";
import { listen } from "./worker_link.ts";

/** One kernel as the page shows it. */
export interface DrawnKernel {
  id: string;
  kind: string;
  summary: string;
  inputs: string[];
  output: string;
  language: string;
  text: string;
}

/** What the worker posts. */
export interface Drawn {
  backend: string;
  before: { text: string; svg: string; eqns: number };
  after: { text: string; svg: string; eqns: number; kernels: DrawnKernel[] };
  error?: string;
}

listen(async (message: { model?: string; code?: string; backend: string }) => {
  try {
    let traceable: Traceable;
    if (message.code !== undefined) traceable = await fromCode(message.code);
    else {
      const entry = ZOO[message.model ?? ""];
      if (!entry) throw new Error(`no model ${message.model}; pick one of ${Object.keys(ZOO).join(", ")}`);
      traceable = entry.make();
    }
    await setBackend(message.backend);
    const report = explain(traceable.f, ...traceable.inputs);
    const viz = await instance();
    const kernels = await Promise.all(report.kernels.map(async (k, i) => ({
      id: `k${i}`,
      kind: k.kind,
      summary: k.summary,
      inputs: [...k.inputs],
      output: k.output,
      language: k.code.language,
      text: await kernelText(k.code),
    })));
    const drawn: Drawn = {
      backend: report.backend,
      before: {
        text: report.graph.toString(),
        svg: viz.renderString(report.graph.toDot(), { format: "svg" }),
        eqns: report.graph.eqns.length,
      },
      after: {
        text: report.optimized.toString(),
        svg: viz.renderString(kernelDot(report), { format: "svg" }),
        eqns: report.optimized.eqns.length,
        kernels,
      },
    };
    postMessage(drawn);
  } catch (error) {
    postMessage({ error: String((error as Error).message ?? error) });
  }
});
