/**
 * Word vectors as a table: word2vec's text format (`vectors.txt`: a header `words dim`, then a line per
 * word, the word and its numbers separated by spaces; gensim's `KeyedVectors.load_word2vec_format` reads
 * it), and rows scaled to unit length for cosine measures.
 * @module
 */

/**
 * Words and their vectors, a [words, dim] table in one Float32Array.
 *
 * @example
 * ```ts
 * import type { WordVectors } from "./vectors.ts";
 * const v: WordVectors = { words: ["a"], table: new Float32Array([1, 0]), dim: 2 };
 * if (v.dim !== 2) throw new Error();
 * ```
 */
export interface WordVectors {
  /** The words, in row order (most frequent first when a model wrote them). */
  words: readonly string[];
  /** Row-major [words, dim]. */
  table: Float32Array;
  /** Numbers per word. */
  dim: number;
}

/**
 * Whether every word can be written in the text format (no whitespace in any word).
 *
 * @example
 * ```ts
 * import { writable } from "./vectors.ts";
 * if (!writable(["a", "b"]) || writable(["a b"])) throw new Error();
 * ```
 */
export function writable(words: readonly string[]): boolean {
  return words.every((w) => w.length > 0 && !/\s/.test(w));
}

/**
 * Vectors in word2vec's text format (numbers with 6 significant digits).
 *
 * @example
 * ```ts
 * import { formatVectors } from "./vectors.ts";
 * const text = formatVectors({ words: ["a", "b"], table: new Float32Array([1, 0.5, -2, 0]), dim: 2 });
 * if (text !== "2 2\na 1 0.5\nb -2 0\n") throw new Error(JSON.stringify(text));
 * ```
 */
export function formatVectors(v: WordVectors): string {
  if (!writable(v.words)) {
    throw new Error("vectors: a word holds whitespace, which the text format cannot write");
  }
  const lines = [`${v.words.length} ${v.dim}`];
  for (let r = 0; r < v.words.length; r++) {
    const row = Array.from(v.table.subarray(r * v.dim, (r + 1) * v.dim), (x) => Number(x.toPrecision(6)));
    lines.push(`${v.words[r]} ${row.join(" ")}`);
  }
  return lines.join("\n") + "\n";
}

/**
 * Parses word2vec's text format; `where` names the file in errors.
 *
 * @example
 * ```ts
 * import { parseVectors } from "./vectors.ts";
 * const v = parseVectors("2 2\na 1 0.5\nb -2 0\n", "v.txt");
 * if (v.words.join() !== "a,b" || v.table[2] !== -2) throw new Error();
 * ```
 */
export function parseVectors(text: string, where: string): WordVectors {
  const lines = text.split("\n").filter((l) => l.trim().length > 0);
  const [count, dim] = (lines[0] ?? "").trim().split(/\s+/).map(Number);
  if (!(Number.isInteger(count) && Number.isInteger(dim) && count >= 0 && dim >= 1)) {
    throw new Error(
      `${where}: the first line must be "WORDS DIM" (word2vec's text format), got ${
        JSON.stringify(lines[0] ?? "")
      }`,
    );
  }
  if (lines.length - 1 !== count) {
    throw new Error(`${where}: the header says ${count} words, the file has ${lines.length - 1}`);
  }
  const words: string[] = [];
  const table = new Float32Array(count * dim);
  for (let r = 0; r < count; r++) {
    const parts = lines[r + 1].trim().split(" ");
    if (parts.length !== dim + 1) {
      throw new Error(`${where}: line ${r + 2} has ${parts.length - 1} numbers, expected ${dim}`);
    }
    words.push(parts[0]);
    for (let d = 0; d < dim; d++) {
      const x = Number(parts[d + 1]);
      if (!Number.isFinite(x)) {
        throw new Error(`${where}: line ${r + 2} holds ${JSON.stringify(parts[d + 1])}, not a number`);
      }
      table[r * dim + d] = x;
    }
  }
  return { words, table, dim };
}

/**
 * Rows of a [rows, dim] table scaled to unit length (zero rows stay zero).
 *
 * @example
 * ```ts
 * import { unitRows } from "./vectors.ts";
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

/**
 * The id of each word (lowercased lookups fall back to the first row whose lowercase form matches).
 *
 * @example
 * ```ts
 * import { wordIndex } from "./vectors.ts";
 * const index = wordIndex(["Paris", "paris", "x"]);
 * if (index.get("paris") !== 1 || index.get("x") !== 2) throw new Error();
 * ```
 */
export function wordIndex(words: readonly string[]): Map<string, number> {
  const index = new Map<string, number>();
  words.forEach((w, i) => {
    if (!index.has(w)) index.set(w, i);
  });
  words.forEach((w, i) => {
    const lower = w.toLowerCase();
    if (!index.has(lower)) index.set(lower, i);
  });
  return index;
}

/**
 * Cosine similarity of rows a and b of a unit table.
 *
 * @example
 * ```ts
 * import { cosine } from "./vectors.ts";
 * if (cosine(new Float32Array([1, 0, 0, 1]), 2, 0, 1) !== 0) throw new Error();
 * ```
 */
export function cosine(unit: Float32Array, dim: number, a: number, b: number): number {
  let s = 0;
  for (let d = 0; d < dim; d++) s += unit[a * dim + d] * unit[b * dim + d];
  return s;
}
