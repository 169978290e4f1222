/**
 * `summary(layer, inputShape)`: a Keras-style table of a model's layers.
 * @module
 */
import { trace } from "../trace.ts";
import type { Tensor } from "../tensor.ts";
import { recordInit, type SummaryRow } from "./child.ts";
import { showDims } from "./layer.ts";
import type { AnyLayer, ShapeTree } from "./types.ts";

/**
 * Each layer of a model, nested layers indented, with its path, output shape and parameter count (a
 * combinator's count includes its children), then the total. `init` runs under `trace`, so no weight is
 * computed and large models summarise instantly. For the computation graph itself, trace `apply`:
 * `trace((p, x) => model.apply(p, x), params, x).toDot()`.
 *
 * @example
 * ```ts
 * import { nn, summary } from "../../mod.ts";
 * const text = summary(nn.serial(nn.embed(100, 16), nn.dense(4)), [8, 10]);
 * if (!text.includes("serial[1].dense") || !text.includes("Total params: 1,668")) throw new Error(text);
 * ```
 */
export function summary(layer: AnyLayer, inputShape: ShapeTree): string {
  let rows: SummaryRow[] = [];
  trace((key: Tensor) => {
    rows = recordInit(layer, key, inputShape);
    return [];
  }, { shape: [2], dtype: "int32" });
  const cells = rows.map((
    r,
  ) => ["  ".repeat(r.depth) + r.path, showDims(r.outputShape), r.paramCount.toLocaleString("en-US")]);
  const header = ["Layer (path)", "Output shape", "Params"];
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const line = (c: string[]) =>
    `${c[0].padEnd(widths[0])}  ${c[1].padEnd(widths[1])}  ${c[2].padStart(widths[2])}`;
  const rule = "-".repeat(widths[0] + widths[1] + widths[2] + 4);
  return [
    line(header),
    rule,
    ...cells.map(line),
    rule,
    `Total params: ${rows[0].paramCount.toLocaleString("en-US")}`,
  ].join("\n");
}
