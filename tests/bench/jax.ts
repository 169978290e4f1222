/**
 * JAX's time for the training-step rows: `jax_steps.py` builds the same models with jax and optax (same
 * sizes, Adam) and times one jitted step, right after Loom's row in the same run. It needs a python that
 * imports jax: `LOOM_BENCH_PYTHON` (for instance a venv made with
 * `python3 -m venv /tmp/jaxvenv && /tmp/jaxvenv/bin/pip install --no-index --find-links <wheel store> jax jaxlib optax`),
 * else `python3`; without one the column says why.
 * @module
 */
import { progress } from "./harness.ts";

/** The training rows' workloads and their names in jax_steps.py. */
export const JAX_WORKLOADS: Record<string, string> = { mlp: "mlp", lstm: "lstm", transformer: "transformer" };

/** The python to run JAX with, or why there is none. */
async function jaxPython(): Promise<string | { missing: string }> {
  const candidates = [Deno.env.get("LOOM_BENCH_PYTHON"), "python3"].filter((p): p is string => !!p);
  for (const python of candidates) {
    try {
      const probe = await new Deno.Command(python, { args: ["-c", "import jax, optax"], stderr: "null" })
        .output();
      if (probe.success) return python;
    } catch {
      // Not installed: try the next.
    }
  }
  return { missing: "no python that imports jax and optax (set LOOM_BENCH_PYTHON)" };
}

/**
 * JAX's median step in milliseconds for a workload, or why it was not measured.
 *
 * @example
 * ```ts ignore
 * const ms = await jaxStep("lstm", false);
 * ```
 */
export async function jaxStep(workload: string, quick: boolean): Promise<number | string> {
  const name = JAX_WORKLOADS[workload];
  if (!name) return "n/a";
  const python = await jaxPython();
  if (typeof python !== "string") return python.missing;
  const script = new URL("./jax_steps.py", import.meta.url).pathname;
  progress(`jax: ${name}`);
  const run = await new Deno.Command(python, {
    args: [script, name, ...(quick ? ["--quick"] : [])],
    stdout: "piped",
    stderr: "piped",
    env: { JAX_PLATFORMS: "cpu" },
  }).output();
  if (!run.success) return `failed: ${new TextDecoder().decode(run.stderr).trim().split("\n").at(-1)}`;
  const times = JSON.parse(new TextDecoder().decode(run.stdout).trim().split("\n").at(-1)!) as Record<
    string,
    number
  >;
  return times[name];
}
