/**
 * The page shell: head, navigation, main content, and the hydration client where a page has islands.
 * @module
 */
import type { ComponentChildren } from "preact";

/** The icon, inline: no request for it, so none to cut short when a visitor moves on. */
const ICON = `data:image/svg+xml,${
  encodeURIComponent(
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="6" fill="#1f4e79"/>' +
      '<path d="M8 8v16h16" stroke="#fff" stroke-width="3" fill="none"/></svg>',
  )
}`;

/** The site's sections, in the navigation's order. */
const SECTIONS: [string, string][] = [
  ["/guide/", "Guide"],
  ["/api/", "API"],
  ["/graph/", "Graphs"],
  ["/playground/", "Playground"],
  ["/runs/", "Runs"],
  ["/bench/", "Bench"],
];

/**
 * A whole page around `children`.
 *
 * @example
 * ```tsx
 * import { render } from "preact-render-to-string";
 * import { Layout } from "./Layout.tsx";
 * const html = render(<Layout title="Guide" path="/guide/"><p>hi</p></Layout>);
 * if (!html.includes("<title>Guide · Loom</title>") || !html.includes('aria-current="page"')) throw new Error();
 * ```
 */
export function Layout(
  props: { title: string; path: string; description?: string; children: ComponentChildren },
) {
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>{`${props.title} · Loom`}</title>
        <meta
          name="description"
          content={props.description ??
            "Loom: neural networks as pure functional TypeScript, live in the browser."}
        />
        <link rel="icon" href={ICON} type="image/svg+xml" />
        <link rel="stylesheet" href="/style.css" />
        <script type="module" src="/islands/client.js" />
      </head>
      <body>
        <header class="site">
          <a class="brand" href="/">Loom</a>
          <nav>
            {SECTIONS.map(([href, label]) => (
              <a key={href} href={href} aria-current={props.path.startsWith(href) ? "page" : undefined}>
                {label}
              </a>
            ))}
          </nav>
        </header>
        <main>{props.children}</main>
        <footer class="site">
          Loom runs these pages' models in your browser, on its own CPU backend (WebAssembly, in a Web
          Worker).
        </footer>
      </body>
    </html>
  );
}
