/**
 * Whole word2vec runs on Penn Treebank, side by side on the same cores: Loom's `deno task train --recipe
 * word2vec-ptb` (and `word2vec-cbow-ptb`) against the original C word2vec (compiled from the npm package
 * `word2vec`, never committed) and gensim (Debian's `python3-gensim`), with word2vec.c's defaults (dim 100,
 * window 5, 5 negatives, subsampling 1e-3, 5 epochs, words seen 5+ times) and 2 threads each. Times are wall
 * times of the whole command: reading the corpus and building the vocabulary included, Loom's final evaluation
 * and vectors.txt too (gensim writes its vectors; word2vec.c its). Three rounds of the three commands in turn, medians reported
 * (times, and the rounds' Loom / gensim ratios). `--quick` runs one round of one epoch.
 * @module
 */
import { type BenchOptions, progress, type Row, row } from "./harness.ts";

const CORPUS = new URL("../../../shared/data/ptb.train.txt", import.meta.url).pathname;
const ROOT = new URL("../../", import.meta.url).pathname;

async function seconds(
  command: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<number | string> {
  const started = performance.now();
  try {
    const run = await new Deno.Command(command, { args, env, stdout: "piped", stderr: "piped", cwd: ROOT })
      .output();
    if (!run.success) return `failed: ${new TextDecoder().decode(run.stderr).trim().split("\n").at(-1)}`;
  } catch (error) {
    return `not run (${error instanceof Error ? error.message : error})`;
  }
  return (performance.now() - started) / 1000;
}

/** word2vec.c's binary, compiled into `dir`, or why not. */
async function buildWord2vecC(dir: string): Promise<string | { missing: string }> {
  // deno-lint-ignore no-import-prefix -- a bench-only dependency, pinned here rather than in deno.json
  await import("npm:word2vec@1.1.5/package.json", { with: { type: "json" } });
  const info = await new Deno.Command(Deno.execPath(), { args: ["info", "--json"], stdout: "piped" })
    .output();
  const { npmCache } = JSON.parse(new TextDecoder().decode(info.stdout)) as { npmCache: string };
  const source = `${npmCache}/registry.npmjs.org/word2vec/1.1.5/src/word2vec.c`;
  const binary = `${dir}/word2vec`;
  const flags = ["-lm", "-pthread", "-O3", "-march=native", "-funroll-loops", "-Wno-unused-result"];
  try {
    const built = await new Deno.Command("gcc", { args: [source, "-o", binary, ...flags], stderr: "piped" })
      .output();
    return built.success ? binary : { missing: "gcc failed" };
  } catch {
    return { missing: "no gcc" };
  }
}

const GENSIM = `
import sys
from gensim.models import Word2Vec
from gensim.models.word2vec import LineSentence
sg, alpha, epochs, out = int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
m = Word2Vec(LineSentence(sys.argv[5]), vector_size=100, window=5, negative=5, hs=0, sample=1e-3, workers=2,
             epochs=epochs, min_count=5, sg=sg, alpha=alpha)
m.wv.save_word2vec_format(out)
`;

const median = (xs: readonly number[]) => [...xs].sort((a, b) => a - b)[(xs.length - 1) >> 1];

/** The median of a command's times, or why it did not run. */
const showMedian = (ts: readonly (number | string)[]) => {
  const numbers = ts.filter((t): t is number => typeof t === "number");
  return numbers.length === ts.length
    ? `${median(numbers).toFixed(1)} s`
    : String(ts.find((t) => typeof t === "string"));
};

/** The end-to-end rows: skip-gram and CBOW. */
export async function word2vecRunRows(options: BenchOptions): Promise<Row[]> {
  try {
    await Deno.stat(CORPUS);
  } catch {
    return [
      row("word2vec end to end on PTB", { loom: "n/a", notes: `skipped: no ${CORPUS} (../shared absent)` }),
    ];
  }
  const dir = await Deno.makeTempDir({ prefix: "loom-w2v-runs-" });
  const epochs = options.quick ? 1 : 5;
  const c = await buildWord2vecC(dir);
  const rows: Row[] = [];
  // The machine's speed swings by a third within minutes, so each row runs the three commands in turn, in
  // several rounds, and reports medians: of each command's times, and of the rounds' Loom / gensim ratios.
  const rounds = options.quick ? 1 : 3;
  for (
    const [name, recipe, cbow, alpha] of [["skip-gram", "word2vec-ptb", 0, 0.025], [
      "CBOW",
      "word2vec-cbow-ptb",
      1,
      0.05,
    ]] as const
  ) {
    const times: { loom: (number | string)[]; c: (number | string)[]; gensim: (number | string)[] } = {
      loom: [],
      c: [],
      gensim: [],
    };
    for (let round = 0; round < rounds; round++) {
      progress(`word2vec run: ${name}, round ${round + 1} of ${rounds}`);
      times.loom.push(
        await seconds(Deno.execPath(), [
          "run",
          "--allow-read",
          "--allow-write",
          "--allow-env",
          "models/train.ts",
          "--recipe",
          recipe,
          "--fresh",
          "--run",
          `${dir}/${recipe}`,
          "--epochs",
          `${epochs}`,
        ], { LOOM_THREADS: "2", NO_COLOR: "1" }),
      );
      times.c.push(
        typeof c === "string"
          ? await seconds(c, [
            "-train",
            CORPUS,
            "-output",
            `${dir}/c.txt`,
            "-cbow",
            `${cbow}`,
            "-size",
            "100",
            "-window",
            "5",
            "-negative",
            "5",
            "-hs",
            "0",
            "-sample",
            "1e-3",
            "-threads",
            "2",
            "-iter",
            `${epochs}`,
            "-min-count",
            "5",
            "-alpha",
            `${alpha}`,
            "-binary",
            "0",
          ])
          : c.missing,
      );
      times.gensim.push(
        await seconds("/usr/bin/python3", [
          "-c",
          GENSIM,
          `${1 - cbow}`,
          `${alpha}`,
          `${epochs}`,
          `${dir}/g.txt`,
          CORPUS,
        ]),
      );
    }
    const ratios = times.loom.flatMap((l, i) => {
      const g = times.gensim[i];
      return typeof l === "number" && typeof g === "number" ? [l / g] : [];
    });
    const ratio = ratios.length === rounds
      ? `(Loom / gensim ${median(ratios).toFixed(2)}${
        rounds > 1 ? `; rounds ${ratios.map((r) => r.toFixed(2)).join(", ")}` : ""
      })`
      : "n/a";
    rows.push(
      row(
        `${name}, whole run on PTB (${epochs} epoch${
          epochs > 1 ? "s" : ""
        }, word2vec.c's defaults), 2 threads`,
        {
          loom: showMedian(times.loom),
          numpy: `word2vec.c ${showMedian(times.c)} · gensim ${showMedian(times.gensim)}`,
          ratio,
          notes:
            `wall time of the whole command (Loom's includes its final evaluation and vectors.txt); median of ${rounds} round${
              rounds > 1 ? "s" : ""
            }, the three commands in turn`,
        },
      ),
    );
  }
  await Deno.remove(dir, { recursive: true });
  return rows;
}
