/**
 * An n-gram language model with interpolated modified Kneser-Ney smoothing (Kneser & Ney, 1995; Chen &
 * Goodman, 1998), of any order: the Markov assumption made explicit. Each sentence is read from a
 * begin-of-sentence context (the end-of-sentence token, id 0, before its first word) and ends with the
 * end-of-sentence token, which is predicted like a word. The highest order uses raw counts, lower orders
 * continuation counts (how many different words precede a gram; raw counts for grams at a sentence's start),
 * three discounts per order come from the counts of counts, and every order is interpolated with the one
 * below it, down to the uniform distribution, so that the probabilities over the vocabulary sum to 1 for
 * every context. Counts live in compact typed arrays ({@linkcode GramTable}).
 * @module
 */
import * as L from "../../mod.ts";
import { encodeStream, type Vocabulary } from "../data/vocabulary.ts";
import { perplexityOf } from "../eval/perplexity.ts";
import type { TrainOutcome } from "../train/context.ts";
import { dataFields, defineModel, int, type Trained } from "../spec.ts";
import { GramTable } from "./gram_table.ts";

/** What one order holds: its grams' counts, its contexts' totals, and its three discounts. */
interface Order {
  grams: GramTable;
  /** Per context (the gram less its last id): the sum of its grams' counts, and how many have 1, 2, 3+. */
  total: GramTable;
  n1: GramTable;
  n2: GramTable;
  n3: GramTable;
  discounts: [number, number, number];
}

/**
 * Modified Kneser-Ney discounts D1, D2, D3+ from the numbers of grams seen once to four times (Chen &
 * Goodman's estimates), each kept in [0, j] so that no probability goes negative; a count of counts that is 0
 * (tiny corpora) gives the plain estimates 0.5, 1, 1.5.
 *
 * @example
 * ```ts
 * import { discounts } from "./ngram.ts";
 * const [d1, d2, d3] = discounts([100, 40, 20, 10]);
 * if (!(d1 > 0 && d1 < 1 && d2 > d1 && d3 <= 3)) throw new Error(`${d1} ${d2} ${d3}`);
 * if (discounts([5, 0, 0, 0]).join() !== "0.5,1,1.5") throw new Error();
 * ```
 */
export function discounts(countsOfCounts: readonly number[]): [number, number, number] {
  const [n1, n2, n3, n4] = countsOfCounts;
  if (!(n1 > 0 && n2 > 0 && n3 > 0 && n4 > 0)) return [0.5, 1, 1.5];
  const y = n1 / (n1 + 2 * n2);
  const clamp = (d: number, j: number) => Math.min(j, Math.max(0, d));
  return [clamp(1 - 2 * y * n2 / n1, 1), clamp(2 - 3 * y * n3 / n2, 2), clamp(3 - 4 * y * n4 / n3, 3)];
}

/**
 * An interpolated modified Kneser-Ney model.
 *
 * @example
 * ```ts
 * import { NgramModel } from "./ngram.ts";
 * // ids: 0 is the sentence boundary; sentences "2 3" and "2 4".
 * const model = NgramModel.count(new Int32Array([2, 3, 0, 2, 4, 0]), 5, 3);
 * const p = model.distribution(new Int32Array([0, 2]));
 * const sum = p.reduce((a, b) => a + b, 0);
 * if (Math.abs(sum - 1) > 1e-9 || !(p[3] > p[2])) throw new Error(`${sum} ${p}`);
 * ```
 */
export class NgramModel {
  private constructor(readonly order: number, readonly words: number, private readonly orders: Order[]) {}

  /** Counts a stream (sentences ended by id 0) into a model of `order` over `words` ids. */
  static count(stream: Int32Array, words: number, order: number): NgramModel {
    if (!(Number.isInteger(order) && order >= 1)) throw new RangeError(`order must be >= 1, got ${order}`);
    const tables = Array.from({ length: order + 1 }, (_, k) => new GramTable(k, k === 0 ? 1 : 1 << 12));
    // The stream with the first sentence's begin-of-sentence context before it.
    const s = new Int32Array(stream.length + 1);
    s.set(stream, 1);
    let sentenceStart = 0;
    for (let i = 1; i < s.length; i++) {
      const length = Math.min(order, i - sentenceStart + 1);
      // The longest gram ending here: an order-n gram, or a shorter one from the sentence's start.
      tables[length].add(s, i - length + 1, 1);
      if (s[i] === 0) sentenceStart = i;
    }
    // Lower orders: one for each different word before a gram (its left extensions), top down.
    for (let k = order - 1; k >= 1; k--) {
      const upper = tables[k + 1];
      for (let entry = 0; entry < upper.size; entry++) tables[k].add(upper.keys, entry * (k + 1) + 1, 1);
    }
    return NgramModel.fromTables(
      order,
      words,
      tables.map((t) => ({
        keys: t.keys.subarray(0, t.size * t.length),
        counts: t.counts.subarray(0, t.size),
      })),
    );
  }

  /** A model from each order's keys and counts (order k at index k; index 0 unused). */
  static fromTables(
    order: number,
    words: number,
    tables: { keys: Int32Array; counts: Int32Array }[],
  ): NgramModel {
    const orders: Order[] = [];
    for (let k = 1; k <= order; k++) {
      const grams = GramTable.from(k, tables[k].keys, tables[k].counts);
      const [total, n1, n2, n3] = [0, 1, 2, 3].map(() => new GramTable(k - 1, grams.size));
      const countsOfCounts = [0, 0, 0, 0];
      for (let entry = 0; entry < grams.size; entry++) {
        const c = grams.counts[entry];
        if (c >= 1 && c <= 4) countsOfCounts[c - 1]++;
        const at = entry * k;
        total.add(grams.keys, at, c);
        (c === 1 ? n1 : c === 2 ? n2 : n3).add(grams.keys, at, 1);
      }
      orders.push({ grams, total, n1, n2, n3, discounts: discounts(countsOfCounts) });
    }
    return new NgramModel(order, words, orders);
  }

  /** Each order's keys and counts, as {@linkcode NgramModel.fromTables} takes them. */
  tables(): { keys: Int32Array; counts: Int32Array }[] {
    return [
      { keys: new Int32Array(0), counts: new Int32Array(0) },
      ...this.orders.map((o) => ({
        keys: o.grams.keys.slice(0, o.grams.size * o.grams.length),
        counts: o.grams.counts.slice(0, o.grams.size),
      })),
    ];
  }

  /** The context a history gives: its last `order - 1` ids, not reaching back past the last boundary (id 0). */
  private contextOf(history: ArrayLike<number>): number[] {
    const context: number[] = [];
    for (let i = history.length - 1; i >= 0 && context.length < this.order - 1; i--) {
      context.unshift(history[i]);
      if (history[i] === 0) break;
    }
    return context;
  }

  /**
   * P(word | history): `history` ends with the ids before it; the sentence starts after its last id 0 (so a
   * sentence's first word has the history `[0]`).
   */
  probability(history: ArrayLike<number>, word: number): number {
    const context = this.contextOf(history);
    const key = [...context, word];
    let p = 1 / this.words;
    for (let k = 1; k <= Math.min(this.order, context.length + 1); k++) {
      const o = this.orders[k - 1];
      const at = key.length - k; // the order-k gram is key[at, end)
      const total = o.total.count(key, at);
      if (total === 0) break; // an unseen context: no longer one was seen either
      const c = o.grams.count(key, at);
      const [d1, d2, d3] = o.discounts;
      const gamma = (d1 * o.n1.count(key, at) + d2 * o.n2.count(key, at) + d3 * o.n3.count(key, at)) / total;
      const d = c === 0 ? 0 : c === 1 ? d1 : c === 2 ? d2 : d3;
      p = Math.max(c - d, 0) / total + gamma * p;
    }
    return p;
  }

  /** The distribution of the next word after `history` over the whole vocabulary. */
  distribution(history: ArrayLike<number>): Float64Array {
    const out = new Float64Array(this.words);
    for (let w = 0; w < this.words; w++) out[w] = this.probability(history, w);
    return out;
  }

  /**
   * Perplexity on a stream (sentences ended by id 0, the first one starting the stream): `exp` of the mean
   * negative log-probability of every token, the end-of-sentence tokens included.
   */
  perplexity(stream: Int32Array): number {
    return perplexityOf(this.tokenLogProbs(stream));
  }

  /** The natural log-probability of every token of a stream (read as {@linkcode NgramModel.perplexity} does). */
  tokenLogProbs(stream: Int32Array): Float64Array {
    const s = new Int32Array(stream.length + 1);
    s.set(stream, 1);
    const out = new Float64Array(stream.length);
    for (let i = 1; i < s.length; i++) {
      out[i - 1] = Math.log(this.probability(s.subarray(Math.max(0, i - this.order + 1), i), s[i]));
    }
    return out;
  }
}

const fields = {
  order: int(5, "n: the words of context are n − 1"),
  ...dataFields({ minCount: 1, punctuation: true, split: "0.8,0.1" }),
} as const;

/**
 * Writes a model's tables to a safetensors file atomically.
 *
 * @example
 * ```ts
 * import { loadNgram, NgramModel, saveNgram } from "./ngram.ts";
 * if ((await Deno.permissions.query({ name: "write" })).state === "granted") {
 *   const path = await Deno.makeTempFile({ suffix: ".safetensors" });
 *   const model = NgramModel.count(new Int32Array([2, 3, 0]), 4, 2);
 *   await saveNgram(path, model);
 *   const back = await loadNgram(path);
 *   if (back.probability([0, 2], 3) !== model.probability([0, 2], 3)) throw new Error();
 *   await Deno.remove(path);
 * }
 * ```
 */
export async function saveNgram(path: string, model: NgramModel): Promise<void> {
  const tables = model.tables().slice(1).map(({ keys, counts }) => ({
    keys: L.tensor(keys.length > 0 ? keys : new Int32Array([0]), { dtype: "int32" }),
    counts: L.tensor(counts.length > 0 ? counts : new Int32Array([0]), { dtype: "int32" }),
    size: L.tensor(counts.length, { dtype: "int32" }),
  }));
  await L.save(path, { tables }, { model: "ngram", order: String(model.order), words: String(model.words) });
}

/**
 * Reads a model written by {@linkcode saveNgram}; a corrupt file or another model's is an error naming the
 * fix.
 *
 * @example
 * ```ts ignore
 * import { loadNgram } from "./ngram.ts";
 * const model = await loadNgram("runs/ngram-ptb/checkpoint.safetensors");
 * ```
 */
export async function loadNgram(path: string): Promise<NgramModel> {
  const fix = "delete it, or run again with --fresh";
  let loaded: L.Checkpoint;
  try {
    loaded = await L.load(path);
  } catch (e) {
    throw new Error(`checkpoint ${path} is unreadable (${(e as Error).message.split("\n")[0]}); ${fix}`);
  }
  if (loaded.metadata.model !== "ngram") {
    throw new Error(`checkpoint ${path} is of model ${loaded.metadata.model ?? "none"}, not ngram; ${fix}`);
  }
  const order = Number(loaded.metadata.order);
  const saved = (loaded.params as { tables: { keys: L.Tensor; counts: L.Tensor; size: L.Tensor }[] }).tables;
  const tables = [
    { keys: new Int32Array(0), counts: new Int32Array(0) },
    ...saved.map((t, k) => {
      const size = t.size.item();
      return {
        keys: (t.keys.dataSync() as Int32Array).slice(0, size * (k + 1)),
        counts: (t.counts.dataSync() as Int32Array).slice(0, size),
      };
    }),
  ];
  return NgramModel.fromTables(order, Number(loaded.metadata.words), tables);
}

function trained(model: NgramModel): Trained {
  return {
    perplexity: (stream) => model.perplexity(stream),
    tokenLogProbs: (stream) => model.tokenLogProbs(stream),
    nextLogProbs: (context) => model.distribution([0, ...context]).map(Math.log),
  };
}

/**
 * The n-gram model: interpolated modified Kneser-Ney, order 5 by default, every word kept.
 *
 * @example
 * ```ts
 * import { ngram } from "./ngram.ts";
 * if (ngram.fields.order.default !== 5 || ngram.kind !== "lm") throw new Error();
 * ```
 */
export const ngram = defineModel({
  name: "ngram",
  title: "n-gram LM, interpolated modified Kneser-Ney (Kneser & Ney, 1995; Chen & Goodman, 1998)",
  kind: "lm",
  fields,
  async train(context): Promise<TrainOutcome> {
    const { config, vocabulary } = context;
    const started = performance.now();
    const stream = encodeStream(context.corpus.train, vocabulary, config.sentenceEnds);
    const model = NgramModel.count(stream, vocabulary.words.length, config.order);
    await saveNgram(context.checkpoint, model);
    const seconds = (performance.now() - started) / 1000;
    const sizes = model.tables().slice(1).map((t) => t.counts.length.toLocaleString("en-US"));
    context.log(
      `ngram: counted ${stream.length.toLocaleString("en-US")} tokens in ${
        seconds.toFixed(1)
      } s; grams by order: ${sizes.join(", ")}`,
    );
    await context.loop.onReport?.({
      step: 1,
      epoch: 1,
      tokens: stream.length,
      loss: NaN,
      lr: 0,
      tokensPerSecond: stream.length / Math.max(seconds, 1e-9),
      elapsed: seconds,
      progress: 1,
    });
    return { finished: true, interrupted: false, steps: 1 };
  },
  load: async (checkpoint, _config, _vocabulary: Vocabulary) => trained(await loadNgram(checkpoint)),
});
