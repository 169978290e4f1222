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
 * A labelled text input across the toolbar's width; `live` reports every keystroke, otherwise each change.
 *
 * @example
 * ```tsx
 * import { render } from "preact-render-to-string";
 * import { TextField } from "./ui.tsx";
 * if (!render(<TextField label="words" value="a b" onChange={() => {}} />).includes('value="a b"')) throw new Error();
 * ```
 */
export function TextField(
  props: { label: string; value: string; onChange: (v: string) => void; live?: boolean },
) {
  const report = (e: Event) => props.onChange((e.target as HTMLInputElement).value);
  return (
    <label class="field wide">
      {props.label}
      {props.live
        ? <input name={props.label} value={props.value} onInput={report} />
        : <input name={props.label} value={props.value} onChange={report} />}
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
 * What the toolbar shows of a running lesson and can do to it (a lesson's `useLesson` state has it all).
 *
 * @example
 * ```ts
 * import type { ToolbarLesson } from "./ui.tsx";
 * const idle: ToolbarLesson = { running: false, error: "", backend: "cpu", run() {}, stop() {} };
 * if (idle.running) throw new Error();
 * ```
 */
export interface ToolbarLesson {
  running: boolean;
  error: string;
  backend: string;
  run(): void;
  stop(): void;
}

/**
 * The bar above a lesson's plots: settings, "Run live"/"Stop", the step, the backend, an error.
 *
 * @example
 * ```tsx
 * import { render } from "preact-render-to-string";
 * import { Toolbar } from "./ui.tsx";
 * const lesson = { running: false, error: "", backend: "", run() {}, stop() {} };
 * if (!render(<Toolbar lesson={lesson} status="step 0" />).includes("Run live")) throw new Error();
 * ```
 */
export function Toolbar(props: { lesson: ToolbarLesson; status: string; children?: ComponentChildren }) {
  const { lesson } = props;
  return (
    <div class="toolbar">
      {props.children}
      {lesson.running
        ? <button type="button" class="run" onClick={lesson.stop}>Stop</button>
        : <button type="button" class="run" onClick={lesson.run}>Run live</button>}
      <span class="status" aria-live="polite">{props.status}</span>
      {lesson.backend && <span class="backend">Loom on {lesson.backend}</span>}
      {lesson.error && <p class="error" role="alert">{lesson.error}</p>}
    </div>
  );
}
