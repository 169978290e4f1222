/**
 * How combinators call their children: errors get the child's place in the path (`serial[2].attend`), and,
 * while `summary` records, each child's output shape and parameter count become a row.
 * @module
 */
import { flatten } from "../pytree.ts";
import type { Tensor } from "../tensor.ts";
import { LayerError } from "./layer.ts";
import type { AnyLayer, Context, Params, ShapeTree, Value } from "./types.ts";

/**
 * One row of a model summary: a layer's path, nesting depth, output shape and parameter count.
 *
 * @example
 * ```ts
 * import type { nn } from "../../mod.ts";
 * const row: nn.SummaryRow = { path: "serial[0].dense", depth: 1, outputShape: [2, 4], paramCount: 12 };
 * if (row.depth !== 1) throw new Error();
 * ```
 */
export interface SummaryRow {
  /** Where the layer sits: `serial[1].residual.dense`. */
  path: string;
  /** Nesting depth (0 for the model itself). */
  depth: number;
  /** The layer's output shape. */
  outputShape: ShapeTree;
  /** Number of parameters of the layer, its children included. */
  paramCount: number;
}

// Summaries are rare and init is synchronous, so one active recording at a time is enough.
let recording: SummaryRow[] | undefined;
const trail: string[] = [];

function countParams(params: Params): number {
  return flatten(params).leaves.reduce((n, t) => n + t.size, 0);
}

function inPlace<T>(segment: string, child: AnyLayer, body: () => T): T {
  trail.push(segment);
  try {
    return body();
  } catch (e) {
    // Layers made with defineLayer already name themselves; a hand-written layer gets its name added here.
    if (e instanceof LayerError) throw new LayerError(`${segment}.${e.path}`, e.detail, { cause: e.cause });
    throw new LayerError(`${segment}.${child.name}`, e instanceof Error ? e.message : String(e), {
      cause: e,
    });
  } finally {
    trail.pop();
  }
}

/**
 * @internal Runs `child.init` as the part `segment` (`serial[2]`, `residual`) of a combinator.
 *
 * @example
 * ```ts
 * import { initChild } from "./child.ts";
 * import { nn, random } from "../../mod.ts";
 * const { params, outputShape } = initChild("serial[0]", nn.dense(3), random.key(0), [2, 5]);
 * if (outputShape.join() !== "2,3" || (params as nn.DenseParams).w.shape.join() !== "5,3") throw new Error();
 * try {
 *   initChild("serial[1]", nn.dense(3), random.key(0), [[2, 5], [2, 5]]); // a list, not one shape
 *   throw new Error("unreachable");
 * } catch (e) {
 *   if (!(e instanceof nn.LayerError) || e.path !== "serial[1].dense") throw e;
 * }
 * ```
 */
export function initChild(
  segment: string,
  child: AnyLayer,
  key: Tensor,
  inputShape: ShapeTree,
): { params: Params; outputShape: ShapeTree } {
  const row: SummaryRow = {
    path: [...trail, segment, child.name].join("."),
    depth: trail.length + 1,
    outputShape: [],
    paramCount: 0,
  };
  recording?.push(row);
  const result = inPlace(segment, child, () => child.init(key, inputShape));
  row.outputShape = result.outputShape;
  row.paramCount = countParams(result.params);
  return result;
}

/**
 * @internal Runs `child.apply` as the part `segment` of a combinator.
 *
 * @example
 * ```ts
 * import { applyChild } from "./child.ts";
 * import { nn, tensor, type Tensor } from "../../mod.ts";
 * const y = applyChild("serial[0]", nn.relu(), {}, tensor([-1, 1]), {}) as Tensor;
 * if (y.arraySync().toString() !== "0,1") throw new Error();
 * try {
 *   applyChild("branch[1]", nn.relu(), {}, [tensor([1]), tensor([2])], {});
 *   throw new Error("unreachable");
 * } catch (e) {
 *   if (!(e instanceof nn.LayerError) || e.path !== "branch[1].relu") throw e;
 * }
 * ```
 */
export function applyChild(segment: string, child: AnyLayer, params: Params, x: Value, ctx: Context): Value {
  return inPlace(segment, child, () => child.apply(params, x, ctx));
}

/**
 * @internal Initialises `layer`; returns a row for it and for every layer inside it, in model order.
 *
 * @example
 * ```ts
 * import { recordInit } from "./child.ts";
 * import { nn, random } from "../../mod.ts";
 * const rows = recordInit(nn.serial(nn.dense(4), nn.relu()), random.key(0), [2, 3]);
 * if (rows.map((r) => r.path).join() !== "serial,serial[0].dense,serial[1].relu") throw new Error();
 * if (rows[0].paramCount !== 16 || rows[1].depth !== 1 || rows[2].outputShape.join() !== "2,4") {
 *   throw new Error();
 * }
 * ```
 */
export function recordInit(layer: AnyLayer, key: Tensor, inputShape: ShapeTree): SummaryRow[] {
  const rows: SummaryRow[] = [];
  const outer = recording;
  recording = rows;
  try {
    const { params, outputShape } = layer.init(key, inputShape);
    return [{ path: layer.name, depth: 0, outputShape, paramCount: countParams(params) }, ...rows];
  } finally {
    recording = outer;
  }
}
