/**
 * Graphviz DOT of a backend's compile report: the optimized graph's equations as boxes, each kernel's
 * equations inside one cluster coloured by its kind (`id` `k<i>` on the cluster and `k<i>_<var>` on its
 * boxes, so a click names the kernel), inputs and captured constants as ellipses.
 * @module
 */
import type { CompileReport, Graph } from "../../mod.ts";

/** Fill colours of the kernel kinds. */
export const KIND_COLOURS: Readonly<Record<string, string>> = {
  elementwise: "#cfe8ff",
  reduce: "#ffe3b3",
  matmul: "#d8f5d0",
  scatter: "#f5d0e6",
  opaque: "#eeeeee",
};

const quote = (s: string) => JSON.stringify(s);

/**
 * The DOT text.
 *
 * @example
 * ```ts
 * import { explain } from "../../mod.ts";
 * import { kernelDot } from "./kernel_dot.ts";
 * const report = explain((x) => x.exp().add(1).sum(), { shape: [4] });
 * const dot = kernelDot(report);
 * if (!dot.includes("subgraph cluster_k0") || !dot.includes('id="k0"')) throw new Error(dot);
 * ```
 */
export function kernelDot(report: Pick<CompileReport, "optimized" | "kernels">): string {
  const graph: Graph = report.optimized;
  const names = graph.names();
  const owner = new Map<number, number>();
  report.kernels.forEach((k, i) => k.eqns.forEach((e) => owner.set(e, i)));
  const node = (e: number) => {
    const eqn = graph.eqns[e];
    const name = names.get(eqn.out)!;
    const k = owner.get(e);
    const id = k === undefined ? `free_${name}` : `k${k}_${name}`;
    const style = k === undefined ? ', style="dashed,rounded"' : "";
    return `${quote(`v_${name}`)} [id=${quote(id)}, label=${quote(`${name} = ${eqn.prim}`)}${style}];`;
  };
  const lines = [
    "digraph kernels {",
    'rankdir=TB; nodesep=0.15; ranksep=0.3; node [shape=box, style=rounded, fontname="monospace", fontsize=10];',
  ];
  for (const v of graph.inputs) {
    lines.push(`${quote(`v_${names.get(v)}`)} [shape=ellipse, label=${quote(names.get(v)!)}];`);
  }
  for (const c of graph.captures) {
    lines.push(
      `${quote(`v_${names.get(c.v)}`)} [shape=ellipse, style=dashed, label=${quote(names.get(c.v)!)}];`,
    );
  }
  report.kernels.forEach((k, i) => {
    lines.push(
      `subgraph cluster_k${i} {`,
      `id="k${i}"; label=${quote(`k${i} ${k.kind}`)}; labeljust=l; fontname="monospace"; fontsize=10;`,
      `style="filled,rounded"; color="#8899aa"; fillcolor=${quote(KIND_COLOURS[k.kind] ?? "#eeeeee")};`,
      ...k.eqns.map(node),
      "}",
    );
  });
  graph.eqns.forEach((_, e) => owner.has(e) || lines.push(node(e)));
  for (const eqn of graph.eqns) {
    for (const v of new Set(eqn.inputs)) {
      lines.push(`${quote(`v_${names.get(v)}`)} -> ${quote(`v_${names.get(eqn.out)}`)};`);
    }
  }
  graph.outputs.forEach((v, i) => {
    lines.push(`out${i} [shape=doublecircle, label="out${i}"];`, `${quote(`v_${names.get(v)}`)} -> out${i};`);
  });
  lines.push("}");
  return lines.join("\n");
}
