/**
 * The page's hydration runtime: each element with `data-island="Name"` is hydrated with the island module
 * `Name.js` (beside this file) and the props the server serialized in its `data-props`.
 * @module
 */
import { h, hydrate } from "preact";

for (const root of document.querySelectorAll<HTMLElement>("[data-island]")) {
  const name = root.dataset.island!;
  // A computed URL, so the bundler leaves the import to run time.
  const url = new URL(`./${name}.js`, import.meta.url).href;
  import(url).then((module) => hydrate(h(module.default, JSON.parse(root.dataset.props ?? "{}")), root))
    .catch((error) => console.error(`island ${name} failed to load from ${url}:`, error));
}
