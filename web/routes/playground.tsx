/**
 * `/playground/`: write Loom code and run it in the browser.
 * @module
 */
import type { VNode } from "preact";
import { Island } from "../components/Island.tsx";
import { Layout } from "../components/Layout.tsx";
import Playground from "../islands/Playground.tsx";

/**
 * The page.
 *
 * @example
 * ```ts
 * import { renderToString } from "preact-render-to-string";
 * import { playgroundPage } from "./playground.tsx";
 * if (!renderToString(playgroundPage()).includes('data-island="Playground"')) throw new Error();
 * ```
 */
export function playgroundPage(): VNode {
  return (
    <Layout title="Playground" path="/playground/">
      <h1>Playground</h1>
      <p>
        Write JavaScript against Loom (all of <code>mod.ts</code> as <code>loom</code>);{" "}
        <code>print(...)</code> shows values, <code>plot(step, value)</code> draws a curve and{" "}
        <code>graph(f, ...inputs)</code> sends <code>f</code> to the{" "}
        <a href="/graph/">graph viewer</a>. The code runs in a Web Worker; “Share link” puts it in the
        address.
      </p>
      <Island name="Playground" component={Playground} props={{}} />
    </Layout>
  );
}
