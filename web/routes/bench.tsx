/**
 * `/bench/`: Loom against TensorFlow.js, in the visitor's browser.
 * @module
 */
import type { VNode } from "preact";
import { Island } from "../components/Island.tsx";
import { Layout } from "../components/Layout.tsx";
import Bench from "../islands/Bench.tsx";

/**
 * The page.
 *
 * @example
 * ```ts
 * import { renderToString } from "preact-render-to-string";
 * import { benchPage } from "./bench.tsx";
 * if (!renderToString(benchPage()).includes('data-island="Bench"')) throw new Error();
 * ```
 */
export function benchPage(): VNode {
  return (
    <Layout title="Benchmark" path="/bench/">
      <h1>Benchmark</h1>
      <p>
        Loom and TensorFlow.js on the same work, in this browser: matmuls of 128, 256 and 512 (capped so no
        browser hangs) and one training step of a small MLP. Loom runs on its CPU backend (WebAssembly SIMD,
        all cores where the page is cross-origin isolated) and on WebGPU where the browser has it; TF.js on
        its cpu backend. Medians of 5 runs after a warm-up.
      </p>
      <Island name="Bench" component={Bench} props={{}} />
    </Layout>
  );
}
