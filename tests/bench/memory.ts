/**
 * Flat memory over a long training loop: the transformer step, run for up to 2000 steps (or as many as fit
 * in about 3 minutes), with the resident set size read after an early step and after the last. Loom frees
 * nothing by hand: donated params and optimizer state are reused in place, and everything else is
 * returned through garbage collection, so the process's RSS must stop growing (target: within 5%).
 * @module
 */
import * as L from "../../mod.ts";
import { type BenchOptions, formatMs, progress, type Row, row } from "./harness.ts";
import { loomTrainer } from "./loom.ts";
import { transformerTraining } from "./transformer.ts";

const MB = 2 ** 20;

/** The memory row. */
export function memoryRows(options: BenchOptions): Promise<Row[]> {
  progress("memory: transformer training loop");
  const target = options.quick ? 200 : 2000;
  const early = options.quick ? 10 : 100;
  const limitMs = (options.quick ? 30 : 180) * 1000;
  const spec = transformerTraining();
  const { contender, losses } = loomTrainer(spec, spec.model.init(L.random.key(0), spec.inputShape).params);
  let rssEarly = 0;
  const start = performance.now();
  let steps = 0;
  // Keep going past the time limit until the early reading exists, so that there is something to compare.
  while (steps < target && (performance.now() - start < limitMs || steps <= early)) {
    contender.run();
    steps++;
    if (steps === early) rssEarly = Deno.memoryUsage().rss;
  }
  const rssEnd = Deno.memoryUsage().rss;
  const elapsed = performance.now() - start;
  const change = (rssEnd / rssEarly - 1) * 100;
  const cut = steps < target
    ? `; stopped at step ${steps} of ${target} after ${formatMs(elapsed)} (${
      formatMs(elapsed / steps)
    } a step)`
    : "";
  return Promise.resolve([row(`memory: transformer training loop, ${steps} steps`, {
    loom:
      `RSS ${(rssEarly / MB).toFixed(0)} MB after step ${early}, ${
        (rssEnd / MB).toFixed(0)
      } MB after step ${steps} ` +
      `(${change >= 0 ? "+" : ""}${change.toFixed(1)}%)`,
    tfjsWasm: "n/a",
    tfjsCpu: "n/a",
    notes: `target: within 5%${cut}; loss ${losses[0].toFixed(3)} → ${losses[losses.length - 1].toFixed(3)}`,
  })]);
}
