/**
 * Layers and combinators: models as pure functions, in the tradition of stax and Trax.
 *
 * A layer is `{ name, init(key, inputShape) -> { params, outputShape }, apply(params, x, ctx) -> y }`, with
 * params a plain pytree of tensors and `ctx = { key?, training?, mask? }`. Models read like the diagram in
 * the paper:
 *
 * ```ts
 * import { nn, random, summary } from "../../mod.ts";
 * const model = nn.serial(
 *   nn.embed(64, 32),
 *   nn.positional("sinusoidal", 128),
 *   nn.repeat(2, () => nn.residual(nn.serial(nn.layerNorm(), nn.attend({ heads: 4, causal: true })))),
 *   nn.layerNorm(),
 *   nn.dense(64),
 * );
 * const { params } = model.init(random.key(0), [1, 16]);
 * console.log(summary(model, [1, 16]));
 * ```
 *
 * Shapes are typed: `nn.serial(nn.embed(100, 64), nn.dense(32))` has type `Layer<Ids, 32>`, and
 * `nn.serial(nn.embed(100, 64), nn.residual(nn.dense(32)))` is a compile error (`serial[1]: takes last dim 32
 * but gets last dim 64`), because `x + f(x)` needs `f` to keep the dim. Where a dim is only known at run time
 * the types widen to `number`, and `init`/`apply` check shapes, naming the path:
 * `serial[2].attend: expected input [batch, time, 64], got [8, 16, 32]`.
 * @module
 */
export type {
  AnyLayer,
  Carry,
  Context,
  Ids,
  InOf,
  Layer,
  NoParams,
  OutOf,
  Params,
  ParamsList,
  ParamsOf,
  Same,
  ShapeOf,
  ShapeTree,
  Value,
  ValueOf,
} from "./types.ts";
export { defineLayer, LayerError, type LayerSpec } from "./layer.ts";
export type { SummaryRow } from "./child.ts";
export { glorotUniform, heNormal, type Initializer, normal } from "./init.ts";
export { activation, type ActivationName, gelu, relu, sigmoid, tanh } from "./activation.ts";
export { fn } from "./fn.ts";
export { serial } from "./serial.ts";
export { residual } from "./residual.ts";
export { parallel } from "./parallel.ts";
export { branch } from "./branch.ts";
export { repeat } from "./repeat.ts";
export { dense, type DenseOptions, type DenseParams } from "./dense.ts";
export { embed, type EmbedParams } from "./embed.ts";
export { attend, type AttendOptions, type AttendParams } from "./attend.ts";
export {
  type Cell,
  type CellParams,
  gruCell,
  type GruParams,
  lstmCell,
  type LstmParams,
  rnnCell,
  type RnnParams,
} from "./cells.ts";
export { carry, type CellRun, recur, type RecurOptions, runCell, type RunCellOptions } from "./recur.ts";
export { layerNorm, type LayerNormParams } from "./layer_norm.ts";
export { dropout } from "./dropout.ts";
export { positional, type PositionalParams, sinusoidalTable } from "./positional.ts";
export { summary } from "./summary.ts";
