/**
 * `deno task eval`: scores a trained run (or any word2vec text file of vectors).
 *
 * ```sh
 * deno task eval --run runs/skipgram-brown --similarity ../shared/data/wordsim353.tsv --analogy ../shared/data/questions-words.txt
 * deno task eval --run runs/lstm-ptb --perplexity test
 * deno task eval --run runs/bengio-brown --perplexity test --mix runs/ngram-brown   # interpolated, λ tuned on valid
 * deno task eval --vectors gensim.txt --similarity ws.tsv --neighbours king,paris --json
 * ```
 *
 * Flags: `--run DIR` or `--vectors FILE`; `--similarity FILE.tsv` (repeatable: Spearman's ρ and coverage),
 * `--analogy FILE` (3CosAdd and 3CosMul per section and in total, with coverage; `--restrict N` candidates,
 * default 30000), `--perplexity valid|test` (prints `perplexity N`; masked LMs: masked-token accuracy and
 * perplexity), `--mix DIR` (with `--perplexity`: interpolate with another LM run of the same vocabulary),
 * `--neighbours WORD,...`, `--json` (one JSON object instead of lines).
 * @module
 */
import { openRun, partStream, runCommand } from "./commands.ts";
import { analogies, parseAnalogies } from "./eval/analogy.ts";
import { neighbours } from "./eval/neighbours.ts";
import { parseScoredPairs, wordSimilarity } from "./eval/similarity.ts";
import { parseVectors, type WordVectors } from "./eval/vectors.ts";
import { bestMixture, mixedPerplexity } from "./eval/perplexity.ts";
import { parseFlags, single, userPath } from "./flags.ts";

const KNOWN = new Set([
  "run",
  "vectors",
  "similarity",
  "analogy",
  "perplexity",
  "mix",
  "neighbours",
  "json",
  "restrict",
  "help",
]);
const USAGE =
  "deno task eval --run DIR | --vectors FILE [--similarity FILE.tsv]... [--analogy FILE] [--restrict N] " +
  "[--perplexity valid|test [--mix DIR]] [--neighbours WORD,...] [--json]";

async function readInput(path: string, what: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) throw new Error(`${what} file ${path} not found; check the path`);
    throw new Error(`${what} file ${path} cannot be read (${(e as Error).message.split("\n")[0]})`);
  }
}

async function main(argv: readonly string[]): Promise<number> {
  const flags = parseFlags(argv, new Set(["json", "help"]));
  if (flags.has("help")) {
    console.log(USAGE);
    return 0;
  }
  for (const name of flags.keys()) if (!KNOWN.has(name)) throw new Error(`unknown flag --${name}; ${USAGE}`);
  const runPath = single(flags, "run");
  const vectorsPath = single(flags, "vectors");
  if ((runPath === undefined) === (vectorsPath === undefined)) {
    throw new Error(`pass --run DIR or --vectors FILE (one of them); ${USAGE}`);
  }
  const wantsVectors = flags.has("similarity") || flags.has("analogy") || flags.has("neighbours");
  const part = single(flags, "perplexity");
  if (part !== undefined && part !== "valid" && part !== "test") {
    throw new Error(`--perplexity takes valid or test, got ${JSON.stringify(part)}`);
  }
  if (!wantsVectors && part === undefined) {
    throw new Error(
      `nothing to evaluate: add --similarity, --analogy, --neighbours or --perplexity; ${USAGE}`,
    );
  }
  const restrictText = single(flags, "restrict") ?? "30000";
  const restrict = Number(restrictText);
  if (!(Number.isInteger(restrict) && restrict >= 1)) {
    throw new Error(`--restrict takes a whole number >= 1, got ${JSON.stringify(restrictText)}`);
  }
  const json = flags.has("json");
  const results: Record<string, unknown> = {};
  const say = (line: string) => {
    if (!json) console.log(line);
  };

  const run = runPath ? await openRun(userPath(runPath)) : undefined;
  let vectors: WordVectors | undefined;
  if (wantsVectors) {
    if (vectorsPath) vectors = parseVectors(await readInput(userPath(vectorsPath), "vectors"), vectorsPath);
    else if (run?.trained.vectors) vectors = { words: run.vocabulary.words, ...run.trained.vectors() };
    else {throw new Error(
        `the ${run?.spec.name} run in ${runPath} has no word vectors; --similarity, --analogy and --neighbours need an embedding`,
      );}
  }
  for (const file of flags.get("similarity") ?? []) {
    const s = wordSimilarity(vectors!, parseScoredPairs(await readInput(userPath(file), "similarity"), file));
    results[`similarity:${file}`] = s;
    say(
      `similarity ${file}: spearman ${
        s.spearman.toFixed(4)
      } over ${s.covered} of ${s.pairs} pairs (coverage ${(100 * s.coverage).toFixed(1)}%)`,
    );
  }
  const analogyFile = single(flags, "analogy");
  if (analogyFile !== undefined) {
    const a = analogies(
      vectors!,
      parseAnalogies(await readInput(userPath(analogyFile), "analogy"), analogyFile),
      restrict,
    );
    results.analogy = a;
    const pct = (x: number) => Number.isNaN(x) ? "n/a" : `${(100 * x).toFixed(2)}%`;
    for (const { section, score } of a.sections) {
      say(
        `analogy ${section}: 3CosAdd ${pct(score.add)}, 3CosMul ${
          pct(score.mul)
        } of ${score.asked} asked (${score.questions} questions)`,
      );
    }
    say(
      `analogy total: 3CosAdd ${pct(a.total.add)}, 3CosMul ${
        pct(a.total.mul)
      } of ${a.total.asked} asked (coverage ${(100 * a.total.coverage).toFixed(1)}% of ${a.total.questions})`,
    );
  }
  for (const word of (single(flags, "neighbours") ?? "").split(",").filter((w) => w.length > 0)) {
    const near = neighbours(vectors!, word, 10);
    results[`neighbours:${word}`] = near ?? null;
    say(
      near
        ? `${word}: ${near.map((n) => `${n.word} (${n.similarity.toFixed(3)})`).join(", ")}`
        : `${word}: not in the vocabulary`,
    );
  }
  if (part !== undefined) {
    if (!run) throw new Error("--perplexity needs --run DIR (a language model's run)");
    const stream = await partStream(run, part);
    if (run.trained.maskedScores) {
      const s = run.trained.maskedScores(stream, 1);
      results[part] = s;
      say(`masked accuracy ${(100 * s.accuracy).toFixed(2)}% over ${s.masked} masked tokens`);
      say(`perplexity ${s.perplexity.toFixed(2)}`);
    } else if (run.trained.perplexity) {
      const mixPath = single(flags, "mix");
      if (mixPath === undefined) {
        const ppl = run.trained.perplexity(stream);
        results[part] = { perplexity: ppl, tokens: stream.length };
        say(`perplexity ${ppl.toFixed(2)}`);
      } else {
        const other = await openRun(userPath(mixPath));
        if (other.vocabulary.words.join("\n") !== run.vocabulary.words.join("\n")) {
          throw new Error(
            `--mix ${mixPath} has another vocabulary than ${runPath}; train both on the same corpus and data flags`,
          );
        }
        if (!run.trained.tokenLogProbs || !other.trained.tokenLogProbs) {
          throw new Error("--mix needs two language models");
        }
        const valid = await partStream(run, "valid");
        const { lambda } = bestMixture(run.trained.tokenLogProbs(valid), other.trained.tokenLogProbs(valid));
        const [alone, second] = [run.trained.tokenLogProbs(stream), other.trained.tokenLogProbs(stream)];
        const ppl = mixedPerplexity(alone, second, lambda);
        results[part] = {
          perplexity: ppl,
          lambda,
          alone: mixedPerplexity(alone, second, 1),
          mixedWith: mixedPerplexity(alone, second, 0),
          tokens: stream.length,
        };
        say(
          `${run.spec.name} alone: perplexity ${
            mixedPerplexity(alone, second, 1).toFixed(2)
          }; ${other.spec.name} alone: ${mixedPerplexity(alone, second, 0).toFixed(2)}`,
        );
        say(`mixture weight ${lambda.toFixed(2)} (${run.spec.name}), tuned on valid`);
        say(`perplexity ${ppl.toFixed(2)}`);
      }
    } else {throw new Error(
        `the ${run.spec.name} run in ${runPath} is not a language model; --perplexity needs one`,
      );}
  }
  if (json) console.log(JSON.stringify(results, null, 2));
  return 0;
}

if (import.meta.main) await runCommand(() => main(Deno.args));
