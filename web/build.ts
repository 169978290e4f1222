/**
 * Builds what the browser runs, with `deno bundle --platform browser`:
 * - the islands, the hydration client and the Web Workers, in ONE run with code splitting, so that every page
 *   shares one copy of Preact and of Loom (chunks), into `web/static/islands/`. Every entry sits in
 *   `web/islands/`, so that every output file (chunks included) lands in one folder;
 * - Loom's own browser build, `mod.ts` as one minified ES module, into `web/static/loom/`
 *   (`import { tensor } from "/loom/loom.js"`);
 * - TF.js's wasm binaries for the benchmark, into `web/static/tfjs/`;
 * - beside the islands and loom.js, the CPU backend's pool worker (`kernels/cpu/worker.ts`, which needs nothing else) as
 *   `loom_worker.js`: a bundled pool looks for it next to the file that holds the pool.
 * @module
 */

import { type Size, withChunks } from "./bundle_sizes.ts";

const WEB = new URL("./", import.meta.url);

/** The CPU backend's pool worker: Loom's, bundled as it is (it imports nothing of the site). */
const POOL_WORKER = "kernels/cpu/worker.ts";

/** Where the build writes, relative to web/. */
export const OUTPUT = { islands: "static/islands/", loom: "static/loom/", tfjs: "static/tfjs/" } as const;

/** The benchmark's TF.js wasm backend fetches these binaries (by streaming) from `/tfjs/`. */
const TFJS_WASM = [
  "tfjs-backend-wasm.wasm",
  "tfjs-backend-wasm-simd.wasm",
  "tfjs-backend-wasm-threaded-simd.wasm",
];

async function bundle(args: string[]): Promise<void> {
  const { code, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["bundle", "--platform", "browser", "--format", "esm", "--minify", ...args],
    cwd: new URL("../", WEB),
    stdout: "null",
    stderr: "piped",
  }).output();
  const log = new TextDecoder().decode(stderr);
  if (code !== 0) throw new Error(`deno bundle failed:\n${log}`);
}

/**
 * The browser entry points in web/islands/: island components (capitalised names), the client and the workers.
 *
 * @example
 * ```ts
 * import { entryPoints } from "./build.ts";
 * const entries = await entryPoints();
 * if (!entries.includes("web/islands/client.ts") || !entries.includes("web/islands/Word2vec.tsx")) throw new Error();
 * ```
 */
export async function entryPoints(): Promise<string[]> {
  const names: string[] = [];
  for await (const e of Deno.readDir(new URL("islands/", WEB))) {
    if (e.isFile && (/^[A-Z]\w*\.tsx$/.test(e.name) || /^(client|\w+_worker)\.ts$/.test(e.name))) {
      names.push(e.name);
    }
  }
  return names.sort().map((n) => `web/islands/${n}`);
}

/**
 * Builds both outputs afresh and returns each file's size and gzip size in bytes.
 *
 * @example
 * ```ts ignore
 * const sizes = await buildAssets();
 * console.log(sizes["loom/loom.js"].gzip);
 * ```
 */
export async function buildAssets(): Promise<Record<string, Size>> {
  for (const dir of Object.values(OUTPUT)) {
    await Deno.remove(new URL(dir, WEB), { recursive: true }).catch(() => {});
  }
  await bundle(["--code-splitting", "--outdir", `web/${OUTPUT.islands}`, ...(await entryPoints())]);
  await bundle(["-o", `web/${OUTPUT.loom}loom.js`, "mod.ts"]);
  for (const dir of [OUTPUT.islands, OUTPUT.loom]) {
    await bundle(["-o", `web/${dir}loom_worker.js`, POOL_WORKER]);
  }
  // Beside the package's entry point in Deno's npm cache.
  const tfjs = new URL("./", import.meta.resolve("@tensorflow/tfjs-backend-wasm"));
  await Deno.mkdir(new URL(OUTPUT.tfjs, WEB), { recursive: true });
  for (const name of TFJS_WASM) await Deno.copyFile(new URL(name, tfjs), new URL(OUTPUT.tfjs + name, WEB));
  const sizes: Record<string, Size> = {};
  for (const dir of Object.values(OUTPUT)) {
    for await (const e of Deno.readDir(new URL(dir, WEB))) {
      const data = await Deno.readFile(new URL(dir + e.name, WEB));
      const gzip = await new Response(new Blob([data]).stream().pipeThrough(new CompressionStream("gzip")))
        .arrayBuffer();
      sizes[`${dir.slice("static/".length)}${e.name}`] = { bytes: data.length, gzip: gzip.byteLength };
    }
  }
  return sizes;
}

/**
 * Each island's and worker's size with the chunks it imports (what a page with it downloads), from the sizes
 * `buildAssets` returned.
 *
 * @example
 * ```ts ignore
 * const totals = await islandSizes(await buildAssets());
 * console.log(totals["Word2vec.js"].gzip);
 * ```
 */
export async function islandSizes(sizes: Record<string, Size>): Promise<Record<string, Size>> {
  const prefix = OUTPUT.islands.slice("static/".length);
  const own = Object.entries(sizes).filter(([name]) => name.startsWith(prefix));
  const entries = (await entryPoints()).map((path) =>
    path.slice(path.lastIndexOf("/") + 1).replace(/\.tsx?$/, ".js")
  );
  return await withChunks(
    new URL(OUTPUT.islands, WEB).pathname,
    [...entries, "loom_worker.js"],
    Object.fromEntries(own.map(([name, size]) => [name.slice(prefix.length), size])),
  );
}

if (import.meta.main) {
  const sizes = await buildAssets();
  const line = (name: string, s: Size) =>
    console.log(
      `${name.padEnd(40)} ${(s.bytes / 1024).toFixed(1).padStart(8)} KB ${
        (s.gzip / 1024).toFixed(1).padStart(7)
      } KB gzip`,
    );
  console.log("Each file:");
  for (const [name, s] of Object.entries(sizes).sort()) line(name, s);
  console.log("\nEach island and worker with the chunks it imports:");
  for (const [name, s] of Object.entries(await islandSizes(sizes)).sort()) line(name, s);
}
