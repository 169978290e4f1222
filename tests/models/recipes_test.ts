/** Every recipe of `models/recipes/` names a model of the registry and sets only fields it has, with valid values. */
import assert from "node:assert/strict";
import { loadRecipe, recipeNames } from "../../models/recipe.ts";
import { registry } from "../../models/registry.ts";

Deno.test("recipes: each loads against its model's fields, and says which paper and target it reproduces", async () => {
  const names = await recipeNames();
  assert.ok(names.length >= 9, names.join());
  for (const name of names) {
    const recipe = await loadRecipe(name, registry);
    assert.ok(registry.has(recipe.model), `${name}: model ${recipe.model}`);
    const text = JSON.parse(
      await Deno.readTextFile(new URL(`../../models/recipes/${name}.json`, import.meta.url)),
    );
    assert.ok(typeof text.paper === "string" && text.paper.length > 0, `${name}: paper`);
    assert.ok(typeof text.target === "string" && text.target.length > 0, `${name}: target`);
  }
});
