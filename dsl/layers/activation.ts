/**
 * Activation functions as layers, and the names `dense` accepts for them.
 * @module
 */
import * as ops from "../ops.ts";
import type { Tensor } from "../tensor.ts";
import { defineLayer, expectTensor } from "./layer.ts";
import type { Layer, NoParams, Same } from "./types.ts";

/**
 * The activations known by name: ReLU, tanh, GELU (exact erf form) and the logistic sigmoid.
 *
 * @example
 * ```ts
 * import { nn } from "../../mod.ts";
 * const name: nn.ActivationName = "gelu";
 * nn.dense(8, { activation: name });
 * ```
 */
export type ActivationName = "relu" | "tanh" | "gelu" | "sigmoid";

const ACTIVATIONS: Record<ActivationName, (x: Tensor) => Tensor> = {
  relu: ops.relu,
  tanh: ops.tanh,
  gelu: (x) => ops.gelu(x),
  sigmoid: ops.sigmoid,
};

/**
 * @internal The function for an activation name (or the function itself); errors list the known names.
 *
 * @example
 * ```ts
 * import { type ActivationName, activationFn } from "./activation.ts";
 * import { tensor } from "../../mod.ts";
 * const relu = activationFn("relu");
 * if (relu(tensor([-1, 2])).arraySync().toString() !== "0,2") throw new Error();
 * try {
 *   activationFn("swish" as ActivationName);
 *   throw new Error("unreachable");
 * } catch (e) {
 *   if (!(e instanceof TypeError) || !e.message.includes("relu, tanh, gelu, sigmoid")) throw e;
 * }
 * ```
 */
export function activationFn(kind: ActivationName | ((x: Tensor) => Tensor)): (x: Tensor) => Tensor {
  if (typeof kind === "function") return kind;
  const f = ACTIVATIONS[kind];
  if (!f) {
    throw new TypeError(
      `unknown activation "${kind}"; use one of ${Object.keys(ACTIVATIONS).join(", ")} or a function`,
    );
  }
  return f;
}

/**
 * An elementwise activation as a layer (no parameters, same shape out).
 *
 * @example
 * ```ts
 * import { nn, tensor } from "../../mod.ts";
 * const y = nn.activation("relu").apply({}, tensor([-1, 2]));
 * if (y.arraySync().toString() !== "0,2") throw new Error();
 * ```
 */
export function activation(kind: ActivationName | ((x: Tensor) => Tensor)): Layer<number, Same, NoParams> {
  const f = activationFn(kind);
  const name = typeof kind === "string" ? kind : "activation";
  return defineLayer<number, Same, NoParams>({
    name,
    init: (_key, inputShape) => ({ params: {}, outputShape: inputShape }),
    apply: (_params, x) => f(expectTensor(name, x, ["..."])),
  });
}

/**
 * ReLU as a layer: `max(x, 0)`.
 *
 * @example
 * ```ts
 * import { nn, tensor } from "../../mod.ts";
 * if (nn.relu().apply({}, tensor([-3, 3])).arraySync().toString() !== "0,3") throw new Error();
 * ```
 */
export function relu(): Layer<number, Same, NoParams> {
  return activation("relu");
}

/**
 * tanh as a layer.
 *
 * @example
 * ```ts
 * import { nn, tensor } from "../../mod.ts";
 * if (nn.tanh().apply({}, tensor([0])).item() !== 0) throw new Error();
 * ```
 */
export function tanh(): Layer<number, Same, NoParams> {
  return activation("tanh");
}

/**
 * GELU (exact erf form) as a layer.
 *
 * @example
 * ```ts
 * import { nn, tensor } from "../../mod.ts";
 * if (Math.abs(nn.gelu().apply({}, tensor([1])).item() - 0.8413447) > 1e-5) throw new Error();
 * ```
 */
export function gelu(): Layer<number, Same, NoParams> {
  return activation("gelu");
}

/**
 * The logistic sigmoid as a layer.
 *
 * @example
 * ```ts
 * import { nn, tensor } from "../../mod.ts";
 * if (nn.sigmoid().apply({}, tensor([0])).item() !== 0.5) throw new Error();
 * ```
 */
export function sigmoid(): Layer<number, Same, NoParams> {
  return activation("sigmoid");
}
