/**
 * The measuring and reporting half of `deno task bench`: side-by-side timing of contenders (medians after
 * warm-up, interleaved so that machine noise falls on all of them alike), the rows of the one results
 * table, and small formatting and data helpers shared by the workloads.
 *
 * Nothing here asserts on time: a benchmark reports what it measured.
 * @module
 */

/** Settings every workload receives. */
export interface BenchOptions {
  /** A 1-2 minute smoke run: fewer sizes, repetitions and steps. */
  quick: boolean;
  /** Threads of Loom's CPU runtime. */
  threads: number;
  /** The current size of Loom's WebAssembly memory, in bytes. */
  loomMemory: () => number;
}

/** One thing to time: a Loom function, the same work on a TF.js backend, a plain copy. */
export interface Contender {
  /** Key of its timing in the result. */
  name: string;
  /** Untimed work before each timed call (selecting TF.js's backend). */
  prepare?: () => Promise<unknown>;
  /** One timed call; it must return only when the work is done. */
  run: () => unknown;
  /**
   * Instead of `run`: one call that times itself and resolves to its milliseconds (work in another process,
   * which reports the time it measured around the work alone).
   */
  timed?: () => Promise<number>;
  /**
   * True where a first call compiles nothing (TF.js, a copy): when the warm-up call alone takes the whole
   * budget, it is the sample, rather than paying for a second equally slow call. Loom's first call traces
   * and compiles, so for Loom it never counts.
   */
  firstCallIsFair?: boolean;
}

/** The median time of one contender and how many timed calls it rests on. */
export interface Timing {
  /** Median over the timed calls, in milliseconds. */
  ms: number;
  /** Number of timed calls. */
  reps: number;
  /** The timed calls in the order of the rounds they ran in. */
  times?: readonly number[];
}

/**
 * The median over rounds of `a`'s time over `b`'s, pairing the calls of the same round: steadier than the
 * ratio of the medians when the machine's speed drifts during a measurement. Undefined without pairs.
 */
export function pairedRatio(a: Timing | undefined, b: Timing | undefined): number | undefined {
  const count = Math.min(a?.times?.length ?? 0, b?.times?.length ?? 0);
  if (count === 0) return undefined;
  return median(Array.from({ length: count }, (_, i) => a!.times![i] / b!.times![i]));
}

/** How long to measure. */
export interface MeasureOptions {
  /** Timed calls per contender at most. */
  maxReps: number;
  /** Time per contender for the timed calls, in ms: slow contenders get fewer repetitions (at least one). */
  budgetMs: number;
}

/** The median of a non-empty list. */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

async function timeOnce(c: Contender): Promise<number> {
  await c.prepare?.();
  // Let a task boundary pass before each timed call: Loom returns the buffers of dropped results to its
  // allocator in finalization callbacks, which run between tasks (TF.js contenders dispose explicitly).
  await new Promise((resolve) => setTimeout(resolve, 0));
  if (c.timed) return await c.timed();
  const start = performance.now();
  c.run();
  return performance.now() - start;
}

/**
 * Times each contender: warm-up calls (one, or two where the first compiles), then rounds in which every
 * contender that still needs samples runs once, so that a slow spell of the machine (other processes on
 * the 2 cores) is shared. The last warm-up call's time sets each contender's number of timed calls: as
 * many as fit in `budgetMs`, within `[1, maxReps]`.
 */
export async function measure(
  contenders: readonly Contender[],
  options: MeasureOptions,
): Promise<Map<string, Timing>> {
  const states = [];
  for (const c of contenders) {
    let warm = await timeOnce(c);
    // A first call that compiled says little about the next ones: time a second call for the estimate.
    if (!c.firstCallIsFair) warm = await timeOnce(c);
    if (c.firstCallIsFair && warm >= options.budgetMs) {
      states.push({ c, reps: 0, times: [warm] });
    } else {
      const reps = Math.max(1, Math.min(options.maxReps, Math.floor(options.budgetMs / warm)));
      states.push({ c, reps, times: [] as number[] });
    }
  }
  for (let round = 0; states.some((s) => s.times.length < s.reps); round++) {
    for (const s of states) {
      if (s.times.length < s.reps) s.times.push(await timeOnce(s.c));
    }
  }
  return new Map(
    states.map((s) => [s.c.name, { ms: median(s.times), reps: s.times.length, times: s.times }]),
  );
}

/** One line of the results table; cells are preformatted text. */
export interface Row {
  /** What was run (sizes included). */
  workload: string;
  /** Loom on its CPU backend. */
  loom: string;
  /** TF.js, wasm backend. */
  tfjsWasm: string;
  /** TF.js, cpu backend (plain JavaScript). */
  tfjsCpu: string;
  /** numpy (matmul rows), word2vec.c and gensim (word2vec rows). */
  numpy: string;
  /** JAX, jitted with optax (training-step rows). */
  jax: string;
  /** Loom's time over TF.js wasm's. */
  ratio: string;
  /** Anything needed to read the row. */
  notes: string;
}

/** A row with "n/a" in every cell not given. */
export function row(workload: string, cells: Partial<Omit<Row, "workload">>): Row {
  return {
    workload,
    loom: "n/a",
    tfjsWasm: "n/a",
    tfjsCpu: "n/a",
    numpy: "n/a",
    jax: "n/a",
    ratio: "n/a",
    notes: "",
    ...cells,
  };
}

/** A duration with a unit that keeps 3 significant digits. */
export function formatMs(ms: number): string {
  if (ms >= 1000) return `${(ms / 1000).toPrecision(3)} s`;
  if (ms >= 1) return `${ms.toPrecision(3)} ms`;
  return `${(ms * 1000).toPrecision(3)} µs`;
}

/** A timing cell: the median, with the number of timed calls when it is small enough to matter. */
export function formatTiming(t: Timing | undefined, extra = ""): string {
  if (!t) return "n/a";
  const reps = t.reps < 3 ? ` (${t.reps} run${t.reps > 1 ? "s" : ""})` : "";
  return `${formatMs(t.ms)}${extra}${reps}`;
}

/** Loom's time over another's, as "1.23x" (above 1: Loom is slower). */
export function formatRatio(loom: Timing | undefined, other: Timing | undefined): string {
  return loom && other ? `${(loom.ms / other.ms).toFixed(2)}x` : "n/a";
}

/** The results table in markdown. */
export function toMarkdown(rows: readonly Row[]): string {
  const escape = (cell: string) => cell.replaceAll("|", "\\|");
  return [
    "| workload | Loom cpu | TF.js wasm | TF.js cpu | numpy, C or gensim | JAX | Loom / TF.js wasm | notes |",
    "|---|---:|---:|---:|---:|---:|---:|---|",
    ...rows.map((r) =>
      `| ${
        [r.workload, r.loom, r.tfjsWasm, r.tfjsCpu, r.numpy, r.jax, r.ratio, r.notes].map(escape).join(" | ")
      } |`
    ),
  ].join("\n");
}

/**
 * A small seeded generator of 32-bit words (xorshift32), so that data and token ids are the same on every
 * run and on both sides of a comparison.
 */
export function seeded(seed: number): () => number {
  let s = seed | 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return s >>> 0;
  };
}

/** `count` ids in `[0, classes)` from a fixed seed. */
export function randomIds(count: number, classes: number, seed: number): Int32Array {
  const next = seeded(seed);
  return Int32Array.from({ length: count }, () => next() % classes);
}

/**
 * `count` floats uniform in `[-scale, scale)` from a fixed seed. Inputs are made on the host and uploaded
 * once: Loom's eager random ops would leave large temporaries in its memory, which the timing loops give
 * no chance to be returned (see main.ts).
 */
export function randomFloats(count: number, seed: number, scale = 1): Float32Array {
  const next = seeded(seed);
  return Float32Array.from({ length: count }, () => (next() / 2 ** 31 - 1) * scale);
}

/** Progress for the person waiting; stderr, so that stdout holds only the table. */
export function progress(message: string): void {
  console.error(`[bench] ${message}`);
}
