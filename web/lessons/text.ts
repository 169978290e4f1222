/**
 * The text the guide's lessons train on: a small corpus generated from a grammar whose words fall into
 * classes (animals, foods, royals, colours, numbers, places), so that what a model learns is visible in a few
 * seconds: words of a class share contexts, and so get nearby vectors. Users may paste their own text instead.
 * @module
 */

const CLASSES = {
  animal: ["cat", "dog", "horse", "cow", "mouse", "bird"],
  food: ["apple", "bread", "cheese", "rice", "soup", "cake"],
  royal: ["king", "queen", "prince", "princess"],
  colour: ["red", "green", "blue", "white", "black"],
  number: ["two", "three", "four", "five", "six"],
  place: ["city", "village", "garden", "castle", "river"],
} as const;

type Slot = keyof typeof CLASSES;

/** Sentence templates: a word in braces is drawn from its class, any other word is kept. */
const TEMPLATES: readonly string[] = [
  "the {animal} eats the {food}",
  "a {colour} {animal} sleeps in the {place}",
  "the {royal} lives in the {place}",
  "the {royal} eats {food} with the {royal}",
  "{number} {animal} run to the {place}",
  "the {royal} rides a {colour} {animal}",
  "we buy {number} {food} in the {place}",
  "the {food} is {colour}",
  "the {animal} and the {animal} play in the {place}",
  "the {royal} has {number} {animal}",
  "she cooks {food} for the {royal}",
  "a {animal} drinks from the {place}",
];

/**
 * A small generator with a seed (xorshift32), so every page and test draws the same text.
 *
 * @example
 * ```ts
 * import { seededRandom } from "./text.ts";
 * const a = seededRandom(1), b = seededRandom(1);
 * if (a() !== b() || a() < 0 || a() >= 1) throw new Error();
 * ```
 */
export function seededRandom(seed: number): () => number {
  let state = (seed >>> 0) || 0x9e3779b9;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 4294967296;
  };
}

/**
 * `count` sentences from the grammar, one per line.
 *
 * @example
 * ```ts
 * import { sampleText } from "./text.ts";
 * const lines = sampleText(20, 0).split("\n");
 * if (lines.length !== 20 || !lines.every((l) => l.split(" ").length >= 3)) throw new Error();
 * ```
 */
export function sampleText(count = 1200, seed = 0): string {
  const random = seededRandom(seed + 1);
  const pick = <T>(items: readonly T[]) => items[Math.floor(random() * items.length)];
  const lines: string[] = [];
  for (let i = 0; i < count; i++) {
    lines.push(pick(TEMPLATES).replace(/\{(\w+)\}/g, (_, slot: Slot) => pick(CLASSES[slot])));
  }
  return lines.join("\n");
}

/**
 * The class of each word of the grammar (for colouring a map of the vectors).
 *
 * @example
 * ```ts
 * import { wordClass } from "./text.ts";
 * if (wordClass("queen") !== "royal" || wordClass("the") !== undefined) throw new Error();
 * ```
 */
export function wordClass(word: string): string | undefined {
  for (const [name, words] of Object.entries(CLASSES)) {
    if ((words as readonly string[]).includes(word)) return name;
  }
  return undefined;
}

/** A text as word ids over its vocabulary (most frequent first), sentence by sentence. */
export interface Corpus {
  /** Words, most frequent first; id = index. */
  words: string[];
  /** Each sentence's word ids. */
  sentences: number[][];
  /** How often each word occurs. */
  counts: number[];
}

/**
 * Splits a text into lower-case word sentences (one per line, or per `.!?`) and numbers the words seen at least
 * `minCount` times, most frequent first, ties in alphabetical order (the rest are dropped).
 *
 * @example
 * ```ts
 * import { tokenize } from "./text.ts";
 * const c = tokenize("The cat sat.\nthe dog sat");
 * if (c.words.slice(0, 2).join() !== "sat,the" || c.sentences.length !== 2 || c.sentences[1].length !== 3) throw new Error();
 * ```
 */
export function tokenize(text: string, minCount = 1): Corpus {
  const raw = text.toLowerCase().split(/[\n.!?]+/).map((s) => s.match(/[\p{L}\p{N}']+/gu) ?? [])
    .filter((s) => s.length > 0);
  const frequency = new Map<string, number>();
  for (const sentence of raw) for (const w of sentence) frequency.set(w, (frequency.get(w) ?? 0) + 1);
  const words = [...frequency].filter(([, n]) => n >= minCount)
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).map(([w]) => w);
  const id = new Map(words.map((w, i) => [w, i]));
  const sentences = raw.map((s) => s.flatMap((w) => id.has(w) ? [id.get(w)!] : []))
    .filter((s) => s.length > 0);
  return { words, sentences, counts: words.map((w) => frequency.get(w)!) };
}
