/**
 * Island: a model's traced training step as a graph, before and after simplification and fusion; each fused
 * kernel is a box coloured by kind, and clicking one shows what the compiler made of it.
 * @module
 */
import { useEffect, useState } from "preact/hooks";
import { Choice, useReady } from "./ui.tsx";
import { openWorker } from "./worker_link.ts";

interface Drawn {
  before: { text: string; svg: string; eqns: number };
  after: { text: string; svg: string; kernels: { id: string; kind: string; text: string }[] };
  error?: string;
}

/**
 * The island.
 *
 * @example
 * ```tsx
 * import { render } from "preact-render-to-string";
 * import GraphViewer from "./GraphViewer.tsx";
 * if (!render(<GraphViewer models={["mlp"]} />).includes("mlp")) throw new Error();
 * ```
 */
export default function GraphViewer(props: { models: string[] }) {
  const ref = useReady();
  const [model, setModel] = useState(props.models[0]);
  const [drawn, setDrawn] = useState<Drawn | null>(null);
  const [picked, setPicked] = useState("");
  useEffect(() => {
    const fromUrl = new URLSearchParams(location.search).get("model");
    if (fromUrl && props.models.includes(fromUrl)) setModel(fromUrl);
  }, []);
  useEffect(() => {
    setDrawn(null);
    const worker = openWorker<Drawn>("/islands/graph_worker.js", (reply) => {
      setDrawn(reply);
      worker.terminate();
    }, (reason) => setDrawn({ error: reason } as Drawn));
    worker.post({ model });
    return () => worker.terminate();
  }, [model]);
  const kernel = drawn?.after.kernels.find((k) => k.id === picked);
  const onClick = (e: MouseEvent) => {
    const node = (e.target as Element).closest("g.node");
    if (node?.id) setPicked(node.id);
  };
  return (
    <div ref={ref} data-drawn={drawn ? "true" : undefined}>
      <div class="toolbar">
        <Choice
          label="model"
          value={model}
          options={props.models}
          onChange={(m) => {
            setModel(m);
            history.replaceState(null, "", `?model=${m}`);
          }}
        />
        <span class="status">
          {drawn
            ? `${drawn.before.eqns} equations traced → ${drawn.after.kernels.length} fused kernels`
            : "tracing…"}
        </span>
      </div>
      {drawn?.error && <p class="error">{drawn.error}</p>}
      {drawn && !drawn.error && (
        <div class="graphs">
          <figure>
            <figcaption>After simplification and fusion (click a kernel)</figcaption>
            <div class="graph" onClick={onClick} dangerouslySetInnerHTML={{ __html: drawn.after.svg }} />
          </figure>
          {kernel && (
            <figure class="kernel">
              <figcaption>{kernel.id}: {kernel.kind}</figcaption>
              <pre><code>{kernel.text}</code></pre>
            </figure>
          )}
          <details>
            <summary>The traced graph before simplification ({drawn.before.eqns} equations)</summary>
            <div class="graph" dangerouslySetInnerHTML={{ __html: drawn.before.svg }} />
            <pre><code>{drawn.before.text}</code></pre>
          </details>
        </div>
      )}
    </div>
  );
}
