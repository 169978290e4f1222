/**
 * What the three commands (`train`, `eval`, `sample`) share: reading a finished run back (its config,
 * vocabulary and model), the corpus parts it was trained on, and the way they fail (one line on stderr, a
 * non-zero exit).
 * @module
 */
import { loadCorpus } from "./data/corpus.ts";
import { encodeStream, parseVocabulary, type Vocabulary } from "./data/vocabulary.ts";
import { modelSpec } from "./registry.ts";
import { type AnySpec, type DataConfig, defaultsOf, type Trained } from "./spec.ts";
import { type RunConfig, RunDir } from "./train/run_dir.ts";

/**
 * A run read back from its directory.
 *
 * @example
 * ```ts
 * import type { LoadedRun } from "./commands.ts";
 * const modelOf = (r: LoadedRun) => r.spec.name;
 * if (typeof modelOf !== "function") throw new Error();
 * ```
 */
export interface LoadedRun {
  /** The directory. */
  dir: RunDir;
  /** config.json. */
  saved: RunConfig;
  /** The model's spec. */
  spec: AnySpec;
  /** Its vocabulary. */
  vocabulary: Vocabulary;
  /** The trained model. */
  trained: Trained;
}

/**
 * Opens a run directory for eval or sample: it must hold a finished run's config, vocabulary and checkpoint;
 * anything else is an error naming the fix.
 *
 * @example
 * ```ts
 * import { openRun } from "./commands.ts";
 * let message = "";
 * try { await openRun("/surely/not/a/run"); } catch (e) { message = (e as Error).message; }
 * if (!message.includes("no run")) throw new Error(message);
 * ```
 */
export async function openRun(path: string): Promise<LoadedRun> {
  const dir = new RunDir(path);
  const saved = await dir.readJson<RunConfig>("config.json");
  if (!saved) {
    throw new Error(`${path} holds no run (no config.json); train one with deno task train --run ${path}`);
  }
  const spec = modelSpec(saved.model);
  const vocabText = await Deno.readTextFile(dir.file("vocab.json")).catch(() => undefined);
  if (vocabText === undefined) {
    throw new Error(`${path} has no vocab.json; train it again with deno task train --run ${path} --fresh`);
  }
  const status = await dir.readStatus();
  try {
    await Deno.stat(dir.checkpoint);
  } catch {
    throw new Error(
      `${path} has no checkpoint (status: ${
        status?.state ?? "none"
      }); run deno task train --run ${path} to train it`,
    );
  }
  const vocabulary = parseVocabulary(vocabText, dir.file("vocab.json"));
  const config = { ...defaultsOf(spec.fields), ...saved.config };
  const trained = await spec.load(dir.checkpoint, config, vocabulary);
  return { dir, saved, spec, vocabulary, trained };
}

/**
 * A part of the run's corpus (read again as the run read it) as a stream of ids of its vocabulary.
 *
 * @example
 * ```ts ignore
 * import { openRun, partStream } from "./commands.ts";
 * const run = await openRun("runs/lstm-ptb");
 * const test = await partStream(run, "test");
 * ```
 */
export async function partStream(run: LoadedRun, part: "train" | "valid" | "test"): Promise<Int32Array> {
  const data = { ...defaultsOf(run.spec.fields), ...run.saved.config } as unknown as DataConfig;
  const parts = await loadCorpus(run.saved.corpus, data);
  if (parts[part].length === 0) {
    throw new Error(
      `the corpus ${run.saved.corpus} has no ${part} part (split ${
        JSON.stringify(data.split)
      }); pass another --perplexity part`,
    );
  }
  return encodeStream(parts[part], run.vocabulary, data.sentenceEnds);
}

/**
 * Runs a command's main: an error becomes one line on stderr (`error: ...`) and exit code 1.
 *
 * @example
 * ```ts ignore
 * import { runCommand } from "./commands.ts";
 * await runCommand(() => main(Deno.args));
 * ```
 */
export async function runCommand(main: () => Promise<number | void>): Promise<void> {
  try {
    const code = await main();
    Deno.exit(code ?? 0);
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    console.error(`error: ${message.split("\n")[0]}`);
    if (Deno.env.get("LOOM_DEBUG")) console.error(e);
    Deno.exit(1);
  }
}
