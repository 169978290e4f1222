/**
 * Island: the training dashboard. Lists the run directories, plots the chosen runs' metrics on one chart (like
 * TensorBoard's scalars) and follows them live through server-sent events.
 * @module
 */
import { useEffect, useState } from "preact/hooks";
import type { RunSummary } from "../runs.ts";
import { Figure, linesOf } from "./plots.tsx";
import { Choice, useReady } from "./ui.tsx";

/** Numeric fields of metrics rows that can be plotted against the step. */
function numericKeys(rows: Record<string, unknown>[]): string[] {
  const keys = new Set<string>();
  for (const r of rows) {
    for (const [k, v] of Object.entries(r)) if (typeof v === "number" && k !== "step") keys.add(k);
  }
  return [...keys].sort();
}

/**
 * The island; `live` is false in the static build, which has no server to ask.
 *
 * @example
 * ```tsx
 * import { render } from "preact-render-to-string";
 * import Runs from "./Runs.tsx";
 * if (!render(<Runs live={false} />).includes("deno task docs")) throw new Error();
 * ```
 */
export default function Runs(props: { live: boolean }) {
  const ref = useReady();
  const [runs, setRuns] = useState<RunSummary[]>([]);
  const [chosen, setChosen] = useState<string[]>([]);
  const [metrics, setMetrics] = useState<Record<string, Record<string, unknown>[]>>({});
  const [metric, setMetric] = useState("loss");

  useEffect(() => {
    if (!props.live) return;
    const events = new EventSource("/runs/api/events");
    events.onmessage = (e) => setRuns(JSON.parse(e.data).runs);
    return () => events.close();
  }, []);
  // Pick every run at first; refetch the chosen runs' metrics whenever the list (their report counts) changes.
  useEffect(() => {
    if (chosen.length === 0 && runs.length > 0) setChosen(runs.map((r) => r.name));
  }, [runs]);
  useEffect(() => {
    for (const name of chosen) {
      fetch(`/runs/api/metrics/${encodeURIComponent(name)}`).then((r) => r.json()).then((rows) =>
        setMetrics((m) => ({ ...m, [name]: rows }))
      );
    }
  }, [chosen, runs]);

  if (!props.live) {
    return (
      <div ref={ref}>
        <p class="note">
          The dashboard reads the run directories on the machine that serves it: run{" "}
          <code>deno task docs</code> beside your <code>runs/</code> folder (written by{" "}
          <code>deno task train</code>).
        </p>
      </div>
    );
  }
  const rows = chosen.flatMap((n) => metrics[n] ?? []);
  const keys = numericKeys(rows);
  const series = Object.fromEntries(chosen.map((n) => [
    n,
    (metrics[n] ?? []).filter((r) => typeof r.step === "number" && typeof r[metric] === "number").map((r) =>
      [r.step as number, r[metric] as number] as [number, number]
    ),
  ]));
  return (
    <div ref={ref} data-runs={runs.map((r) => r.name).join(" ")}>
      {runs.length === 0
        ? (
          <p class="note">
            No runs yet in this folder: start one with <code>deno task train</code>.
          </p>
        )
        : (
          <table class="runs">
            <thead>
              <tr>
                <th></th>
                <th>run</th>
                <th>status</th>
                <th>reports</th>
              </tr>
            </thead>
            <tbody>
              {runs.map((r) => (
                <tr key={r.name} data-run={r.name} data-reports={r.reports}>
                  <td>
                    <input
                      type="checkbox"
                      aria-label={`show ${r.name}`}
                      checked={chosen.includes(r.name)}
                      onChange={(e) =>
                        setChosen((c) =>
                          (e.target as HTMLInputElement).checked
                            ? [...c, r.name]
                            : c.filter((n) => n !== r.name)
                        )}
                    />
                  </td>
                  <td>{r.name}</td>
                  <td>{String(r.status?.state ?? r.status?.status ?? "—")}</td>
                  <td>{r.reports}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      {keys.length > 0 && <Choice label="metric" value={metric} options={keys} onChange={setMetric} />}
      {rows.length > 0 && <Figure label={`${metric} by step`} options={linesOf(series, "step", metric)} />}
    </div>
  );
}
