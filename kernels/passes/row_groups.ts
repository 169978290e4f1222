/**
 * Row groups: consecutive loops over the same leading axis, run row block by row block. Kernels whose row p
 * reads only row p of the group's earlier outputs (a dot product, then the sigmoid of it, then a sum weighted
 * by it: word2vec's negatives) need not wait for each other's last row: each thread runs every member over
 * one block of rows before it takes the next block. The block's rows are still in cache when the next member
 * reads them, and the threads meet once per group instead of once per kernel. Every row is still computed by
 * one thread and in the same order, so results do not change.
 *
 * The pass only reorders and annotates: a kernel that cannot join (a full reduction, a scatter-add) and that
 * no later member needs moves after the group. The memory plan (`planMemory`'s `groups`) then keeps every
 * value a member reads alive until the group ends: a member must not overwrite what another thread, still on
 * an earlier member for other rows, reads.
 * @module
 */
import type { Var } from "../../dsl/ir/graph.ts";
import { sizeOf } from "../../dsl/ir/shape.ts";
import type { Affine, Kernel } from "./fuse.ts";
import { loadsOf } from "./memory.ts";

/**
 * The kernels of a program in the order they run, and which of them run as row groups: members
 * `[start, end)` of `kernels` loop over the same `rows` first.
 *
 * @example
 * ```ts
 * import type { RowGrouping } from "./row_groups.ts";
 * const none: RowGrouping = { kernels: [], groups: [] };
 * if (none.groups.length !== 0) throw new Error();
 * ```
 */
export interface RowGrouping {
  /** The kernels, members of a group next to each other. */
  readonly kernels: readonly Kernel[];
  /** The groups, in order: each at least two kernels. */
  readonly groups: readonly { readonly start: number; readonly end: number; readonly rows: number }[];
}

/**
 * The kernel's loop extents: its output shape for an elementwise kernel or a row gather (a loop over its
 * indices, a table row each), its input shape for a reduction.
 */
function loopShape(k: Kernel): readonly number[] | undefined {
  if (k.kind === "elementwise") return k.shape;
  if (k.kind === "reduce") return k.inShape;
  if (k.kind === "opaque" && k.eqn.prim === "gather") return k.output.shape;
  return undefined;
}

/**
 * The rows a kernel may be split into for a group: the extent of its first loop axis, when that axis is also
 * its output's first (kept by a reduction) and the kernel is an elementwise loop, a reduction or a row gather
 * (word2vec's rows of the centre and context words join the dot products that read them). Undefined when it
 * cannot be a member.
 *
 * @example
 * ```ts
 * import { trace, tensor } from "../../mod.ts";
 * import { fuse } from "./fuse.ts";
 * import { groupRows } from "./row_groups.ts";
 * const [rowSums] = fuse(trace((x) => x.sum(1), tensor([[1, 2], [3, 4], [5, 6]]))).kernels;
 * const [total] = fuse(trace((x) => x.sum(), tensor([[1, 2], [3, 4], [5, 6]]))).kernels;
 * if (groupRows(rowSums) !== 3 || groupRows(total) !== undefined) throw new Error();
 * ```
 */
export function groupRows(k: Kernel): number | undefined {
  const shape = loopShape(k);
  if (!shape || shape.length === 0 || shape[0] < 2) return undefined;
  if (k.kind === "reduce" && k.axes.includes(0)) return undefined;
  if (k.output.shape[0] !== shape[0]) return undefined;
  return shape[0];
}

/** Whether every read of a value `rowSize` elements a row, at loop row p, stays inside its row p. */
function rowLocal(at: Affine, shape: readonly number[], rowSize: number): boolean {
  if (at.coeffs[0] !== rowSize) return false;
  let [low, high] = [at.offset, at.offset];
  for (let d = 1; d < shape.length; d++) {
    const span = at.coeffs[d] * (shape[d] - 1);
    if (span < 0) low += span;
    else high += span;
  }
  return low >= 0 && high < rowSize;
}

/**
 * Orders a program's kernels into row groups. `splits(k)` says whether the backend can run rows of `k`'s
 * first loop axis apart (its kernel's outer loop covers them in order). A group grows while the next kernel
 * can join: it splits, it has the group's rows, and it reads the members' outputs only row by row. A kernel
 * that cannot join but reads from the group waits until the group has run; the first kernel unrelated to the
 * group ends it.
 *
 * @example
 * ```ts
 * import { trace, tensor } from "../../mod.ts";
 * import { fuse } from "./fuse.ts";
 * import { rowGroups } from "./row_groups.ts";
 * // Row norms (a sum, its square root), then each row divided by its norm: each reads only its own row.
 * const x = tensor([[3, 4], [6, 8], [1, 0]]);
 * const program = fuse(trace((x) => x.div(x.mul(x).sum(1, true).sqrt()), x));
 * const grouping = rowGroups(program.kernels, () => true);
 * if (grouping.groups.length !== 1 || grouping.groups[0].end - grouping.groups[0].start !== 3) {
 *   throw new Error(JSON.stringify(grouping.groups));
 * }
 * ```
 */
export function rowGroups(kernels: readonly Kernel[], splits: (k: Kernel) => boolean): RowGrouping {
  const ordered: Kernel[] = [];
  const groups: { start: number; end: number; rows: number }[] = [];
  let members: Kernel[] = [];
  let waiting: Kernel[] = [];
  let rows = 0;
  const memberRows = new Map<Var, number>();
  const waitingOutputs = new Set<Var>();
  const close = () => {
    if (members.length >= 2) {
      groups.push({ start: ordered.length, end: ordered.length + members.length, rows });
    }
    ordered.push(...members, ...waiting);
    [members, waiting] = [[], []];
    memberRows.clear();
    waitingOutputs.clear();
  };
  const canJoin = (k: Kernel): boolean => {
    const shape = loopShape(k)!;
    if (groupRows(k) !== rows || !splits(k)) return false;
    return k.inputs.every((v, i) => {
      if (waitingOutputs.has(v)) return false;
      const rowSize = memberRows.get(v);
      if (rowSize === undefined) return true;
      const expr = k.kind === "elementwise" ? k.expr : k.kind === "reduce" ? k.prologue : undefined;
      // A gathered row is anywhere in its table: never row-local (nor is anything a row gather kernel reads).
      return expr !== undefined &&
        loadsOf(expr, i).every((r) => r.kind === "load" && rowLocal(r.at, shape, rowSize));
    });
  };
  const start = (k: Kernel) => {
    rows = groupRows(k)!;
    members.push(k);
    memberRows.set(k.output, sizeOf(k.output.shape) / rows);
  };
  for (const k of kernels) {
    if (members.length > 0 && canJoin(k)) {
      members.push(k);
      memberRows.set(k.output, sizeOf(k.output.shape) / rows);
      continue;
    }
    if (members.length > 0 && k.inputs.some((v) => memberRows.has(v) || waitingOutputs.has(v))) {
      waiting.push(k);
      waitingOutputs.add(k.output);
      continue;
    }
    close();
    if (groupRows(k) !== undefined && splits(k)) start(k);
    else ordered.push(k);
  }
  close();
  return { kernels: ordered, groups };
}
