/**
 * models/ is built only from the public DSL (../shared/DESIGN.md §2): of the library, its files import
 * `mod.ts` and nothing else (no `dsl/` or `kernels/` module directly).
 */
import assert from "node:assert/strict";

Deno.test("models/: every file imports the library only through mod.ts", async () => {
  const root = new URL("../../", import.meta.url);
  const broken: string[] = [];
  const walk = async (dir: URL, rel: string) => {
    for await (const entry of Deno.readDir(dir)) {
      if (entry.isDirectory) await walk(new URL(`${entry.name}/`, dir), `${rel}${entry.name}/`);
      else if (entry.name.endsWith(".ts")) {
        const text = await Deno.readTextFile(new URL(entry.name, dir));
        for (const [, spec] of text.matchAll(/(?:from|import\()\s*"([^"]+)"/g)) {
          if (!spec.startsWith(".")) continue;
          const target = new URL(spec, new URL(entry.name, dir)).href.slice(root.href.length);
          if (!target.startsWith("models/") && target !== "mod.ts") {
            broken.push(`${rel}${entry.name} imports ${target}`);
          }
        }
      }
    }
  };
  await walk(new URL("models/", root), "models/");
  assert.deepEqual(broken, []);
});
