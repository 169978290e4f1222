/**
 * Intrinsic evaluation of word embeddings, as the word2vec era measured them: nearest neighbours by cosine,
 * word-similarity correlation (Spearman's ρ against human scores, e.g. WordSim-353) and analogies
 * (`a : b :: c : ?` by 3CosAdd over the most frequent words, as word2vec's compute-accuracy does).
 * Everything takes plain Float32Array tables, so it applies to any model's embeddings.
 * @module
 */
import * as L from "../mod.ts";
import type { Vocabulary } from "./corpus.ts";

/**
 * Rows of a [rows, dim] table scaled to unit length (zero rows stay zero).
 *
 * @example
 * ```ts
 * import { unitRows } from "./evaluate.ts";
 * if (unitRows(new Float32Array([3, 4, 0, 0]), 2).join() !== "0.6000000238418579,0.800000011920929,0,0") {
 *   throw new Error();
 * }
 * ```
 */
export function unitRows(table: Float32Array, dim: number): Float32Array {
  const out = new Float32Array(table.length);
  for (let r = 0; r * dim < table.length; r++) {
    let norm = 0;
    for (let d = 0; d < dim; d++) norm += table[r * dim + d] ** 2;
    const scale = norm > 0 ? 1 / Math.sqrt(norm) : 0;
    for (let d = 0; d < dim; d++) out[r * dim + d] = table[r * dim + d] * scale;
  }
  return out;
}

function dot(unit: Float32Array, dim: number, a: number, b: number): number {
  let s = 0;
  for (let d = 0; d < dim; d++) s += unit[a * dim + d] * unit[b * dim + d];
  return s;
}

/**
 * The `k` words closest to `word` by cosine (itself excluded), with their similarities; undefined when the
 * word is not in the vocabulary. `unit` is a table of unit rows ({@linkcode unitRows}).
 *
 * @example
 * ```ts
 * import { vocabularyOf } from "./corpus.ts";
 * import { nearest, unitRows } from "./evaluate.ts";
 * const vocabulary = vocabularyOf(["a", "b", "c"], new Int32Array([3, 2, 1]));
 * const unit = unitRows(new Float32Array([1, 0, 0.9, 0.1, -1, 0]), 2);
 * if (nearest(unit, 2, vocabulary, "a", 1)![0].word !== "b") throw new Error();
 * ```
 */
export function nearest(
  unit: Float32Array,
  dim: number,
  vocabulary: Vocabulary,
  word: string,
  k: number,
): { word: string; similarity: number }[] | undefined {
  const id = vocabulary.idOf.get(word);
  if (id === undefined) return undefined;
  const scored: { word: string; similarity: number }[] = [];
  for (let other = 0; other < vocabulary.words.length; other++) {
    if (other !== id) scored.push({ word: vocabulary.words[other], similarity: dot(unit, dim, id, other) });
  }
  return scored.sort((a, b) => b.similarity - a.similarity).slice(0, k);
}

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
 * import { spearman } from "./evaluate.ts";
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
 * import type { ScoredPair } from "./evaluate.ts";
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
 * Parses a word-similarity table: `word1 TAB word2 TAB score` per line (WordSim-353's combined set).
 *
 * @example
 * ```ts
 * import { parseScoredPairs } from "./evaluate.ts";
 * if (parseScoredPairs("Tiger\tcat\t7.35\n")[0].a !== "tiger") throw new Error();
 * ```
 */
export function parseScoredPairs(text: string): ScoredPair[] {
  return text.split("\n").filter((line) => line.trim().length > 0).map((line, i) => {
    const [a, b, score] = line.split("\t");
    if (b === undefined || !Number.isFinite(Number(score))) {
      throw new Error(`line ${i + 1}: expected word TAB word TAB score, got ${JSON.stringify(line)}`);
    }
    return { a: a.toLowerCase(), b: b.toLowerCase(), score: Number(score) };
  });
}

/**
 * Spearman's ρ between the embeddings' cosine similarities and human scores, over the pairs whose words are
 * both in the vocabulary; `used` and `missing` count the pairs.
 *
 * @example
 * ```ts
 * import { vocabularyOf } from "./corpus.ts";
 * import { unitRows, wordSimilarity } from "./evaluate.ts";
 * const vocabulary = vocabularyOf(["a", "b", "c"], new Int32Array([3, 2, 1]));
 * const unit = unitRows(new Float32Array([1, 0, 0.9, 0.1, -1, 0]), 2);
 * const pairs = [{ a: "a", b: "b", score: 9 }, { a: "a", b: "c", score: 1 }, { a: "b", b: "c", score: 2 }];
 * const r = wordSimilarity(unit, 2, vocabulary, [...pairs, { a: "a", b: "zebra", score: 5 }]);
 * if (r.spearman !== 1 || r.used !== 3 || r.missing !== 1) throw new Error(JSON.stringify(r));
 * ```
 */
export function wordSimilarity(
  unit: Float32Array,
  dim: number,
  vocabulary: Vocabulary,
  pairs: readonly ScoredPair[],
): { spearman: number; used: number; missing: number } {
  const [model, human] = [[] as number[], [] as number[]];
  for (const { a, b, score } of pairs) {
    const [i, j] = [vocabulary.idOf.get(a), vocabulary.idOf.get(b)];
    if (i === undefined || j === undefined) continue;
    model.push(dot(unit, dim, i, j));
    human.push(score);
  }
  return { spearman: spearman(model, human), used: model.length, missing: pairs.length - model.length };
}

/**
 * An analogy question `a : b :: c : d`, in a named section.
 *
 * @example
 * ```ts
 * import type { Analogy } from "./evaluate.ts";
 * const q: Analogy = { section: "family", words: ["boy", "girl", "brother", "sister"] };
 * if (q.words.length !== 4) throw new Error();
 * ```
 */
export interface Analogy {
  /** The section (": capital-common-countries" in the Google set). */
  section: string;
  /** The four words. */
  words: [string, string, string, string];
}

/**
 * Parses the Google analogy set (word2vec's questions-words.txt): `: section` lines, then four words a line.
 *
 * @example
 * ```ts
 * import { parseAnalogies } from "./evaluate.ts";
 * const q = parseAnalogies(": family\nboy girl brother sister\n");
 * if (q[0].section !== "family" || q[0].words[3] !== "sister") throw new Error();
 * ```
 */
export function parseAnalogies(text: string): Analogy[] {
  let section = "";
  const out: Analogy[] = [];
  for (const line of text.split("\n")) {
    if (line.startsWith(":")) section = line.slice(1).trim();
    else if (line.trim().length > 0) {
      const words = line.trim().toLowerCase().split(/\s+/);
      if (words.length !== 4) throw new Error(`analogies: expected four words, got ${JSON.stringify(line)}`);
      out.push({ section, words: words as [string, string, string, string] });
    }
  }
  return out;
}

/**
 * Analogy accuracy by 3CosAdd: for `a : b :: c : d`, the answer is the word w (not a, b or c) maximizing
 * cos(w, b − a + c) over unit vectors, searched among the `restrictTo` most frequent words (word2vec's
 * compute-accuracy uses 30,000). Questions with a word outside those are skipped and counted in `skipped`.
 * Semantic and syntactic accuracies split the Google set at its "gram" sections.
 *
 * @example
 * ```ts
 * import { vocabularyOf } from "./corpus.ts";
 * import { analogyAccuracy, unitRows } from "./evaluate.ts";
 * const words = ["man", "woman", "king", "queen", "apple"];
 * const vocabulary = vocabularyOf(words, new Int32Array([5, 4, 3, 2, 1]));
 * // Axes: royal, male, female, fruit.
 * const unit = unitRows(new Float32Array([0, 1, 0, 0, 0, 0, 1, 0, 1, 1, 0, 0, 1, 0, 1, 0, 0, 0, 0, 1]), 4);
 * const r = analogyAccuracy(unit, 4, vocabulary, [{ section: "x", words: ["man", "woman", "king", "queen"] }]);
 * if (r.correct !== 1 || r.asked !== 1) throw new Error(JSON.stringify(r));
 * ```
 */
export function analogyAccuracy(
  unit: Float32Array,
  dim: number,
  vocabulary: Vocabulary,
  questions: readonly Analogy[],
  restrictTo = 30000,
): { correct: number; asked: number; skipped: number; semantic: number; syntactic: number } {
  const limit = Math.min(restrictTo, vocabulary.words.length);
  const asked = questions.flatMap(({ section, words }) => {
    const ids = words.map((w) => vocabulary.idOf.get(w));
    return ids.some((id) => id === undefined || id >= limit) ? [] : [{ section, ids: ids as number[] }];
  });
  // Scores of every candidate for a block of questions at once: one matmul of the queries (b − a + c) with
  // the candidates' unit vectors.
  const candidates = L.tensor(unit.subarray(0, limit * dim), { shape: [limit, dim] });
  const score = L.jit((q: L.Tensor, c: L.Tensor) => q.matmul(c.transpose()));
  const BLOCK = 256;
  const query = new Float32Array(BLOCK * dim);
  let [correct, semanticRight, semanticAsked] = [0, 0, 0];
  for (let start = 0; start < asked.length; start += BLOCK) {
    const block = asked.slice(start, start + BLOCK);
    query.fill(0);
    block.forEach(({ ids: [a, b, c] }, q) => {
      for (let k = 0; k < dim; k++) {
        query[q * dim + k] = unit[b * dim + k] - unit[a * dim + k] + unit[c * dim + k];
      }
    });
    const scores = score(L.tensor(query, { shape: [BLOCK, dim] }), candidates).dataSync() as Float32Array;
    block.forEach(({ section, ids: [a, b, c, d] }, q) => {
      let [best, bestScore] = [-1, -Infinity];
      for (let w = 0; w < limit; w++) {
        const s = scores[q * limit + w];
        if (s > bestScore && w !== a && w !== b && w !== c) [best, bestScore] = [w, s];
      }
      const right = best === d ? 1 : 0;
      correct += right;
      if (!section.startsWith("gram")) {
        [semanticRight, semanticAsked] = [semanticRight + right, semanticAsked + 1];
      }
    });
  }
  const syntacticAsked = asked.length - semanticAsked;
  return {
    correct,
    asked: asked.length,
    skipped: questions.length - asked.length,
    semantic: semanticAsked ? semanticRight / semanticAsked : NaN,
    syntactic: syntacticAsked ? (correct - semanticRight) / syntacticAsked : NaN,
  };
}
