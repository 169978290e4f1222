/**
 * The playground's Web Worker: runs the visitor's code as the body of an async function with `loom` (the
 * whole of mod.ts), `print`, `plot` and `graph` in scope, and posts what it prints and plots, and the size of
 * what `graph(f, ...inputs)` compiles to (the graph viewer draws it).
 * @module
 */
import * as loom from "../../mod.ts";
import { listen } from "./worker_link.ts";

listen(async (message: { code: string }) => {
  const print = (...values: unknown[]) =>
    postMessage({
      type: "print",
      text: values.map((v) => (typeof v === "string"
        ? v
        : v instanceof loom.Tensor
        ? JSON.stringify(v.arraySync())
        : JSON.stringify(v))
      ).join(" "),
    });
  const plot = (step: number, value: number) => postMessage({ type: "plot", step, value });
  const graph = (f: (...args: any[]) => unknown, ...inputs: unknown[]) => {
    const report = loom.explain(f, ...inputs);
    postMessage({
      type: "graph",
      text:
        `${report.graph.eqns.length} equations traced, ${report.kernels.length} kernels on ${report.backend}`,
    });
  };
  postMessage({
    type: "backend",
    name: loom.getBackend().name,
    threads: globalThis.crossOriginIsolated ? navigator.hardwareConcurrency : 1,
  });
  try {
    const AsyncFunction = Object.getPrototypeOf(async () => {}).constructor;
    await new AsyncFunction("loom", "print", "plot", "graph", message.code)(loom, print, plot, graph);
    postMessage({ type: "done" });
  } catch (error) {
    postMessage({ type: "error", text: String((error as Error)?.stack ?? error) });
  }
});
