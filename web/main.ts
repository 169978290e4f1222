/**
 * `deno task docs`: builds the islands and serves the docs site on http://localhost:8000 (`--port N` for
 * another, `--runs DIR` for the dashboard's run directories, default `runs`), rebuilding the islands when a
 * file under web/, dsl/, kernels/ or mod.ts changes.
 * @module
 */
import { buildAssets } from "./build.ts";
import { createHandler } from "./server.ts";

/** The command's options. */
export interface DocsArgs {
  port: number;
  runs: string;
}

/**
 * Parses the command line; throws with the fix for anything it does not know.
 *
 * @example
 * ```ts
 * import { parseDocsArgs } from "./main.ts";
 * if (parseDocsArgs(["--port", "9000"]).port !== 9000 || parseDocsArgs([]).port !== 8000) throw new Error();
 * let threw = false;
 * try { parseDocsArgs(["--port", "eighty"]); } catch { threw = true; }
 * if (!threw) throw new Error();
 * ```
 */
export function parseDocsArgs(args: string[]): DocsArgs {
  const result: DocsArgs = { port: 8000, runs: "runs" };
  for (let i = 0; i < args.length; i++) {
    const [flag, inline] = args[i].split(/=(.*)/s, 2);
    const value = inline ?? args[++i];
    if (flag === "--port") {
      const port = Number(value);
      if (!/^\d+$/.test(value ?? "") || port < 1 || port > 65535) {
        throw new Error(
          `--port takes a port number from 1 to 65535, got ${value === undefined ? "nothing" : `"${value}"`}`,
        );
      }
      result.port = port;
    } else if (flag === "--runs") {
      if (!value) throw new Error("--runs takes a folder of run directories, e.g. --runs runs");
      result.runs = value;
    } else throw new Error(`unknown option ${args[i]}; use --port N or --runs DIR`);
  }
  return result;
}

/** Rebuilds the islands after changes, at most once per burst of file events. */
async function watch(): Promise<void> {
  const root = new URL("../", import.meta.url).pathname;
  const watcher = Deno.watchFs(
    ["web/islands", "web/lessons", "web/components", "dsl", "kernels", "mod.ts"].map((p) => root + p),
  );
  let timer: ReturnType<typeof setTimeout> | undefined;
  for await (const _ of watcher) {
    clearTimeout(timer);
    timer = setTimeout(() => {
      buildAssets().then(() => console.log("islands rebuilt")).catch((e) => console.error(e.message));
    }, 200);
  }
}

if (import.meta.main) {
  let args: DocsArgs;
  try {
    args = parseDocsArgs(Deno.args);
  } catch (error) {
    console.error(`deno task docs: ${(error as Error).message}`);
    Deno.exit(2);
  }
  await buildAssets();
  const staticDir = new URL("./static", import.meta.url).pathname;
  const handler = createHandler({ staticDir, runsDir: args.runs });
  Deno.serve({
    port: args.port,
    hostname: "127.0.0.1",
    onListen: ({ port }) => console.log(`Loom docs: http://localhost:${port}/`),
  }, handler);
  watch();
}
