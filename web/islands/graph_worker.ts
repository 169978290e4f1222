/**
 * The graph viewer's Web Worker: traces a model's training step with Loom, simplifies and fuses it with the
 * CPU backend's passes, and lays each graph out with Graphviz (@viz-js/viz) as SVG.
 * @module
 */
import { instance } from "@viz-js/viz";
import { listen } from "./worker_link.ts";
import { type Graph, loss, nn, random, tensor, trace, valueAndGrad } from "../../mod.ts";
import { optimize } from "../../kernels/passes/simplify.ts";
import { fuse, type Kernel, showExpr } from "../../kernels/passes/fuse.ts";

/** The models one can pick, each as a loss to differentiate and example inputs. */
const MODELS: Record<string, () => Graph> = {
  mlp: () => {
    const model = nn.serial(nn.dense(16, { activation: "tanh" }), nn.dense(3));
    const params = model.init(random.key(0), [8, 4]).params;
    const f = (p: unknown, x: unknown, y: unknown) =>
      loss.crossEntropy(model.apply(p as nn.ParamsOf<typeof model>, x as never) as never, y as never);
    return trace(
      valueAndGrad(f),
      params,
      tensor(new Array(32).fill(0), { shape: [8, 4] }),
      tensor(new Array(8).fill(0), { dtype: "int32" }),
    );
  },
  attention: () => {
    const model = nn.residual(nn.serial(nn.layerNorm(), nn.attend({ heads: 2, causal: true })));
    const params = model.init(random.key(0), [1, 6, 8]).params;
    const f = (p: unknown, x: unknown) =>
      (model.apply(p as nn.ParamsOf<typeof model>, x as never) as ReturnType<typeof tensor>).square().mean();
    return trace(valueAndGrad(f), params, tensor(new Array(48).fill(0), { shape: [1, 6, 8] }));
  },
};

function label(k: Kernel, names: (v: unknown) => string): string {
  const out = `${names(k.output)} = ${k.kind}`;
  if (k.kind === "elementwise") return `${out}\n${showExpr(k.expr, k.inputs.map(names))}`;
  if (k.kind === "opaque") return `${out} ${k.eqn.prim}`;
  return out;
}

const COLOURS: Record<string, string> = {
  elementwise: "#cfe8ff",
  reduce: "#ffe3b3",
  matmul: "#d8f5d0",
  scatter: "#f5d0e6",
  opaque: "#eeeeee",
};

listen(async (message: { model: string }) => {
  try {
    const make = MODELS[message.model];
    if (!make) throw new Error(`no model ${message.model}; pick one of ${Object.keys(MODELS).join(", ")}`);
    const graph = make();
    const simple = optimize(graph);
    const program = fuse(simple);
    const ids = new Map<unknown, string>();
    const names = (v: unknown) => ids.get(v) ?? (ids.set(v, `v${ids.size}`), ids.get(v)!);
    const producer = new Map<unknown, number>();
    program.kernels.forEach((k, i) => producer.set(k.output, i));
    const lines = [
      "digraph fused {",
      'rankdir=TB; node [shape=box, style="rounded,filled", fontname="monospace", fontsize=10];',
    ];
    program.kernels.forEach((k, i) => {
      lines.push(
        `k${i} [label=${JSON.stringify(label(k, names))}, fillcolor="${COLOURS[k.kind]}", id="k${i}"];`,
      );
      for (const input of k.inputs) {
        const from = producer.get(input);
        lines.push(
          from === undefined
            ? `${JSON.stringify(names(input))} [shape=ellipse, style=""]; ${
              JSON.stringify(names(input))
            } -> k${i};`
            : `k${from} -> k${i};`,
        );
      }
    });
    lines.push("}");
    const viz = await instance();
    const kernels = program.kernels.map((k, i) => ({
      id: `k${i}`,
      kind: k.kind,
      text: label(k, names) + "\n\n" +
        JSON.stringify(
          k,
          (key, v) => (key === "" || typeof v !== "object" || v === null ? v : ids.has(v) ? names(v) : v),
          2,
        ).slice(0, 4000),
    }));
    postMessage({
      before: {
        text: graph.toString(),
        svg: viz.renderString(graph.toDot(), { format: "svg" }),
        eqns: graph.eqns.length,
      },
      after: { text: simple.toString(), svg: viz.renderString(lines.join("\n"), { format: "svg" }), kernels },
    });
  } catch (error) {
    postMessage({ error: String((error as Error).message ?? error) });
  }
});
