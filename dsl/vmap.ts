/**
 * Vectorising map: the batching rule of every primitive, and `vmap` built on them.
 *
 * `vmap(f)` traces `f` at the shapes of one example, then evaluates its graph on whole batches: each value is
 * either unbatched (the same for every example) or batched along axis 0, and each primitive's batching rule
 * computes its batched result with ordinary primitives (a batched matmul, a gather with offset indices, ...),
 * not a loop. The rules are written with `bind`, so `vmap` composes with `grad`, `jvp` and `jit`: per-example
 * gradients are `vmap(grad(loss), { inAxes: [null, 0, 0] })`.
 * @module
 */
import type { Graph, Var } from "./ir/graph.ts";
import type { PrimName, PrimParams } from "./ir/primitives.ts";
import { type Shape, showShape } from "./ir/shape.ts";
import { flatten, unflatten } from "./pytree.ts";
import { bind, bindEqn, type Tensor } from "./tensor.ts";
import { traceFlat } from "./trace.ts";

/**
 * The batching rule of primitive `P`: its result for a batch of `size` examples, batched along axis 0, from
 * operands of which those flagged in `batched` carry the batch along their axis 0 (at least one does when a
 * rule runs) and the others are the same for every example.
 *
 * @example
 * ```ts
 * import { BATCH_RULES, type BatchRule } from "./vmap.ts";
 * import { tensor } from "../mod.ts";
 * const rule: BatchRule<"reduce_sum"> = BATCH_RULES.reduce_sum;
 * const sums = rule([tensor([[1, 2], [3, 4]])], [true], { axes: [0] }, 2); // each example's own sum
 * if (sums.arraySync().toString() !== "3,7") throw new Error();
 * ```
 */
export type BatchRule<P extends PrimName> = (
  args: readonly Tensor[],
  batched: readonly boolean[],
  params: PrimParams<P>,
  size: number,
) => Tensor;

/** `x` (the same for every example) repeated along a new axis 0 of `size`. */
function repeat(x: Tensor, size: number): Tensor {
  const lifted = bind("reshape", [x], { shape: [1, ...x.shape] });
  return bind("broadcast", [lifted], { shape: [size, ...x.shape] });
}

/** Every operand batched along axis 0 (unbatched ones repeated). */
function allBatched(args: readonly Tensor[], batched: readonly boolean[], size: number): Tensor[] {
  return args.map((x, i) => (batched[i] ? x : repeat(x, size)));
}

/** Moves axis `from` of `x` to position `to`. */
function moveAxis(x: Tensor, from: number, to: number): Tensor {
  if (from === to) return x;
  const perm = x.shape.map((_, a) => a).filter((a) => a !== from);
  perm.splice(to, 0, from);
  return bind("transpose", [x], { perm });
}

const shift = (axes: readonly number[]) => axes.map((a) => a + 1);

/** Elementwise primitives batch by batching every operand: each example's elements stay in place. */
const elementwise = <P extends PrimName>(prim: P): BatchRule<P> => (args, batched, params, size) =>
  bind(prim as PrimName, allBatched(args, batched, size), params as never);

/** A rule that maps the primitive over the examples one at a time (for rare primitives with no batched form). */
const perExample = <P extends PrimName>(prim: P): BatchRule<P> => (args, batched, params, size) => {
  const examples = Array.from({ length: size }, (_, n) => {
    const own = args.map((x, i) => {
      if (!batched[i]) return x;
      const row = bind("slice", [x], {
        begin: x.shape.map((_, a) => (a === 0 ? n : 0)),
        size: [1, ...x.shape.slice(1)],
      });
      return bind("reshape", [row], { shape: x.shape.slice(1) });
    });
    const y = bind(prim as PrimName, own, params as never);
    return bind("reshape", [y], { shape: [1, ...y.shape] });
  });
  return bind("concat", examples, { axis: 0 });
};

/**
 * The flat row indices of a batched table `[size, rows, ...]` viewed as `[size · rows, ...]`: example b's
 * index i becomes `b · rows + i`.
 */
function offsetIndices(indices: Tensor, rows: number): Tensor {
  const example = bind("iota", [], { shape: [...indices.shape], axis: 0, dtype: "int32" });
  const offset = bind("mul", [
    example,
    bind("full", [], { shape: [...indices.shape], value: rows, dtype: "int32" }),
  ]);
  return bind("add", [indices, offset]);
}

/** Merges the batch axis into the rows of a table: `[size, rows, ...]` → `[size · rows, ...]`. */
function flatTable(table: Tensor): Tensor {
  return bind("reshape", [table], { shape: [table.shape[0] * table.shape[1], ...table.shape.slice(2)] });
}

/**
 * The batching rule of every primitive. Typed over `PrimName`: a primitive without a rule fails `deno check`.
 *
 * @example
 * ```ts
 * import { BATCH_RULES } from "./vmap.ts";
 * import { tensor } from "../mod.ts";
 * const table = tensor([[1], [2], [3]]);
 * const rows = BATCH_RULES.gather([table, tensor([[2], [0]], { dtype: "int32" })], [false, true], {}, 2);
 * if (JSON.stringify(rows.arraySync()) !== "[[[3]],[[1]]]") throw new Error();
 * ```
 */
export const BATCH_RULES: { readonly [P in PrimName]: BatchRule<P> } = {
  neg: elementwise("neg"),
  exp: elementwise("exp"),
  log: elementwise("log"),
  sqrt: elementwise("sqrt"),
  recip: elementwise("recip"),
  sin: elementwise("sin"),
  cos: elementwise("cos"),
  tanh: elementwise("tanh"),
  stop_gradient: elementwise("stop_gradient"),
  cast: elementwise("cast"),
  add: elementwise("add"),
  mul: elementwise("mul"),
  max: elementwise("max"),
  pow: elementwise("pow"),
  less: elementwise("less"),
  equal: elementwise("equal"),
  where: elementwise("where"),

  reduce_sum: ([x], _b, { axes }) => bind("reduce_sum", [x], { axes: shift(axes) }),
  reduce_max: ([x], _b, { axes }) => bind("reduce_max", [x], { axes: shift(axes) }),

  reshape: ([x], _b, { shape }, size) => bind("reshape", [x], { shape: [size, ...shape] }),
  transpose: ([x], _b, { perm }) => bind("transpose", [x], { perm: [0, ...shift(perm)] }),
  broadcast: ([x], _b, { shape }, size) => bind("broadcast", [x], { shape: [size, ...shape] }),
  slice: ([x], _b, { begin, size: extent }, size) =>
    bind("slice", [x], { begin: [0, ...begin], size: [size, ...extent] }),
  pad: ([x], _b, { low, high, value }) => bind("pad", [x], { low: [0, ...low], high: [0, ...high], value }),
  concat: (args, batched, { axis }, size) =>
    bind("concat", allBatched(args, batched, size), { axis: axis + 1 }),

  matmul: ([a, b], [batchedA, batchedB], _p, size) => {
    if (batchedA && batchedB) return bind("matmul", [a, b]);
    const r = batchedA ? a.shape.length - 1 : b.shape.length - 1; // rank of one example
    if (batchedA) {
      // [size, B..., m, k] · [B..., k, p]: the examples' rows stack into one product per batch entry.
      const [m, k] = a.shape.slice(-2);
      const lead = a.shape.slice(1, -2);
      const rows = bind("reshape", [moveAxis(a, 0, r - 2)], { shape: [...lead, size * m, k] });
      const out = bind("matmul", [rows, b]);
      const split = bind("reshape", [out], { shape: [...lead, size, m, b.shape[r - 1]] });
      return moveAxis(split, r - 2, 0);
    }
    // [B..., m, k] · [size, B..., k, p]: the examples' columns side by side.
    const [k, p] = b.shape.slice(-2);
    const lead = b.shape.slice(1, -2);
    const cols = bind("reshape", [moveAxis(b, 0, r - 1)], { shape: [...lead, k, size * p] });
    const out = bind("matmul", [a, cols]);
    const split = bind("reshape", [out], { shape: [...lead, a.shape[r - 2], size, p] });
    return moveAxis(split, r - 1, 0);
  },

  gather: ([table, indices], [batchedTable, batchedIndices], _p, size) => {
    if (!batchedTable) return bind("gather", [table, indices]);
    const ids = batchedIndices ? indices : repeat(indices, size);
    return bind("gather", [flatTable(table), offsetIndices(ids, table.shape[1])]);
  },
  scatter_add: (args, batched, _p, size) => {
    const [base, indices, updates] = allBatched(args, batched, size);
    const ids = offsetIndices(indices, base.shape[1]);
    const sum = bind("scatter_add", [flatTable(base), ids, updates]);
    return bind("reshape", [sum], { shape: [...base.shape] });
  },
  first_occurrence: perExample("first_occurrence"),

  full: (_args, _b, params, size) => repeat(bind("full", [], params), size),
  iota: (_args, _b, params, size) => repeat(bind("iota", [], params), size),
  random_bits: perExample("random_bits"),
};

/** The rule of `prim`, typed for params of any primitive (the table is keyed so that this is sound). */
function batchRule(prim: PrimName): BatchRule<PrimName> {
  return BATCH_RULES[prim] as BatchRule<PrimName>;
}

/** A value while a graph is evaluated on a batch: batched along axis 0, or the same for every example. */
interface Batched {
  readonly value: Tensor;
  readonly batched: boolean;
}

/** Evaluates `graph` on inputs of which some are batched along axis 0; every output comes back batched. */
function evalBatched(graph: Graph, inputs: readonly Batched[], size: number): Tensor[] {
  const env = new Map<Var, Batched>();
  graph.inputs.forEach((v, i) => env.set(v, inputs[i]));
  for (const c of graph.captures) env.set(c.v, { value: c.value as Tensor, batched: false });
  for (const e of graph.eqns) {
    const args = e.inputs.map((v) => env.get(v)!);
    const flags = args.map((a) => a.batched);
    const values = args.map((a) => a.value);
    env.set(
      e.out,
      flags.some(Boolean)
        ? { value: batchRule(e.prim)(values, flags, e.params, size), batched: true }
        : { value: bindEqn(e, values), batched: false },
    );
  }
  return graph.outputs.map((v) => {
    const { value, batched } = env.get(v)!;
    return batched ? value : repeat(value, size);
  });
}

/**
 * Options of `vmap`.
 *
 * @example
 * ```ts
 * import { tensor, type Tensor, vmap, type VmapOptions } from "../mod.ts";
 * const options: VmapOptions = { inAxes: [0, null], outAxes: 0 };
 * const scaled = vmap((row: Tensor, s: Tensor) => row.mul(s), options)(tensor([[1, 2], [3, 4]]), tensor(10));
 * if (JSON.stringify(scaled.arraySync()) !== "[[10,20],[30,40]]") throw new Error();
 * ```
 */
export interface VmapOptions {
  /**
   * The axis each argument is mapped over: one number for every argument, or one entry per argument
   * (`null`: the argument is the same for every example). Negative axes count from the end. Default 0.
   */
  inAxes?: number | readonly (number | null)[];
  /** Where the mapped axis goes in every output (negative counts from the end). Default 0. */
  outAxes?: number;
}

function normalizeAxis(axis: number, rank: number, what: string): number {
  const a = axis < 0 ? axis + rank : axis;
  if (!Number.isInteger(axis) || a < 0 || a >= rank) {
    throw new RangeError(`vmap: ${what} axis ${axis} is out of range for rank ${rank}`);
  }
  return a;
}

/**
 * Vectorises `f` over an axis of its arguments (JAX's `vmap`): `vmap(f)(xs)` computes `f` on every slice of
 * `xs` along `inAxes` and stacks the results along `outAxes`, in one graph of batched primitives (no loop).
 * Arguments may be pytrees; an argument whose axis is `null` is passed to every call as it is. Composes with
 * `grad`, `jvp`, `jit` and other `vmap`s.
 *
 * @example
 * ```ts
 * import { grad, jit, tensor, type Tensor, vmap } from "../mod.ts";
 * // Per-example gradients of a linear model's squared error.
 * const loss = (w: Tensor, x: Tensor, y: Tensor) => x.mul(w).sum().sub(y).square();
 * const perExample = jit(vmap(grad(loss), { inAxes: [null, 0, 0] }));
 * const g = perExample(tensor([1, 1]), tensor([[1, 2], [3, 4]]), tensor([0, 10]));
 * if (JSON.stringify(g.arraySync()) !== "[[6,12],[-18,-24]]") throw new Error(JSON.stringify(g.arraySync()));
 * ```
 */
export function vmap<F extends (...args: any[]) => any>(
  f: F,
  options: VmapOptions = {},
): (...args: Parameters<F>) => ReturnType<F> {
  const { inAxes = 0, outAxes = 0 } = options;
  return (...args: Parameters<F>) => {
    if (Array.isArray(inAxes) && inAxes.length !== args.length) {
      throw new RangeError(
        `vmap: inAxes has ${inAxes.length} entries but the function was called with ${args.length} arguments; ` +
          "give one axis (or null) per argument",
      );
    }
    const axisOf = (i: number) => (Array.isArray(inAxes) ? inAxes[i] : inAxes as number);
    let size: number | undefined;
    let sizeFrom = "";
    const inputs: Batched[] = [];
    const avals: { shape: Shape; dtype: Tensor["dtype"] }[] = [];
    args.forEach((arg, i) => {
      const axis = axisOf(i);
      flatten(arg).leaves.forEach((leaf, j) => {
        if (axis === null || axis === undefined) {
          inputs.push({ value: leaf, batched: false });
          avals.push({ shape: leaf.shape, dtype: leaf.dtype });
          return;
        }
        const a = normalizeAxis(axis, leaf.rank, `argument ${i}'s`);
        const n = leaf.shape[a];
        const where = `argument ${i}${flatten(arg).leaves.length > 1 ? ` (leaf ${j})` : ""} ${
          showShape(leaf.shape)
        }`;
        if (size === undefined) [size, sizeFrom] = [n, where];
        else if (n !== size) {
          throw new RangeError(
            `vmap: mapped axes disagree: ${sizeFrom} has ${size} examples along its axis, ${where} has ${n}; ` +
              "every mapped axis must have the same size",
          );
        }
        inputs.push({ value: moveAxis(leaf, a, 0), batched: true });
        avals.push({ shape: leaf.shape.filter((_, d) => d !== a), dtype: leaf.dtype });
      });
    });
    if (size === undefined) {
      throw new TypeError(
        "vmap: no argument is mapped (inAxes are all null, or the arguments hold no tensors)",
      );
    }
    const { graph, outDef } = traceFlat(f, flatten(args).def, avals);
    const outs = evalBatched(graph, inputs, size).map((y) =>
      moveAxis(y, 0, normalizeAxis(outAxes, y.rank, "out"))
    );
    return unflatten(outDef, outs) as ReturnType<F>;
  };
}
