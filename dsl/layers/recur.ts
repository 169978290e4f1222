/**
 * `recur(cell)`: runs a recurrent cell over the time axis.
 * @module
 */
import * as ops from "../ops.ts";
import type { Tensor } from "../tensor.ts";
import type { Cell, CellParams } from "./cells.ts";
import { defineLayer, expectShape, expectTensor, LayerError } from "./layer.ts";
import type { Carry, Layer } from "./types.ts";

/**
 * Options of `recur`.
 *
 * @example
 * ```ts
 * import { nn, random } from "../../mod.ts";
 * const options: nn.RecurOptions = { returnSequences: false };
 * const { outputShape } = nn.recur(nn.lstmCell(4), options).init(random.key(0), [2, 7, 3]);
 * if (outputShape.join() !== "2,4") throw new Error(); // the last step only
 * ```
 */
export interface RecurOptions {
  /** Return every step's output `[batch, time, units]` (default true), or only the last `[batch, units]`. */
  returnSequences?: boolean;
  /** Process time from last to first (default false); outputs stay aligned with their input positions. */
  reverse?: boolean;
}

/**
 * Options of {@linkcode runCell}.
 *
 * @example
 * ```ts
 * import { nn, zeros } from "../../mod.ts";
 * const options: nn.RunCellOptions = { state: [zeros([2, 4]), zeros([2, 4])] }; // an LSTM's h and c
 * if (options.state?.length !== 2) throw new Error();
 * ```
 */
export interface RunCellOptions {
  /**
   * The state before the first step, as the cell lays it out (`[h]`, or `[h, c]` for an LSTM, each `[batch,
   * units]`); zeros when absent.
   */
  state?: readonly Tensor[];
  /** Process time from last to first (default false); outputs stay aligned with their input positions. */
  reverse?: boolean;
}

/**
 * What {@linkcode runCell} returns.
 *
 * @example
 * ```ts
 * import { nn, random } from "../../mod.ts";
 * const cell = nn.rnnCell(3);
 * const run: nn.CellRun = nn.runCell(cell, cell.init(random.key(0), 2), random.normal(random.key(1), [1, 5, 2]));
 * if (run.sequence.shape.join() !== "1,5,3" || run.state[0].shape.join() !== "1,3") throw new Error();
 * ```
 */
export interface CellRun {
  /** Every step's output, `[batch, time, units]`. */
  sequence: Tensor;
  /** The state after the last step (its first entry is the last output). */
  state: Tensor[];
}

/**
 * Runs `cell` with `params` over `x: [batch, time, features]` from a given state (zeros by default) and
 * returns every output and the final state. This is `recur` with its state exposed: a language model trained
 * on consecutive chunks of a text passes each chunk's final state to the next (truncated backpropagation
 * through time), and two runs chained this way compute what one run over the joined sequence does. Bad
 * shapes raise a `LayerError` naming `runCell.<cell>`.
 *
 * @example
 * ```ts
 * import { concat, nn, random } from "../../mod.ts";
 * const cell = nn.lstmCell(4);
 * const params = cell.init(random.key(0), 3);
 * const x = random.normal(random.key(1), [2, 6, 3]);
 * const whole = nn.runCell(cell, params, x);
 * const first = nn.runCell(cell, params, x.slice([0, 0, 0], [2, 4, 3]));
 * const second = nn.runCell(cell, params, x.slice([0, 4, 0], [2, 2, 3]), { state: first.state });
 * const joined = concat([first.sequence, second.sequence], 1).dataSync();
 * const expected = whole.sequence.dataSync();
 * if (joined.some((v, i) => Math.abs(v - expected[i]) > 1e-6)) throw new Error();
 * ```
 */
export function runCell(cell: Cell, params: CellParams, x: Tensor, options: RunCellOptions = {}): CellRun {
  const where = `runCell.${cell.name}`;
  const features = params.wi.shape[0];
  const input = expectTensor(where, x, ["batch", "time", features]);
  const [batch, time] = input.shape;
  const zeros = cell.initialState(batch);
  const given = options.state;
  if (given !== undefined) {
    if (given.length !== zeros.length) {
      throw new LayerError(
        where,
        `expected a state of ${zeros.length} tensor(s) [batch, ${cell.units}], got ${given.length}; pass the ` +
          "state a previous runCell returned",
      );
    }
    given.forEach((s, i) => {
      const [rows, units] = s.shape;
      if (s.shape.length !== 2 || rows !== batch || units !== cell.units || s.dtype !== "float32") {
        const got = `${s.dtype} [${s.shape.join(", ")}]`;
        throw new LayerError(
          `${where}.state[${i}]`,
          `expected float32 [${batch}, ${cell.units}] (the input's batch, the cell's units), got ${got}; ` +
            "pass the state a previous runCell returned for inputs of the same batch",
        );
      }
    });
  }
  // The input's share of every step in one matmul (one large product instead of `time` small ones); only the
  // recurrent part stays inside the loop.
  const projected = cell.project(params, input.reshape([batch * time, features]));
  const width = projected.shape[1];
  const perStep = projected.reshape([batch, time, width]);
  let state = given ? [...given] : zeros;
  const outputs: Tensor[] = new Array(time);
  for (let step = 0; step < time; step++) {
    const t = options.reverse ? time - 1 - step : step;
    state = cell.advance(params, state, perStep.slice([0, t, 0], [batch, 1, width]).reshape([batch, width]));
    outputs[t] = state[0];
  }
  return { sequence: ops.stack(outputs, 1), state };
}

/**
 * Makes a `Carry`: pass it as `ctx.carry` to `apply`, and every `recur` layer of the model starts from its
 * entry of `initial` (zeros where absent) and records its final state in `carry.states`. Passing those
 * states to the next call's carry continues each sequence where it stopped (truncated backpropagation
 * through time), all through the public DSL and under `jit`.
 *
 * @example
 * ```ts
 * import { concat, nn, random } from "../../mod.ts";
 * const model = nn.serial(nn.recur(nn.gruCell(4)), nn.recur(nn.lstmCell(3)));
 * const { params } = model.init(random.key(0), [2, 6, 5]);
 * const x = random.normal(random.key(1), [2, 6, 5]);
 * const whole = model.apply(params, x).dataSync();
 * const first = nn.carry();
 * const a = model.apply(params, x.slice([0, 0, 0], [2, 4, 5]), { carry: first });
 * const b = model.apply(params, x.slice([0, 4, 0], [2, 2, 5]), { carry: nn.carry(first.states) });
 * const joined = concat([a, b], 1).dataSync();
 * if (joined.some((v, i) => Math.abs(v - whole[i]) > 1e-5)) throw new Error();
 * ```
 */
export function carry(initial: readonly (readonly Tensor[] | undefined)[] = []): Carry {
  let next = 0;
  return { initial, states: [], claim: () => next++ };
}

/**
 * Runs `cell` over `x: [batch, time, features]`, from a zero state or, when `ctx.carry` is given, from the
 * carry's entry for this layer (see `nn.carry`), recording the final state there. The loop is unrolled into
 * the graph, so gradients flow through time and `jit` compiles the whole sequence. The params are the cell's
 * (see `rnnCell`, `lstmCell`, `gruCell`). With `reverse`, step t sees `x[:, t]` after `x[:, t+1..]`, and the
 * last output is the one at position 0. {@linkcode runCell} runs a cell directly from a given state.
 *
 * @example
 * ```ts
 * import { nn, random } from "../../mod.ts";
 * const layer = nn.recur(nn.gruCell(4), { reverse: true });
 * const { params, outputShape } = layer.init(random.key(0), [1, 6, 2]);
 * const y = layer.apply(params, random.normal(random.key(1), [1, 6, 2]));
 * if (outputShape.join() !== "1,6,4" || y.shape.join() !== "1,6,4") throw new Error();
 * ```
 */
export function recur<U extends number>(
  cell: Cell<U>,
  options: RecurOptions = {},
): Layer<number, U, CellParams> {
  const { returnSequences = true, reverse = false } = options;
  const name = `recur.${cell.name}`;
  return defineLayer<number, U, CellParams>({
    name,
    init(key, inputShape) {
      const [batch, time, features] = expectShape(name, inputShape, ["batch", "time", "features"]);
      const outputShape = returnSequences ? [batch, time, cell.units] : [batch, cell.units];
      return { params: { ...cell.init(key, features) }, outputShape };
    },
    apply(params, x, ctx) {
      const features = params.wi.shape[0];
      expectTensor(name, x, ["batch", "time", features]);
      const slot = ctx.carry?.claim();
      const initial = slot === undefined ? undefined : ctx.carry!.initial[slot];
      const { sequence, state } = runCell(cell, params, x as Tensor, { reverse, state: initial });
      if (slot !== undefined) ctx.carry!.states[slot] = state;
      return returnSequences ? sequence : state[0];
    },
  });
}
