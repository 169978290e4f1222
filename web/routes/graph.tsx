/**
 * `/graph/`: the graph viewer.
 * @module
 */
import type { VNode } from "preact";
import { Island } from "../components/Island.tsx";
import { Layout } from "../components/Layout.tsx";
import GraphViewer from "../islands/GraphViewer.tsx";
import { ZOO } from "../islands/graph_models.ts";

/**
 * The page.
 *
 * @example
 * ```ts
 * import { renderToString } from "preact-render-to-string";
 * import { graphPage } from "./graph.tsx";
 * if (!renderToString(graphPage()).includes('data-island="GraphViewer"')) throw new Error();
 * ```
 */
export function graphPage(): VNode {
  return (
    <Layout title="Graph viewer" path="/graph/">
      <h1>Graph viewer</h1>
      <p>
        <code>jit</code>{" "}
        traces a function into a graph of primitives, and a backend compiles the graph: it simplifies it
        (constant folding, algebraic rewrites, common subexpressions, dead code), then fuses it: chains of
        elementwise ops and the movement ops between them become one loop, reductions absorb the chain that
        feeds them, matmuls read transposed operands in place. <code>explain(f, ...inputs)</code>{" "}
        reports what the current backend makes of <code>f</code>{" "}
        without running it; this page draws that report for one training step (loss and gradient) of a model,
        traced in your browser. Each coloured box is one kernel; click it for the code the backend generated:
        WebAssembly (shown as text by wabt's{" "}
        <code>wasm2wat</code>) or JavaScript on the CPU backend, WGSL on WebGPU. In the{" "}
        <a href="/playground/">playground</a>, <code>graph(f, ...inputs)</code> sends your own function here.
      </p>
      <Island
        name="GraphViewer"
        component={GraphViewer}
        props={{ models: Object.fromEntries(Object.entries(ZOO).map(([name, m]) => [name, m.title])) }}
      />
    </Layout>
  );
}
