/**
 * The commands as a new user meets them: `train` writes a run directory (config, vocabulary, checkpoint,
 * metrics, status, vectors that parse back), resumes, and refuses bad input with one line that names the
 * fix, a non-zero exit and no run directory claiming to be finished; `eval` and `sample` read a run.
 */
import assert from "node:assert/strict";
import { parseVectors } from "../../models/eval/vectors.ts";
import { runCommand, textFile, toyCorpus } from "./cli.ts";

const SMALL = ["--dim", "8", "--epochs", "1", "--min-count", "1", "--batch", "64"];

async function statusOf(dir: string): Promise<string | undefined> {
  try {
    return JSON.parse(await Deno.readTextFile(`${dir}/status.json`)).state;
  } catch {
    return undefined;
  }
}

Deno.test("train: a skip-gram run leaves config, vocabulary, checkpoint, metrics, status and vectors.txt", async () => {
  const corpus = await textFile(toyCorpus(80));
  const dir = await Deno.makeTempDir();
  const run = await runCommand("train", ["--corpus", corpus, "--run", dir, ...SMALL]);
  assert.equal(run.code, 0, run.stderr);
  const config = JSON.parse(await Deno.readTextFile(`${dir}/config.json`));
  assert.equal(config.model, "skipgram");
  assert.equal(config.config.dim, 8);
  const metrics = (await Deno.readTextFile(`${dir}/metrics.jsonl`)).trim().split("\n").map((l) =>
    JSON.parse(l)
  );
  for (const key of ["step", "epoch", "tokens", "loss", "lr", "tokens_per_second", "elapsed"]) {
    assert.ok(key in metrics[0], key);
  }
  assert.equal(await statusOf(dir), "finished");
  const vectors = parseVectors(await Deno.readTextFile(`${dir}/vectors.txt`), "vectors.txt");
  const vocab = JSON.parse(await Deno.readTextFile(`${dir}/vocab.json`));
  assert.deepEqual(vectors.words, vocab.words);
  assert.equal(vectors.dim, 8);
  // The same command again: the run is finished, nothing is trained.
  const again = await runCommand("train", ["--corpus", corpus, "--run", dir, ...SMALL]);
  assert.equal(again.code, 0);
  assert.match(again.stdout, /is finished/);
  const evaluated = await runCommand("eval", ["--run", dir, "--neighbours", "cat,stock", "--json"]);
  assert.equal(evaluated.code, 0, evaluated.stderr);
  assert.ok(JSON.parse(evaluated.stdout)["neighbours:cat"].length === 10);
  await Deno.remove(dir, { recursive: true });
  await Deno.remove(corpus);
});

Deno.test("train: stopped by --max-steps and run again, a run resumes and finishes as one uninterrupted", async () => {
  const corpus = await textFile(toyCorpus(80, 3));
  const [whole, parts] = [await Deno.makeTempDir(), await Deno.makeTempDir()];
  const flags = [
    "--model",
    "bengio",
    "--corpus",
    corpus,
    "--context",
    "2",
    "--embedding",
    "8",
    "--hidden",
    "8",
    "--batch",
    "32",
    "--epochs",
    "2",
    "--min-count",
    "1",
  ];
  assert.equal((await runCommand("train", [...flags, "--run", whole])).code, 0);
  const first = await runCommand("train", [...flags, "--run", parts, "--max-steps", "5"]);
  assert.equal(first.code, 0, first.stderr);
  assert.equal(await statusOf(parts), "interrupted");
  const rest = await runCommand("train", ["--run", parts]);
  assert.equal(rest.code, 0, rest.stderr);
  assert.match(rest.stdout, /resuming bengio/);
  assert.equal(await statusOf(parts), "finished");
  const ppl = async (dir: string) =>
    (await runCommand("eval", ["--run", dir, "--perplexity", "test"])).stdout.trim();
  const [a, b] = [await ppl(whole), await ppl(parts)];
  assert.match(a, /^perplexity \d+\.\d\d$/);
  assert.equal(b, a);
  // The run's final validation score is its last epoch's, reused; eval computes it afresh to the same digits.
  const status = JSON.parse(await Deno.readTextFile(`${whole}/status.json`));
  const metrics = (await Deno.readTextFile(`${whole}/metrics.jsonl`)).trim().split("\n").map((l) =>
    JSON.parse(l)
  );
  const epochs = metrics.filter((m) => m.valid_perplexity !== undefined && m.evaluation === undefined);
  assert.equal(status.scores.valid_perplexity, epochs[epochs.length - 1].valid_perplexity);
  const valid = (await runCommand("eval", ["--run", whole, "--perplexity", "valid"])).stdout.trim();
  assert.equal(valid, `perplexity ${status.scores.valid_perplexity.toFixed(2)}`);
  const sample = async (seed: string) =>
    (await runCommand("sample", ["--run", parts, "--prompt", "the cat", "--tokens", "8", "--seed", seed]))
      .stdout;
  const [s1, s2] = [await sample("4"), await sample("4")];
  assert.equal(s1, s2);
  assert.match(s1, /^the cat /);
  for (const dir of [whole, parts]) await Deno.remove(dir, { recursive: true });
  await Deno.remove(corpus);
});

/** Runs a bad command: a one-line error naming `fix`, a non-zero exit, no run claiming to be finished. */
async function refuses(
  args: string[],
  fix: RegExp,
  dir?: string,
  command: "train" | "eval" | "sample" = "train",
) {
  const run = await runCommand(command, args);
  assert.notEqual(run.code, 0, `${args.join(" ")} should fail`);
  const lines = run.stderr.trim().split("\n").filter((l) => l.startsWith("error:"));
  assert.equal(lines.length, 1, run.stderr);
  assert.match(lines[0], fix);
  if (dir) assert.notEqual(await statusOf(dir), "finished");
}

Deno.test("train: bad input is one line that names the fix, a non-zero exit, and no finished run", async () => {
  const dir = await Deno.makeTempDir();
  const run = `${dir}/run`;
  const empty = await textFile("\n \n");
  const binary = await textFile(new Uint8Array([1, 2, 0, 3]));
  const latin1 = await textFile(new Uint8Array([0x63, 0x61, 0x66, 0xe9, 0x0a]));
  const good = await textFile(toyCorpus(40));
  await refuses(["--corpus", `${dir}/missing.txt`, "--run", run], /not found.*pass the path/, run);
  await refuses(["--corpus", empty, "--run", run], /is empty/, run);
  await refuses(["--corpus", binary, "--run", run], /looks binary/, run);
  await refuses(["--corpus", latin1, "--run", run], /not UTF-8.*iconv/, run);
  await refuses(
    ["--model", "bert", "--corpus", good],
    /unknown model "bert"; --model takes one of: skipgram/,
  );
  await refuses(
    ["--recipe", "no-such-recipe"],
    /unknown recipe "no-such-recipe"; --recipe takes one of: .*kn5-ptb/,
  );
  await refuses(
    ["--corpus", good, "--dims", "5", "--run", run],
    /unknown flag --dims for model skipgram; its flags: --dim/,
    run,
  );
  await refuses(
    ["--corpus", good, "--dim", "big", "--run", run],
    /--dim takes a whole number >= 1, got "big"/,
    run,
  );
  await refuses(
    ["--model", "lstm", "--corpus", good, "--carry-state", "maybe", "--run", run],
    /--carry-state takes true or false/,
    run,
  );
  await refuses(
    ["--model", "lstm", "--corpus", good, "--sampling", "random", "--run", run],
    /unknown flag --sampling for model lstm; its flags: /,
    run,
  );
  // A finished skip-gram run, then another model in its directory, other flags, a corrupt checkpoint.
  assert.equal(
    (await runCommand("train", ["--corpus", good, "--run", run, ...SMALL, "--max-steps", "2"])).code,
    0,
  );
  await refuses(
    ["--model", "lstm", "--corpus", good, "--run", run],
    /holds a skipgram run, not lstm; pass another --run/,
    run,
  );
  await refuses(
    ["--corpus", good, "--run", run, ...SMALL, "--window", "2"],
    /--window 2 disagrees with the run.*--fresh/,
    run,
  );
  await Deno.writeTextFile(`${run}/checkpoint.safetensors`, "garbage");
  await refuses(["--run", run], /checkpoint .* is unreadable.*--fresh/, run);
  assert.equal(await statusOf(run), "failed");
  await refuses(["--run", `${dir}/nothing`, "--perplexity", "test"], /holds no run/, undefined, "eval");
  await refuses(
    ["--run", run, "--perplexity", "tests"],
    /--perplexity takes valid or test/,
    undefined,
    "eval",
  );
  await refuses(["--run", run, "--tokens", "-3"], /--tokens takes a whole number >= 1/, undefined, "sample");
  for (const f of [empty, binary, latin1, good]) await Deno.remove(f);
  await Deno.remove(dir, { recursive: true });
});

for (const [signal, exitCode] of [["SIGINT", 130], ["SIGTERM", 143]] as const) {
  Deno.test(`train: ${signal} saves a checkpoint and exits ${exitCode}; the same command resumes`, async () => {
    const corpus = await textFile(toyCorpus(400, 5));
    const dir = await Deno.makeTempDir();
    const script = new URL("../../models/train.ts", import.meta.url).pathname;
    const args = [
      "--corpus",
      corpus,
      "--run",
      dir,
      "--dim",
      "8",
      "--epochs",
      "400",
      "--min-count",
      "1",
      "--batch",
      "32",
    ];
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-read", "--allow-write", "--allow-env", script, ...args],
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1", LOOM_THREADS: "1" },
    }).spawn();
    // Wait for the first report (metrics.jsonl), then interrupt.
    for (let waited = 0; waited < 60_000; waited += 200) {
      if (await Deno.stat(`${dir}/metrics.jsonl`).then(() => true, () => false)) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    child.kill(signal);
    const { code, stdout } = await child.output();
    assert.equal(code, exitCode, new TextDecoder().decode(stdout));
    assert.equal(await statusOf(dir), "interrupted");
    await Deno.stat(`${dir}/checkpoint.safetensors`);
    const resumed = await runCommand("train", ["--run", dir, "--max-steps", "1"]);
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.match(resumed.stdout, /resuming skipgram/);
    await Deno.remove(dir, { recursive: true });
    await Deno.remove(corpus);
  });
}
