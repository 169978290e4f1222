/**
 * Every rule table is typed `{ [P in PrimName]: Rule<P> }`, so a primitive without a rule is a compile
 * error. This test type-checks small fixtures, each a real table with one entry taken out, and asserts that
 * `deno check` names the missing primitive — and that the same table complete passes.
 */
import assert from "node:assert/strict";

const root = new URL("../", import.meta.url);

/** Each table: where it lives, its name, and the type of one rule. */
const TABLES = [
  {
    module: "dsl/ir/primitives.ts",
    table: "PRIMITIVES",
    rule: "PrimitiveDecl<KindOf<P>, PrimParams<P>>",
    extra: "KindOf, PrimParams, PrimitiveDecl",
  },
  { module: "dsl/autodiff.ts", table: "VJP_RULES", rule: "VjpRule<P>", extra: "VjpRule" },
  { module: "dsl/jvp.ts", table: "JVP_RULES", rule: "JvpRule<P>", extra: "JvpRule" },
  { module: "dsl/vmap.ts", table: "BATCH_RULES", rule: "BatchRule<P>", extra: "BatchRule" },
  {
    module: "kernels/reference/mod.ts",
    table: "REFERENCE_RULES",
    rule: "ReferenceRule<P>",
    extra: "ReferenceRule",
  },
  { module: "kernels/cpu/lowering.ts", table: "CPU_LOWERING", rule: "CpuLowering<P>", extra: "CpuLowering" },
  {
    module: "kernels/webgpu/mod.ts",
    table: "WEBGPU_LOWERING",
    rule: "WebGpuLowering<P>",
    extra: "WebGpuLowering",
  },
] as const;

/** A fixture that rebuilds `table` typed over every primitive, without `drop` (or complete when absent). */
function fixture(t: (typeof TABLES)[number], drop?: string): string {
  const types = [...new Set(["PrimName", ...t.extra.split(", ")])];
  const fromIr = types.filter((n) => ["PrimName", "KindOf", "PrimParams", "PrimitiveDecl"].includes(n));
  const fromModule = types.filter((n) => !fromIr.includes(n));
  return [
    `import { ${t.table} } from "../../${t.module}";`,
    fromModule.length ? `import type { ${fromModule.join(", ")} } from "../../${t.module}";` : "",
    `import type { ${fromIr.join(", ")} } from "../../dsl/ir/primitives.ts";`,
    drop ? `const { ${drop}: _dropped, ...rest } = ${t.table};` : `const rest = { ...${t.table} };`,
    `export const table: { readonly [P in PrimName]: ${t.rule} } = rest;`,
    "",
  ].join("\n");
}

Deno.test("rule tables: a table missing one primitive's rule fails deno check, naming it; complete ones pass", async () => {
  const dir = await Deno.makeTempDir({ dir: new URL("tests/", root).pathname, prefix: ".fixtures-" });
  try {
    const files: { path: string; table: string; drop?: string }[] = [];
    TABLES.forEach((t, i) => {
      // A different primitive for each table, so the check does not lean on one entry.
      const drop = ["exp", "reduce_max", "gather", "concat", "matmul", "pad", "where"][i];
      files.push({ path: `${dir}/missing_${t.table}.ts`, table: t.table, drop });
      files.push({ path: `${dir}/complete_${t.table}.ts`, table: t.table });
      Deno.writeTextFileSync(files.at(-2)!.path, fixture(t, drop));
      Deno.writeTextFileSync(files.at(-1)!.path, fixture(t));
    });
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["check", ...files.map((f) => f.path)],
      cwd: root,
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1" },
    }).output();
    const log = new TextDecoder().decode(out.stderr) + new TextDecoder().decode(out.stdout);
    assert.ok(!out.success, "deno check must fail on the incomplete tables");
    // Errors come as blocks that end with "at file:///...:line:col".
    const blocks = log.split(/\n(?=TS\d+ \[ERROR\])/);
    for (const f of files) {
      const own = blocks.filter((b) => b.includes(`${f.path}:`));
      if (f.drop) {
        assert.ok(
          own.some((b) => new RegExp(`Property '${f.drop}' is missing`).test(b)),
          `${f.table} without ${f.drop}: expected "Property '${f.drop}' is missing", got:\n${
            own.join("\n") || log
          }`,
        );
      } else {
        assert.deepEqual(own, [], `${f.table} complete type-checks`);
      }
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
