/**
 * Nearest neighbours of a word by cosine similarity of the word vectors.
 * @module
 */
import { cosine, unitRows, type WordVectors } from "./vectors.ts";

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
  const { words, dim } = vectors;
  // The word, else its lowercase form as a word, else the first word whose lowercase form it is (wordIndex's
  // order) — found by a scan, not a map of every word built per call.
  const lower = word.toLowerCase();
  let id = words.indexOf(word);
  if (id < 0) id = words.indexOf(lower);
  if (id < 0) id = words.findIndex((w) => w.toLowerCase() === lower);
  if (id < 0) return undefined;
  // The k best so far, best first; a later word displaces one only by a strictly higher cosine (ties keep
  // the earlier word, as a stable sort would).
  const best: { word: string; similarity: number }[] = [];
  for (let other = 0; other < words.length && k > 0; other++) {
    if (other === id) continue;
    const similarity = cosine(unit, dim, id, other);
    if (best.length === k) {
      if (!(similarity > best[k - 1].similarity)) continue;
      best.pop();
    }
    let at = best.length;
    while (at > 0 && similarity > best[at - 1].similarity) at--;
    best.splice(at, 0, { word: words[other], similarity });
  }
  return best;
}
