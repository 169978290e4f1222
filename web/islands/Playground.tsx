/**
 * Island: a code editor (CodeMirror) with numbered examples; the code runs in a Web Worker against Loom, and
 * the page shows what it printed, the loss it plotted and the backend it ran on. Share links carry the code.
 * @module
 */
import { useEffect, useRef, useState } from "preact/hooks";
import { EXAMPLES } from "./examples.ts";
import { codeFromHash, codeToHash } from "./share.ts";
import { Figure, linesOf } from "./plots.tsx";
import { useReady } from "./ui.tsx";
import { openWorker, type WorkerLink } from "./worker_link.ts";

/**
 * The island.
 *
 * @example
 * ```tsx
 * import { render } from "preact-render-to-string";
 * import Playground from "./Playground.tsx";
 * if (!render(<Playground />).includes("1. Tensors")) throw new Error();
 * ```
 */
export default function Playground() {
  const ref = useReady();
  const host = useRef<HTMLDivElement>(null);
  const editor = useRef<{ get(): string; set(code: string): void } | null>(null);
  const [output, setOutput] = useState<string[]>([]);
  const [losses, setLosses] = useState<[number, number][]>([]);
  const [backend, setBackend] = useState("");
  const [running, setRunning] = useState(false);
  const [graph, setGraph] = useState<{ text: string; href: string } | null>(null);
  const worker = useRef<WorkerLink | null>(null);

  useEffect(() => {
    let cancelled = false;
    // CodeMirror loads after the first paint: the textarea works until then.
    import("./editor.ts").then(({ createEditor }) => {
      if (cancelled || !host.current) return;
      const initial = codeFromHash(location.hash) ?? EXAMPLES[0].code;
      editor.current = createEditor(host.current, initial);
      host.current.dataset.editor = "ready";
    });
    return () => {
      cancelled = true;
      worker.current?.terminate();
    };
  }, []);

  const run = () => {
    worker.current?.terminate();
    setOutput([]);
    setLosses([]);
    setGraph(null);
    setRunning(true);
    const code = editor.current?.get() ?? EXAMPLES[0].code;
    const onReply = (
      m: { type: string; text: string; step: number; value: number; name: string; threads: number },
    ) => {
      if (m.type === "print") setOutput((o) => [...o, m.text]);
      else if (m.type === "plot") setLosses((l) => [...l, [m.step, m.value]]);
      else if (m.type === "graph") {
        setGraph({ text: m.text, href: `/graph/?model=playground${codeToHash(code)}` });
      } else if (m.type === "backend") {
        setBackend(`${m.name}, ${m.threads} thread${m.threads > 1 ? "s" : ""}`);
      } else {
        if (m.type === "error") setOutput((o) => [...o, m.text]);
        setRunning(false);
        w.terminate();
      }
    };
    const w = worker.current = openWorker("/islands/playground_worker.js", onReply, (reason) => {
      setOutput((o) => [...o, reason]);
      setRunning(false);
    });
    w.post({ code });
  };
  const share = () => history.replaceState(null, "", codeToHash(editor.current?.get() ?? ""));
  return (
    <div ref={ref}>
      <div class="toolbar">
        <label class="field wide">
          example
          <select
            name="example"
            onChange={(e) =>
              editor.current?.set(EXAMPLES[Number((e.target as HTMLSelectElement).value)].code)}
          >
            {EXAMPLES.map((x, i) => <option key={i} value={i}>{`${i + 1}. ${x.title}`}</option>)}
          </select>
        </label>
        <button type="button" class="run" onClick={run} disabled={running}>
          {running ? "Running…" : "Run"}
        </button>
        <button type="button" onClick={share}>Share link</button>
        {backend && <span class="backend">Loom on {backend}</span>}
      </div>
      <div class="editor" ref={host} />
      <div class="figures">
        {graph && (
          <p class="graph-link">
            graph: {graph.text}. <a href={graph.href}>Open it in the graph viewer</a>
          </p>
        )}
        <pre class="output" aria-live="polite">{output.join("\n") || "Output appears here."}</pre>
        {losses.length > 0 && (
          <Figure label="plotted values" options={linesOf({ loss: losses }, "step", "value")} />
        )}
      </div>
    </div>
  );
}
