/**
 * Skip-gram with negative sampling (Mikolov et al., 2013) on Penn Treebank, timed as training throughput
 * in words per second per thread, the unit word2vec.c reports. The update is sparse: the gradients of the
 * two tables come out of `take` as `SparseRows`, and with the tables donated the SGD step writes only the
 * rows a batch touched.
 *
 * Setup as word2vec.c: one pass over the corpus, window 5 shrunk at random per centre word, 5 negatives
 * drawn from the unigram distribution to the 3/4, dim 100, input vectors uniform in ±0.5/dim and output
 * vectors zero, SGD on the summed loss with word2vec's rate: 0.025 falling linearly to 0.025·10⁻⁴ over the
 * pass. Unlike word2vec.c, which updates after every pair, Loom updates once per batch of 1,536
 * (centre, context) pairs, the pairs of about 256 centre words packed densely (a centre word's pairs all go
 * in one batch; the slots left at the end of a batch are masked out); there is no subsampling of frequent
 * words (every word is a centre word) and negatives equal to the context word are kept. The loop awaits
 * every 50 steps, as a training loop does, so that the batches' tensors are freed as it goes.
 *
 * The original C word2vec runs in the same process tree for the comparison: its source comes from the npm
 * package `word2vec` (which ships Mikolov's word2vec.c), compiled with the flags of its makefile where gcc
 * is present, and run on the same file with the same settings (`-sample 0`: no subsampling either).
 * @module
 */
import * as L from "../../mod.ts";
import { aliasTable } from "../../models/data/windows.ts";
import { type BenchOptions, progress, type Row, row, seeded } from "./harness.ts";

const [WINDOW, NEGATIVES, DIM, PAIRS, LR] = [5, 5, 100, 1536, 0.025];
/**
 * The corpus as ids (most frequent word first) and an alias table (Walker; Vose's construction) for drawing
 * negatives from the unigram distribution to the 3/4 exactly, with two small arrays that stay in cache
 * (word2vec.c fills a 10⁸-entry table instead: the same distribution, a cache miss per draw).
 */
function prepare(text: string): { ids: Int32Array; vocab: number; keep: Float32Array; alias: Int32Array } {
  const words = text.split(/\s+/).filter((w) => w.length > 0);
  const counts = new Map<string, number>();
  for (const w of words) counts.set(w, (counts.get(w) ?? 0) + 1);
  const byFrequency = [...counts].sort((a, b) => b[1] - a[1]);
  const idOf = new Map(byFrequency.map(([w], i) => [w, i]));
  const ids = Int32Array.from(words, (w) => idOf.get(w)!);
  const vocab = byFrequency.length;
  const { keep, alias } = aliasTable(byFrequency.map(([, c]) => c ** 0.75));
  return { ids, vocab, keep, alias };
}

type Tables = { input: L.Tensor; output: L.Tensor };

/** The negative-sampling loss summed over the real (mask 1) centre-context pairs of a batch. */
function loss(p: Tables, centre: L.Tensor, context: L.Tensor, negatives: L.Tensor, mask: L.Tensor): L.Tensor {
  const u = L.take(p.input, centre); // [P, D]
  const positive = L.take(p.output, context).mul(u).sum(-1); // [P]
  const negative = L.take(p.output, negatives).mul(u.unsqueeze(1)).sum(-1); // [P, K]
  return L.softplus(positive.neg()).add(L.softplus(negative).sum(-1)).mul(mask).sum();
}

/** word2vec.c's words/thread/sec on `corpus` with the benchmark's settings, or why it did not run. */
async function wordToVecC(corpus: string, threads: number): Promise<number | string> {
  try {
    // Importing a file of the package puts it in Deno's npm cache, where its C source then is.
    // deno-lint-ignore no-import-prefix -- a bench-only dependency, pinned here rather than in deno.json
    await import("npm:word2vec@1.1.5/package.json", { with: { type: "json" } });
    const info = await new Deno.Command(Deno.execPath(), { args: ["info", "--json"], stdout: "piped" })
      .output();
    const { npmCache } = JSON.parse(new TextDecoder().decode(info.stdout)) as { npmCache: string };
    const source = `${npmCache}/registry.npmjs.org/word2vec/1.1.5/src/word2vec.c`;
    const dir = await Deno.makeTempDir({ prefix: "loom-word2vec-" });
    try {
      const binary = `${dir}/word2vec`;
      const flags = ["-lm", "-pthread", "-O3", "-march=native", "-funroll-loops", "-Wno-unused-result"];
      const built = await new Deno.Command("gcc", { args: [source, "-o", binary, ...flags], stderr: "piped" })
        .output();
      if (!built.success) return `gcc failed: ${new TextDecoder().decode(built.stderr).slice(0, 200)}`;
      const settings = ["-cbow", "0", "-size", `${DIM}`, "-window", `${WINDOW}`, "-negative", `${NEGATIVES}`];
      const rest = ["-hs", "0", "-sample", "0", "-threads", `${threads}`, "-iter", "1", "-min-count", "1"];
      const run = await new Deno.Command(binary, {
        args: ["-train", corpus, "-output", `${dir}/vectors.txt`, ...settings, ...rest, "-alpha", `${LR}`],
        stdout: "piped",
      }).output();
      // Progress lines end in "Words/thread/sec: 70.31k"; the last one covers the whole run.
      const rates = [...new TextDecoder().decode(run.stdout).matchAll(/Words\/thread\/sec: ([\d.]+)k/g)];
      if (!run.success || rates.length === 0) return "word2vec.c printed no rate";
      return Number(rates[rates.length - 1][1]) * 1000;
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  } catch (error) {
    return `not run (${error instanceof Error ? error.message : error})`;
  }
}

/** The skip-gram row, or a row saying why it was skipped. */
export async function skipgramRows(options: BenchOptions): Promise<Row[]> {
  const workload = `skip-gram training, PTB train (window ${WINDOW}, ${NEGATIVES} negatives, dim ${DIM}, ` +
    `batch ${PAIRS} pairs, SGD)`;
  const path = new URL("../../../shared/data/ptb.train.txt", import.meta.url);
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch {
    return [
      row(workload, { loom: "skipped", notes: `no ${decodeURIComponent(path.pathname)} (../shared absent)` }),
    ];
  }
  progress("skip-gram");
  const { ids, vocab, keep, alias } = prepare(text);
  const random = seeded(11);
  let params: Tables = {
    input: L.random.uniform(L.random.key(12), [vocab, DIM], { minval: -0.5 / DIM, maxval: 0.5 / DIM }),
    output: L.zeros([vocab, DIM]),
  };
  // A centre word has 6 pairs on average (window shrunk to 1-5 words each side): the pass's steps, estimated.
  const epochSteps = Math.ceil(ids.length * 6 / PAIRS);
  const opt = L.optim.sgd({ lr: L.optim.linearDecay({ from: LR, to: LR * 1e-4, steps: epochSteps }) });
  let state = opt.init(params);
  const step = L.jit((p: Tables, s: L.optim.OptimizerState, ...batch: L.Tensor[]) => {
    const [value, g] = L.valueAndGrad(loss, { sparse: true })(
      p,
      ...batch as [L.Tensor, L.Tensor, L.Tensor, L.Tensor],
    );
    const u = opt.update(g, s, p);
    return [value, u.params, u.state] as const;
  }, { donate: [0, 1] });

  // The batch is built on the host each step, as word2vec.c does; its cost counts in the throughput.
  const centre = new Int32Array(PAIRS);
  const context = new Int32Array(PAIRS);
  const negatives = new Int32Array(PAIRS * NEGATIVES);
  const mask = new Float32Array(PAIRS);
  let cursor = 0;
  /** One step over the pairs of the next centre words; how many words, pairs, and their loss. */
  const train = (): { loss: number; pairs: number; words: number } => {
    let [pairs, words] = [0, 0];
    for (;; words++, cursor = (cursor + 1) % ids.length) {
      const reach = WINDOW - random() % WINDOW;
      const first = Math.max(cursor - reach, 0);
      const last = Math.min(cursor + reach, ids.length - 1);
      // The word's pairs go in whole: stop at the first word that no longer fits.
      if (pairs + (last - first) > PAIRS) break;
      for (let at = first; at <= last; at++) {
        if (at === cursor) continue;
        centre[pairs] = ids[cursor];
        context[pairs++] = ids[at];
      }
    }
    mask.fill(1, 0, pairs);
    mask.fill(0, pairs);
    for (let i = 0; i < negatives.length; i++) {
      const column = random() % vocab;
      negatives[i] = random() * 2 ** -32 < keep[column] ? column : alias[column];
    }
    let value: L.Tensor;
    [value, params, state] = step(
      params,
      state,
      L.tensor(centre, { dtype: "int32" }),
      L.tensor(context, { dtype: "int32" }),
      L.tensor(negatives, { shape: [PAIRS, NEGATIVES], dtype: "int32" }),
      L.tensor(mask),
    );
    return { loss: value.item(), pairs, words };
  };

  const first = train(); // compiles
  // One pass over the corpus (the first step included), or 5 seconds of it in a quick run.
  const limitMs = options.quick ? 5_000 : Infinity;
  const start = performance.now();
  let [steps, trained] = [0, 0];
  const recent: number[] = [];
  // A batch takes at most PAIRS / 2 words, so the cursor stops short of the end without wrapping.
  while (cursor + PAIRS < ids.length && performance.now() - start < limitMs) {
    const { loss, pairs, words } = train();
    steps++;
    trained += words;
    recent.push(loss / pairs);
    if (recent.length > 100) recent.shift();
    if (steps % 50 === 0) await new Promise((resolve) => setTimeout(resolve, 0));
  }
  const elapsed = (performance.now() - start) / 1000;
  const perThread = trained / elapsed / options.threads;
  const perPair = (r: { loss: number; pairs: number }) => (r.loss / r.pairs).toFixed(2);
  const words = (n: number) => `${Math.round(n).toLocaleString("en-US")} words/s/thread`;
  progress("skip-gram: word2vec.c");
  const c = await wordToVecC(decodeURIComponent(path.pathname), options.threads);
  const versusC = typeof c === "number"
    ? `word2vec.c (same corpus and settings, -threads ${options.threads}, run after Loom): ${words(c)}, ` +
      `Loom / C = ${(perThread / c).toFixed(2)} (target ≥ 0.5)`
    : `word2vec.c ${c}`;
  return [row(workload, {
    loom: `${words(perThread)} (LOOM_THREADS=${options.threads})`,
    tfjsWasm: "n/a",
    tfjsCpu: "n/a",
    notes: `${versusC}; Loom: ${trained.toLocaleString("en-US")} words in ` +
      `${elapsed.toFixed(1)} s, vocab ${vocab.toLocaleString("en-US")}; loss per pair ${perPair(first)} at ` +
      `the first batch, ${(recent.reduce((a, b) => a + b, 0) / recent.length).toFixed(2)} over the last ` +
      `${recent.length}; no subsampling`,
  })];
}
