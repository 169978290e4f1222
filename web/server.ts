/**
 * The docs site's HTTP handler: server-rendered pages, the built islands and static files, and the dashboard's
 * run data. Every response carries the cross-origin isolation headers (so Loom's CPU backend gets its threads);
 * it answers GET and HEAD only, and turns away traversal (in any encoding), links out of the tree and
 * malformed or oversized requests with a 4xx.
 * @module
 */
import { renderToString } from "preact-render-to-string";
import { renderPage } from "./routes/mod.ts";
import { listRuns, readMetrics, runEvents } from "./runs.ts";

/** Where the handler reads from. */
export interface SiteOptions {
  /** The folder of static files (web/static). */
  staticDir: string;
  /** The folder of run directories (runs/). */
  runsDir: string;
}

/** Longest request target accepted. */
const MAX_URL = 4096;

const TYPES: Record<string, string> = {
  html: "text/html; charset=utf-8",
  js: "text/javascript; charset=utf-8",
  css: "text/css; charset=utf-8",
  json: "application/json",
  wasm: "application/wasm",
  svg: "image/svg+xml",
  txt: "text/plain; charset=utf-8",
  map: "application/json",
};

/**
 * The headers every response gets: cross-origin isolation, and no sniffing.
 *
 * @example
 * ```ts
 * import { SECURITY_HEADERS } from "./server.ts";
 * if (SECURITY_HEADERS["Cross-Origin-Embedder-Policy"] !== "require-corp") throw new Error();
 * ```
 */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  "Cross-Origin-Opener-Policy": "same-origin",
  "Cross-Origin-Embedder-Policy": "require-corp",
  "Cross-Origin-Resource-Policy": "same-origin",
  "X-Content-Type-Options": "nosniff",
};

function reply(
  status: number,
  body: BodyInit | null,
  type = TYPES.txt,
  extra: Record<string, string> = {},
): Response {
  return new Response(body, { status, headers: { ...SECURITY_HEADERS, "Content-Type": type, ...extra } });
}

/**
 * The decoded path of a request target, or an error status: 400 for bad percent-encoding, NUL, backslashes, or
 * `.`/`..` segments (also when encoded), 414 for an over-long target.
 *
 * @example
 * ```ts
 * import { safePath } from "./server.ts";
 * if (safePath("http://h/guide/") !== "/guide/") throw new Error();
 * if (safePath("http://h/..%2f..%2fetc/passwd") !== 400 || safePath("http://h/%E0%A4%A") !== 400) throw new Error();
 * ```
 */
export function safePath(url: string): string | 400 | 414 {
  if (url.length > MAX_URL) return 414;
  let path: string;
  try {
    path = decodeURIComponent(new URL(url).pathname);
  } catch {
    return 400;
  }
  if (/[\0\\]/.test(path) || path.split("/").some((s) => s === ".." || s === ".")) return 400;
  return path;
}

/** A file under `root` (resolved through links, and still under it), or null. */
async function fileUnder(root: string, path: string): Promise<{ path: string; size: number } | null> {
  try {
    const realRoot = await Deno.realPath(root);
    const real = await Deno.realPath(`${root}${path}`);
    if (!real.startsWith(`${realRoot}/`)) return null;
    const info = await Deno.stat(real);
    return info.isFile ? { path: real, size: info.size } : null;
  } catch {
    return null;
  }
}

/**
 * The site's request handler.
 *
 * @example
 * ```ts
 * import { createHandler } from "./server.ts";
 * const handle = createHandler({ staticDir: new URL("./static", import.meta.url).pathname, runsDir: "runs" });
 * const page = await handle(new Request("http://localhost/guide/"));
 * if (page.status !== 200 || page.headers.get("Cross-Origin-Opener-Policy") !== "same-origin") throw new Error();
 * // "/%2e%2e/" is resolved by the URL parser before the handler sees it, so it stays inside the tree (404).
 * if ((await handle(new Request("http://localhost/%2e%2e/deno.json"))).status !== 404) throw new Error();
 * if ((await handle(new Request("http://localhost/a/..%2f..%2fdeno.json"))).status !== 400) throw new Error();
 * if ((await handle(new Request("http://localhost/", { method: "POST", body: "x" }))).status !== 405) throw new Error();
 * ```
 */
export function createHandler(options: SiteOptions): (request: Request) => Promise<Response> {
  return async (request) => {
    if (request.method !== "GET" && request.method !== "HEAD") {
      return reply(405, "Only GET and HEAD are served.\n", TYPES.txt, { Allow: "GET, HEAD" });
    }
    const length = request.headers.get("content-length");
    if ((length !== null && length !== "0") || request.headers.has("transfer-encoding")) {
      return reply(400, "A GET request has no body.\n");
    }
    const path = safePath(request.url);
    if (typeof path === "number") {
      return reply(path, path === 414 ? "Request target too long.\n" : "Bad request path.\n");
    }
    const head = request.method === "HEAD";

    if (path === "/runs/api/runs") {
      return reply(200, JSON.stringify(await listRuns(options.runsDir)), TYPES.json);
    }
    const metrics = path.match(/^\/runs\/api\/metrics\/([^/]+)$/);
    if (metrics) {
      return reply(200, JSON.stringify(await readMetrics(options.runsDir, metrics[1])), TYPES.json);
    }
    if (path === "/runs/api/events") {
      const events = await runEvents(options.runsDir, request.headers.get("last-event-id") ?? "");
      return reply(200, head ? null : events, "text/event-stream", {
        "Cache-Control": "no-store",
      });
    }

    // Pages are folders (`/guide/`), and source pages `.ts.html` files.
    const pagePath = path.endsWith("/") || path.endsWith(".ts.html") ? path : `${path}/`;
    if (!/\.\w+$/.test(path) || path.endsWith(".ts.html")) {
      const page = await renderPage(pagePath, { live: true });
      if (page && pagePath !== path) return reply(301, null, TYPES.txt, { Location: pagePath });
      if (page) return reply(200, head ? null : `<!DOCTYPE html>${renderToString(page)}`, TYPES.html);
    }
    const file = await fileUnder(options.staticDir, path);
    if (!file) return reply(404, "Not found.\n");
    const type = TYPES[path.slice(path.lastIndexOf(".") + 1)] ?? "application/octet-stream";
    const body = head ? null : (await Deno.open(file.path)).readable;
    return reply(200, body, type, { "Content-Length": String(file.size), "Cache-Control": "no-cache" });
  };
}
