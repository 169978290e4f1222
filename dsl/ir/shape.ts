/**
 * Shapes: sizes, strides, axis normalisation and NumPy broadcasting.
 * @module
 */

/**
 * A tensor shape: one non-negative integer per axis; `[]` is a scalar.
 *
 * @example
 * ```ts
 * import { type Shape, zeros } from "../../mod.ts";
 * const shape: Shape = [2, 3];
 * if (zeros(shape).size !== 6) throw new Error();
 * ```
 */
export type Shape = readonly number[];

/**
 * Number of elements of a tensor of this shape (1 for a scalar).
 *
 * @example
 * ```ts
 * import { sizeOf } from "./shape.ts";
 * if (sizeOf([2, 3]) !== 6 || sizeOf([]) !== 1) throw new Error();
 * ```
 */
export function sizeOf(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/**
 * Row-major strides, in elements.
 *
 * @example
 * ```ts
 * import { stridesOf } from "./shape.ts";
 * if (stridesOf([2, 3, 4]).join() !== "12,4,1") throw new Error();
 * ```
 */
export function stridesOf(shape: Shape): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = s;
    s *= shape[i];
  }
  return strides;
}

/**
 * Formats a shape the way errors print it: `[2,3]`.
 *
 * @example
 * ```ts
 * import { showShape } from "./shape.ts";
 * if (showShape([2, 3]) !== "[2,3]" || showShape([]) !== "[]") throw new Error();
 * ```
 */
export function showShape(shape: Shape): string {
  return `[${shape.join(",")}]`;
}

/**
 * Checks that a shape is a list of non-negative integers and returns a fresh copy.
 *
 * @example
 * ```ts
 * import { checkShape } from "./shape.ts";
 * if (checkShape([2, 3], "zeros").length !== 2) throw new Error();
 * ```
 */
export function checkShape(shape: unknown, where: string): number[] {
  if (!Array.isArray(shape) || shape.some((d) => !Number.isInteger(d) || d < 0)) {
    throw new TypeError(
      `${where}: a shape must be an array of non-negative integers, got ${JSON.stringify(shape)}`,
    );
  }
  return [...shape];
}

/**
 * Turns a possibly negative axis into one in `[0, rank)`, or throws an error naming the op.
 *
 * @example
 * ```ts
 * import { normalizeAxis } from "./shape.ts";
 * if (normalizeAxis(-1, 3, "sum") !== 2) throw new Error();
 * ```
 */
export function normalizeAxis(axis: number, rank: number, where: string): number {
  if (!Number.isInteger(axis) || axis < -rank || axis >= rank) {
    throw new RangeError(
      `${where}: axis ${axis} is out of range for a tensor of rank ${rank}; use an axis in [${-rank}, ${
        rank - 1
      }]`,
    );
  }
  return axis < 0 ? axis + rank : axis;
}

/**
 * Normalises `axis` (a number, a list, or undefined meaning every axis) to sorted unique axes.
 *
 * @example
 * ```ts
 * import { normalizeAxes } from "./shape.ts";
 * if (normalizeAxes([-1, 0], 3, "sum").join() !== "0,2") throw new Error();
 * if (normalizeAxes(undefined, 2, "sum").join() !== "0,1") throw new Error();
 * ```
 */
export function normalizeAxes(
  axis: number | readonly number[] | undefined,
  rank: number,
  where: string,
): number[] {
  if (axis === undefined) return Array.from({ length: rank }, (_, i) => i);
  const list = typeof axis === "number" ? [axis] : axis;
  const out = list.map((a) => normalizeAxis(a, rank, where));
  if (new Set(out).size !== out.length) {
    throw new RangeError(`${where}: repeated axis in ${JSON.stringify(list)}`);
  }
  return out.sort((a, b) => a - b);
}

/**
 * The NumPy broadcast of two shapes: align trailing axes; each pair must be equal or one of them 1.
 * The error names the op, both shapes and the pair of axes that failed.
 *
 * @example
 * ```ts
 * import { broadcastShapes } from "./shape.ts";
 * if (broadcastShapes([3, 1], [4], "add").join() !== "3,4") throw new Error();
 * ```
 */
export function broadcastShapes(a: Shape, b: Shape, where: string): number[] {
  const rank = Math.max(a.length, b.length);
  const out = new Array<number>(rank);
  for (let i = 0; i < rank; i++) {
    const da = a[a.length - rank + i] ?? 1;
    const db = b[b.length - rank + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) {
      throw new RangeError(
        `${where}: cannot broadcast shapes ${showShape(a)} and ${showShape(b)}: axis ${
          a.length - rank + i
        } ` +
          `of the first has size ${da} but axis ${b.length - rank + i} of the second has size ${db}. ` +
          `Broadcasting (NumPy rules) aligns trailing axes and needs each pair equal or 1; ` +
          `reshape or expand one operand so the sizes agree.`,
      );
    }
    out[i] = da === 1 ? db : da;
  }
  return out;
}

/**
 * True when two shapes are equal axis by axis.
 *
 * @example
 * ```ts
 * import { shapesEqual } from "./shape.ts";
 * if (!shapesEqual([1, 2], [1, 2]) || shapesEqual([1], [])) throw new Error();
 * ```
 */
export function shapesEqual(a: Shape, b: Shape): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
