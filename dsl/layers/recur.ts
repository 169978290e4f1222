/**
 * `recur(cell)`: runs a recurrent cell over the time axis.
 * @module
 */
import * as ops from "../ops.ts";
import type { Tensor } from "../tensor.ts";
import type { Cell, CellParams } from "./cells.ts";
import { defineLayer, expectShape, expectTensor } from "./layer.ts";
import type { Layer } from "./types.ts";

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
 * Runs `cell` over `x: [batch, time, features]` from a zero state. The loop is unrolled into the graph, so
 * gradients flow through time and `jit` compiles the whole sequence. The params are the cell's (see
 * `rnnCell`, `lstmCell`, `gruCell`). With `reverse`, step t sees `x[:, t]` after `x[:, t+1..]`, and the last
 * output is the one at position 0.
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
export function recur<U extends number>(cell: Cell<U>, options: RecurOptions = {}): Layer<number, U> {
  const { returnSequences = true, reverse = false } = options;
  const name = `recur.${cell.name}`;
  return defineLayer<number, U>({
    name,
    init(key, inputShape) {
      const [batch, time, features] = expectShape(name, inputShape, ["batch", "time", "features"]);
      const outputShape = returnSequences ? [batch, time, cell.units] : [batch, cell.units];
      return { params: { ...cell.init(key, features) }, outputShape };
    },
    apply(params, x) {
      const cellParams = params as unknown as CellParams;
      const features = cellParams.wi.shape[0];
      const input = expectTensor(name, x, ["batch", "time", features]);
      const [batch, time] = input.shape;
      // The input's share of every step in one matmul (one large product instead of `time` small ones);
      // only the recurrent part stays inside the loop.
      const projected = cell.project(cellParams, input.reshape([batch * time, features]));
      const width = projected.shape[1];
      const perStep = projected.reshape([batch, time, width]);
      let state = cell.initialState(batch);
      const outputs: Tensor[] = new Array(time);
      for (let step = 0; step < time; step++) {
        const t = reverse ? time - 1 - step : step;
        state = cell.advance(
          cellParams,
          state,
          perStep.slice([0, t, 0], [batch, 1, width]).reshape([batch, width]),
        );
        outputs[t] = state[0];
      }
      return returnSequences ? ops.stack(outputs, 1) : state[0];
    },
  });
}
