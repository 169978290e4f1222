/**
 * Flat memory over a long training loop: the transformer step, run for up to 2000 steps (or as many as fit
 * in about 9 minutes), with the resident set size read after an early step and after the last. Loom frees
 * nothing by hand: donated params and optimizer state are reused in place, and everything else is
 * returned through garbage collection, so the process's RSS must stop growing (target: within 5%).
 * @module
 */
import * as L from "../../mod.ts";
import { type BenchOptions, formatMs, progress, type Row, row } from "./harness.ts";
import { loomTrainer } from "./loom.ts";
import { transformerTraining } from "./transformer.ts";

const MB = 2 ** 20;

/** One reading: the step, the resident set size, Loom's WebAssembly memory and V8's heap. */
interface Reading {
  step: number;
  rss: number;
  loom: number;
  /** V8's JavaScript heap: reserved and in use. */
  heapTotal: number;
  heapUsed: number;
}

/** The memory row. */
export function memoryRows(options: BenchOptions): Promise<Row[]> {
  progress("memory: transformer training loop");
  const target = options.quick ? 200 : 2000;
  const early = options.quick ? 10 : 100;
  const limitMs = (options.quick ? 30 : 540) * 1000;
  const spec = transformerTraining();
  const { contender, losses } = loomTrainer(spec, spec.model.init(L.random.key(0), spec.inputShape).params);
  const read = (step: number): Reading => {
    const { rss, heapTotal, heapUsed } = Deno.memoryUsage();
    return { step, rss, loom: options.loomMemory(), heapTotal, heapUsed };
  };
  // Readings after the early step and then every `early` steps: the row shows the first, the middle one
  // and the last, so that a trend can be told from the garbage collector's ups and downs.
  const readings: Reading[] = [];
  const start = performance.now();
  let steps = 0;
  // Keep going past the time limit until the early reading exists, so that there is something to compare.
  while (steps < target && (performance.now() - start < limitMs || steps <= early)) {
    contender.run();
    steps++;
    if (steps % early === 0) readings.push(read(steps));
  }
  if (readings[readings.length - 1].step !== steps) readings.push(read(steps));
  const elapsed = performance.now() - start;
  const [first, middle, last] = [readings[0], readings[readings.length >> 1], readings[readings.length - 1]];
  const change = (last.rss / first.rss - 1) * 100;
  const mb = (r: Reading) => `${(r.rss / MB).toFixed(0)} MB after step ${r.step}`;
  const cut = steps < target
    ? `; stopped at step ${steps} of ${target} after ${formatMs(elapsed)} (${
      formatMs(elapsed / steps)
    } a step)`
    : "";
  return Promise.resolve([row(`memory: transformer training loop, ${steps} steps`, {
    loom: `RSS ${mb(first)}, ${mb(middle)}, ${mb(last)} (${change >= 0 ? "+" : ""}${
      change.toFixed(1)
    }% first to last)`,
    tfjsWasm: "n/a",
    tfjsCpu: "n/a",
    notes: `target: within 5%${cut}; Loom's WebAssembly memory ${(first.loom / MB).toFixed(0)} MiB at step ` +
      `${first.step}, ${(last.loom / MB).toFixed(0)} MiB at step ${last.step}; V8 heap ${
        (first.heapTotal / MB).toFixed(0)
      } MB (${(first.heapUsed / MB).toFixed(0)} in use) at step ${first.step}, ${
        (last.heapTotal / MB).toFixed(0)
      } MB (${
        (last.heapUsed / MB).toFixed(0)
      } in use) at step ${last.step}, young generation pinned at 2 × 16 MiB; loss ${
        losses[0].toFixed(3)
      } → ` +
      `${losses[losses.length - 1].toFixed(3)}`,
  })]);
}
