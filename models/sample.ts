/**
 * `deno task sample`: text from a trained language model (n-gram, Bengio, one-hot, RNN, GRU, LSTM or
 * Transformer), after a prompt.
 *
 * ```sh
 * deno task sample --run runs/lstm-ptb --prompt "the company said" --tokens 30 --temperature 0.8 --top-k 40 --seed 7
 * ```
 *
 * Flags: `--run DIR`, `--prompt TEXT` (tokenized as the run's corpus was; default empty: a sentence's start),
 * `--tokens N` (default 50), `--temperature T` (default 1), `--top-k K` (default 0: every token), `--seed S`
 * (default 1: the same seed gives the same text).
 * @module
 */
import { openRun, runCommand } from "./commands.ts";
import { tokenize } from "./data/corpus.ts";
import { UNK } from "./data/vocabulary.ts";
import { sampleTokens } from "./eval/sample.ts";
import { parseFlags, single, userPath } from "./flags.ts";
import type { DataConfig } from "./spec.ts";

const USAGE =
  "deno task sample --run DIR [--prompt TEXT] [--tokens N] [--temperature T] [--top-k K] [--seed S]";

function numberFlag(
  flags: Map<string, string[]>,
  name: string,
  fallback: number,
  whole: boolean,
  min: number,
): number {
  const text = single(flags, name);
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!(Number.isFinite(n) && n >= min && (!whole || Number.isInteger(n))) || text.trim() === "") {
    throw new Error(
      `--${name} takes ${whole ? "a whole number" : "a number"} >= ${min}, got ${JSON.stringify(text)}`,
    );
  }
  return n;
}

async function main(argv: readonly string[]): Promise<number> {
  const flags = parseFlags(argv, new Set(["help"]));
  if (flags.has("help")) {
    console.log(USAGE);
    return 0;
  }
  for (const name of flags.keys()) {
    if (!["run", "prompt", "tokens", "temperature", "top-k", "seed"].includes(name)) {
      throw new Error(`unknown flag --${name}; ${USAGE}`);
    }
  }
  const runPath = single(flags, "run");
  if (runPath === undefined) throw new Error(`--run DIR is needed; ${USAGE}`);
  const tokens = numberFlag(flags, "tokens", 50, true, 1);
  const temperature = numberFlag(flags, "temperature", 1, false, 0);
  const topK = numberFlag(flags, "top-k", 0, true, 0);
  const seed = numberFlag(flags, "seed", 1, true, 0);
  const run = await openRun(userPath(runPath));
  if (!run.trained.nextLogProbs) {
    throw new Error(
      `the ${run.spec.name} run in ${runPath} cannot be sampled (${
        run.spec.kind === "masked"
          ? "a masked LM fills in blanks, it does not continue text"
          : "not a language model"
      }); sample from an LM run`,
    );
  }
  const data = run.saved.config as unknown as DataConfig;
  const prompt = single(flags, "prompt") ?? "";
  const promptTokens = tokenize(prompt, { ...data, punctuation: true }).flat();
  const unk = run.vocabulary.idOf.get(UNK) ?? 1;
  const unknown = promptTokens.filter((t) => !run.vocabulary.idOf.has(t));
  if (unknown.length > 0) console.error(`note: not in the vocabulary, read as ${UNK}: ${unknown.join(" ")}`);
  const ids = Int32Array.from(promptTokens, (t) => run.vocabulary.idOf.get(t) ?? unk);
  const drawn = sampleTokens(run.trained.nextLogProbs, ids, { tokens, temperature, topK, seed });
  const char = data.tokens === "char";
  const words = [...promptTokens, ...Array.from(drawn, (id) => run.vocabulary.words[id])];
  const text = char
    ? words.join("")
    : words.map((w) => (w === run.vocabulary.words[0] ? "\n" : w)).join(" ").replace(/ ?\n ?/g, "\n");
  console.log(text);
  return 0;
}

if (import.meta.main) await runCommand(() => main(Deno.args));
