/**
 * Pieces every island shares: a figure drawn by Observable Plot, heat maps, setting inputs, the run button and
 * the ready mark the tests and the load-time target read.
 * @module
 */
import * as Plot from "@observablehq/plot";
import type { ComponentChildren } from "preact";
import { useEffect, useRef } from "preact/hooks";

/**
 * A figure from Observable Plot options, redrawn when they change (nothing on the server).
 *
 * @example
 * ```tsx
 * import { render } from "preact-render-to-string";
 * import { Figure } from "./ui.tsx";
 * if (!render(<Figure options={{ marks: [] }} label="empty" />).includes("figure")) throw new Error();
 * ```
 */
export function Figure(props: { options: Plot.PlotOptions; label: string }) {
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (!ref.current) return;
    const width = Math.min(640, Math.max(280, ref.current.clientWidth || 640));
    ref.current.replaceChildren(Plot.plot({ width, height: 260, ...props.options }));
  }, [props.options]);
  return <div class="figure" ref={ref} role="img" aria-label={props.label} />;
}

/** How `linesOf` draws its axes. */
export interface LinesOptions {
  /** A log scale for y (losses that fall by orders of magnitude). */
  logY?: boolean;
  /** The x axis's extent (e.g. `[0, steps]`, so that a curve grows across a fixed axis). */
  xDomain?: [number, number];
}

/**
 * Line-plot options for named series of [x, y] points, with a dot at each series' last point (so that a
 * first frame of one point shows). Where the points span no range, the axes get one around them; where there
 * are none yet, the frame says so.
 *
 * @example
 * ```ts
 * import { linesOf } from "./ui.tsx";
 * const options = linesOf({ a: [[0, 1], [1, 0.5]] }, "step", "loss", { xDomain: [0, 10] });
 * if (options.marks!.length !== 2 || (options.x as { domain: number[] }).domain[1] !== 10) throw new Error();
 * ```
 */
export function linesOf(
  series: Record<string, [number, number][]>,
  x: string,
  y: string,
  options: LinesOptions = {},
): Plot.PlotOptions {
  const rows = Object.entries(series).flatMap(([name, points]) =>
    points.map(([a, b]) => ({ name, x: a, y: b }))
  );
  const last = Object.entries(series).flatMap(([name, points]) =>
    points.length ? [{ name, x: points.at(-1)![0], y: points.at(-1)![1] }] : []
  );
  const around = (values: number[], log: boolean): [number, number] | undefined => {
    const finite = values.filter(Number.isFinite);
    if (finite.length === 0 || Math.min(...finite) !== Math.max(...finite)) return undefined;
    const v = finite[0];
    return log ? [v / 10, v * 10] : [v - (Math.abs(v) || 1), v + (Math.abs(v) || 1)];
  };
  return {
    x: { label: x, domain: options.xDomain ?? around(rows.map((r) => r.x), false) },
    y: {
      label: y,
      type: options.logY ? "log" : "linear",
      grid: true,
      domain: around(rows.map((r) => r.y), options.logY ?? false),
    },
    color: { legend: Object.keys(series).length > 1 },
    marks: [
      Plot.line(rows, { x: "x", y: "y", stroke: "name" }),
      Plot.dot(last, { x: "x", y: "y", fill: "name", r: 2.5 }),
      ...(rows.length ? [] : [Plot.text(["no points yet: “Run live” trains"], { frameAnchor: "middle" })]),
    ],
  };
}

/**
 * Heat-map options for a matrix with row and column labels.
 *
 * @example
 * ```ts
 * import { heatmapOf } from "./ui.tsx";
 * if (heatmapOf([[1, 0], [0, 1]], ["a", "b"], ["a", "b"]).marks!.length !== 1) throw new Error();
 * ```
 */
export function heatmapOf(
  matrix: number[][],
  rows: string[],
  columns: string[],
  domain?: [number, number],
): Plot.PlotOptions {
  const cells = matrix.flatMap((row, i) =>
    row.map((value, j) => ({ row: `${i}:${rows[i]}`, column: `${j}:${columns[j]}`, value }))
  );
  const strip = (s: string) => s.slice(s.indexOf(":") + 1);
  return {
    padding: 0,
    marginLeft: 70,
    marginBottom: 60,
    x: { tickRotate: -45, tickFormat: strip, label: null, domain: columns.map((c, j) => `${j}:${c}`) },
    y: { tickFormat: strip, label: null, domain: rows.map((r, i) => `${i}:${r}`) },
    color: { scheme: "blues", legend: true, domain },
    marks: [Plot.cell(cells, { x: "column", y: "row", fill: "value", inset: 0.5 })],
  };
}

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
