/**
 * `/runs/`: the training dashboard.
 * @module
 */
import type { VNode } from "preact";
import { Island } from "../components/Island.tsx";
import { Layout } from "../components/Layout.tsx";
import Runs from "../islands/Runs.tsx";
import type { PageContext } from "./mod.ts";

/**
 * The page.
 *
 * @example
 * ```ts
 * import { renderToString } from "preact-render-to-string";
 * import { runsPage } from "./runs.tsx";
 * if (!renderToString(runsPage({ live: true })).includes('data-island="Runs"')) throw new Error();
 * ```
 */
export function runsPage(context: PageContext): VNode {
  return (
    <Layout title="Training runs" path="/runs/">
      <h1>Training runs</h1>
      <p>
        Each <code>deno task train</code> run writes a directory under <code>runs/</code>{" "}
        with its config, its status and one line of metrics per report. This page lists them, plots the
        metrics of the runs you tick on one chart, and follows running ones live.
      </p>
      <Island name="Runs" component={Runs} props={{ live: context.live }} />
    </Layout>
  );
}
