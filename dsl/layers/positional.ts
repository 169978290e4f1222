/**
 * `positional(kind, maxLen)`: adds position information to a sequence of vectors.
 * @module
 */
import * as ops from "../ops.ts";
import type { Tensor } from "../tensor.ts";
import { normal } from "./init.ts";
import { defineLayer, expectShape, expectTensor, LayerError } from "./layer.ts";
import type { Layer, Same } from "./types.ts";

/**
 * Params of `positional("learned")`: one row per position (`positional("sinusoidal")` has none).
 *
 * @example
 * ```ts
 * import { nn, random } from "../../mod.ts";
 * const p: nn.PositionalParams = nn.positional("learned", 16).init(random.key(0), [1, 5, 8]).params;
 * if (p.table?.shape.join() !== "16,8") throw new Error();
 * ```
 */
export type PositionalParams = {
  /** The learned position table, `[maxLen, features]` (absent for sinusoidal positions). */
  table?: Tensor;
};

/**
 * The sinusoidal position table of Vaswani et al. (2017), `[length, dim]`:
 * `P[pos, 2i] = sin(pos / 10000^(2i/dim))` and `P[pos, 2i+1] = cos(pos / 10000^(2i/dim))`.
 *
 * @example
 * ```ts
 * import { nn } from "../../mod.ts";
 * const p = nn.sinusoidalTable(3, 4).arraySync() as number[][];
 * if (p[0].join() !== "0,1,0,1" || Math.abs(p[1][0] - Math.sin(1)) > 1e-7) throw new Error();
 * ```
 */
export function sinusoidalTable(length: number, dim: number): Tensor {
  const data = new Float32Array(length * dim);
  for (let pos = 0; pos < length; pos++) {
    for (let j = 0; j < dim; j++) {
      const angle = pos / Math.pow(10000, (j - (j % 2)) / dim);
      data[pos * dim + j] = j % 2 === 0 ? Math.sin(angle) : Math.cos(angle);
    }
  }
  return ops.tensor(data, { shape: [length, dim] });
}

/**
 * Adds positions to `x` of shape `[..., time, features]` (time at most `maxLen`): fixed sinusoids
 * (`"sinusoidal"`, no params) or a learned table (`"learned"`, params `{ table: [maxLen, features] }`,
 * starting `N(0, 0.02²)` as in GPT-2/BERT).
 *
 * @example
 * ```ts
 * import { nn, random, zeros } from "../../mod.ts";
 * const layer = nn.positional("sinusoidal", 16);
 * const { params } = layer.init(random.key(0), [2, 5, 8]);
 * const y = layer.apply(params, zeros([2, 5, 8]));
 * if (y.shape.join() !== "2,5,8" || y.slice([0, 0, 1], [1, 1, 1]).item() !== 1) throw new Error();
 * ```
 */
export function positional(
  kind: "sinusoidal" | "learned",
  maxLen: number,
): Layer<number, Same, PositionalParams> {
  if (kind !== "sinusoidal" && kind !== "learned") {
    throw new LayerError("positional", `kind must be "sinusoidal" or "learned", got ${JSON.stringify(kind)}`);
  }
  if (!Number.isInteger(maxLen) || maxLen < 1) {
    throw new LayerError("positional", `maxLen must be a positive integer, got ${maxLen}`);
  }
  const checkLength = (time: number) => {
    if (time > maxLen) {
      throw new LayerError(
        "positional",
        `the sequence has ${time} positions but maxLen is ${maxLen}; raise maxLen`,
      );
    }
  };
  return defineLayer<number, Same, PositionalParams>({
    name: "positional",
    init(key, inputShape) {
      const shape = expectShape("positional", inputShape, ["...", "time", "features"]);
      checkLength(shape[shape.length - 2]);
      const params: PositionalParams = kind === "learned"
        ? { table: normal(0.02)(key, [maxLen, shape[shape.length - 1]]) }
        : {};
      return { params, outputShape: shape };
    },
    apply(params, x) {
      const table = params.table;
      const input = expectTensor("positional", x, ["...", "time", table ? table.shape[1] : "features"]);
      const [time, dim] = input.shape.slice(-2);
      checkLength(time);
      return input.add(table ? table.slice([0, 0], [time, dim]) : sinusoidalTable(time, dim));
    },
  });
}
