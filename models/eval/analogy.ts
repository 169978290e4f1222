/**
 * Analogies `a : b :: c : ?` (Mikolov et al., 2013's Google set): the answer is the word w, other than a, b
 * and c, that scores best by 3CosAdd, `cos(w, b) − cos(w, a) + cos(w, c)` (the nearest to b − a + c), or by
 * 3CosMul (Levy & Goldberg, 2014), `cos'(w, b)·cos'(w, c) / (cos'(w, a) + 0.001)` with cosines shifted to
 * [0, 1]. Candidates are the `restrictTo` first (most frequent) words, as word2vec's compute-accuracy does;
 * a question with a word outside them is not asked, and the coverage says how many were.
 * @module
 */
import * as L from "../../mod.ts";
import { unitRows, wordIndex, type WordVectors } from "./vectors.ts";

/**
 * An analogy question `a : b :: c : d`, in a named section.
 *
 * @example
 * ```ts
 * import type { Analogy } from "./analogy.ts";
 * const q: Analogy = { section: "family", words: ["boy", "girl", "brother", "sister"] };
 * if (q.words.length !== 4) throw new Error();
 * ```
 */
export interface Analogy {
  /** The section ("capital-common-countries" in the Google set). */
  section: string;
  /** The four words. */
  words: [string, string, string, string];
}

/**
 * Parses the Google analogy format (questions-words.txt): `: section` lines, then four words a line; `where`
 * names the file in errors.
 *
 * @example
 * ```ts
 * import { parseAnalogies } from "./analogy.ts";
 * const q = parseAnalogies(": family\nboy girl brother sister\n", "q.txt");
 * if (q[0].section !== "family" || q[0].words[3] !== "sister") throw new Error();
 * ```
 */
export function parseAnalogies(text: string, where: string): Analogy[] {
  let section = "";
  const out: Analogy[] = [];
  text.split("\n").forEach((line, i) => {
    if (line.startsWith(":")) section = line.slice(1).trim();
    else if (line.trim().length > 0) {
      const words = line.trim().split(/\s+/);
      if (words.length !== 4) {
        throw new Error(`${where}: line ${i + 1} should hold four words, got ${JSON.stringify(line)}`);
      }
      out.push({ section, words: words as [string, string, string, string] });
    }
  });
  if (out.length === 0) {
    throw new Error(`${where} holds no question; pass a file in questions-words.txt's format`);
  }
  return out;
}

/**
 * Accuracy of one section (or the total).
 *
 * @example
 * ```ts
 * import type { AnalogyScore } from "./analogy.ts";
 * const s: AnalogyScore = { questions: 4, asked: 2, add: 0.5, mul: 1, coverage: 0.5 };
 * if (s.asked !== 2) throw new Error();
 * ```
 */
export interface AnalogyScore {
  /** Questions in the set. */
  questions: number;
  /** Questions asked (all four words among the candidates). */
  asked: number;
  /** 3CosAdd accuracy over the asked questions. */
  add: number;
  /** 3CosMul accuracy over the asked questions. */
  mul: number;
  /** asked / questions. */
  coverage: number;
}

/**
 * Analogy results: per section (in file order) and in total.
 *
 * @example
 * ```ts
 * import type { AnalogyResult } from "./analogy.ts";
 * const total = (r: AnalogyResult) => r.total.add;
 * if (typeof total !== "function") throw new Error();
 * ```
 */
export interface AnalogyResult {
  /** Each section's score. */
  sections: { section: string; score: AnalogyScore }[];
  /** All questions. */
  total: AnalogyScore;
}

/** Distinct question words scored against the candidates at once: 512 rows of cosines, 60 MiB at most. */
const GROUP_WORDS = 512;

/**
 * The answers to `a : b :: c : ?` by 3CosAdd and 3CosMul, from the cosines of a, b and c with every candidate
 * (rows starting at `at[0..2]` of `cosines`), a, b and c themselves excluded. This loop runs once per question
 * over every candidate, so it reads plain locals only.
 */
function bestAnswers(
  cosines: Float32Array,
  at: readonly number[],
  ids: readonly number[],
  limit: number,
): [number, number] {
  const [ra, rb, rc] = at;
  const [a, b, c] = ids;
  let bestAdd = -1, scoreAdd = -Infinity, bestMul = -1, scoreMul = -Infinity;
  for (let w = 0; w < limit; w++) {
    if (w === a || w === b || w === c) continue;
    const ca = cosines[ra + w], cb = cosines[rb + w], cc = cosines[rc + w];
    const add = cb - ca + cc;
    const mul = ((cb + 1) / 2) * ((cc + 1) / 2) / ((ca + 1) / 2 + 1e-3);
    if (add > scoreAdd) {
      bestAdd = w;
      scoreAdd = add;
    }
    if (mul > scoreMul) {
      bestMul = w;
      scoreMul = mul;
    }
  }
  return [bestAdd, bestMul];
}

/**
 * Answers analogy questions by 3CosAdd and 3CosMul.
 *
 * @example
 * ```ts
 * import { analogies } from "./analogy.ts";
 * // Axes: royal, male, female, fruit.
 * const words = ["man", "woman", "king", "queen", "apple"];
 * const table = new Float32Array([0, 1, 0, 0, 0, 0, 1, 0, 1, 1, 0, 0, 1, 0, 1, 0, 0, 0, 0, 1]);
 * const r = analogies({ words, table, dim: 4 }, [
 *   { section: "royal", words: ["man", "woman", "king", "queen"] },
 *   { section: "royal", words: ["man", "woman", "king", "zebra"] },
 * ]);
 * if (r.total.add !== 1 || r.total.mul !== 1 || r.total.coverage !== 0.5) throw new Error(JSON.stringify(r));
 * ```
 */
export function analogies(
  vectors: WordVectors,
  questions: readonly Analogy[],
  restrictTo = 30000,
): AnalogyResult {
  const { dim } = vectors;
  const limit = Math.min(restrictTo, vectors.words.length);
  const index = wordIndex(vectors.words.slice(0, limit));
  const find = (w: string) => index.get(w) ?? index.get(w.toLowerCase());
  const unit = unitRows(vectors.table.subarray(0, limit * dim), dim);
  const asked = questions.flatMap(({ section, words }) => {
    const ids = words.map(find);
    return ids.some((id) => id === undefined) ? [] : [{ section, ids: ids as number[] }];
  });
  const candidates = L.tensor(unit, { shape: [limit, dim] });
  const cosines = L.jit((q: L.Tensor, c: L.Tensor) => q.matmul(c.transpose()));
  const query = new Float32Array(GROUP_WORDS * dim);
  const right = new Map<string, { add: number; mul: number; asked: number }>();
  for (const { section } of questions) {
    if (!right.has(section)) right.set(section, { add: 0, mul: 0, asked: 0 });
  }
  // The questions reuse a few hundred words, so each group of questions scores only its distinct words
  // against the candidates (a [words, candidates] product, not one row per question word).
  for (let start = 0; start < asked.length;) {
    const rowOf = new Map<number, number>();
    let end = start;
    for (; end < asked.length; end++) {
      const fresh = new Set(asked[end].ids.slice(0, 3).filter((id) => !rowOf.has(id)));
      if (rowOf.size + fresh.size > GROUP_WORDS) break;
      for (const id of fresh) rowOf.set(id, rowOf.size);
    }
    query.fill(0); // one shape for every group: one compiled product
    for (const [id, row] of rowOf) query.set(unit.subarray(id * dim, (id + 1) * dim), row * dim);
    const s = cosines(L.tensor(query, { shape: [GROUP_WORDS, dim] }), candidates).dataSync() as Float32Array;
    for (const { section, ids } of asked.slice(start, end)) {
      const [best, bestByMul] = bestAnswers(s, ids.map((id) => rowOf.get(id)! * limit), ids, limit);
      const r = right.get(section)!;
      r.asked++;
      if (best === ids[3]) r.add++;
      if (bestByMul === ids[3]) r.mul++;
    }
    start = end;
  }
  const score = (n: number, r: { add: number; mul: number; asked: number }): AnalogyScore => ({
    questions: n,
    asked: r.asked,
    add: r.asked ? r.add / r.asked : NaN,
    mul: r.asked ? r.mul / r.asked : NaN,
    coverage: n ? r.asked / n : 0,
  });
  const sections = [...right].map(([section, r]) => ({
    section,
    score: score(questions.filter((q) => q.section === section).length, r),
  }));
  const sum = [...right.values()].reduce(
    (t, r) => ({ add: t.add + r.add, mul: t.mul + r.mul, asked: t.asked + r.asked }),
    {
      add: 0,
      mul: 0,
      asked: 0,
    },
  );
  return { sections, total: score(questions.length, sum) };
}
