/**
 * Every island component by name, for server rendering (the browser loads each from its own bundle).
 * @module
 */
import type { FunctionComponent } from "preact";
import Attention from "../islands/Attention.tsx";
import Descent from "../islands/Descent.tsx";
import LanguageModels from "../islands/LanguageModels.tsx";
import Losses from "../islands/Losses.tsx";
import OneHot from "../islands/OneHot.tsx";
import Positional from "../islands/Positional.tsx";
import Residual from "../islands/Residual.tsx";
import Word2vec from "../islands/Word2vec.tsx";

/**
 * Island components by the name in `data-island`.
 *
 * @example
 * ```ts
 * import { ISLANDS } from "./islands.ts";
 * if (typeof ISLANDS.Word2vec !== "function") throw new Error();
 * ```
 */
// deno-lint-ignore no-explicit-any
export const ISLANDS: Record<string, FunctionComponent<any>> = {
  Attention,
  Descent,
  LanguageModels,
  Losses,
  OneHot,
  Positional,
  Residual,
  Word2vec,
};
