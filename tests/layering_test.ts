/**
 * The layers of the house (../shared/DESIGN.md §2), read off the real import graph (`deno info --json`):
 * `dsl/ir/` imports nothing else of the project, `kernels/` imports only `dsl/ir/` (and itself), and `dsl/`
 * never imports `kernels/`. Type-only imports count: a layer that needs another's types depends on it.
 */
import assert from "node:assert/strict";

const root = new URL("../", import.meta.url);
const rel = (url: string) => url.startsWith(root.href) ? url.slice(root.href.length) : url;

interface Module {
  specifier: string;
  dependencies?: { specifier: string; code?: { specifier: string }; type?: { specifier: string } }[];
}

/** Every project module reachable from `entry`, with the project modules it imports. */
async function importGraph(entry: string): Promise<Map<string, string[]>> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", entry],
    cwd: root,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.ok(out.success, `deno info ${entry}: ${new TextDecoder().decode(out.stderr)}`);
  const { modules } = JSON.parse(new TextDecoder().decode(out.stdout)) as { modules: Module[] };
  const graph = new Map<string, string[]>();
  for (const m of modules) {
    if (!m.specifier.startsWith(root.href)) continue;
    const deps = (m.dependencies ?? []).flatMap((d) =>
      [d.code?.specifier, d.type?.specifier].filter((s): s is string => s?.startsWith(root.href) === true)
    );
    graph.set(rel(m.specifier), [...new Set(deps.map(rel))]);
  }
  return graph;
}

/** The .ts files under a folder of the project. */
async function sources(folder: string): Promise<string[]> {
  const files: string[] = [];
  const walk = async (dir: string) => {
    for await (const entry of Deno.readDir(new URL(dir, root))) {
      const path = `${dir}${entry.name}`;
      if (entry.isDirectory) await walk(`${path}/`);
      else if (entry.name.endsWith(".ts")) files.push(path);
    }
  };
  await walk(folder);
  return files;
}

/** What each layer may import besides itself. */
function violation(from: string, to: string): string | undefined {
  if (from.startsWith("dsl/ir/") && !to.startsWith("dsl/ir/")) {
    return "dsl/ir/ imports nothing else of the project";
  }
  if (from.startsWith("kernels/") && !to.startsWith("kernels/") && !to.startsWith("dsl/ir/")) {
    return "kernels/ imports only dsl/ir/";
  }
  if (from.startsWith("dsl/") && to.startsWith("kernels/")) {
    return "dsl/ reaches backends only through the Backend interface";
  }
  return undefined;
}

Deno.test("layering: dsl/ir imports nothing else, kernels/ imports only dsl/ir, dsl/ never imports kernels/", async () => {
  const files = [...await sources("dsl/"), ...await sources("kernels/")];
  const graph = new Map<string, string[]>();
  // mod.ts reaches almost everything; files it does not reach (a worker's entry) get their own look.
  for (const entry of ["mod.ts", ...files]) {
    if (entry !== "mod.ts" && graph.has(entry)) continue;
    for (const [file, deps] of await importGraph(entry)) graph.set(file, deps);
  }
  for (const file of files) assert.ok(graph.has(file), `${file} was read`);
  const broken: string[] = [];
  for (const [file, deps] of graph) {
    for (const dep of deps) {
      const rule = violation(file, dep);
      if (rule) broken.push(`${file} imports ${dep}: ${rule}`);
    }
  }
  assert.deepEqual(broken, []);
});

Deno.test("layering: the check itself catches a kernels/ -> dsl/ import", () => {
  assert.ok(violation("kernels/cpu/mod.ts", "dsl/tensor.ts"));
  assert.ok(violation("dsl/jit.ts", "kernels/cpu/mod.ts"));
  assert.ok(violation("dsl/ir/graph.ts", "dsl/tensor.ts"));
  assert.equal(violation("kernels/cpu/mod.ts", "dsl/ir/mod.ts"), undefined);
  assert.equal(violation("dsl/jit.ts", "dsl/ir/graph.ts"), undefined);
});
