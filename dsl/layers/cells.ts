/**
 * Recurrent cells for `recur`: one time step each. Weights multiply from the right (`x · wi`, as in `dense`),
 * and the gates of a cell are stacked along the last axis in PyTorch's order, so a PyTorch weight `W_ih`
 * (`[gates·units, in]`) is `wi` transposed.
 * @module
 */
import * as ops from "../ops.ts";
import * as random from "../random.ts";
import type { Tensor } from "../tensor.ts";
import { glorotUniform } from "./init.ts";
import { LayerError } from "./layer.ts";

/**
 * A cell's params: named tensors, with the input weight `wi: [inputDim, ...]` that `recur` checks inputs against.
 *
 * @example
 * ```ts
 * import { nn, random } from "../../mod.ts";
 * const p: nn.CellParams = nn.lstmCell(4).init(random.key(0), 3);
 * if (p.wi.shape.join() !== "3,16") throw new Error(); // four gates of 4 units
 * ```
 */
export interface CellParams {
  /** The input weight, `[inputDim, gates·units]`. */
  wi: Tensor;
  /** The cell's other weights and biases. */
  [name: string]: Tensor;
}

/**
 * One step of a recurrent network. The state is a list of `[batch, units]` tensors whose first entry is the
 * step's output `h`.
 *
 * @example
 * ```ts
 * import { nn, random, tensor } from "../../mod.ts";
 * const cell: nn.Cell<4> = nn.gruCell(4);
 * const params = cell.init(random.key(0), 2);
 * const [h] = cell.step(params, cell.initialState(1), tensor([[1, 2]]));
 * if (h.shape.join() !== "1,4") throw new Error();
 * ```
 */
export interface Cell<U extends number = number> {
  /** The name shown in error paths (`lstmCell`). */
  readonly name: string;
  /** Size of the output (and hidden state). */
  readonly units: U;
  /** Makes the cell's parameters for inputs with `inputDim` features. */
  init(key: Tensor, inputDim: number): CellParams;
  /** The state before the first step: zeros. */
  initialState(batch: number): Tensor[];
  /** Advances the state by one step with input `x: [batch, inputDim]`. */
  step(params: CellParams, state: Tensor[], x: Tensor): Tensor[];
  /**
   * The part of a step that depends on the input only (`x · wi` plus the input bias), for `x: [rows,
   * inputDim]`. `recur` computes it for every time step in one matmul, then runs `advance` per step.
   */
  project(params: CellParams, x: Tensor): Tensor;
  /** Advances the state by one step, given the step's projected input (a row block of `project`'s result). */
  advance(params: CellParams, state: Tensor[], projected: Tensor): Tensor[];
}

/** Completes a cell from its projection and advance: `step` is one followed by the other. */
function cell<U extends number>(spec: Omit<Cell<U>, "step">): Cell<U> {
  return { ...spec, step: (params, state, x) => spec.advance(params, state, spec.project(params, x)) };
}

/**
 * Params of `rnnCell`: `wi: [in, units]`, `wh: [units, units]`, `b: [units]`.
 *
 * @example
 * ```ts
 * import { nn, random } from "../../mod.ts";
 * const p = nn.rnnCell(5).init(random.key(0), 3) as nn.RnnParams;
 * if (p.wh.shape.join() !== "5,5") throw new Error();
 * ```
 */
export type RnnParams = CellParams & {
  /** Input weight. */
  wi: Tensor;
  /** Recurrent weight. */
  wh: Tensor;
  /** Bias. */
  b: Tensor;
};

/**
 * Params of `lstmCell`, gates i, f, g, o stacked: `wi: [in, 4·units]`, `wh: [units, 4·units]`, `b: [4·units]`.
 *
 * @example
 * ```ts
 * import { nn, random } from "../../mod.ts";
 * const p = nn.lstmCell(5).init(random.key(0), 3) as nn.LstmParams;
 * if (p.wh.shape.join() !== "5,20") throw new Error(); // gates i, f, g, o side by side
 * ```
 */
export type LstmParams = RnnParams;

/**
 * Params of `gruCell`, gates r, z, n stacked: `wi: [in, 3·units]`, `wh: [units, 3·units]`, `bi`, `bh`.
 *
 * @example
 * ```ts
 * import { nn, random } from "../../mod.ts";
 * const p = nn.gruCell(5).init(random.key(0), 3) as nn.GruParams;
 * if (p.wi.shape.join() !== "3,15") throw new Error(); // gates r, z, n side by side
 * ```
 */
export type GruParams = CellParams & {
  /** Input weight. */
  wi: Tensor;
  /** Recurrent weight. */
  wh: Tensor;
  /** Input bias (PyTorch `b_ih`), `[3·units]`. */
  bi: Tensor;
  /** Recurrent bias (PyTorch `b_hh`), `[3·units]`; its n part is gated by r. */
  bh: Tensor;
};

function checkUnits(name: string, units: number): void {
  if (!Number.isInteger(units) || units < 1) {
    throw new LayerError(name, `units must be a positive integer, got ${units}`);
  }
}

/** The `index`-th block of `units` columns of `z: [batch, gates·units]`. */
function gate(z: Tensor, index: number, units: number): Tensor {
  return z.slice([0, index * units], [z.shape[0], units]);
}

function zeroState(count: number, units: number): (batch: number) => Tensor[] {
  return (batch) => Array.from({ length: count }, () => ops.zeros([batch, units]));
}

/** Input and recurrent weights, Glorot-uniform, for `gates` stacked gates. */
function weights(key: Tensor, inputDim: number, units: number, gates: number): { wi: Tensor; wh: Tensor } {
  const [ki, kh] = random.split(key);
  return { wi: glorotUniform(ki, [inputDim, gates * units]), wh: glorotUniform(kh, [units, gates * units]) };
}

/**
 * The Elman cell: `h' = tanh(x · wi + h · wh + b)`. Params
 * `{ wi: [in, units], wh: [units, units], b: [units] }` (weights Glorot-uniform, bias zero).
 *
 * @example
 * ```ts
 * import { nn, random } from "../../mod.ts";
 * const layer = nn.recur(nn.rnnCell(8));
 * const { outputShape } = layer.init(random.key(0), [2, 5, 3]);
 * if (outputShape.join() !== "2,5,8") throw new Error();
 * ```
 */
export function rnnCell<U extends number>(units: U): Cell<U> {
  checkUnits("rnnCell", units);
  return cell({
    name: "rnnCell",
    units,
    init: (key, inputDim) => ({ ...weights(key, inputDim, units, 1), b: ops.zeros([units]) }),
    initialState: zeroState(1, units),
    project: (params, x) => x.matmul(params.wi).add((params as RnnParams).b),
    advance: (params, [h], projected) => [projected.add(h.matmul((params as RnnParams).wh)).tanh()],
  });
}

/**
 * The LSTM cell (Hochreiter & Schmidhuber, 1997, with a forget gate), gates in PyTorch's order i, f, g, o:
 * `z = x · wi + h · wh + b`; `i, f, o = σ(z_i), σ(z_f), σ(z_o)`; `g = tanh(z_g)`; `c' = f·c + i·g`;
 * `h' = o·tanh(c')`. Params `{ wi: [in, 4·units], wh: [units, 4·units], b: [4·units] }`: weights
 * Glorot-uniform, bias zero except the forget gate's, which starts at 1 (Jozefowicz et al., 2015) so the
 * cell remembers by default. The state is `[h, c]`.
 *
 * @example
 * ```ts
 * import { nn, random } from "../../mod.ts";
 * const layer = nn.recur(nn.lstmCell(8), { returnSequences: false });
 * const { outputShape } = layer.init(random.key(0), [2, 5, 3]);
 * if (outputShape.join() !== "2,8") throw new Error();
 * ```
 */
export function lstmCell<U extends number>(units: U): Cell<U> {
  checkUnits("lstmCell", units);
  return cell({
    name: "lstmCell",
    units,
    init(key, inputDim) {
      const b = ops.concat([ops.zeros([units]), ops.ones([units]), ops.zeros([2 * units])]);
      return { ...weights(key, inputDim, units, 4), b };
    },
    initialState: zeroState(2, units),
    project: (params, x) => x.matmul(params.wi).add((params as LstmParams).b),
    advance(params, [h, c], projected) {
      const z = projected.add(h.matmul((params as LstmParams).wh));
      const i = gate(z, 0, units).sigmoid();
      const f = gate(z, 1, units).sigmoid();
      const g = gate(z, 2, units).tanh();
      const o = gate(z, 3, units).sigmoid();
      const next = f.mul(c).add(i.mul(g));
      return [o.mul(next.tanh()), next];
    },
  });
}

/**
 * The GRU cell (Cho et al., 2014) exactly as PyTorch computes it, gates r, z, n:
 * `r = σ(x·wi_r + bi_r + h·wh_r + bh_r)`, `z = σ(x·wi_z + bi_z + h·wh_z + bh_z)`,
 * `n = tanh(x·wi_n + bi_n + r·(h·wh_n + bh_n))`, `h' = (1 - z)·n + z·h`. Params
 * `{ wi: [in, 3·units], wh: [units, 3·units], bi: [3·units], bh: [3·units] }` (weights Glorot-uniform,
 * biases zero).
 *
 * @example
 * ```ts
 * import { nn, random } from "../../mod.ts";
 * const layer = nn.recur(nn.gruCell(8));
 * const { params } = layer.init(random.key(0), [2, 5, 3]);
 * const y = layer.apply(params, random.normal(random.key(1), [2, 5, 3]));
 * if (y.shape.join() !== "2,5,8") throw new Error();
 * ```
 */
export function gruCell<U extends number>(units: U): Cell<U> {
  checkUnits("gruCell", units);
  return cell({
    name: "gruCell",
    units,
    init: (key, inputDim) => ({
      ...weights(key, inputDim, units, 3),
      bi: ops.zeros([3 * units]),
      bh: ops.zeros([3 * units]),
    }),
    initialState: zeroState(1, units),
    project: (params, x) => x.matmul(params.wi).add((params as GruParams).bi),
    advance(params, [h], a) {
      const { wh, bh } = params as GruParams;
      const b = h.matmul(wh).add(bh);
      const r = gate(a, 0, units).add(gate(b, 0, units)).sigmoid();
      const z = gate(a, 1, units).add(gate(b, 1, units)).sigmoid();
      const n = gate(a, 2, units).add(r.mul(gate(b, 2, units))).tanh();
      return [ops.sub(1, z).mul(n).add(z.mul(h))];
    },
  });
}
