/**
 * What the `train` command hands a model's `train`: its config, corpus and vocabulary, where the checkpoint
 * goes, and the loop options (resume, reports, stop on SIGINT) that every model passes on to the one loop.
 * @module
 */
import type { CorpusParts } from "../data/corpus.ts";
import type { Vocabulary } from "../data/vocabulary.ts";
import type { LoopOptions } from "./loop.ts";

/**
 * A model's training context.
 *
 * @example
 * ```ts
 * import type { TrainContext } from "./context.ts";
 * const where = (c: TrainContext<{ dim: number }>) => c.checkpoint;
 * if (typeof where !== "function") throw new Error();
 * ```
 */
export interface TrainContext<C> {
  /** The model's config. */
  config: C;
  /** The corpus, in parts. */
  corpus: CorpusParts;
  /** The vocabulary (built by the command from the corpus, saved in the run directory). */
  vocabulary: Vocabulary;
  /** The checkpoint file. */
  checkpoint: string;
  /** What the loop gets: resume, reports, stop requests. */
  loop: LoopOptions;
  /** Prints a line of information. */
  log: (line: string) => void;
}

/**
 * How a model's training ended.
 *
 * @example
 * ```ts
 * import type { TrainOutcome } from "./context.ts";
 * const o: TrainOutcome = { finished: true, interrupted: false, steps: 10 };
 * if (!o.finished) throw new Error();
 * ```
 */
export interface TrainOutcome {
  /** Every epoch done. */
  finished: boolean;
  /** Stopped on request (SIGINT), after saving. */
  interrupted: boolean;
  /** Steps done in total (0 for count-based models). */
  steps: number;
  /**
   * Scores of the final params that training already computed (the last epoch's `valid_perplexity`, …): the
   * final evaluation reports them instead of computing them again.
   */
  evaluation?: Record<string, number>;
}
