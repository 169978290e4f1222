/**
 * Memory planning: assigns every value a fused program materializes to a buffer slot, reusing the slot of a
 * value once its last reader has run (liveness), and writing in place where a kernel reads an operand that
 * dies at that kernel element by element at the very position it writes. Graph inputs and outputs are never
 * planned: inputs belong to the caller and outputs escape to the user.
 * @module
 */
import type { DType } from "../../dsl/ir/dtype.ts";
import type { Graph, Var } from "../../dsl/ir/graph.ts";
import { sizeOf, stridesOf } from "../../dsl/ir/shape.ts";
import type { Expr, Kernel, Program } from "./fuse.ts";

/**
 * Bytes per element of each dtype in backend buffers.
 *
 * @example
 * ```ts
 * import { BYTES_PER_ELEMENT } from "./memory.ts";
 * if (BYTES_PER_ELEMENT.bool !== 1 || BYTES_PER_ELEMENT.float32 !== 4) throw new Error();
 * ```
 */
export const BYTES_PER_ELEMENT: Readonly<Record<DType, number>> = { float32: 4, int32: 4, bool: 1 };

/**
 * Bytes a value of this shape and dtype occupies.
 *
 * @example
 * ```ts
 * import { Var } from "../../mod.ts";
 * import { byteSize } from "./memory.ts";
 * if (byteSize(new Var(0, [2, 3], "float32")) !== 24) throw new Error();
 * ```
 */
export function byteSize(v: Var): number {
  return sizeOf(v.shape) * BYTES_PER_ELEMENT[v.dtype];
}

/**
 * Where a planned value lives: a slot the executable owns, or the buffer of a donated graph input.
 *
 * @example
 * ```ts
 * import type { Storage } from "./memory.ts";
 * const slot: Storage = { slot: 0 };
 * if (!("slot" in slot)) throw new Error();
 * ```
 */
export type Storage = { readonly slot: number } | { readonly input: Var };

/**
 * Where each planned value lives.
 *
 * @example
 * ```ts
 * import { trace, tensor } from "../../mod.ts";
 * import { fuse } from "./fuse.ts";
 * import { type MemoryPlan, planMemory } from "./memory.ts";
 * const plan: MemoryPlan = planMemory(fuse(trace((x) => x.matmul(x).matmul(x), tensor([[1]]))));
 * if (plan.slotBytes.length !== 1) throw new Error(); // one intermediate
 * ```
 */
export interface MemoryPlan<K = Kernel> {
  /** The storage of each value a kernel writes, except graph outputs that get fresh buffers. */
  readonly storage: ReadonlyMap<Var, Storage>;
  /** The size in bytes of each slot. */
  readonly slotBytes: readonly number[];
  /** Kernels whose output reuses the storage of one of their inputs (written in place). */
  readonly inPlace: ReadonlySet<K>;
}

/**
 * What the plan needs of a kernel: its kind, what it reads and what it writes. A backend may plan kernels of
 * its own kinds (merged by its own passes): only elementwise and scatter kernels are written in place.
 *
 * @example
 * ```ts
 * import { Var } from "../../mod.ts";
 * import type { PlannedKernel } from "./memory.ts";
 * const k: PlannedKernel = { kind: "rows", inputs: [], output: new Var(0, [2], "float32") };
 * if (k.kind !== "rows") throw new Error();
 * ```
 */
export interface PlannedKernel {
  readonly kind: string;
  readonly inputs: readonly Var[];
  readonly output: Var;
}

/**
 * The loads of input `input` in an expression, and the gathers whose table it is (a gathered row is read
 * anywhere in the table); a gather's indices are searched too.
 *
 * @example
 * ```ts
 * import { loadsOf } from "./memory.ts";
 * const x = { kind: "load", dtype: "float32", input: 0, at: { offset: 0, coeffs: [1] } } as const;
 * const e = { kind: "op", prim: "mul", dtype: "float32", params: {}, args: [x, x] } as const;
 * if (loadsOf(e, 0).length !== 2 || loadsOf(e, 1).length !== 0) throw new Error();
 * ```
 */
export function loadsOf(e: Expr, input: number, out: Expr[] = []): Expr[] {
  switch (e.kind) {
    case "load":
      if (e.input === input) out.push(e);
      break;
    case "op":
      e.args.forEach((a) => loadsOf(a, input, out));
      break;
    case "pad":
      loadsOf(e.inside, input, out);
      break;
    case "gather":
      // A gathered row is read anywhere in the table: never in lockstep with the output.
      if (e.input === input) out.push(e);
      loadsOf(e.index, input, out);
      break;
  }
  return out;
}

/** True when every read of input `i` in an elementwise kernel is at the element being written. */
function readsInLockstep(k: Kernel, i: number): boolean {
  if (k.kind !== "elementwise") return false;
  const strides = stridesOf(k.shape);
  return loadsOf(k.expr, i).every((l) =>
    l.kind === "load" && l.at.offset === 0 &&
    l.at.coeffs.every((c, d) => c === strides[d] || k.shape[d] === 1)
  );
}

/** Can kernel `k` write its output over input `v` (which dies at `k`)? */
function canOverwrite(planned: PlannedKernel, v: Var): boolean {
  if (byteSize(v) !== byteSize(planned.output)) return false;
  if (planned.kind !== "scatter" && planned.kind !== "elementwise") return false;
  const k = planned as Kernel;
  // A scatter-add adds into its table row by row; nothing else may read the table meanwhile.
  if (k.kind === "scatter") return k.inputs[0] === v && !k.inputs.slice(1).includes(v);
  return readsInLockstep(k, k.inputs.indexOf(v));
}

/**
 * Plans buffers for a program. `donated` graph inputs may be overwritten in place once dead; a graph output
 * computed in place over a donated input takes over its buffer (how a training step updates params without
 * allocating, and a sparse update writes only the touched rows). `groups` are the program's row groups
 * (`kernels/passes/row_groups.ts`), kernels `[start, end)` that run interleaved.
 *
 * @example
 * ```ts
 * import { trace, tensor } from "../../mod.ts";
 * import { fuse } from "./fuse.ts";
 * import { planMemory } from "./memory.ts";
 * // A chain of four matmuls has three intermediates, but two slots suffice: the third reuses the first.
 * const g = trace((x) => x.matmul(x).matmul(x).matmul(x).matmul(x), tensor([[1, 2], [3, 4]]));
 * const plan = planMemory(fuse(g));
 * if (plan.slotBytes.length !== 2) throw new Error(`${plan.slotBytes.length} slots`);
 * ```
 */
export function planMemory<K extends PlannedKernel = Kernel>(
  program: Program | { readonly graph: Graph; readonly kernels: readonly K[] },
  donated: ReadonlySet<Var> = new Set(),
  groups: readonly { readonly start: number; readonly end: number }[] = [],
): MemoryPlan<K> {
  const { graph } = program;
  const kernels = program.kernels as readonly K[];
  const outputs = new Set<Var>(graph.outputs);
  // A row group's members run interleaved, block by block across threads: a value read inside a group lives
  // until the group's end, and a member overwrites in place only what no other member reads.
  const groupOf = kernels.map((_, i) => ({ start: i, end: i + 1 }));
  for (const g of groups) for (let i = g.start; i < g.end; i++) groupOf[i] = g;
  const lastUse = new Map<Var, number>();
  kernels.forEach((k, i) => k.inputs.forEach((v) => lastUse.set(v, groupOf[i].end - 1)));
  const readByOtherMember = (i: number, v: Var) =>
    kernels.slice(groupOf[i].start, groupOf[i].end).some((m, j) =>
      groupOf[i].start + j !== i && m.inputs.includes(v)
    );
  const storage = new Map<Var, Storage>();
  for (const v of donated) if (!outputs.has(v)) storage.set(v, { input: v });
  const slotBytes: number[] = [];
  const free = new Map<number, number[]>();
  const inPlace = new Set<K>();
  kernels.forEach((k, i) => {
    const out = k.output;
    // Values whose storage can be reused once this kernel has read them.
    // At a group's end, so are the values only its other members read.
    const read = groupOf[i].end - 1 === i
      ? kernels.slice(groupOf[i].start, i + 1).flatMap((m) => m.inputs)
      : [];
    const dying = [...new Set([...k.inputs, ...read])].filter((v) =>
      storage.has(v) && !outputs.has(v) && lastUse.get(v) === i
    );
    // A graph output escapes to the user, so it may only take over a donated input's buffer, never a slot.
    const reusable = dying.find((v) =>
      k.inputs.includes(v) && canOverwrite(k, v) && (!outputs.has(out) || "input" in storage.get(v)!) &&
      !readByOtherMember(i, v)
    );
    if (reusable) {
      storage.set(out, storage.get(reusable)!);
      inPlace.add(k);
      dying.splice(dying.indexOf(reusable), 1);
    } else if (!outputs.has(out)) {
      const bytes = byteSize(out);
      storage.set(out, { slot: free.get(bytes)?.pop() ?? slotBytes.push(bytes) - 1 });
    }
    for (const v of dying) {
      const s = storage.get(v)!;
      if (!("slot" in s)) continue;
      const list = free.get(slotBytes[s.slot]) ?? [];
      list.push(s.slot);
      free.set(slotBytes[s.slot], list);
    }
  });
  return { storage, slotBytes, inPlace };
}
