/**
 * Sparse row gradients: what `grad` returns for a table read through `take`/`gather`.
 * @module
 */
import type { DType } from "./dtype.ts";
import type { Shape } from "./shape.ts";
import { bind, type Tensor } from "./tensor.ts";

/**
 * A gradient that is zero except in some rows: `dense[indices[i]] += values[i]` for each i.
 * Indices may repeat (a word seen twice in a batch); `toDense` adds the repeats.
 *
 * @example
 * ```ts
 * import { grad, take, tensor } from "../mod.ts";
 * const table = tensor([[1, 2], [3, 4], [5, 6]]);
 * const g = grad((t) => take(t, tensor([2, 0, 2], { dtype: "int32" })).sum())(table);
 * const dense = await g.toDense().toArray();
 * if (JSON.stringify(dense) !== "[[1,1],[0,0],[2,2]]") throw new Error(JSON.stringify(dense));
 * ```
 */
export class SparseRows {
  /** Rows touched: `indices` (int32 [n]) and their values ([n, ...rowShape]) within a table of `shape`. */
  constructor(readonly indices: Tensor, readonly values: Tensor, readonly shape: Shape) {}

  /** The element type of the values. */
  get dtype(): DType {
    return this.values.dtype;
  }

  /** The same gradient as an ordinary tensor of `shape`. */
  toDense(): Tensor {
    const zeros = bind("full", [], { shape: [...this.shape], value: 0, dtype: this.values.dtype });
    return bind("scatter_add", [zeros, this.indices, this.values]);
  }

  /** Adds this gradient into a dense tensor of the same shape. */
  addTo(dense: Tensor): Tensor {
    return bind("scatter_add", [dense, this.indices, this.values]);
  }

  /** The sum of two sparse gradients of one table: their rows side by side. */
  concat(other: SparseRows): SparseRows {
    return new SparseRows(
      bind("concat", [this.indices, other.indices], { axis: 0 }),
      bind("concat", [this.values, other.values], { axis: 0 }),
      this.shape,
    );
  }
}
