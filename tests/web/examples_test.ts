/**
 * The playground's examples run as the playground's worker runs them (`loom`, `print`, `plot`, `graph` in
 * scope), here in Deno, and print what they promise.
 */
import * as loom from "../../mod.ts";
import { EXAMPLES } from "../../web/islands/examples.ts";
import { fromCode } from "../../web/islands/graph_models.ts";

for (const [i, example] of EXAMPLES.entries()) {
  Deno.test(`playground example ${i + 1} (${example.title}) runs and prints`, async () => {
    const printed: string[] = [];
    const print = (...values: unknown[]) => printed.push(values.map(String).join(" "));
    const AsyncFunction = Object.getPrototypeOf(async () => {}).constructor;
    await new AsyncFunction("loom", "print", "plot", "graph", example.code)(loom, print, () => {}, () => {});
    if (printed.length === 0) throw new Error("the example printed nothing");
  });
}

Deno.test("playground code that calls graph(f, ...inputs) gives the graph viewer its function", async () => {
  const example = EXAMPLES.find((x) => x.code.includes("graph("))!;
  const { f, inputs } = await fromCode(example.code);
  if (loom.explain(f, ...inputs).kernels.length === 0) throw new Error("no kernels");
});
