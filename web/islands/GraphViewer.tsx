/**
 * Island: what a Loom backend compiles a model's training step into. The traced graph, and the graph after
 * simplification with each fused kernel's equations boxed in its colour; clicking a kernel shows its
 * generated code (WebAssembly text or JavaScript on the CPU backend, WGSL on WebGPU). The model comes from
 * the zoo or from the playground (`#code=`, code that calls `graph(f, ...inputs)`); the choice is in the URL.
 * @module
 */
import { useEffect, useRef, useState } from "preact/hooks";
import type { Drawn } from "./graph_worker.ts";
import { codeFromHash } from "./share.ts";
import { Choice, useReady } from "./ui.tsx";
import { openWorker } from "./worker_link.ts";

/** The model the playground's code defines, as the menu lists it. */
const PLAYGROUND = "playground";

/**
 * The island.
 *
 * @example
 * ```tsx
 * import { render } from "preact-render-to-string";
 * import GraphViewer from "./GraphViewer.tsx";
 * if (!render(<GraphViewer models={{ mlp: "an MLP" }} />).includes("an MLP")) throw new Error();
 * ```
 */
export default function GraphViewer(props: { models: Record<string, string> }) {
  const ref = useReady();
  const names = Object.keys(props.models);
  const [model, setModel] = useState(names[0]);
  const [backend, setBackend] = useState("cpu");
  const [backends, setBackends] = useState(["cpu"]);
  const [code, setCode] = useState<string | null>(null);
  const [drawn, setDrawn] = useState<Drawn | null>(null);
  const [picked, setPicked] = useState("");
  const graph = useRef<HTMLDivElement>(null);
  // Whether the URL has been read: the first drawing waits for it, so it draws what the URL asks at once.
  const [started, setStarted] = useState(false);

  useEffect(() => {
    const query = new URLSearchParams(location.search);
    const fromHash = codeFromHash(location.hash);
    if (fromHash !== null) [setCode(fromHash), setModel(PLAYGROUND)];
    else if (names.includes(query.get("model") ?? "")) setModel(query.get("model")!);
    if ("gpu" in navigator) setBackends(["cpu", "webgpu"]);
    if (query.get("backend") === "webgpu" && "gpu" in navigator) setBackend("webgpu");
    setStarted(true);
  }, []);
  useEffect(() => {
    if (!started) return;
    setDrawn(null);
    setPicked("");
    const worker = openWorker<Drawn>("/islands/graph_worker.js", (reply) => {
      setDrawn(reply);
      worker.terminate();
    }, (reason) => setDrawn({ error: reason } as Drawn));
    worker.post(model === PLAYGROUND && code !== null ? { code, backend } : { model, backend });
    return () => worker.terminate();
  }, [started, model, backend, code]);
  // The picked kernel's cluster is outlined.
  useEffect(() => {
    graph.current?.querySelectorAll(".picked").forEach((e) => e.classList.remove("picked"));
    if (picked) graph.current?.querySelector(`g.cluster#${picked}`)?.classList.add("picked");
  }, [picked, drawn]);

  const choose = (next: { model?: string; backend?: string }) => {
    const [m, b] = [next.model ?? model, next.backend ?? backend];
    if (next.model) setModel(m);
    if (next.backend) setBackend(b);
    const query = `?model=${m}${b === "cpu" ? "" : `&backend=${b}`}`;
    history.replaceState(null, "", m === PLAYGROUND ? `${query}${location.hash}` : query);
  };
  const onClick = (e: MouseEvent) => {
    const id = (e.target as Element).closest("g.cluster, g.node")?.id.match(/^k\d+/)?.[0];
    if (id) setPicked(id);
  };
  const kernel = drawn?.after?.kernels.find((k) => k.id === picked);
  const options = code === null ? names : [PLAYGROUND, ...names];
  return (
    <div ref={ref} data-drawn={drawn ? "true" : undefined}>
      <div class="toolbar">
        <Choice
          label="model"
          value={model}
          options={options}
          titles={{ ...props.models, [PLAYGROUND]: "your playground code" }}
          onChange={(m) => choose({ model: m })}
        />
        <Choice label="backend" value={backend} options={backends} onChange={(b) => choose({ backend: b })} />
        <span class="status">
          {drawn && !drawn.error
            ? `${drawn.before.eqns} equations traced → ${drawn.after.eqns} after simplification → ${drawn.after.kernels.length} kernels on ${drawn.backend}`
            : drawn
            ? ""
            : "tracing…"}
        </span>
      </div>
      {drawn?.error && <p class="error">{drawn.error}</p>}
      {drawn && !drawn.error && (
        <div class="graphs">
          <div class="legend">
            {["elementwise", "reduce", "matmul", "scatter", "opaque"].map((k) => (
              <span key={k} class={`kind kind-${k}`}>{k}</span>
            ))}
            <span>dashed: views and constants that no kernel computes</span>
          </div>
          <div class="graph-and-code">
            <figure>
              <figcaption>After simplification and fusion: click a kernel</figcaption>
              <div
                class="graph"
                ref={graph}
                onClick={onClick}
                dangerouslySetInnerHTML={{ __html: drawn.after.svg }}
              />
            </figure>
            <figure class="kernel" data-kernel={kernel?.id}>
              <figcaption>
                {kernel ? `${kernel.id}: ${kernel.kind}, ${kernel.language} code` : "The kernel's code"}
              </figcaption>
              {kernel
                ? (
                  <>
                    <p class="summary">
                      <code>{kernel.summary}</code>
                    </p>
                    <pre class="code"><code>{kernel.text || "(no generated code: a built-in kernel)"}</code></pre>
                  </>
                )
                : <p class="note">Click a coloured box to see the code the backend generated for it.</p>}
            </figure>
          </div>
          <details>
            <summary>The simplified graph as text ({drawn.after.eqns} equations)</summary>
            <pre><code>{drawn.after.text}</code></pre>
          </details>
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
