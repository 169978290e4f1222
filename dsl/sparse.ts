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
  /**
   * The blocks of rows this gradient is the sum of (one per `take` of the table): `addTo` and `scale` work
   * block by block, so that summing gradients never copies rows into one array unless `indices` or
   * `values` is read.
   */
  readonly parts: readonly { readonly indices: Tensor; readonly values: Tensor }[];
  private joined?: { indices: Tensor; values: Tensor };

  /** Rows touched: `indices` (int32 [n]) and their values ([n, ...rowShape]) within a table of `shape`. */
  constructor(indices: Tensor, values: Tensor, shape: Shape);
  /** The sum of several blocks of rows of one table. */
  constructor(parts: readonly { indices: Tensor; values: Tensor }[], shape: Shape);
  constructor(
    first: Tensor | readonly { indices: Tensor; values: Tensor }[],
    second: Tensor | Shape,
    third?: Shape,
  ) {
    if (Array.isArray(first)) {
      if (first.length === 0) throw new RangeError("SparseRows: needs at least one block of rows");
      this.parts = first;
      this.shape = second as Shape;
    } else {
      this.parts = [{ indices: first as Tensor, values: second as Tensor }];
      this.shape = third!;
    }
    if (this.parts.length === 1) this.joined = this.parts[0];
  }

  /** The shape of the whole table. */
  readonly shape: Shape;

  /** int32 [n]: the row of each occurrence (all blocks, in order). */
  get indices(): Tensor {
    return this.join().indices;
  }

  /** [n, ...rowShape]: each occurrence's values. */
  get values(): Tensor {
    return this.join().values;
  }

  private join(): { indices: Tensor; values: Tensor } {
    return this.joined ??= {
      indices: bind("concat", this.parts.map((p) => p.indices), { axis: 0 }),
      values: bind("concat", this.parts.map((p) => p.values), { axis: 0 }),
    };
  }

  /** The element type of the values. */
  get dtype(): DType {
    return this.parts[0].values.dtype;
  }

  /** The same gradient as an ordinary tensor of `shape`. */
  toDense(): Tensor {
    const zeros = bind("full", [], { shape: [...this.shape], value: 0, dtype: this.dtype });
    return this.addTo(zeros);
  }

  /** Adds this gradient into a dense tensor of the same shape (block by block). */
  addTo(dense: Tensor): Tensor {
    return this.parts.reduce((acc, p) => bind("scatter_add", [acc, p.indices, p.values]), dense);
  }

  /** This gradient times `factor` (a scalar), block by block. */
  scale(factor: Tensor | number): SparseRows {
    return new SparseRows(
      this.parts.map((p) => ({ indices: p.indices, values: p.values.mul(factor) })),
      this.shape,
    );
  }

  /** The sum of two sparse gradients of one table: their blocks side by side. */
  concat(other: SparseRows): SparseRows {
    return new SparseRows([...this.parts, ...other.parts], this.shape);
  }
}
