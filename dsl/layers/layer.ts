/**
 * Defining layers, and the runtime shape checks whose errors name the layer path and the shapes.
 * @module
 */
import { Tensor } from "../tensor.ts";
import type { Context, Layer, Params, ShapeTree, Value } from "./types.ts";

/**
 * An error raised by a layer's `init` or `apply`. `path` locates the layer inside the model
 * (`serial[2].attend`); combinators prefix it as the error travels up.
 *
 * @example
 * ```ts
 * import { nn, random } from "../../mod.ts";
 * const width: number = 4; // known only at run time, so `deno check` cannot catch the mismatch below
 * try {
 *   nn.serial(nn.dense(width), nn.residual(nn.dense(3))).init(random.key(0), [2, 5]);
 *   throw new Error("unreachable");
 * } catch (e) {
 *   if (!(e instanceof nn.LayerError) || e.path !== "serial[1].residual") throw e;
 * }
 * ```
 */
export class LayerError extends Error {
  /** Builds the error; the message is `${path}: ${detail}`. */
  constructor(readonly path: string, readonly detail: string, options?: ErrorOptions) {
    super(`${path}: ${detail}`, options);
    this.name = "LayerError";
  }
}

/**
 * What `defineLayer` needs: the runtime parts of a layer.
 *
 * @example
 * ```ts
 * import { nn, tensor, type Tensor } from "../../mod.ts";
 * const spec: nn.LayerSpec = {
 *   name: "double",
 *   init: (_key, inputShape) => ({ params: {}, outputShape: inputShape }),
 *   apply: (_params, x) => (x as Tensor).mul(2),
 * };
 * const double = nn.defineLayer<number, nn.Same>(spec);
 * if (double.apply({}, tensor([1, 2])).sum().item() !== 6) throw new Error();
 * ```
 */
export interface LayerSpec<P = Params> {
  /** The name used in summaries and error paths. */
  name: string;
  /** Makes parameters and infers the output shape. */
  init(key: Tensor, inputShape: ShapeTree): { params: P; outputShape: ShapeTree };
  /** Computes the output. */
  apply(params: P, x: Value, ctx: Context): Value;
}

/**
 * Makes a layer from its runtime parts, with the feature types `In` and `Out` (see `Layer`). Any error inside
 * `init` or `apply` becomes a `LayerError` that names this layer, so users see where a model failed.
 *
 * @example
 * ```ts
 * import { nn, random, tensor } from "../../mod.ts";
 * const double = nn.defineLayer<number, nn.Same>({
 *   name: "double",
 *   init: (_key, inputShape) => ({ params: {}, outputShape: inputShape }),
 *   apply: (_params, x) => (x as any).mul(2),
 * });
 * if (double.apply({}, tensor([1, 2])).arraySync().toString() !== "2,4") throw new Error();
 * ```
 */
export function defineLayer<In, Out, P = Params>(spec: LayerSpec<P>): Layer<In, Out, P> {
  const located = (e: unknown) =>
    e instanceof LayerError
      ? e
      : new LayerError(spec.name, e instanceof Error ? e.message : String(e), { cause: e });
  const layer = {
    name: spec.name,
    init(key: Tensor, inputShape: ShapeTree) {
      try {
        return spec.init(key, inputShape);
      } catch (e) {
        throw located(e);
      }
    },
    apply(params: P, x: Value, ctx: Context = {}) {
      try {
        return spec.apply(params, x, ctx);
      } catch (e) {
        throw located(e);
      }
    },
  };
  // The feature types exist only for the type checker; at run time a layer is just these two functions.
  return layer as unknown as Layer<In, Out, P>;
}

/**
 * @internal Formats a shape or a pattern the way layer errors print it: `[batch, time, 64]`.
 *
 * @example
 * ```ts
 * import { showDims } from "./layer.ts";
 * if (showDims(["batch", "time", 64]) !== "[batch, time, 64]") throw new Error();
 * if (showDims([[2, 3], [2]]) !== "[[2, 3], [2]]") throw new Error();
 * ```
 */
export function showDims(dims: readonly (number | string)[] | ShapeTree): string {
  return `[${
    (dims as readonly unknown[]).map((d) => (Array.isArray(d) ? showDims(d) : String(d))).join(", ")
  }]`;
}

/**
 * @internal True when a shape tree is one shape (a list of numbers), not a list of shapes.
 *
 * @example
 * ```ts
 * import { isShape } from "./layer.ts";
 * if (!isShape([2, 3]) || isShape([[2, 3], [2, 5]])) throw new Error();
 * ```
 */
export function isShape(shape: ShapeTree): shape is readonly number[] {
  return shape.every((d) => typeof d === "number");
}

/**
 * @internal Checks a shape against a pattern: numbers must match exactly, names (`batch`, `time`) match any
 * size, and a leading `"..."` matches any number of leading axes. Throws `${name}: expected input [...], got [...]`.
 *
 * @example
 * ```ts
 * import { expectShape, LayerError } from "./layer.ts";
 * if (expectShape("dense", [8, 16, 64], ["...", 64]).join() !== "8,16,64") throw new Error();
 * try {
 *   expectShape("attend", [8, 16, 32], ["batch", "time", 64]);
 *   throw new Error("unreachable");
 * } catch (e) {
 *   if (!(e instanceof LayerError)) throw e;
 *   if (e.message !== "attend: expected input [batch, time, 64], got [8, 16, 32]") throw e;
 * }
 * ```
 */
export function expectShape(
  name: string,
  shape: ShapeTree,
  pattern: readonly (number | string)[],
  what = "input",
): readonly number[] {
  const fail = () => new LayerError(name, `expected ${what} ${showDims(pattern)}, got ${showDims(shape)}`);
  if (!isShape(shape)) throw fail();
  const free = pattern[0] === "...";
  const fixed = free ? pattern.slice(1) : pattern;
  if (free ? shape.length < fixed.length : shape.length !== fixed.length) throw fail();
  const tail = shape.slice(shape.length - fixed.length);
  if (fixed.some((p, i) => typeof p === "number" && p !== tail[i])) throw fail();
  return shape;
}

/**
 * @internal The input as one tensor of the expected shape and dtype, or a `LayerError` naming the layer.
 *
 * @example
 * ```ts
 * import { expectTensor, LayerError } from "./layer.ts";
 * import { tensor } from "../../mod.ts";
 * const x = tensor([[1, 2, 3]]);
 * if (expectTensor("dense", x, ["...", 3]) !== x) throw new Error();
 * try {
 *   expectTensor("embed", x, ["batch", "time"], "int32"); // the right shape, but float32 ids
 *   throw new Error("unreachable");
 * } catch (e) {
 *   if (!(e instanceof LayerError) || !e.detail.startsWith("expected a int32 input, got float32")) throw e;
 * }
 * ```
 */
export function expectTensor(
  name: string,
  x: Value,
  pattern: readonly (number | string)[],
  dtype: "float32" | "int32" = "float32",
): Tensor {
  if (!(x instanceof Tensor)) {
    throw new LayerError(
      name,
      `expected one tensor ${showDims(pattern)}, got a list of ${(x as Value[]).length} values`,
    );
  }
  expectShape(name, x.shape, pattern);
  if (x.dtype !== dtype) {
    const hint = dtype === "int32"
      ? 'token ids must be int32 (tensor(ids, { dtype: "int32" }))'
      : "cast it first";
    throw new LayerError(name, `expected a ${dtype} input, got ${x.dtype}; ${hint}`);
  }
  return x;
}
