/**
 * What every training loop in `models/` shares to never lose data: checkpoints of a run (params, optimizer
 * state, vocabulary, position), a check that one exists, and the error that stops a run whose loss or params
 * stopped being finite before anything is saved.
 * @module
 */
import * as L from "../mod.ts";
import { type Vocabulary, vocabularyOf } from "./corpus.ts";

/**
 * The loss (or, checked before each checkpoint, the params) became NaN or infinite: the run stopped before
 * saving, and the last checkpoint is intact.
 *
 * @example
 * ```ts
 * import { NonFiniteLossError } from "./guard.ts";
 * const error = new NonFiniteLossError("word2vec", 7, NaN, "w2v.safetensors");
 * if (!error.message.includes("step 7") || !error.message.includes("w2v.safetensors")) throw error;
 * ```
 */
export class NonFiniteLossError extends Error {
  /** Builds the error; `what` is the value found not finite. */
  constructor(
    model: string,
    readonly step: number,
    readonly value: number,
    checkpoint: string | undefined,
    what: "loss" | "params" = "loss",
  ) {
    super(
      `${model}: ${what === "loss" ? "the loss" : "the sum of |params|"} at step ${step} is ${value}; ` +
        "training stopped and nothing was saved. " +
        (checkpoint ? `The last checkpoint, ${checkpoint}, is intact: resume from it ` : "Restart ") +
        "with a lower learning rate (config.lr).",
    );
  }
}

/**
 * Throws {@linkcode NonFiniteLossError} unless every param is finite (one jitted sum of absolute values):
 * a loop calls it before writing a checkpoint, since the loss, computed before each update, shows an update
 * that overflowed one step late.
 *
 * @example
 * ```ts
 * import { tensor } from "../mod.ts";
 * import { assertFiniteParams } from "./guard.ts";
 * assertFiniteParams("demo", { w: tensor([1, 2]) }, 3, undefined);
 * let caught = false;
 * try {
 *   assertFiniteParams("demo", { w: tensor([1, Infinity]) }, 3, undefined);
 * } catch { caught = true; }
 * if (!caught) throw new Error();
 * ```
 */
export function assertFiniteParams(model: string, params: unknown, step: number, checkpoint?: string): void {
  const size = magnitude(params).item();
  if (!Number.isFinite(size)) throw new NonFiniteLossError(model, step, size, checkpoint, "params");
}

const magnitude = L.jit((params: unknown) =>
  L.flatten(params).leaves.reduce((total: L.Tensor, t: L.Tensor) => total.add(t.abs().sum()), L.tensor(0))
);

/**
 * Whether a file exists (other errors, such as a denied permission, are thrown).
 *
 * @example
 * ```ts
 * import { fileExists } from "./guard.ts";
 * if (await fileExists("/surely/not/here.safetensors")) throw new Error();
 * ```
 */
export async function fileExists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}

/**
 * What every model checkpoint holds: params, optimizer state and the vocabulary the ids index.
 *
 * @example
 * ```ts
 * import { optim, tensor } from "../mod.ts";
 * import { vocabularyOf } from "./corpus.ts";
 * import type { RunCheckpoint } from "./guard.ts";
 * const params = { w: tensor([1]) };
 * const run: RunCheckpoint<typeof params> = {
 *   params,
 *   optimizerState: optim.sgd({ lr: 0.1 }).init(params),
 *   vocabulary: vocabularyOf(["a"], new Int32Array([1])),
 * };
 * if (run.vocabulary.words.length !== 1) throw new Error();
 * ```
 */
export interface RunCheckpoint<P> {
  /** The params. */
  params: P;
  /** The optimizer's state. */
  optimizerState: L.optim.OptimizerState;
  /** The vocabulary. */
  vocabulary: Vocabulary;
  /**
   * Recurrent state that the next batch continues from (a model trained with carried states), saved so that
   * a resumed run goes on exactly as an uninterrupted one.
   */
  carried?: L.Tensor[][];
}

/**
 * Writes a training run's checkpoint atomically (`save`): the tensors, and in the metadata the model's name,
 * the vocabulary and `extra` (config, position in the data), each as JSON.
 *
 * @example
 * ```ts
 * import { optim, tensor } from "../mod.ts";
 * import { vocabularyOf } from "./corpus.ts";
 * import { loadRun, saveRun } from "./guard.ts";
 * if ((await Deno.permissions.query({ name: "write" })).state === "granted") {
 *   const path = await Deno.makeTempFile({ suffix: ".safetensors" });
 *   const params = { w: tensor([1, 2]) };
 *   const run = { params, optimizerState: optim.sgd({ lr: 0.1 }).init(params), vocabulary: vocabularyOf(["a"], new Int32Array([3])) };
 *   await saveRun(path, "demo", run, { config: { dim: 2 } });
 *   const back = await loadRun<typeof params>(path, "demo");
 *   if (back.vocabulary.words[0] !== "a" || (back.extra.config as { dim: number }).dim !== 2) throw new Error();
 *   await Deno.remove(path);
 * }
 * ```
 */
export async function saveRun<P>(
  path: string,
  model: string,
  run: RunCheckpoint<P>,
  extra: Record<string, unknown>,
): Promise<void> {
  const tensors = {
    params: run.params,
    optimizerState: run.optimizerState,
    ...(run.carried ? { carried: run.carried } : {}),
  };
  await L.save(path, tensors, {
    model,
    words: run.vocabulary.words.join("\n"),
    counts: Array.from(run.vocabulary.counts).join(","),
    extra: JSON.stringify(extra),
  });
}

/**
 * Reads a checkpoint written by {@linkcode saveRun} for `model`; errors name the file and what it holds instead.
 *
 * @example
 * ```ts ignore
 * import { loadRun } from "./guard.ts";
 * const { params, vocabulary, extra } = await loadRun("checkpoints/nlm-brown.safetensors", "bengio-nlm");
 * ```
 */
export async function loadRun<P>(
  path: string,
  model: string,
): Promise<RunCheckpoint<P> & { extra: Record<string, unknown> }> {
  const { params, metadata } = await L.load(path);
  const tree = params as { params?: P; optimizerState?: L.optim.OptimizerState; carried?: L.Tensor[][] };
  if (metadata.model !== model || !tree.params || !tree.optimizerState || metadata.extra === undefined) {
    throw new Error(`${path}: not a ${model} checkpoint (it says model "${metadata.model ?? "none"}")`);
  }
  return {
    params: tree.params,
    optimizerState: tree.optimizerState,
    ...(tree.carried ? { carried: tree.carried } : {}),
    vocabulary: vocabularyOf(metadata.words.split("\n"), Int32Array.from(metadata.counts.split(","), Number)),
    extra: JSON.parse(metadata.extra) as Record<string, unknown>,
  };
}
