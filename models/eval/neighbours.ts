/**
 * Nearest neighbours of a word by cosine similarity of the word vectors.
 * @module
 */
import { cosine, unitRows, wordIndex, type WordVectors } from "./vectors.ts";

/**
 * The `k` words closest to `word` by cosine (itself excluded), with their similarities; undefined when the
 * word has no vector.
 *
 * @example
 * ```ts
 * import { neighbours } from "./neighbours.ts";
 * const vectors = { words: ["a", "b", "c"], table: new Float32Array([1, 0, 0.9, 0.1, -1, 0]), dim: 2 };
 * if (neighbours(vectors, "a", 1)![0].word !== "b") throw new Error();
 * ```
 */
export function neighbours(
  vectors: WordVectors,
  word: string,
  k: number,
  unit: Float32Array = unitRows(vectors.table, vectors.dim),
): { word: string; similarity: number }[] | undefined {
  const index = wordIndex(vectors.words);
  const id = index.get(word) ?? index.get(word.toLowerCase());
  if (id === undefined) return undefined;
  const scored: { word: string; similarity: number }[] = [];
  for (let other = 0; other < vectors.words.length; other++) {
    if (other !== id) {
      scored.push({ word: vectors.words[other], similarity: cosine(unit, vectors.dim, id, other) });
    }
  }
  return scored.sort((a, b) => b.similarity - a.similarity).slice(0, k);
}
