/**
 * Guide lesson: language models. A bigram model conditions on the previous word only (the Markov assumption)
 * and is counted, not trained; Bengio's neural LM learns word vectors and the next-word distribution from the
 * previous words together; an RNN (a GRU here) drops the Markov assumption: its hidden state carries the whole
 * history. All three learn from the same sentences and are scored by perplexity on held-out sentences.
 * @module
 */
import { jit, loss, nn, optim, random, type Tensor, tensor, valueAndGrad } from "../../mod.ts";
import type { Controls, Lesson } from "./lesson.ts";
import { sampleText, seededRandom, tokenize } from "./text.ts";

/** The lesson's settings. */
export type LmSettings = {
  context: number;
  dim: number;
  hidden: number;
  steps: number;
  lr: number;
  seed: number;
};

/** Sentence boundary: id 0 (`<s>`) before and after each sentence. */
const BOUNDARY = "<s>";

/**
 * A bigram model with add-k smoothing: P(w | v) = (count(v w) + k) / (count(v) + k·V).
 *
 * @example
 * ```ts
 * import { Bigram } from "./language_models.ts";
 * const model = new Bigram(3, [[0, 1, 2, 0], [0, 1, 0]], 0.1);
 * const total = [0, 1, 2].reduce((s, w) => s + model.probability(1, w), 0);
 * if (Math.abs(total - 1) > 1e-9) throw new Error(); // a distribution over the vocabulary
 * ```
 */
export class Bigram {
  private readonly pairs: Float64Array;
  private readonly firsts: Float64Array;
  /** Counts bigrams of `sequences` over `vocab` words. */
  constructor(private readonly vocab: number, sequences: number[][], private readonly k = 0.1) {
    this.pairs = new Float64Array(vocab * vocab);
    this.firsts = new Float64Array(vocab);
    for (const s of sequences) {
      for (let i = 1; i < s.length; i++) {
        [this.pairs[s[i - 1] * vocab + s[i]], this.firsts[s[i - 1]]] = [
          this.pairs[s[i - 1] * vocab + s[i]] + 1,
          this.firsts[s[i - 1]] + 1,
        ];
      }
    }
  }
  /** P(word | previous). */
  probability(previous: number, word: number): number {
    return (this.pairs[previous * this.vocab + word] + this.k) /
      (this.firsts[previous] + this.k * this.vocab);
  }
}

/** What the page draws. */
export interface LmFrame {
  step: number;
  /** Held-out perplexity: the bigram's (fixed) and each neural model's over training. */
  perplexity: { bigram: number; neural: [number, number][]; rnn: [number, number][] };
  /** A sentence sampled from each model. */
  samples: { bigram: string; neural: string; rnn: string };
  done: boolean;
}

/** Draws an index from probabilities. */
function draw(probabilities: ArrayLike<number>, random: () => number): number {
  let u = random();
  for (let i = 0; i < probabilities.length; i++) if ((u -= probabilities[i]) <= 0) return i;
  return probabilities.length - 1;
}

/** Softmax of one row of logits. */
function softmaxRow(row: ArrayLike<number>): number[] {
  const max = Math.max(...Array.from(row));
  const e = Array.from(row, (x) => Math.exp(x - max));
  const sum = e.reduce((a, b) => a + b, 0);
  return e.map((x) => x / sum);
}

/**
 * The lesson: the two neural models train side by side with Adam; frames every 20 steps.
 *
 * @example
 * ```ts
 * import { fixedControls } from "./lesson.ts";
 * import { languageModels } from "./language_models.ts";
 * let last;
 * for await (const f of languageModels.run(fixedControls({ ...languageModels.defaults, steps: 100 }))) last = f;
 * const p = last!.perplexity;
 * if (!(p.neural.at(-1)![1] < p.neural[0][1] && p.rnn.at(-1)![1] < p.rnn[0][1])) throw new Error();
 * ```
 */
export const languageModels: Lesson<LmSettings, LmFrame> = {
  slug: "language-models",
  defaults: { context: 3, dim: 16, hidden: 48, steps: 300, lr: 0.01, seed: 0 },
  limits: {
    context: [1, 8],
    dim: [2, 128],
    hidden: [2, 256],
    steps: [10, 3000],
    lr: [0.0001, 0.1],
    seed: [0, 1e6],
  },
  async *run(controls: Controls<LmSettings>, live = true) {
    const s = controls.settings;
    const corpus = tokenize(sampleText(600, 1));
    const words = [BOUNDARY, ...corpus.words];
    const V = words.length;
    const sentences = corpus.sentences.map((x) => [0, ...x.map((w) => w + 1), 0]);
    const cut = Math.floor(sentences.length * 0.9);
    const [trainSet, heldOut] = [sentences.slice(0, cut), sentences.slice(cut)];
    const bigram = new Bigram(V, trainSet);
    const heldPairs = heldOut.flatMap((x) => x.slice(1).map((w, i) => [x[i], w]));
    const bigramPpl = Math.exp(
      -heldPairs.reduce((a, [v, w]) => a + Math.log(bigram.probability(v, w)), 0) / heldPairs.length,
    );

    // The neural LM: the previous `context` words' vectors, concatenated, a tanh layer, a softmax.
    const neural = nn.serial(
      nn.embed(V, s.dim),
      nn.fn<number, number>((x) => (x as Tensor).reshape([(x as Tensor).shape[0], -1]), "concat"),
      nn.dense(s.hidden, { activation: "tanh" }),
      nn.dense(V),
    );
    // The RNN LM: word vectors, a GRU over the sentence, a softmax at every step.
    const rnn = nn.serial(nn.embed(V, s.dim), nn.recur(nn.gruCell(s.hidden)), nn.dense(V));
    const windows = (set: number[][]) =>
      set.flatMap((x) =>
        x.slice(1).map((w, i) =>
          [...new Array(s.context).fill(0), ...x].slice(i + 1, i + 1 + s.context).concat(w)
        )
      );
    const [trainWindows, heldWindows] = [windows(trainSet), windows(heldOut)];
    const width = Math.max(...sentences.map((x) => x.length));
    const padded = (set: number[][]) => set.map((x) => [...x, ...new Array(width - x.length).fill(-1)]);
    const [trainRows, heldRows] = [padded(trainSet), padded(heldOut)];
    const [kn, kr] = random.split(random.key(s.seed));
    const models = {
      neural: { layer: neural, params: neural.init(kn, [1, s.context]).params },
      rnn: { layer: rnn, params: rnn.init(kr, [1, width - 1]).params },
    };
    const rnnBatch = (rows: number[][]) => {
      const x = rows.map((r) => r.slice(0, -1).map((w) => Math.max(w, 0)));
      const y = rows.map((r) => r.slice(1).map((w) => (w < 0 ? -100 : w)));
      return [tensor(x, { dtype: "int32" }), tensor(y, { dtype: "int32" })];
    };
    const neuralBatch = (rows: number[][]) => [
      tensor(rows.map((r) => r.slice(0, -1)), { dtype: "int32" }),
      tensor(rows.map((r) => r.at(-1)!), { dtype: "int32" }),
    ];
    const objective = (layer: nn.AnyLayer) => (p: unknown, x: Tensor, y: Tensor) =>
      loss.crossEntropy(layer.apply(p as nn.Params, x) as Tensor, y, { ignoreIndex: -100 });
    const opt = optim.adam({ lr: s.lr });
    const stepper = (layer: nn.AnyLayer) =>
      jit((p: unknown, st: optim.OptimizerState, x: Tensor, y: Tensor) => {
        const [value, g] = valueAndGrad(objective(layer))(p, x, y);
        const next = opt.update(g, st, p);
        return [value, next.params, next.state] as const;
      });
    const steps = { neural: stepper(neural), rnn: stepper(rnn) };
    const states = { neural: opt.init(models.neural.params), rnn: opt.init(models.rnn.params) };
    const trainStep = <K extends "neural" | "rnn">(name: K, [x, y]: Tensor[]) => {
      const [, p, st] = steps[name](models[name].params, states[name], x, y);
      models[name].params = p as (typeof models)[K]["params"];
      states[name] = st;
    };
    const perplexity = { bigram: bigramPpl, neural: [] as [number, number][], rnn: [] as [number, number][] };
    const random0 = seededRandom(s.seed + 11);
    const sampleBigram = () => {
      const out: number[] = [];
      for (let w = 0; out.length < 12;) {
        w = draw(Array.from({ length: V }, (_, u) => bigram.probability(w, u)), random0);
        if (w === 0) break;
        out.push(w);
      }
      return out.map((w) => words[w]).join(" ");
    };
    const sampleNeural = () => {
      const out: number[] = [];
      const history = new Array(s.context).fill(0);
      while (out.length < 12) {
        const logits = neural.apply(
          models.neural.params,
          tensor([history.slice(-s.context)], { dtype: "int32" }),
        ) as Tensor;
        const w = draw(softmaxRow(logits.dataSync() as Float32Array), random0);
        if (w === 0) break;
        [out, history].forEach((a) => a.push(w));
      }
      return out.map((w) => words[w]).join(" ");
    };
    const sampleRnn = () => {
      const out: number[] = [];
      while (out.length < 12) {
        const logits = rnn.apply(models.rnn.params, tensor([[0, ...out]], { dtype: "int32" })) as Tensor;
        const all = logits.dataSync() as Float32Array;
        const w = draw(softmaxRow(all.slice(all.length - V)), random0);
        if (w === 0) break;
        out.push(w);
      }
      return out.map((w) => words[w]).join(" ");
    };
    const random1 = seededRandom(s.seed + 5);
    const pick = <T>(rows: T[], n: number) =>
      Array.from({ length: n }, () => rows[Math.floor(random1() * rows.length)]);
    for (let i = 0; i <= s.steps; i++) {
      if (i % 20 === 0 || i === s.steps) {
        const lossOn = (name: "neural" | "rnn", batch: Tensor[]) =>
          objective(models[name].layer)(models[name].params, batch[0], batch[1]).item();
        perplexity.neural.push([i, Math.exp(lossOn("neural", neuralBatch(heldWindows)))]);
        perplexity.rnn.push([i, Math.exp(lossOn("rnn", rnnBatch(heldRows)))]);
        yield {
          step: i,
          perplexity: { bigram: bigramPpl, neural: [...perplexity.neural], rnn: [...perplexity.rnn] },
          samples: { bigram: sampleBigram(), neural: sampleNeural(), rnn: sampleRnn() },
          done: i === s.steps,
        };
        if (!live) return;
      }
      if (i === s.steps) break;
      trainStep("neural", neuralBatch(pick(trainWindows, 64)));
      trainStep("rnn", rnnBatch(pick(trainRows, 16)));
    }
  },
};
