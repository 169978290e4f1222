/**
 * Word similarity: Spearman's rank correlation between the cosines of word vectors and human ratings of word
 * pairs (WordSim-353 and the like), over the pairs whose words both have vectors, with that coverage.
 * @module
 */
import { cosine, unitRows, wordIndex, type WordVectors } from "./vectors.ts";

/** Ranks from 1, ties sharing the mean of their ranks. */
function ranks(values: readonly number[]): number[] {
  const order = values.map((v, i) => [v, i] as const).sort((a, b) => a[0] - b[0]);
  const out = new Array<number>(values.length);
  for (let start = 0; start < order.length;) {
    let end = start + 1;
    while (end < order.length && order[end][0] === order[start][0]) end++;
    const rank = (start + end + 1) / 2; // mean of ranks start+1 .. end
    for (let i = start; i < end; i++) out[order[i][1]] = rank;
    start = end;
  }
  return out;
}

/**
 * Spearman's rank correlation: Pearson's correlation of the ranks (ties get mean ranks). NaN when a side is
 * constant.
 *
 * @example
 * ```ts
 * import { spearman } from "./similarity.ts";
 * if (spearman([1, 2, 3, 4], [10, 20, 25, 100]) !== 1) throw new Error();
 * if (spearman([1, 2, 3], [3, 2, 1]) !== -1) throw new Error();
 * ```
 */
export function spearman(a: readonly number[], b: readonly number[]): number {
  if (a.length !== b.length) throw new RangeError(`spearman: ${a.length} values against ${b.length}`);
  const [ra, rb] = [ranks(a), ranks(b)];
  const mean = (a.length + 1) / 2;
  let [sab, saa, sbb] = [0, 0, 0];
  for (let i = 0; i < a.length; i++) {
    sab += (ra[i] - mean) * (rb[i] - mean);
    saa += (ra[i] - mean) ** 2;
    sbb += (rb[i] - mean) ** 2;
  }
  return sab / Math.sqrt(saa * sbb);
}

/**
 * A word pair with a human similarity score.
 *
 * @example
 * ```ts
 * import type { ScoredPair } from "./similarity.ts";
 * const pair: ScoredPair = { a: "tiger", b: "cat", score: 7.35 };
 * if (pair.score < 0) throw new Error();
 * ```
 */
export interface ScoredPair {
  /** First word. */
  a: string;
  /** Second word. */
  b: string;
  /** The human score. */
  score: number;
}

/**
 * Parses a word-similarity table: `word1 TAB word2 TAB score` a line (spaces work too); `where` names the
 * file in errors.
 *
 * @example
 * ```ts
 * import { parseScoredPairs } from "./similarity.ts";
 * if (parseScoredPairs("tiger\tcat\t7.35\n", "ws.tsv")[0].score !== 7.35) throw new Error();
 * ```
 */
export function parseScoredPairs(text: string, where: string): ScoredPair[] {
  const pairs = text.split("\n").filter((line) => line.trim().length > 0 && !line.startsWith("#")).map(
    (line, i) => {
      const [a, b, score] = line.trim().split(/\t|\s+/);
      if (b === undefined || !Number.isFinite(Number(score))) {
        throw new Error(
          `${where}: line ${i + 1} should be word TAB word TAB score, got ${JSON.stringify(line)}`,
        );
      }
      return { a, b, score: Number(score) };
    },
  );
  if (pairs.length === 0) {
    throw new Error(`${where} holds no pair; pass a file of word TAB word TAB score lines`);
  }
  return pairs;
}

/**
 * A similarity result.
 *
 * @example
 * ```ts
 * import type { SimilarityResult } from "./similarity.ts";
 * const r: SimilarityResult = { spearman: 0.5, pairs: 10, covered: 8, coverage: 0.8 };
 * if (r.coverage !== 0.8) throw new Error();
 * ```
 */
export interface SimilarityResult {
  /** Spearman's ρ over the covered pairs. */
  spearman: number;
  /** Pairs in the set. */
  pairs: number;
  /** Pairs whose two words have vectors. */
  covered: number;
  /** covered / pairs. */
  coverage: number;
}

/**
 * Spearman's ρ between cosines and human scores, over the covered pairs (words looked up as they are, then
 * lowercased).
 *
 * @example
 * ```ts
 * import { wordSimilarity } from "./similarity.ts";
 * const vectors = { words: ["a", "b", "c"], table: new Float32Array([1, 0, 0.9, 0.1, -1, 0]), dim: 2 };
 * const pairs = [{ a: "a", b: "b", score: 9 }, { a: "a", b: "c", score: 1 }, { a: "b", b: "c", score: 2 }];
 * const r = wordSimilarity(vectors, [...pairs, { a: "a", b: "zebra", score: 5 }]);
 * if (r.spearman !== 1 || r.covered !== 3 || r.coverage !== 0.75) throw new Error(JSON.stringify(r));
 * ```
 */
export function wordSimilarity(vectors: WordVectors, pairs: readonly ScoredPair[]): SimilarityResult {
  const unit = unitRows(vectors.table, vectors.dim);
  const index = wordIndex(vectors.words);
  const find = (w: string) => index.get(w) ?? index.get(w.toLowerCase());
  const [model, human] = [[] as number[], [] as number[]];
  for (const { a, b, score } of pairs) {
    const [i, j] = [find(a), find(b)];
    if (i === undefined || j === undefined) continue;
    model.push(cosine(unit, vectors.dim, i, j));
    human.push(score);
  }
  return {
    spearman: model.length >= 2 ? spearman(model, human) : NaN,
    pairs: pairs.length,
    covered: model.length,
    coverage: model.length / pairs.length,
  };
}
