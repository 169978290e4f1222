/**
 * Recipes: presets in `models/recipes/NAME.json` that reproduce a paper's result with one command,
 * `deno task train --recipe NAME` (flags given beside it override the recipe). A recipe names its model, its
 * corpus (a path relative to the repository root, or "brown") and config fields, and records the paper's
 * figure and the target; `--recipe` also takes the path of a JSON file of the same shape (its corpus path
 * then relative to the file's folder).
 * @module
 */
import { fieldValue, kebab, userPath } from "./flags.ts";
import type { AnySpec } from "./spec.ts";

/**
 * A recipe.
 *
 * @example
 * ```ts
 * import type { Recipe } from "./recipe.ts";
 * const r: Recipe = { name: "kn5-ptb", model: "ngram", corpus: "../shared/data/ptb.train.txt", config: { order: 5 } };
 * if (r.model !== "ngram") throw new Error();
 * ```
 */
export interface Recipe {
  /** Its name (the file's stem). */
  name: string;
  /** The model. */
  model: string;
  /** The corpus: "brown", or a path (relative ones from the repository root). */
  corpus?: string;
  /** Config fields. */
  config: Record<string, unknown>;
  /** What it reproduces. */
  paper?: string;
  /** The figure to reach. */
  target?: string;
}

const RECIPES = new URL("./recipes/", import.meta.url);
const ROOT = new URL("../", import.meta.url);

/**
 * The names of the recipes in `models/recipes/`.
 *
 * @example
 * ```ts
 * import { recipeNames } from "./recipe.ts";
 * if (!(await recipeNames()).includes("kn5-ptb")) throw new Error();
 * ```
 */
export async function recipeNames(): Promise<string[]> {
  const names: string[] = [];
  for await (const entry of Deno.readDir(RECIPES)) {
    if (entry.isFile && entry.name.endsWith(".json")) names.push(entry.name.slice(0, -5));
  }
  return names.sort();
}

/**
 * Reads a recipe by name (or JSON path) and checks it against the registry: an unknown recipe, model or
 * field, or a value of the wrong type, is an error naming the fix.
 *
 * @example
 * ```ts
 * import { loadRecipe } from "./recipe.ts";
 * import { registry } from "./registry.ts";
 * const r = await loadRecipe("kn5-ptb", registry);
 * if (r.model !== "ngram" || r.config.order !== 5) throw new Error();
 * ```
 */
export async function loadRecipe(
  nameOrPath: string,
  registry: ReadonlyMap<string, AnySpec>,
): Promise<Recipe> {
  const isPath = nameOrPath.endsWith(".json");
  const url = isPath ? new URL(`file://${userPath(nameOrPath)}`) : new URL(`${nameOrPath}.json`, RECIPES);
  let text: string;
  try {
    text = await Deno.readTextFile(url);
  } catch {
    throw new Error(
      `unknown recipe ${JSON.stringify(nameOrPath)}; --recipe takes one of: ${
        (await recipeNames()).join(", ")
      }, or a .json file`,
    );
  }
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new Error(`recipe ${decodeURIComponent(url.pathname)} is not valid JSON; fix the file`);
  }
  const where = `recipe ${nameOrPath}`;
  const spec = registry.get(String(raw.model));
  if (!spec) {
    throw new Error(
      `${where}: unknown model ${JSON.stringify(raw.model)}; it takes one of: ${
        [...registry.keys()].join(", ")
      }`,
    );
  }
  const config: Record<string, unknown> = {};
  for (const [key, value] of Object.entries((raw.config ?? {}) as Record<string, unknown>)) {
    const field = spec.fields[key];
    if (!field) {
      throw new Error(
        `${where}: ${spec.name} has no field ${key}; its fields: ${Object.keys(spec.fields).join(", ")}`,
      );
    }
    config[key] = fieldValue(`${where}: ${key} (--${kebab(key)})`, field, value);
  }
  // A named recipe's corpus is relative to the repository root; a recipe file's, to the file's folder.
  const base = isPath ? new URL(".", url) : ROOT;
  const corpus = typeof raw.corpus === "string"
    ? raw.corpus === "brown" || raw.corpus.startsWith("/")
      ? raw.corpus
      : decodeURIComponent(new URL(raw.corpus, base).pathname)
    : undefined;
  return {
    name: isPath ? nameOrPath.split("/").pop()!.slice(0, -5) : nameOrPath,
    model: spec.name,
    corpus,
    config,
    paper: typeof raw.paper === "string" ? raw.paper : undefined,
    target: typeof raw.target === "string" ? raw.target : undefined,
  };
}
