/**
 * `/graph/`: the graph viewer.
 * @module
 */
import type { VNode } from "preact";
import { Island } from "../components/Island.tsx";
import { Layout } from "../components/Layout.tsx";
import GraphViewer from "../islands/GraphViewer.tsx";

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
        traces a function into a graph of primitives, simplifies it (constant folding, algebraic rewrites,
        common subexpressions, dead code), then fuses it: chains of elementwise ops and the movement ops
        between them become one loop, reductions absorb the chain that feeds them, matmuls read transposed
        operands in place. Below is one training step (loss and gradient) of a model, traced in your browser.
      </p>
      <Island name="GraphViewer" component={GraphViewer} props={{ models: ["mlp", "attention"] }} />
    </Layout>
  );
}
