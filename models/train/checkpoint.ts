/**
 * A training run's checkpoint: one safetensors file written atomically (`save`), holding the params, the
 * optimizer's state and any carried state (recurrent states that the next batch continues from), with the
 * model's name and the loop's position (step, batcher state, tokens, elapsed time) as JSON in its metadata.
 * @module
 */
import * as L from "../../mod.ts";

/**
 * What a checkpoint holds.
 *
 * @example
 * ```ts
 * import { optim, tensor } from "../../mod.ts";
 * import type { LoopCheckpoint } from "./checkpoint.ts";
 * const params = { w: tensor([1]) };
 * const c: LoopCheckpoint<typeof params> = {
 *   params, optimizerState: optim.sgd({ lr: 0.1 }).init(params), carry: [],
 *   position: { step: 0, tokens: 0, elapsed: 0, batcher: null },
 * };
 * if (c.position.step !== 0) throw new Error();
 * ```
 */
export interface LoopCheckpoint<P> {
  /** The params. */
  params: P;
  /** The optimizer's state. */
  optimizerState: L.optim.OptimizerState;
  /** Carried state (recurrent LMs' states per layer), empty for the others. */
  carry: L.Tensor[][];
  /** Where the loop is. */
  position: LoopPosition;
}

/**
 * Where a training loop is: enough, with the batcher's own state, to continue exactly from there.
 *
 * @example
 * ```ts
 * import type { LoopPosition } from "./checkpoint.ts";
 * const p: LoopPosition = { step: 10, tokens: 1000, elapsed: 2.5, batcher: { epoch: 0 } };
 * if (p.tokens !== 1000) throw new Error();
 * ```
 */
export interface LoopPosition {
  /** Steps done. */
  step: number;
  /** Tokens read. */
  tokens: number;
  /** Seconds of training so far (over every resumed session). */
  elapsed: number;
  /** The batcher's state (JSON). */
  batcher: unknown;
}

/**
 * Writes a checkpoint atomically.
 *
 * @example
 * ```ts
 * import { optim, tensor } from "../../mod.ts";
 * import { loadCheckpoint, saveCheckpoint } from "./checkpoint.ts";
 * if ((await Deno.permissions.query({ name: "write" })).state === "granted") {
 *   const path = await Deno.makeTempFile({ suffix: ".safetensors" });
 *   const params = { w: tensor([1, 2]) };
 *   const optimizerState = optim.sgd({ lr: 0.1 }).init(params);
 *   await saveCheckpoint(path, "demo", { params, optimizerState, carry: [], position: { step: 3, tokens: 9, elapsed: 1, batcher: { at: 4 } } });
 *   const back = await loadCheckpoint(path, "demo", params);
 *   if (back.position.step !== 3 || back.params.w.shape[0] !== 2) throw new Error();
 *   await Deno.remove(path);
 * }
 * ```
 */
export async function saveCheckpoint<P>(path: string, model: string, c: LoopCheckpoint<P>): Promise<void> {
  await L.save(path, { params: c.params, optimizerState: c.optimizerState, carry: c.carry }, {
    model,
    position: JSON.stringify(c.position),
  });
}

/**
 * Reads a checkpoint of `model`; `like` (freshly initialised params) gives the structure and shapes it must
 * have. A corrupt file, another model's or one of other shapes is an error that names the file and the fix.
 *
 * @example
 * ```ts
 * import { tensor } from "../../mod.ts";
 * import { loadCheckpoint } from "./checkpoint.ts";
 * if ((await Deno.permissions.query({ name: "write" })).state === "granted") {
 *   const path = await Deno.makeTempFile({ suffix: ".safetensors" });
 *   await Deno.writeTextFile(path, "not a checkpoint");
 *   let message = "";
 *   try { await loadCheckpoint(path, "bengio", { w: tensor([1]) }); } catch (e) { message = (e as Error).message; }
 *   if (!message.includes("--fresh")) throw new Error(message);
 *   await Deno.remove(path);
 * }
 * ```
 */
export async function loadCheckpoint<P>(path: string, model: string, like: P): Promise<LoopCheckpoint<P>> {
  const fix = `delete it, or run again with --fresh to start anew`;
  let loaded: L.Checkpoint;
  try {
    loaded = await L.load(path);
  } catch (e) {
    const reason = (e instanceof Error ? e.message : String(e)).split("\n")[0];
    throw new Error(`checkpoint ${path} is unreadable (${reason}); ${fix}`);
  }
  const { params: tree, metadata } = loaded;
  const t = tree as { params?: P; optimizerState?: L.optim.OptimizerState; carry?: L.Tensor[][] };
  if (metadata.model !== model) {
    throw new Error(`checkpoint ${path} is of model ${metadata.model ?? "none"}, not ${model}; ${fix}`);
  }
  if (!t.params || !t.optimizerState || metadata.position === undefined) {
    throw new Error(`checkpoint ${path} lacks params, optimizer state or position; ${fix}`);
  }
  const expected = L.flatten(like);
  const found = L.flatten(t.params);
  const want = expected.leaves.map((x) => x.shape.join("x")).join(",");
  const got = found.leaves.map((x) => x.shape.join("x")).join(",");
  if (expected.def.key !== found.def.key) {
    throw new Error(
      `checkpoint ${path} holds params laid out differently from this model's (saved by another version of ` +
        `Loom?); ${fix}`,
    );
  }
  if (want !== got) {
    throw new Error(`checkpoint ${path} holds params of other shapes than this config's; ${fix}`);
  }
  let position: LoopPosition;
  try {
    position = JSON.parse(metadata.position) as LoopPosition;
  } catch {
    throw new Error(`checkpoint ${path} has an unreadable position; ${fix}`);
  }
  return { params: t.params, optimizerState: t.optimizerState, carry: t.carry ?? [], position };
}
