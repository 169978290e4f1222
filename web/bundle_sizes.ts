/**
 * What each island and worker costs a visitor: its bundle plus every chunk it imports statically (the chunks
 * the code-split build shares: Preact, Loom, Observable Plot), in bytes and gzip bytes. Chunks imported
 * lazily (CodeMirror, wabt) are not counted in, as they load only when used.
 * @module
 */

/** Sizes of one file or of a bundle with its chunks. */
export interface Size {
  bytes: number;
  gzip: number;
}

/** The names of the files a minified ES module imports statically (`from"./x.js"`, `import"./x.js"`). */
function staticImports(code: string): string[] {
  return [...code.matchAll(/(?:\bfrom|\bimport)\s*["']\.\/([\w.-]+\.js)["']/g)].map((m) => m[1]);
}

/**
 * For each of `entries` (file names in `dir`), its size with the chunks it imports statically, transitively;
 * `sizes` holds each file's own size by name.
 *
 * @example
 * ```ts
 * import { withChunks } from "./bundle_sizes.ts";
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${dir}/A.js`, 'import{h}from"./chunk-1.js";');
 * await Deno.writeTextFile(`${dir}/chunk-1.js`, 'import"./chunk-2.js";export const h=1;');
 * await Deno.writeTextFile(`${dir}/chunk-2.js`, "");
 * const one = { bytes: 1, gzip: 1 };
 * const total = await withChunks(dir, ["A.js"], { "A.js": one, "chunk-1.js": one, "chunk-2.js": one });
 * if (total["A.js"].bytes !== 3 || "chunk-1.js" in total) throw new Error(JSON.stringify(total));
 * ```
 */
export async function withChunks(
  dir: string,
  entries: readonly string[],
  sizes: Record<string, Size>,
): Promise<Record<string, Size>> {
  const imports = new Map<string, string[]>();
  for (const name of Object.keys(sizes)) {
    if (name.endsWith(".js")) imports.set(name, staticImports(await Deno.readTextFile(`${dir}/${name}`)));
  }
  const totals: Record<string, Size> = {};
  for (const entry of entries) {
    const seen = new Set<string>();
    const visit = (name: string) => {
      if (seen.has(name) || !sizes[name]) return;
      seen.add(name);
      imports.get(name)?.forEach(visit);
    };
    visit(entry);
    totals[entry] = [...seen].reduce(
      (sum, name) => ({ bytes: sum.bytes + sizes[name].bytes, gzip: sum.gzip + sizes[name].gzip }),
      { bytes: 0, gzip: 0 },
    );
  }
  return totals;
}
