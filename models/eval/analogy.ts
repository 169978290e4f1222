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

/** Questions answered by one call of the compiled selection (padded): [256, candidates] scores per call. */
const QUESTIONS_PER_CALL = 128;

/**
 * The answers to `a : b :: c : ?` by 3CosAdd and 3CosMul for a block of questions: `rowA`, `rowB`, `rowC`
 * pick each question's words' rows of `cosines` (their cosines with every candidate), `a`, `b`, `c` are the
 * words' ids, excluded as answers. Returns the best candidates, [questions] each; ties go to the first, as
 * word2vec.c's compute-accuracy scans.
 */
function bestAnswers(
  cosines: L.Tensor,
  rowA: L.Tensor,
  rowB: L.Tensor,
  rowC: L.Tensor,
  a: L.Tensor,
  b: L.Tensor,
  c: L.Tensor,
): [L.Tensor, L.Tensor] {
  const [ca, cb, cc] = [rowA, rowB, rowC].map((rows) => L.take(cosines, rows));
  const candidate = L.arange(cosines.shape[1]);
  const own = [a, b, c].map((id) => candidate.equal(id.unsqueeze(1)));
  const add = cb.sub(ca).add(cc);
  // 3CosMul (Levy and Goldberg, 2014): cosines shifted to [0, 1], ε = 0.001.
  const shifted = (x: L.Tensor) => x.add(1).mul(0.5);
  const mul = shifted(cb).mul(shifted(cc)).div(shifted(ca).add(1e-3));
  const best = (score: L.Tensor) => L.argmax(own.reduce((x, mask) => L.where(mask, -Infinity, x), score), 1);
  return [best(add), best(mul)];
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
  const select = L.jit(bestAnswers);
  const query = new Float32Array(GROUP_WORDS * dim);
  const right = new Map<string, { add: number; mul: number; asked: number }>();
  for (const { section } of questions) {
    if (!right.has(section)) right.set(section, { add: 0, mul: 0, asked: 0 });
  }
  // The block of questions one selection answers: rows of the cosines and ids, padded with question 0.
  const block = Array.from({ length: 6 }, () => new Int32Array(QUESTIONS_PER_CALL));
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
    const s = cosines(L.tensor(query, { shape: [GROUP_WORDS, dim] }), candidates);
    for (let first = start; first < end; first += QUESTIONS_PER_CALL) {
      const group = asked.slice(first, Math.min(first + QUESTIONS_PER_CALL, end));
      block.forEach((column) => column.fill(0));
      group.forEach(({ ids }, q) => {
        for (let w = 0; w < 3; w++) {
          block[w][q] = rowOf.get(ids[w])!;
          block[3 + w][q] = ids[w];
        }
      });
      const [ra, rb, rc, a, b, c] = block.map((column) => L.tensor(column, { shape: [QUESTIONS_PER_CALL] }));
      const answers = select(s, ra, rb, rc, a, b, c).map((t) => t.dataSync() as Int32Array);
      group.forEach(({ section, ids }, q) => {
        const r = right.get(section)!;
        r.asked++;
        if (answers[0][q] === ids[3]) r.add++;
        if (answers[1][q] === ids[3]) r.mul++;
      });
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
