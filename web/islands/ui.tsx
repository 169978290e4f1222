/**
 * Pieces every island shares: setting inputs, the run button and the ready mark the tests and the load-time
 * target read. (Plots are in plots.tsx, so that islands without any do not load Observable Plot.)
 * @module
 */
import type { ComponentChildren } from "preact";
import { useEffect, useRef } from "preact/hooks";

/**
 * Marks the island's root ready (`data-ready="true"`) once it has drawn, and records the time
 * (`performance.mark("island-ready")`).
 *
 * @example
 * ```ts ignore
 * const ref = useReady();
 * return <div ref={ref}>...</div>;
 * ```
 */
export function useReady() {
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const root = ref.current?.closest<HTMLElement>("[data-island]");
    if (root && root.dataset.ready !== "true") {
      root.dataset.ready = "true";
      performance.mark("island-ready");
    }
  }, []);
  return ref;
}

/**
 * A labelled number input.
 *
 * @example
 * ```tsx
 * import { render } from "preact-render-to-string";
 * import { NumberField } from "./ui.tsx";
 * if (!render(<NumberField label="steps" value={3} onChange={() => {}} />).includes('value="3"')) throw new Error();
 * ```
 */
export function NumberField(
  props: { label: string; value: number; onChange: (v: number) => void; step?: number },
) {
  return (
    <label class="field">
      {props.label}
      <input
        type="number"
        name={props.label}
        value={props.value}
        step={props.step ?? "any"}
        onChange={(e) => props.onChange(Number((e.target as HTMLInputElement).value))}
      />
    </label>
  );
}

/**
 * A labelled choice.
 *
 * @example
 * ```tsx
 * import { render } from "preact-render-to-string";
 * import { Choice } from "./ui.tsx";
 * if (!render(<Choice label="model" value="a" options={["a", "b"]} onChange={() => {}} />).includes("<select")) {
 *   throw new Error();
 * }
 * ```
 */
export function Choice(props: {
  label: string;
  value: string;
  options: readonly string[];
  onChange: (v: string) => void;
  /** What each option shows, where not its value; a choice with titles takes the toolbar's width. */
  titles?: Readonly<Record<string, string>>;
}) {
  return (
    <label class={props.titles ? "field wide" : "field"}>
      {props.label}
      <select
        name={props.label}
        value={props.value}
        onChange={(e) => props.onChange((e.target as HTMLSelectElement).value)}
      >
        {props.options.map((o) => <option key={o} value={o}>{props.titles?.[o] ?? o}</option>)}
      </select>
    </label>
  );
}

/**
 * The bar above a lesson's plots: settings, "Run live"/"Stop", the step, the backend, an error.
 *
 * @example
 * ```tsx
 * import { render } from "preact-render-to-string";
 * import { Toolbar } from "./ui.tsx";
 * const html = render(<Toolbar running={false} onRun={() => {}} onStop={() => {}} status="step 0" error="" backend="" />);
 * if (!html.includes("Run live")) throw new Error();
 * ```
 */
export function Toolbar(props: {
  running: boolean;
  onRun: () => void;
  onStop: () => void;
  status: string;
  error: string;
  backend: string;
  children?: ComponentChildren;
}) {
  return (
    <div class="toolbar">
      {props.children}
      {props.running
        ? <button type="button" class="run" onClick={props.onStop}>Stop</button>
        : <button type="button" class="run" onClick={props.onRun}>Run live</button>}
      <span class="status" aria-live="polite">{props.status}</span>
      {props.backend && <span class="backend">Loom on {props.backend}</span>}
      {props.error && <p class="error" role="alert">{props.error}</p>}
    </div>
  );
}
