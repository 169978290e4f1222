/**
 * Island: runs the benchmark worker on the visitor's machine, shows the table, and offers it as JSON.
 * @module
 */
import { useState } from "preact/hooks";
import type { BenchRow } from "./bench_worker.ts";
import { useReady } from "./ui.tsx";
import { openWorker } from "./worker_link.ts";

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
    const onReply = (m: { type: string; rows: BenchRow[]; text: string; done?: boolean }) => {
      if (m.type === "rows") setRows(m.rows);
      if (m.type === "note") setNotes((n) => [...n, m.text]);
      if (m.type === "error") setNotes((n) => [...n, m.text]);
      if (m.done || m.type === "error") {
        setState(m.type === "error" ? "failed" : "done");
        w.terminate();
      }
    };
    const w = openWorker("/islands/bench_worker.js", onReply, (reason) => {
      setNotes((n) => [...n, reason]);
      setState("failed");
    });
    w.post({});
  };
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
      <table class="bench">
        <thead>
          <tr>
            <th>workload</th>
            <th>library</th>
            <th>backend</th>
            <th>median ms</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((r, i) => (
            <tr key={i}>
              <td>{r.workload}</td>
              <td>{r.library}</td>
              <td>{r.backend}</td>
              <td>{r.ms.toFixed(2)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
