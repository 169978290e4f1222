/**
 * `deno task docs`: the live docs site. It arrives with the docs-site issue; until then this command says so.
 * @module
 */
if (import.meta.main) {
  console.log("Loom docs site: not built yet. Read README.md and the JSDoc of mod.ts (deno doc mod.ts).");
}
