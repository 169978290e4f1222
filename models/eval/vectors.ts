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
 * Vectors in word2vec's text format (numbers with 6 significant digits, as `Number(x.toPrecision(6))`
 * prints them).
 *
 * @example
 * ```ts
 * import { formatVectors } from "./vectors.ts";
 * const text = formatVectors({ words: ["a", "b"], table: new Float32Array([1, 0.5, -2, 0]), dim: 2 });
 * if (text !== "2 2\na 1 0.5\nb -2 0\n") throw new Error(JSON.stringify(text));
 * ```
 */
export function formatVectors(v: WordVectors): string {
  return new TextDecoder().decode(encodeVectors(v));
}

/**
 * {@linkcode formatVectors}'s text as UTF-8 bytes, written straight into one buffer: a run's vectors.txt
 * (a million numbers) takes a quarter of the time that building it as strings did.
 *
 * @example
 * ```ts
 * import { encodeVectors } from "./vectors.ts";
 * const bytes = encodeVectors({ words: ["é"], table: new Float32Array([-0.000123456789, 1e-7]), dim: 2 });
 * if (new TextDecoder().decode(bytes) !== "1 2\né -0.000123457 1e-7\n") throw new Error();
 * ```
 */
export function encodeVectors(v: WordVectors): Uint8Array {
  if (!writable(v.words)) {
    throw new Error("vectors: a word holds whitespace, which the text format cannot write");
  }
  const utf8 = new TextEncoder();
  const header = utf8.encode(`${v.words.length} ${v.dim}\n`);
  // A number takes at most 15 bytes with its space (-1.23457e-38); words are measured as they come.
  const rowBytes = v.dim * 16 + 1;
  let out = new Uint8Array(header.length + v.words.length * (rowBytes + 16));
  out.set(header);
  let at = header.length;
  const digits = new Uint8Array(6);
  for (let r = 0; r < v.words.length; r++) {
    const word = utf8.encode(v.words[r]);
    if (out.length - at < word.length + rowBytes) {
      const larger = new Uint8Array(2 * out.length + word.length + rowBytes);
      larger.set(out.subarray(0, at));
      out = larger;
    }
    out.set(word, at);
    at += word.length;
    for (let d = r * v.dim; d < (r + 1) * v.dim; d++) {
      out[at++] = SPACE;
      at = writeNumber(out, at, v.table[d], digits);
    }
    out[at++] = NEWLINE;
  }
  return out.slice(0, at);
}

const [SPACE, NEWLINE, MINUS, POINT, ZERO] = [32, 10, 45, 46, 48];
const POWERS_OF_TEN = Array.from({ length: 13 }, (_, k) => 10 ** k);

/**
 * Writes `x` at `out[at]` as `String(Number(x.toPrecision(6)))` would and returns the end. Numbers of
 * magnitude 1e-6 to 1e6 (all that a trained table holds) take the fast path: their 6 significant digits as
 * the integer `round(|x| · 10^k)`. That product is exact for a float32 times 10^k with k ≤ 12, so it rounds
 * as toPrecision does (half away from zero); the rest go through strings.
 */
function writeNumber(out: Uint8Array, at: number, x: number, digits: Uint8Array): number {
  const magnitude = Math.abs(x);
  let exponent = Math.floor(Math.log10(magnitude)); // of the first significant digit; log10 may be off by one
  let scaled = 0;
  if (magnitude >= 1e-6 && magnitude < 1e6) {
    for (let tries = 0; tries < 2; tries++) {
      const k = 5 - exponent;
      scaled = k >= 0 && k <= 12 ? Math.round(magnitude * POWERS_OF_TEN[k]) : 0;
      if (scaled >= 1e6) exponent++;
      else if (scaled < 1e5) exponent--;
      else break;
    }
  }
  if (!(scaled >= 1e5 && scaled < 1e6)) {
    const text = String(Number(x.toPrecision(6)));
    for (let c = 0; c < text.length; c++) out[at++] = text.charCodeAt(c);
    return at;
  }
  if (x < 0) out[at++] = MINUS;
  for (let d = 5; d >= 0; d--) {
    digits[d] = ZERO + scaled % 10;
    scaled = Math.floor(scaled / 10);
  }
  let end = 6; // trailing zeros are not printed
  while (end > 1 && digits[end - 1] === ZERO) end--;
  if (exponent >= 0) {
    for (let d = 0; d <= exponent; d++) out[at++] = digits[d];
    if (end > exponent + 1) {
      out[at++] = POINT;
      for (let d = exponent + 1; d < end; d++) out[at++] = digits[d];
    }
  } else {
    out[at++] = ZERO;
    out[at++] = POINT;
    for (let z = -exponent - 1; z > 0; z--) out[at++] = ZERO;
    for (let d = 0; d < end; d++) out[at++] = digits[d];
  }
  return at;
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
    for (let d = r * dim; d < (r + 1) * dim; d++) norm += table[d] * table[d];
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
