/**
 * The guide's lessons in the course's order (../shared/COURSE.md), with their titles.
 * @module
 */
import { attention } from "./attention.ts";
import { descent } from "./descent.ts";
import { languageModels } from "./language_models.ts";
import type { Lesson, Settings } from "./lesson.ts";
import { losses } from "./losses.ts";
import { onehot } from "./onehot.ts";
import { positional } from "./positional.ts";
import { residual } from "./residual.ts";
import { word2vec } from "./word2vec.ts";

/** A lesson with what the guide shows around it. */
export interface GuideEntry {
  lesson: Lesson<Settings, unknown>;
  /** The page title. */
  title: string;
  /** The island that draws it. */
  island: string;
  /** The file whose code the page shows. */
  file: string;
}

/**
 * The lessons, in the course's order.
 *
 * @example
 * ```ts
 * import { GUIDE } from "./mod.ts";
 * if (GUIDE[0].lesson.slug !== "networks" || GUIDE.length !== 8) throw new Error();
 * ```
 */
export const GUIDE: readonly GuideEntry[] = [
  { lesson: descent, title: "Neural networks and gradient descent", island: "Descent", file: "descent.ts" },
  { lesson: losses, title: "Squared error and cross-entropy", island: "Losses", file: "losses.ts" },
  { lesson: onehot, title: "One-hot vectors and learned vectors", island: "OneHot", file: "onehot.ts" },
  { lesson: word2vec, title: "word2vec: skip-gram and CBOW", island: "Word2vec", file: "word2vec.ts" },
  {
    lesson: languageModels,
    title: "n-gram, neural and recurrent language models",
    island: "LanguageModels",
    file: "language_models.ts",
  },
  { lesson: attention, title: "Self-attention", island: "Attention", file: "attention.ts" },
  { lesson: positional, title: "Positional embeddings", island: "Positional", file: "positional.ts" },
  { lesson: residual, title: "Residual connections", island: "Residual", file: "residual.ts" },
] as unknown as GuideEntry[];

/**
 * The lesson named `slug`, if any.
 *
 * @example
 * ```ts
 * import { lessonNamed } from "./mod.ts";
 * if (lessonNamed("word2vec")?.island !== "Word2vec" || lessonNamed("nope")) throw new Error();
 * ```
 */
export function lessonNamed(slug: string): GuideEntry | undefined {
  return GUIDE.find((entry) => entry.lesson.slug === slug);
}
