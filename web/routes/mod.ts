/**
 * The site's pages by path.
 * @module
 */
import type { VNode } from "preact";
import { GUIDE } from "../lessons/mod.ts";
import { apiPage, sourcePage, sourcePaths } from "./api.tsx";
import { benchPage } from "./bench.tsx";
import { graphPage } from "./graph.tsx";
import { guideIndex, guidePage } from "./guide.tsx";
import { home } from "./home.tsx";
import { playgroundPage } from "./playground.tsx";
import { runsPage } from "./runs.tsx";

/** What a page may depend on besides its path. */
export interface PageContext {
  /** Whether a server answers the dashboard's requests (false in the static build). */
  live: boolean;
}

/**
 * The page at `path` (a decoded path ending in `/`, or a source page's ending in `.ts.html`), or null.
 *
 * @example
 * ```ts
 * import { renderPage } from "./mod.ts";
 * if (!(await renderPage("/guide/", { live: true })) || await renderPage("/nope/", { live: true })) throw new Error();
 * ```
 */
export async function renderPage(path: string, context: PageContext): Promise<VNode | null> {
  if (path === "/") return await home();
  if (path === "/guide/") return guideIndex();
  const lesson = path.match(/^\/guide\/([\w-]+)\/$/);
  if (lesson) return await guidePage(lesson[1]);
  if (path === "/api/") return await apiPage();
  const source = path.match(/^\/api\/source\/(.+\.ts)\.html$/);
  if (source) return await sourcePage(source[1]);
  if (path === "/graph/") return graphPage();
  if (path === "/playground/") return playgroundPage();
  if (path === "/runs/") return runsPage(context);
  if (path === "/bench/") return benchPage();
  return null;
}

/**
 * Every page's path, for the static build and the tests.
 *
 * @example
 * ```ts
 * import { sitePaths } from "./mod.ts";
 * const paths = await sitePaths();
 * if (!paths.includes("/guide/word2vec/") || !paths.includes("/bench/")) throw new Error();
 * ```
 */
export async function sitePaths(): Promise<string[]> {
  return [
    "/",
    "/guide/",
    ...GUIDE.map((g) => `/guide/${g.lesson.slug}/`),
    "/api/",
    "/graph/",
    "/playground/",
    "/runs/",
    "/bench/",
    ...(await sourcePaths()),
  ];
}
