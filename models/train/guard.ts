/**
 * The non-finite guard every training loop uses: a loss (or, before each checkpoint, params) that stopped
 * being finite stops the run before anything is saved, with the step and the fix in the message.
 * @module
 */
import * as L from "../../mod.ts";

/**
 * The loss (or the params, checked before each checkpoint) became NaN or infinite: the run stopped before
 * saving, and the last checkpoint is intact.
 *
 * @example
 * ```ts
 * import { NonFiniteError } from "./guard.ts";
 * const error = new NonFiniteError("skipgram", 7, NaN, "runs/x/checkpoint.safetensors");
 * if (!error.message.includes("step 7") || !error.message.includes("checkpoint.safetensors")) throw error;
 * ```
 */
export class NonFiniteError extends Error {
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
        "with a lower learning rate (--lr).",
    );
  }
}

const magnitude = L.jit((params: unknown) =>
  L.flatten(params).leaves.reduce((total: L.Tensor, t: L.Tensor) => total.add(t.abs().sum()), L.tensor(0))
);

/**
 * Throws {@linkcode NonFiniteError} unless every param is finite (one jitted sum of absolute values): a loop
 * calls it before writing a checkpoint, since the loss, computed before each update, shows an update that
 * overflowed one step late.
 *
 * @example
 * ```ts
 * import { tensor } from "../../mod.ts";
 * import { assertFiniteParams } from "./guard.ts";
 * assertFiniteParams("demo", { w: tensor([1, 2]) }, 3);
 * let caught = false;
 * try {
 *   assertFiniteParams("demo", { w: tensor([1, Infinity]) }, 3);
 * } catch { caught = true; }
 * if (!caught) throw new Error();
 * ```
 */
export function assertFiniteParams(model: string, params: unknown, step: number, checkpoint?: string): void {
  const size = magnitude(params).item();
  if (!Number.isFinite(size)) throw new NonFiniteError(model, step, size, checkpoint, "params");
}
