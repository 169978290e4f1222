/**
 * `deno task docs:build`: writes the whole site as static files (HTML, JS, wasm) to `web/dist/` (`--out DIR`
 * for another folder), for any static host. No server code goes in: the dashboard there says it needs
 * `deno task docs`. A `_headers` file asks hosts that read one for the cross-origin isolation headers; without
 * them the pages still run, on one thread.
 * @module
 */
import { renderToString } from "preact-render-to-string";
import { buildAssets } from "./build.ts";
import { renderPage, sitePaths } from "./routes/mod.ts";
import { SECURITY_HEADERS } from "./server.ts";

/** Copies a folder's files into another, recursively. */
async function copyTree(from: string, to: string): Promise<void> {
  await Deno.mkdir(to, { recursive: true });
  for await (const e of Deno.readDir(from)) {
    if (e.isDirectory) await copyTree(`${from}/${e.name}`, `${to}/${e.name}`);
    else if (e.isFile) await Deno.copyFile(`${from}/${e.name}`, `${to}/${e.name}`);
  }
}

/**
 * Builds the static site into `out` and returns the pages written.
 *
 * @example
 * ```ts ignore
 * const pages = await buildSite("web/dist");
 * ```
 */
export async function buildSite(out: string): Promise<string[]> {
  await buildAssets();
  await Deno.remove(out, { recursive: true }).catch(() => {});
  await copyTree(new URL("./static", import.meta.url).pathname, out);
  const paths = await sitePaths();
  for (const path of paths) {
    const page = await renderPage(path, { live: false });
    if (!page) throw new Error(`no page at ${path}`);
    // A folder's index.html, or a source page's own file.
    const file = path.endsWith("/") ? `${out}${path}index.html` : `${out}${path}`;
    await Deno.mkdir(file.slice(0, file.lastIndexOf("/")), { recursive: true });
    await Deno.writeTextFile(file, `<!DOCTYPE html>${renderToString(page)}`);
  }
  const headers = Object.entries(SECURITY_HEADERS).map(([k, v]) => `  ${k}: ${v}`).join("\n");
  await Deno.writeTextFile(`${out}/_headers`, `/*\n${headers}\n`);
  return paths;
}

if (import.meta.main) {
  const i = Deno.args.indexOf("--out");
  const extra = Deno.args.filter((_, j) => !(j === i || j === i + 1));
  if (extra.length > 0 || (i >= 0 && !Deno.args[i + 1])) {
    console.error("deno task docs:build: the only option is --out DIR");
    Deno.exit(2);
  }
  const out = i >= 0 ? Deno.args[i + 1] : new URL("./dist", import.meta.url).pathname;
  const pages = await buildSite(out);
  console.log(`wrote ${pages.length} pages to ${out}`);
}
