/**
 * Sparse row gradients: what `grad(f, { sparse: true })` returns for a table read through `take`/`gather`.
 * @module
 */
import type { DType, HostArray } from "./ir/dtype.ts";
import { type Shape, shapesEqual, showShape, sizeOf } from "./ir/shape.ts";
import { bind, type NestedArray, Tensor } from "./tensor.ts";

/**
 * A cotangent (a gradient): dense, or sparse rows (the gradient of a table read through `take`).
 *
 * @example
 * ```ts
 * import { type Cotangent, grad, tensor } from "../mod.ts";
 * const g: Cotangent = grad((x) => x.sum())(tensor([1, 2]));
 * if (g.shape.join() !== "2") throw new Error();
 * ```
 */
export type Cotangent = Tensor | SparseRows;

/**
 * A gradient that is zero except in some rows: `dense[indices[i]] += values[i]` for each i.
 * Indices may repeat (a word seen twice in a batch); `toDense` adds the repeats. It reads like the dense
 * tensor it stands for (`shape`, `dataSync`, `arraySync`, `item`, ...), scales without densifying (`mul`,
 * `neg`), and adds into a tensor as a scatter-add (`param.sub(g.mul(lr))` writes only the touched rows).
 *
 * @example
 * ```ts
 * import { grad, SparseRows, take, tensor, type Tensor } from "../mod.ts";
 * const table = tensor([[1, 2], [3, 4], [5, 6]]);
 * const g = grad((t: Tensor) => take(t, tensor([2, 0, 2], { dtype: "int32" })).sum(), { sparse: true })(table);
 * if (!(g instanceof SparseRows) || g.indices.size !== 3) throw new Error(); // three rows read, none copied
 * const dense = await g.toDense().toArray();
 * if (JSON.stringify(dense) !== "[[1,1],[0,0],[2,2]]") throw new Error(JSON.stringify(dense));
 * const stepped = table.sub(g.mul(0.5)); // a scatter-add into the touched rows
 * if (JSON.stringify(stepped.arraySync()) !== "[[0.5,1.5],[3,4],[4,5]]") throw new Error();
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

  /** Number of elements of the dense tensor it stands for. */
  get size(): number {
    return sizeOf(this.shape);
  }

  /** Number of axes of the dense tensor. */
  get rank(): number {
    return this.shape.length;
  }

  /**
   * This gradient times `factor`, which broadcasts against the table's shape: a scalar scales every row, a
   * tensor scales each touched row by its own row. The result is sparse (same rows).
   */
  mul(factor: Tensor | number): SparseRows {
    if (typeof factor === "number" || factor.size === 1) return this.scale(factor);
    if (factor.rank > this.rank) {
      throw new RangeError(
        `SparseRows.mul: a factor of shape ${showShape(factor.shape)} has more axes than the table ${
          showShape(this.shape)
        }; multiply the dense form instead: g.toDense().mul(x)`,
      );
    }
    const lifted = factor.reshape([...new Array(this.rank - factor.rank).fill(1), ...factor.shape]);
    const table = shapesEqual(lifted.shape, this.shape) ? lifted : lifted.expand(this.shape);
    return new SparseRows(
      this.parts.map((p) => ({
        indices: p.indices,
        values: p.values.mul(bind("gather", [table, p.indices])),
      })),
      this.shape,
    );
  }

  /** `-this`, still sparse. */
  neg(): SparseRows {
    return this.scale(-1);
  }

  /** The dense values, as `Tensor.data` gives them. */
  data(): Promise<HostArray> {
    return this.toDense().data();
  }

  /** The dense values, synchronously (see `Tensor.dataSync`). */
  dataSync(): HostArray {
    return this.toDense().dataSync();
  }

  /** The dense values as nested arrays. */
  toArray(): Promise<NestedArray> {
    return this.toDense().toArray();
  }

  /** The dense values as nested arrays, synchronously. */
  arraySync(): NestedArray {
    return this.toDense().arraySync();
  }

  /** The single value of a one-element table. */
  item(): number {
    return this.toDense().item();
  }

  /** A short description. */
  toString(): string {
    return `SparseRows(${this.dtype}${showShape(this.shape)}, ${this.parts.length} block(s) of rows)`;
  }
}

/**
 * @internal `x + g` for a sparse `g`: a scatter-add of its rows into `x` (broadcast to the table's shape).
 *
 * @example
 * ```ts
 * import { addSparse, SparseRows } from "./sparse.ts";
 * import { tensor, zeros } from "../mod.ts";
 * const g = new SparseRows(tensor([1], { dtype: "int32" }), tensor([[5, 6]]), [2, 2]);
 * if (JSON.stringify(addSparse(zeros([2, 2]), g).arraySync()) !== "[[0,0],[5,6]]") throw new Error();
 * ```
 */
export function addSparse(x: Tensor, g: SparseRows): Tensor {
  if (!(x instanceof Tensor)) {
    throw new TypeError("add: a sparse gradient adds into a Tensor; got a number, so use g.toDense().add(x)");
  }
  if (x.dtype !== g.dtype) {
    throw new TypeError(
      `add: a ${x.dtype} tensor and a ${g.dtype} sparse gradient; cast with .cast("${g.dtype}")`,
    );
  }
  const base = shapesEqual(x.shape, g.shape) ? x : x.reshape([
    ...new Array(Math.max(0, g.rank - x.rank)).fill(1),
    ...x.shape,
  ]).expand(g.shape);
  return g.addTo(base);
}
