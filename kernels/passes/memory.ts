/**
 * Memory planning: assigns every value a fused program materializes to a buffer slot, reusing the slot of a
 * value once its last reader has run (liveness), and writing in place where a kernel reads an operand that
 * dies at that kernel element by element at the very position it writes. Graph inputs and outputs are never
 * planned: inputs belong to the caller and outputs escape to the user.
 * @module
 */
import type { DType } from "../../dsl/dtype.ts";
import type { Var } from "../../dsl/graph.ts";
import { sizeOf, stridesOf } from "../../dsl/shape.ts";
import type { Expr, Kernel, Program } from "./fuse.ts";

/** Bytes per element of each dtype in backend buffers. */
export const BYTES_PER_ELEMENT: Readonly<Record<DType, number>> = { float32: 4, int32: 4, bool: 1 };

/** Bytes a value of this shape and dtype occupies. */
export function byteSize(v: Var): number {
  return sizeOf(v.shape) * BYTES_PER_ELEMENT[v.dtype];
}

/** Where each planned value lives. */
export interface MemoryPlan {
  /** The slot of each planned (intermediate) value. */
  readonly slotOf: ReadonlyMap<Var, number>;
  /** The size in bytes of each slot. */
  readonly slotBytes: readonly number[];
  /** Kernels whose output reuses the slot of one of their inputs (written in place). */
  readonly inPlace: ReadonlySet<Kernel>;
  /** For each kernel, the planned values whose last reader it is (their slots are free after it). */
  readonly dies: readonly (readonly Var[])[];
}

function loadsOf(e: Expr, input: number, out: Expr[] = []): Expr[] {
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

/**
 * Plans buffers for a program.
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
export function planMemory(program: Program): MemoryPlan {
  const { graph, kernels } = program;
  const external = new Set<Var>([...graph.inputs, ...graph.captures.map((c) => c.v), ...graph.outputs]);
  const lastUse = new Map<Var, number>();
  kernels.forEach((k, i) => k.inputs.forEach((v) => lastUse.set(v, i)));
  const slotOf = new Map<Var, number>();
  const slotBytes: number[] = [];
  const free = new Map<number, number[]>();
  const inPlace = new Set<Kernel>();
  const dies: Var[][] = kernels.map(() => []);
  kernels.forEach((k, i) => {
    const out = k.output;
    const dying = [...new Set(k.inputs)].filter((v) => !external.has(v) && lastUse.get(v) === i);
    if (!external.has(out)) {
      const bytes = byteSize(out);
      const reusable = dying.find((v) =>
        byteSize(v) === bytes &&
        ((k.kind === "opaque" && k.eqn.prim === "scatter_add" && k.inputs[0] === v) ||
          readsInLockstep(k, k.inputs.indexOf(v)))
      );
      if (reusable) {
        slotOf.set(out, slotOf.get(reusable)!);
        inPlace.add(k);
        dying.splice(dying.indexOf(reusable), 1);
      } else {
        const slot = free.get(bytes)?.pop() ?? slotBytes.push(bytes) - 1;
        slotOf.set(out, slot);
      }
    }
    for (const v of dying) {
      const slot = slotOf.get(v)!;
      const list = free.get(slotBytes[slot]) ?? [];
      list.push(slot);
      free.set(slotBytes[slot], list);
    }
    dies[i] = dying;
  });
  return { slotOf, slotBytes, inPlace, dies };
}
