/** Runs the `models/` commands as `deno task` does, for the end-to-end tests. */

/** What a command did. */
export interface Ran {
  /** Exit code. */
  code: number;
  /** Standard output. */
  stdout: string;
  /** Standard error. */
  stderr: string;
}

/** Runs `models/<command>.ts` with `args` and the permissions of its task. */
export async function runCommand(command: "train" | "eval" | "sample", args: string[]): Promise<Ran> {
  const script = new URL(`../../models/${command}.ts`, import.meta.url).pathname;
  const config = new URL("../../deno.json", import.meta.url).pathname;
  const write = command === "train" ? ["--allow-write"] : [];
  const run = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-read", ...write, "--allow-env", "--config", config, script, ...args],
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1", LOOM_THREADS: "1" },
  }).output();
  const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  return { code: run.code, stdout: decode(run.stdout), stderr: decode(run.stderr) };
}

/** A temporary text file with `text`. */
export async function textFile(text: string | Uint8Array, suffix = ".txt"): Promise<string> {
  const path = await Deno.makeTempFile({ suffix });
  if (typeof text === "string") await Deno.writeTextFile(path, text);
  else await Deno.writeFile(path, text);
  return path;
}

/** A small corpus with structure: sentences of a toy grammar (topic words go together), seeded. */
export function toyCorpus(sentences: number, seed = 1): string {
  const topics = [["cat", "dog", "pet", "fur"], ["stock", "market", "price", "trade"], [
    "rain",
    "cloud",
    "wind",
    "storm",
  ]];
  let s = seed >>> 0 || 1;
  const next = () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s;
  };
  const lines: string[] = [];
  for (let i = 0; i < sentences; i++) {
    const topic = topics[next() % topics.length];
    const words = ["the"];
    for (let j = 0; j < 6; j++) words.push(topic[next() % topic.length], j % 2 ? "and" : "of");
    lines.push(words.join(" "));
  }
  return lines.join("\n") + "\n";
}
