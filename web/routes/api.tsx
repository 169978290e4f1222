/**
 * `/api/`: the reference of every export of `mod.ts`, and `/api/source/<file>.html`: a source file with line
 * anchors (a page, not a folder named like the file, so that the static build holds no `.ts` name).
 * @module
 */
import type { VNode } from "preact";
import { type ApiEntry, loadApi } from "../api_docs.ts";
import { Code } from "../components/Code.tsx";
import { Island } from "../components/Island.tsx";
import { Layout } from "../components/Layout.tsx";
import ApiSearch from "../islands/ApiSearch.tsx";

let api: Promise<ApiEntry[]> | undefined;

/**
 * The API entries, read once per process.
 *
 * @example
 * ```ts
 * import { apiEntries } from "./api.tsx";
 * if ((await apiEntries()).length < 100) throw new Error();
 * ```
 */
export function apiEntries(): Promise<ApiEntry[]> {
  return api ??= loadApi();
}

/**
 * The reference page: every entry (readable without JavaScript), with a search box that filters them.
 *
 * @example
 * ```ts
 * import { renderToString } from "preact-render-to-string";
 * import { apiPage } from "./api.tsx";
 * const html = renderToString(await apiPage());
 * if (!html.includes('id="valueAndGrad"') || !html.includes("/api/source/dsl/ops.ts.html#L")) throw new Error();
 * ```
 */
export async function apiPage(): Promise<VNode> {
  const entries = await apiEntries();
  return (
    <Layout title="API reference" path="/api/">
      <h1>API reference</h1>
      <p>
        Every export of <code>mod.ts</code>, generated from{" "}
        <code>deno doc --json</code>. Each name links to its source.
      </p>
      <Island name="ApiSearch" component={ApiSearch} props={{ count: entries.length }} />
      <div class="api">
        {entries.map((e) => (
          <section class="entry" id={e.name} key={e.name} data-name={e.name.toLowerCase()}>
            <h2>
              <a href={`#${e.name}`}>{e.name}</a> <span class="kind">{e.kind}</span>
              <a class="source" href={`/api/source/${e.file}.html#L${e.line}`}>{e.file}:{e.line}</a>
            </h2>
            <pre class="signature"><code>{e.signature}</code></pre>
            {e.doc.split(/\n\n+/).map((p) => <p key={p}>{p}</p>)}
            {e.examples.map((x, i) => <Code key={i} code={x} file="example" />)}
          </section>
        ))}
      </div>
    </Layout>
  );
}

/** The files the reference links to. */
async function sourceFiles(): Promise<Set<string>> {
  return new Set((await apiEntries()).map((e) => e.file));
}

/**
 * A source file the reference links to, with an anchor per line; null for any other path.
 *
 * @example
 * ```ts
 * import { renderToString } from "preact-render-to-string";
 * import { sourcePage } from "./api.tsx";
 * if (!renderToString((await sourcePage("dsl/ops.ts"))!).includes('id="L1"')) throw new Error();
 * if (await sourcePage("../deno.json") !== null) throw new Error();
 * ```
 */
export async function sourcePage(file: string): Promise<VNode | null> {
  if (!(await sourceFiles()).has(file)) return null;
  const lines = (await Deno.readTextFile(new URL(`../../${file}`, import.meta.url))).split("\n");
  return (
    <Layout title={file} path="/api/">
      <p class="crumb">
        <a href="/api/">API reference</a>
      </p>
      <h1>{file}</h1>
      <pre class="source"><code>{lines.map((l, i) => <span key={i} id={`L${i + 1}`} class="line">{`${l}\n`}</span>)}</code></pre>
    </Layout>
  );
}

/**
 * The paths of every source page, for the static build.
 *
 * @example
 * ```ts
 * import { sourcePaths } from "./api.tsx";
 * if (!(await sourcePaths()).includes("/api/source/dsl/ops.ts.html")) throw new Error();
 * ```
 */
export async function sourcePaths(): Promise<string[]> {
  return [...(await sourceFiles())].map((f) => `/api/source/${f}.html`);
}
