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
        Loom and TensorFlow.js on the same work, in this browser: matmuls of 128, 256 and 512 (at most 1024,
        so that no browser hangs) and one training step of a small MLP (forward, gradients, SGD update). On
        the CPU, Loom's backend (WebAssembly SIMD kernels it generates, all cores where the page is
        cross-origin isolated) against TF.js's wasm backend (XNNPACK, threads likewise); on WebGPU, where the
        browser has it, both libraries' WebGPU backends. Each number is the median of 5 runs after a warm-up,
        until the result is read back. <code>?sizes=256,1024&amp;repeats=3</code>{" "}
        in the address changes the work.
      </p>
      <Island name="Bench" component={Bench} props={{}} />
    </Layout>
  );
}
