/**
 * Recurrent language models (Mikolov et al., 2010; Zaremba et al., 2014): an embedding, `layers` stacked
 * recurrent layers (Elman RNN, LSTM or GRU cells) and a softmax at every step. By default the text is cut
 * into `batch` rows read in order, and each chunk of `steps` tokens starts from the state the previous chunk
 * of its row ended in (truncated backpropagation through time); `--carry-state false` starts every chunk
 * from zeros.
 * @module
 */
import type * as L from "../../mod.ts";
import { nn } from "../../mod.ts";
import { bool, int, type ModelSpec } from "../spec.ts";
import { lmFields, type LmNetwork, neuralLm } from "./language_model.ts";
import { dropoutField } from "./dropout.ts";
import { initScaleField, withUniformInit } from "./uniform_init.ts";

const CELLS = { lstm: nn.lstmCell, gru: nn.gruCell, rnn: nn.rnnCell } as const;

/**
 * The recurrent LM as a layer: ids [batch, steps] → logits [batch, steps, vocab], every chunk from zeros;
 * with `dropout`, Zaremba et al.'s (2014) dropout on the embedding and on each layer's output (not on the
 * recurrent connections).
 *
 * @example
 * ```ts
 * import { random, type Tensor, zeros } from "../../mod.ts";
 * import { recurrentLayer } from "./rnn.ts";
 * const model = recurrentLayer(30, { cell: "gru", embedding: 8, hidden: 8, layers: 1 });
 * const { params } = model.init(random.key(0), [2, 5]);
 * if ((model.apply(params, zeros([2, 5], "int32")) as Tensor).shape.join() !== "2,5,30") throw new Error();
 * ```
 */
export function recurrentLayer(
  vocabulary: number,
  config: { cell: keyof typeof CELLS; embedding: number; hidden: number; layers: number; dropout?: number },
): nn.AnyLayer {
  const cell = CELLS[config.cell](config.hidden);
  const rate = config.dropout ?? 0;
  if (rate === 0) {
    return nn.serial(
      nn.embed(vocabulary, config.embedding),
      nn.repeat(config.layers, () => nn.recur(cell)),
      nn.dense(vocabulary),
    );
  }
  // Zaremba et al.'s dropout: on the connections between layers, never on the recurrent ones.
  return nn.serial(
    nn.embed(vocabulary, config.embedding),
    nn.dropout(rate),
    nn.repeat(config.layers, () => nn.serial(nn.recur(cell), nn.dropout(rate))),
    nn.dense(vocabulary),
  );
}

/**
 * Applies a recurrent LM's params to ids [rows, steps] from each layer's state (zeros when absent), through
 * `nn.carry`: the logits, and every layer's state after the last step, which the next chunk of the same rows
 * continues from. `key`: training, with the dropout masks drawn from it.
 *
 * @example
 * ```ts
 * import { concat, random, tensor } from "../../mod.ts";
 * import { applyRecurrent, recurrentLayer } from "./rnn.ts";
 * const config = { cell: "lstm", embedding: 4, hidden: 6, layers: 2 } as const;
 * const layer = recurrentLayer(9, config);
 * const { params } = layer.init(random.key(0), [1, 5]);
 * const ids = tensor([[1, 2, 3, 4, 5]], { dtype: "int32" });
 * const whole = applyRecurrent(layer, params, ids).logits.dataSync();
 * const first = applyRecurrent(layer, params, ids.slice([0, 0], [1, 3]));
 * const rest = applyRecurrent(layer, params, ids.slice([0, 3], [1, 2]), first.states);
 * const joined = concat([first.logits, rest.logits], 1).dataSync();
 * if (joined.some((v, i) => Math.abs(v - whole[i]) > 1e-5)) throw new Error();
 * ```
 */
export function applyRecurrent(
  layer: nn.AnyLayer,
  params: nn.Params,
  ids: L.Tensor,
  states?: readonly (readonly L.Tensor[])[],
  key?: L.Tensor,
): { logits: L.Tensor; states: L.Tensor[][] } {
  const carry = nn.carry(states);
  const logits = layer.apply(params, ids, key ? { carry, training: true, key } : { carry }) as L.Tensor;
  return { logits, states: carry.states };
}

function fieldsFor(hidden: number) {
  return {
    embedding: int(hidden, "size of a word's embedding"),
    hidden: int(hidden, "units of each recurrent layer"),
    layers: int(2, "stacked recurrent layers"),
    steps: int(35, "tokens per chunk (steps unrolled through time)"),
    carryState: bool(true, "each chunk starts from the state its row's previous chunk ended in"),
    initScale: initScaleField,
    dropout: dropoutField,
    ...lmFields({ lr: 1e-3, batch: 20, epochs: 2 }),
  } as const;
}

type RecurrentConfig = {
  embedding: number;
  hidden: number;
  layers: number;
  steps: number;
  carryState: boolean;
  initScale: number;
  dropout: number;
};

function network(cellName: keyof typeof CELLS, vocabulary: number, config: RecurrentConfig) {
  const shape = { ...config, cell: cellName };
  const layer = recurrentLayer(vocabulary, shape);
  const cell = CELLS[cellName](config.hidden);
  return {
    layout: config.carryState ? "rows" : "chunk",
    width: config.steps,
    init: (key, rows) => layer.init(key, [rows, config.steps]).params,
    forward: (params, inputs, carry, key) => {
      const out = applyRecurrent(layer, params, inputs, carry.length > 0 ? carry : undefined, key);
      return { logits: out.logits, carry: config.carryState ? out.states : [] };
    },
    ...(config.carryState
      ? { zeroCarry: (rows: number) => Array.from({ length: config.layers }, () => cell.initialState(rows)) }
      : {}),
    embedding: (params) => (params as [nn.EmbedParams])[0].table,
    stochastic: config.dropout > 0,
  } satisfies LmNetwork<nn.Params>;
}

function recurrentSpec(cell: keyof typeof CELLS, title: string) {
  return neuralLm({
    name: cell,
    title,
    fields: fieldsFor(200),
    network: (vocabulary, config) => withUniformInit(network(cell, vocabulary, config), config.initScale),
  });
}

/**
 * The LSTM LM with the sizes of Zaremba et al.'s (2014) "small" model, 2 × 200 units and batches of 20, and chunks
 * of 35 (theirs unrolls 20 steps: `--recipe zaremba-small-ptb` sets `--steps 20`).
 *
 * @example
 * ```ts
 * import { lstm } from "./rnn.ts";
 * if (lstm.fields.hidden.default !== 200 || lstm.fields.steps.default !== 35) throw new Error();
 * ```
 */
export const lstm: ModelSpec<ReturnType<typeof fieldsFor>> = recurrentSpec(
  "lstm",
  "LSTM language model (Hochreiter & Schmidhuber, 1997; Zaremba et al., 2014)",
);
/**
 * The GRU LM, with the LSTM's sizes.
 *
 * @example
 * ```ts
 * import { gru } from "./rnn.ts";
 * if (gru.name !== "gru") throw new Error();
 * ```
 */
export const gru: ModelSpec<ReturnType<typeof fieldsFor>> = recurrentSpec(
  "gru",
  "GRU language model (Cho et al., 2014)",
);
/**
 * The Elman RNN LM (Mikolov et al., 2010), with the LSTM's sizes.
 *
 * @example
 * ```ts
 * import { rnn } from "./rnn.ts";
 * if (rnn.name !== "rnn") throw new Error();
 * ```
 */
export const rnn: ModelSpec<ReturnType<typeof fieldsFor>> = recurrentSpec(
  "rnn",
  "Elman RNN language model (Elman, 1990; Mikolov et al., 2010)",
);
