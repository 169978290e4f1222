/** Runs `models/train.ts` as `deno task train` does, for the end-to-end tests of the models. */

/** Runs `deno task train` with `args` (and `env`); returns whether it succeeded and what it printed. */
export async function runTrain(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ success: boolean; stdout: string; stderr: string }> {
  const script = new URL("../../models/train.ts", import.meta.url).pathname;
  const config = new URL("../../deno.json", import.meta.url).pathname;
  const run = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-read", "--allow-write", "--allow-env", "--config", config, script, ...args],
    stdout: "piped",
    stderr: "piped",
    env,
  }).output();
  const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  return { success: run.success, stdout: decode(run.stdout), stderr: decode(run.stderr) };
}
