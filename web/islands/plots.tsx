/**
 * Figures drawn by Observable Plot: line plots of series and heat maps of matrices.
 * @module
 */
import * as Plot from "@observablehq/plot";
import { useEffect, useRef } from "preact/hooks";

/**
 * A figure from Observable Plot options, redrawn when they change (nothing on the server).
 *
 * @example
 * ```tsx
 * import { render } from "preact-render-to-string";
 * import { Figure } from "./plots.tsx";
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
 * import { linesOf } from "./plots.tsx";
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
      Plot.line(rows, { x: "x", y: "y", stroke: "name", z: "name" }),
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
 * import { heatmapOf } from "./plots.tsx";
 * if (heatmapOf([[1, 0], [0, 1]], ["a", "b"], ["a", "b"]).marks!.length !== 1) throw new Error();
 * ```
 */
export function heatmapOf(
  matrix: number[][],
  rows: string[],
  columns: string[],
  options: { domain?: [number, number]; scheme?: Plot.ColorScheme } = {},
): Plot.PlotOptions {
  const cells = matrix.flatMap((row, i) =>
    row.map((value, j) => ({ row: `${i}:${rows[i]}`, column: `${j}:${columns[j]}`, value }))
  );
  const strip = (s: string) => s.slice(s.indexOf(":") + 1);
  // At most about 16 labels an axis, so that those of a long one do not run into each other.
  const axis = (labels: string[]) => {
    const keys = labels.map((l, i) => `${i}:${l}`);
    const every = Math.ceil(keys.length / 16);
    return { domain: keys, ticks: keys.filter((_, i) => i % every === 0), tickFormat: strip, label: null };
  };
  // The ramp legend's own margins (Plot passes the color scale's options on to it), so its end labels show.
  const legend = { legend: true, marginLeft: 12, marginRight: 12 } as Plot.ScaleOptions;
  return {
    padding: 0,
    marginLeft: 70,
    marginBottom: 60,
    x: { tickRotate: -45, ...axis(columns) },
    y: axis(rows),
    color: { scheme: options.scheme ?? "blues", domain: options.domain, ...legend },
    marks: [Plot.cell(cells, { x: "column", y: "row", fill: "value", inset: 0.5 })],
  };
}
