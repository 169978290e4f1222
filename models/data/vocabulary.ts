/**
 * Vocabularies (words by falling count, id = index) and corpora as ids: the sentence-structured encoding
 * word2vec reads, and the single stream a language model reads (one end-of-sentence token after each
 * sentence, rare words as one unknown-word token).
 * @module
 */

/**
 * A vocabulary: words by falling count (id = index), with their counts in the corpus it was built from.
 *
 * @example
 * ```ts
 * import { buildVocabulary, type Vocabulary } from "./vocabulary.ts";
 * const v: Vocabulary = buildVocabulary([["a", "b", "a"]]);
 * if (v.words[0] !== "a" || v.counts[0] !== 2) throw new Error();
 * ```
 */
export interface Vocabulary {
  /** Words, most frequent first (a language model's specials first). */
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
 * import { buildVocabulary, encode, type EncodedCorpus } from "./vocabulary.ts";
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
 * The vocabulary of words seen at least `minCount` times, most frequent first (ties in first-seen order, so
 * that the ids depend on nothing but the text).
 *
 * @example
 * ```ts
 * import { buildVocabulary } from "./vocabulary.ts";
 * const v = buildVocabulary([["a", "b", "a"], ["c", "a", "b"]], 2);
 * if (v.words.join() !== "a,b" || v.counts.join() !== "3,2" || v.idOf.get("b") !== 1) throw new Error();
 * ```
 */
export function buildVocabulary(corpus: readonly (readonly string[])[], minCount = 1): Vocabulary {
  if (!(Number.isInteger(minCount) && minCount >= 1)) {
    throw new RangeError(`minCount must be a whole number >= 1, got ${minCount}`);
  }
  // Words numbered in first-seen order, counted in an array: one lookup per token, not a get and a set.
  const seen = new Map<string, number>();
  const words: string[] = [];
  let counts = new Int32Array(1024);
  for (const sentence of corpus) {
    for (const w of sentence) {
      let id = seen.get(w);
      if (id === undefined) {
        seen.set(w, id = words.length);
        words.push(w);
        if (id === counts.length) {
          const larger = new Int32Array(2 * counts.length);
          larger.set(counts);
          counts = larger;
        }
      }
      counts[id]++;
    }
  }
  const kept = words.map((_, id) => id).filter((id) => counts[id] >= minCount);
  // A stable sort keeps first-seen order among equal counts.
  kept.sort((a, b) => counts[b] - counts[a]);
  return vocabularyOf(kept.map((id) => words[id]), Int32Array.from(kept, (id) => counts[id]));
}

/**
 * A vocabulary from its words (id order) and counts, as a run directory stores it.
 *
 * @example
 * ```ts
 * import { vocabularyOf } from "./vocabulary.ts";
 * if (vocabularyOf(["x", "y"], new Int32Array([5, 2])).idOf.get("y") !== 1) throw new Error();
 * ```
 */
export function vocabularyOf(words: readonly string[], counts: Int32Array): Vocabulary {
  if (words.length !== counts.length) {
    throw new RangeError(`vocabulary: ${words.length} words but ${counts.length} counts`);
  }
  const idOf = new Map(words.map((w, i) => [w, i]));
  if (idOf.size !== words.length) throw new RangeError("vocabulary: a word appears twice");
  return { words, counts, idOf };
}

/**
 * The corpus as ids of `vocabulary`; tokens outside it are dropped, as word2vec drops rare words.
 *
 * @example
 * ```ts
 * import { buildVocabulary, encode } from "./vocabulary.ts";
 * const text = [["a", "b", "a"], ["z"], ["b", "a"]];
 * const { ids, starts } = encode(text, buildVocabulary(text, 2));
 * if (ids.join() !== "0,1,0,1,0" || starts.join() !== "0,3,3,5") throw new Error(`${ids} / ${starts}`);
 * ```
 */
export function encode(corpus: readonly (readonly string[])[], vocabulary: Vocabulary): EncodedCorpus {
  let tokens = 0;
  for (const sentence of corpus) tokens += sentence.length;
  const ids = new Int32Array(tokens);
  const starts = new Int32Array(corpus.length + 1);
  let kept = 0;
  for (let s = 0; s < corpus.length; s++) {
    starts[s] = kept;
    for (const w of corpus[s]) {
      const id = vocabulary.idOf.get(w);
      if (id !== undefined) ids[kept++] = id;
    }
  }
  starts[corpus.length] = kept;
  return { ids: ids.slice(0, kept), starts };
}

/**
 * The end-of-sentence token of word-level language-model vocabularies (id 0). Character-level ones end each
 * line with the newline character instead (see {@linkcode lmVocabulary}).
 *
 * @example
 * ```ts
 * import { EOS, lmVocabulary } from "./vocabulary.ts";
 * if (lmVocabulary([["x"]]).idOf.get(EOS) !== 0) throw new Error();
 * ```
 */
export const EOS = "<eos>";
/**
 * The token that stands for words outside a language-model vocabulary (id 1). A corpus that already uses it
 * (Penn Treebank does) keeps its own count for it.
 *
 * @example
 * ```ts
 * import { encodeStream, lmVocabulary, UNK } from "./vocabulary.ts";
 * const v = lmVocabulary([["x", "x", "y"]], { minCount: 2 });
 * if (encodeStream([["y"]], v)[0] !== v.idOf.get(UNK)) throw new Error();
 * ```
 */
export const UNK = "<unk>";
/**
 * The token a masked language model puts in place of the words it must guess.
 *
 * @example
 * ```ts
 * import { lmVocabulary, MASK } from "./vocabulary.ts";
 * if (lmVocabulary([["x"]], { mask: true }).idOf.get(MASK) !== 2) throw new Error();
 * ```
 */
export const MASK = "<mask>";

/**
 * Options of {@linkcode lmVocabulary}.
 *
 * @example
 * ```ts
 * import type { LmVocabularyOptions } from "./vocabulary.ts";
 * const options: LmVocabularyOptions = { minCount: 4, eos: "\n" };
 * if (options.minCount !== 4) throw new Error();
 * ```
 */
export interface LmVocabularyOptions {
  /** Words seen fewer times become {@linkcode UNK} (default 1). */
  minCount?: number;
  /** The end-of-sentence token (default {@linkcode EOS}; "\n" for characters). */
  eos?: string;
  /** Add {@linkcode MASK} after the specials (masked language models). */
  mask?: boolean;
}

/**
 * A language-model vocabulary: the end-of-sentence token (id 0), {@linkcode UNK} (id 1), {@linkcode MASK}
 * when asked (id 2), then the words seen at least `minCount` times, most frequent first. The specials'
 * counts are the sentences, the unknown tokens (rare words and literal `<unk>`s) and 0.
 *
 * @example
 * ```ts
 * import { lmVocabulary } from "./vocabulary.ts";
 * const v = lmVocabulary([["a", "b", "a"], ["a", "c"]], { minCount: 2 });
 * if (v.words.join() !== "<eos>,<unk>,a" || v.counts.join() !== "2,2,3") throw new Error(`${v.words} ${v.counts}`);
 * ```
 */
export function lmVocabulary(
  corpus: readonly (readonly string[])[],
  options: LmVocabularyOptions = {},
): Vocabulary {
  const { minCount = 1, eos = EOS, mask = false } = options;
  const all = buildVocabulary(corpus, 1);
  if (all.idOf.has(eos) || (mask && all.idOf.has(MASK))) {
    throw new Error(`the corpus itself holds the token ${JSON.stringify(eos)} or ${MASK}; rename it first`);
  }
  const words: string[] = [];
  const counts: number[] = [];
  let unknown = 0;
  all.words.forEach((w, i) => {
    const c = all.counts[i];
    if (w === UNK || c < minCount) unknown += c;
    else [words.push(w), counts.push(c)];
  });
  const specials = mask ? [eos, UNK, MASK] : [eos, UNK];
  const specialCounts = mask ? [corpus.length, unknown, 0] : [corpus.length, unknown];
  return vocabularyOf([...specials, ...words], Int32Array.from([...specialCounts, ...counts]));
}

/**
 * A corpus as one stream of ids for a language model: each sentence's words (unknown ones as
 * {@linkcode UNK}), then the end-of-sentence token (id 0), unless `sentenceEnds` is false (the sentences then
 * run on, as in Bengio et al.'s stream of Brown, whose punctuation marks the ends).
 *
 * @example
 * ```ts
 * import { encodeStream, lmVocabulary } from "./vocabulary.ts";
 * const text = [["a", "b", "a"], ["a", "c"]];
 * const v = lmVocabulary(text, { minCount: 2 });
 * if (encodeStream(text, v).join() !== "2,1,2,0,2,1,0" || encodeStream(text, v, false).join() !== "2,1,2,2,1") throw new Error();
 * ```
 */
export function encodeStream(
  corpus: readonly (readonly string[])[],
  vocabulary: Vocabulary,
  sentenceEnds = true,
): Int32Array {
  const unk = vocabulary.idOf.get(UNK);
  if (unk !== 1) throw new Error(`the vocabulary needs ${UNK} at id 1: build it with lmVocabulary`);
  let length = 0;
  for (const sentence of corpus) length += sentence.length + (sentenceEnds ? 1 : 0);
  const ids = new Int32Array(length);
  let at = 0;
  for (const sentence of corpus) {
    for (const w of sentence) ids[at++] = vocabulary.idOf.get(w) ?? unk;
    if (sentenceEnds) ids[at++] = 0;
  }
  return ids;
}

/**
 * The vocabulary as JSON (words and counts), the form a run directory keeps in `vocab.json`.
 *
 * @example
 * ```ts
 * import { parseVocabulary, vocabularyJson, vocabularyOf } from "./vocabulary.ts";
 * const v = vocabularyOf(["\n", "a b"], new Int32Array([2, 1]));
 * if (parseVocabulary(vocabularyJson(v), "vocab.json").words[1] !== "a b") throw new Error();
 * ```
 */
export function vocabularyJson(vocabulary: Vocabulary): string {
  return JSON.stringify({ words: vocabulary.words, counts: Array.from(vocabulary.counts) }) + "\n";
}

/**
 * Reads {@linkcode vocabularyJson}'s form back; `where` names the file in errors.
 *
 * @example
 * ```ts
 * import { parseVocabulary } from "./vocabulary.ts";
 * if (parseVocabulary('{"words":["a"],"counts":[3]}', "v.json").counts[0] !== 3) throw new Error();
 * ```
 */
export function parseVocabulary(text: string, where: string): Vocabulary {
  let parsed: { words?: unknown; counts?: unknown };
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new Error(`${where} is not JSON; rerun training (with --fresh) to write it anew`);
  }
  const { words, counts } = parsed;
  if (!Array.isArray(words) || !Array.isArray(counts) || words.some((w) => typeof w !== "string")) {
    throw new Error(`${where} holds no { words, counts }; rerun training (with --fresh) to write it anew`);
  }
  return vocabularyOf(words as string[], Int32Array.from(counts as number[]));
}
