/**
 * The one training loop every neural model in `models/` runs: jitted steps (forward, backward, optimizer,
 * params and state donated), reports, atomic checkpoints (every `checkpointSeconds`, at the end of each epoch
 * and when stopped), resume from a checkpoint so that a resumed run ends bit for bit as an uninterrupted one,
 * a stop on request (SIGINT) that saves first, and the non-finite guard.
 * @module
 */
import * as L from "../../mod.ts";
import { loadCheckpoint, type LoopCheckpoint, type LoopPosition, saveCheckpoint } from "./checkpoint.ts";
import { assertFiniteParams, NonFiniteError } from "./guard.ts";

/**
 * One batch: the step's tensors, how many items its loss covers (targets, pairs) and how many corpus tokens
 * it read.
 *
 * @example
 * ```ts
 * import { tensor } from "../../mod.ts";
 * import type { Batch } from "./loop.ts";
 * const b: Batch = { tensors: [tensor([1])], items: 1, tokens: 1 };
 * if (b.items !== 1) throw new Error();
 * ```
 */
export interface Batch {
  /** The step's inputs after params, optimizer state and carry. */
  tensors: L.Tensor[];
  /** Items the loss is over (its weight in the reported mean). */
  items: number;
  /** Corpus tokens read to make it. */
  tokens: number;
  /**
   * The share of the batch's room that holds data (default 1). A partial batch (an epoch's last) has its mean
   * loss multiplied by this in the objective, so that it moves the params in proportion to what it holds
   * rather than taking a whole step on a few examples; the loop divides it back out for the reports.
   */
  fill?: number;
}

/**
 * A source of batches that can say where it is and go back there.
 *
 * @example
 * ```ts
 * import { tensor } from "../../mod.ts";
 * import type { Batch, Batcher } from "./loop.ts";
 * let at = 0;
 * const batcher: Batcher = {
 *   next: (): Batch | undefined => at < 3 ? { tensors: [tensor([at++])], items: 1, tokens: 1 } : undefined,
 *   get epoch() { return at < 3 ? 0 : 1; },
 *   progress: () => at / 3,
 *   state: () => at,
 *   restore: (s) => { at = s as number; },
 * };
 * if (!batcher.next()) throw new Error();
 * ```
 */
export interface Batcher {
  /** The next batch, or undefined when every epoch is done. */
  next(): Batch | undefined;
  /** Epochs completed. */
  readonly epoch: number;
  /** Fraction of the whole run done, for the progress bar's ETA. */
  progress(): number;
  /** Where it is (JSON). */
  state(): unknown;
  /** Goes back to a state from {@linkcode Batcher.state}. */
  restore(state: unknown): void;
}

/**
 * What a model gives the loop.
 *
 * @example
 * ```ts
 * import type { TrainTask } from "./loop.ts";
 * const epochsOf = (t: TrainTask<unknown>) => t.model;
 * if (typeof epochsOf !== "function") throw new Error();
 * ```
 */
export interface TrainTask<P> {
  /** The model's name (checkpoints carry it; errors name it). */
  model: string;
  /** Initial params. */
  params: P;
  /** The optimizer. */
  optimizer: L.optim.Optimizer;
  /**
   * The loss of a batch and the carry after it (`[]` for models without one). `lossIsSum`: the loss is a
   * sum over the batch's items (word2vec's SGD), not a mean.
   */
  objective: (params: P, carry: L.Tensor[][], ...batch: L.Tensor[]) => [L.Tensor, L.Tensor[][]];
  /** Whether the objective sums over items (else it is their mean). */
  lossIsSum?: boolean;
  /** The carry at the start of each epoch (recurrent LMs: zero states); none when absent. */
  initialCarry?: () => L.Tensor[][];
  /** The batches. */
  batcher: Batcher;
  /**
   * Each batch's tensors are made for that batch alone (never reused): the loop then donates them to the
   * step, so their memory serves the next batch at once instead of after a garbage collection.
   */
  freshBatches?: boolean;
  /** Scores at the end of each epoch (validation perplexity), reported and saved with the metrics. */
  evaluate?: (params: P) => Record<string, number>;
}

/**
 * One report: training metrics since the last one, and evaluations at the end of an epoch.
 *
 * @example
 * ```ts
 * import type { Report } from "./loop.ts";
 * const r: Report = { step: 1, epoch: 0, tokens: 10, loss: 2, lr: 0.1, tokensPerSecond: 5, elapsed: 2, progress: 0.5 };
 * if (r.progress !== 0.5) throw new Error();
 * ```
 */
export interface Report {
  /** Steps done. */
  step: number;
  /** Epochs completed. */
  epoch: number;
  /** Tokens read. */
  tokens: number;
  /** Mean training loss per item since the last report. */
  loss: number;
  /** The learning rate of the last step. */
  lr: number;
  /** Tokens read per second since the last report. */
  tokensPerSecond: number;
  /** Seconds of training (over every resumed session). */
  elapsed: number;
  /** Fraction of the run done. */
  progress: number;
  /** Evaluations, at the end of an epoch. */
  evaluation?: Record<string, number>;
}

/**
 * Options of {@linkcode trainLoop}.
 *
 * @example
 * ```ts
 * import type { LoopOptions } from "./loop.ts";
 * const options: LoopOptions = { checkpoint: "runs/x/checkpoint.safetensors", resume: true };
 * if (!options.resume) throw new Error();
 * ```
 */
export interface LoopOptions {
  /** Where checkpoints go; none when absent. */
  checkpoint?: string;
  /** Continue from `checkpoint` when it exists. */
  resume?: boolean;
  /** Seconds between checkpoints (default 60). */
  checkpointSeconds?: number;
  /** Seconds between reports (default 2). */
  reportSeconds?: number;
  /** Stop (and save) after this many steps in total, as an interrupted run would. */
  maxSteps?: number;
  /** Called with each report. */
  onReport?: (report: Report) => void | Promise<void>;
  /** Checked after each step: true stops the run (after saving), as SIGINT does. */
  shouldStop?: () => boolean;
}

/**
 * What {@linkcode trainLoop} returns.
 *
 * @example
 * ```ts
 * import type { LoopResult } from "./loop.ts";
 * const done = (r: LoopResult<unknown>) => r.finished;
 * if (typeof done !== "function") throw new Error();
 * ```
 */
export interface LoopResult<P> {
  /** The params at the end. */
  params: P;
  /** Steps done in total. */
  steps: number;
  /** Whether every epoch was done. */
  finished: boolean;
  /** Whether it stopped on request ({@linkcode LoopOptions.shouldStop}). */
  interrupted: boolean;
  /** The last report. */
  last?: Report;
}

/**
 * Runs a training task to its end (or `maxSteps`, or a stop request), resuming from `checkpoint` when asked
 * and it exists.
 *
 * @example
 * ```ts
 * import { optim, tensor } from "../../mod.ts";
 * import { type Batch, trainLoop } from "./loop.ts";
 * let at = 0;
 * const x = tensor([1, 2, 3]);
 * const result = await trainLoop({
 *   model: "line",
 *   params: { w: tensor(0) },
 *   optimizer: optim.sgd({ lr: 0.05 }),
 *   objective: (p, carry, input) => [input.mul(p.w).sub(input.mul(2)).square().mean(), carry],
 *   batcher: {
 *     next: (): Batch | undefined => at < 50 ? (at++, { tensors: [x], items: 3, tokens: 3 }) : undefined,
 *     get epoch() { return at < 50 ? 0 : 1; },
 *     progress: () => at / 50,
 *     state: () => at,
 *     restore: (s) => { at = s as number; },
 *   },
 * });
 * if (!result.finished || Math.abs(result.params.w.item() - 2) > 1e-3) throw new Error(String(result.params.w.item()));
 * ```
 */
export async function trainLoop<P>(task: TrainTask<P>, options: LoopOptions = {}): Promise<LoopResult<P>> {
  const { checkpoint, batcher, model } = { ...task, checkpoint: options.checkpoint };
  const opt = task.optimizer;
  let params = task.params;
  let state = opt.init(params);
  let carry = task.initialCarry?.() ?? [];
  let position: LoopPosition = { step: 0, tokens: 0, elapsed: 0, batcher: batcher.state() };
  if (options.resume && checkpoint && await exists(checkpoint)) {
    const saved: LoopCheckpoint<P> = await loadCheckpoint(checkpoint, model, params);
    ({ params, position } = saved);
    state = saved.optimizerState;
    if (saved.carry.length > 0) carry = saved.carry;
    batcher.restore(position.batcher);
  }
  // Fresh batches are donated too: their buffers are free for the next batch once the step has read them.
  const step = L.jit((p: P, s: L.optim.OptimizerState, c: L.Tensor[][], xs: L.Tensor[]) => {
    const [[value, nextCarry], grads] = L.valueAndGrad(
      (q: P) => task.objective(q, c, ...xs),
      { hasAux: true, sparse: true },
    )(p) as [[L.Tensor, L.Tensor[][]], unknown];
    const next = opt.update(grads, s, p);
    return [value, next.params, next.state, nextCarry] as const;
  }, { donate: task.freshBatches ? [0, 1, 3] : [0, 1] });

  /** Where the batcher stands after the batches taken so far: its epoch, state and progress. */
  let at: Omit<Fetched, "batch"> = {
    epoch: batcher.epoch,
    state: batcher.state(),
    progress: batcher.progress(),
  };
  const reportMs = 1000 * (options.reportSeconds ?? 2);
  const checkpointMs = 1000 * (options.checkpointSeconds ?? 60);
  let steps = position.step;
  let [lossSum, itemSum, tokensSince] = [0, 0, 0];
  const sessionStart = performance.now();
  const elapsedBefore = position.elapsed;
  let [lastReport, lastCheckpoint] = [sessionStart, sessionStart];
  let last: Report | undefined;
  const elapsed = () => elapsedBefore + (performance.now() - sessionStart) / 1000;
  const report = async (evaluation?: Record<string, number>) => {
    const now = performance.now();
    last = {
      step: steps,
      epoch: at.epoch,
      tokens: position.tokens,
      loss: itemSum > 0 ? lossSum / itemSum : NaN,
      lr: state.lr.item(),
      tokensPerSecond: tokensSince / Math.max((now - lastReport) / 1000, 1e-9),
      elapsed: elapsed(),
      progress: at.progress,
      ...(evaluation ? { evaluation } : {}),
    };
    await options.onReport?.(last);
    [lossSum, itemSum, tokensSince, lastReport] = [0, 0, 0, now];
  };
  let savedAtStep = -1;
  const save = async () => {
    // The last epoch's end saved these very params: the run's end has nothing new to save.
    if (!checkpoint || savedAtStep === steps) return;
    assertFiniteParams(model, params, steps, checkpoint);
    position = { ...position, step: steps, elapsed: elapsed(), batcher: at.state };
    await saveCheckpoint(checkpoint, model, { params, optimizerState: state, carry, position });
    lastCheckpoint = performance.now();
    savedAtStep = steps;
  };
  let [finished, interrupted] = [false, false];
  // The next batch is made while the step computes, where the backend can (Backend.aside): the worker
  // threads start on the step meanwhile. Reports and checkpoints use `at`, where the batcher stood after
  // the batches the steps took, not after the one made ahead (a resumed run makes that one again).
  const backend = L.getBackend();
  let ahead: Fetched | undefined;
  const fetch = (): Fetched => {
    const batch = batcher.next();
    return { batch, epoch: batcher.epoch, state: batcher.state(), progress: batcher.progress() };
  };
  for (;;) {
    if (options.maxSteps !== undefined && steps >= options.maxSteps) break;
    if (options.shouldStop?.()) {
      interrupted = true;
      break;
    }
    const epochBefore = at.epoch;
    const fetched = ahead ?? fetch();
    ahead = undefined;
    at = fetched;
    const batch = fetched.batch;
    if (!batch) {
      finished = true;
      break;
    }
    backend.aside?.(() => {
      ahead = fetch();
    });
    let value: L.Tensor;
    [value, params, state, carry] = step(params, state, carry, batch.tensors) as unknown as [
      L.Tensor,
      P,
      L.optim.OptimizerState,
      L.Tensor[][],
    ];
    steps++;
    const loss = value.item();
    if (!Number.isFinite(loss)) throw new NonFiniteError(model, steps, loss, checkpoint);
    lossSum += task.lossIsSum ? loss : (loss / (batch.fill || 1)) * batch.items;
    itemSum += batch.items;
    tokensSince += batch.tokens;
    position.tokens += batch.tokens;
    const now = performance.now();
    if (at.epoch > epochBefore) {
      if (task.initialCarry) carry = task.initialCarry();
      await report(task.evaluate?.(params));
      await save();
      await new Promise((resolve) => setTimeout(resolve, 0));
      continue;
    }
    if (now - lastReport >= reportMs && itemSum > 0) {
      await report();
      // A task boundary lets the finalizers return dropped batches' buffers to the allocator.
      await new Promise((resolve) => setTimeout(resolve, 0));
    }
    if (now - lastCheckpoint >= checkpointMs) await save();
  }
  if (itemSum > 0) await report();
  await save();
  return { params, steps, finished, interrupted, last };
}

/** A batch and where the batcher stood after making it. */
interface Fetched {
  readonly batch: Batch | undefined;
  readonly epoch: number;
  readonly state: unknown;
  readonly progress: number;
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}
