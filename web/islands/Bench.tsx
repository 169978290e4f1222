/**
 * Island: runs the benchmark worker on the visitor's machine, shows the table (one column per library and
 * backend), and offers the rows as JSON. `?sizes=128,256&repeats=3` in the URL changes the work (sizes capped).
 * @module
 */
import { useState } from "preact/hooks";
import { type BenchRow, MAX_SIZE } from "./bench_spec.ts";
import { useReady } from "./ui.tsx";
import { openWorker } from "./worker_link.ts";

/** The work asked for in the URL, or the default: matmuls of 128, 256 and 512, medians of 5. */
function requested(): { sizes: number[]; repeats: number } {
  const query = new URLSearchParams(location.search);
  const sizes = (query.get("sizes") ?? "128,256,512").split(",").map(Number)
    .filter((n) => Number.isInteger(n) && n > 0 && n <= MAX_SIZE);
  const repeats = Number(query.get("repeats") ?? 5);
  return {
    sizes: sizes.length ? sizes : [128],
    repeats: Number.isInteger(repeats) && repeats > 0 ? repeats : 5,
  };
}

/**
 * The island.
 *
 * @example
 * ```tsx
 * import { render } from "preact-render-to-string";
 * import Bench from "./Bench.tsx";
 * if (!render(<Bench />).includes("Run the benchmark")) throw new Error();
 * ```
 */
export default function Bench() {
  const ref = useReady();
  const [rows, setRows] = useState<BenchRow[]>([]);
  const [state, setState] = useState("idle");
  const [notes, setNotes] = useState<string[]>([]);
  const run = () => {
    setState("running");
    setRows([]);
    setNotes([]);
    const onReply = (m: { type: string; rows: BenchRow[]; text: string; done?: boolean }) => {
      if (m.type === "rows") setRows(m.rows);
      if (m.type === "note") setNotes((n) => [...n, m.text]);
      if (m.done) {
        setState("done");
        w.terminate();
      }
    };
    const w = openWorker("/islands/bench_worker.js", onReply, (reason) => {
      setNotes((n) => [...n, reason]);
      setState("failed");
    });
    w.post(requested());
  };
  const columns = [...new Set(rows.map((r) => `${r.library} ${r.backend}`))];
  const workloads = [...new Set(rows.map((r) => r.workload))];
  const cell = (workload: string, column: string) =>
    rows.find((r) => r.workload === workload && `${r.library} ${r.backend}` === column)?.ms;
  const json = `data:application/json,${
    encodeURIComponent(
      JSON.stringify(
        { userAgent: navigator?.userAgent, crossOriginIsolated: globalThis.crossOriginIsolated, rows },
        null,
        2,
      ),
    )
  }`;
  return (
    <div ref={ref} data-state={state}>
      <div class="toolbar">
        <button type="button" class="run" onClick={run} disabled={state === "running"}>
          {state === "running" ? "Running…" : "Run the benchmark"}
        </button>
        {state === "done" && <a href={json} download="loom-bench.json">Download JSON</a>}
      </div>
      {notes.map((n) => <p class="note" key={n}>{n}</p>)}
      <div class="table-scroll">
        <table class="bench">
          <thead>
            <tr>
              <th>median ms</th>
              {columns.map((c) => <th key={c}>{c}</th>)}
            </tr>
          </thead>
          <tbody>
            {workloads.map((w) => (
              <tr key={w}>
                <td>{w}</td>
                {columns.map((c) => <td key={c}>{cell(w, c)?.toFixed(2) ?? "–"}</td>)}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </div>
  );
}
