/**
 * Island: filters the API reference's entries as the visitor types (the entries are in the page already).
 * @module
 */
import { useState } from "preact/hooks";
import { useReady } from "./ui.tsx";

/**
 * The search box.
 *
 * @example
 * ```tsx
 * import { render } from "preact-render-to-string";
 * import ApiSearch from "./ApiSearch.tsx";
 * if (!render(<ApiSearch count={3} />).includes("3 exports")) throw new Error();
 * ```
 */
export default function ApiSearch(props: { count: number }) {
  const ref = useReady();
  const [shown, setShown] = useState(props.count);
  const filter = (query: string) => {
    const q = query.trim().toLowerCase();
    let n = 0;
    for (const section of document.querySelectorAll<HTMLElement>(".api .entry")) {
      const hit = q === "" || section.dataset.name!.includes(q) ||
        section.textContent!.toLowerCase().includes(q);
      section.hidden = !hit;
      n += hit ? 1 : 0;
    }
    setShown(n);
  };
  return (
    <div ref={ref} class="search">
      <input
        type="search"
        name="q"
        placeholder="Search: tensor, grad, attend…"
        aria-label="Search the API"
        onInput={(e) => filter((e.target as HTMLInputElement).value)}
      />
      <span class="status">{shown} exports</span>
    </div>
  );
}
