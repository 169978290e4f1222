/**
 * `/`: what Loom is, the way in, and a first live model.
 * @module
 */
import type { VNode } from "preact";
import { Code } from "../components/Code.tsx";
import { Island } from "../components/Island.tsx";
import { Layout } from "../components/Layout.tsx";
import { lessonNamed } from "../lessons/mod.ts";
import { firstFrame } from "./guide.tsx";
import { ISLANDS } from "./islands.ts";

const EXAMPLE = `import { grad, jit, tensor } from "/loom/loom.js";

const loss = (w, x, y) => x.matmul(w).sub(y).square().mean();
const step = jit((w, x, y) => w.sub(grad(loss)(w, x, y).mul(0.1)));
let w = tensor([[0], [0]]);
for (let i = 0; i < 100; i++) w = step(w, tensor([[1, 2], [3, 4]]), tensor([[5], [11]]));
console.log(w.arraySync()); // close to [[1], [2]]`;

/**
 * The home page.
 *
 * @example
 * ```ts
 * import { renderToString } from "preact-render-to-string";
 * import { home } from "./home.tsx";
 * if (!renderToString(await home()).includes('data-island="Descent"')) throw new Error();
 * ```
 */
export async function home(): Promise<VNode> {
  const entry = lessonNamed("networks")!;
  const { slug, defaults, limits } = entry.lesson;
  return (
    <Layout title="Neural networks as pure functions" path="/">
      <h1>Loom</h1>
      <p class="lead">
        Neural networks as pure functional TypeScript: trace, differentiate and compile ordinary functions
        over tensors, in Deno and in your browser. Every model on this site trains here, on Loom's own
        WebAssembly backend, in a Web Worker.
      </p>
      <Island
        name="Descent"
        component={ISLANDS.Descent}
        props={{ slug, defaults, limits, choices: {}, first: await firstFrame(entry) }}
      />
      <h2>Start here</h2>
      <ul class="cards">
        <li>
          <a href="/guide/">The guide</a>: the course, one concept per page, each with a model you can train.
        </li>
        <li>
          <a href="/playground/">The playground</a>: write Loom code and run it.
        </li>
        <li>
          <a href="/api/">The API reference</a>: every export, with examples.
        </li>
        <li>
          <a href="/graph/">The graph viewer</a>: what jit traces, simplifies and fuses.
        </li>
        <li>
          <a href="/runs/">Training runs</a>: the metrics of <code>deno task train</code>, live.
        </li>
        <li>
          <a href="/bench/">The benchmark</a>: Loom against TensorFlow.js in your browser.
        </li>
      </ul>
      <h2>Use it in a page</h2>
      <p>
        The site serves Loom's browser build at <a href="/loom/loom.js">/loom/loom.js</a>{" "}
        (one ES module, with its pool worker <code>loom_worker.js</code> beside it):
      </p>
      <Code code={EXAMPLE} file="example.js" />
    </Layout>
  );
}
