/**
 * The WebGPU backend's own fusion, after the shared pass: a matmul whose result only an elementwise kernel
 * reads, element by element, takes that kernel as its epilogue (bias, activation, residual add), and a run of
 * reductions over the last axis with the elementwise kernels between them (softmax, logSoftmax, layerNorm,
 * cross-entropy) becomes one row kernel. Then each kernel is turned into its dispatches.
 * @module
 */
import { type Graph, type Shape, sizeOf, stridesOf, type Var } from "../../dsl/ir/mod.ts";
import type { Affine, Expr, Kernel, Program } from "../passes/fuse.ts";
import { elementwiseDispatches } from "./elementwise.ts";
import { loadsOf, mapLoads } from "./expr.ts";
import { WEBGPU_LOWERING, type WgslKernel } from "./lowering.ts";
import { attentionDispatches, type AttentionKernel, attentionKernel } from "./attention.ts";
import { type GpuMatmulKernel, matmulDispatches } from "./matmul.ts";
import { reduceDispatches } from "./reduce.ts";
import { rowDispatches, type RowKernel, type RowMember } from "./rows.ts";
import { scatterDispatches } from "./scatter.ts";
import type { Dispatch, KernelContext, WebGpuBuffer } from "./wgsl.ts";

/**
 * A kernel of the WebGPU backend: one of the fusion pass's, a matmul with an epilogue, a row kernel, or a
 * fused attention.
 *
 * @example
 * ```ts
 * import type { GpuKernel } from "./fusion.ts";
 * const kinds = (ks: readonly GpuKernel[]) => ks.map((k) => k.kind).join();
 * if (kinds([]) !== "") throw new Error();
 * ```
 */
export type GpuKernel = Exclude<Kernel, { kind: "matmul" }> | GpuMatmulKernel | RowKernel | AttentionKernel;

/**
 * A program of WebGPU kernels, with the shared program it was made from.
 *
 * @example
 * ```ts
 * import type { GpuProgram } from "./fusion.ts";
 * const count = (p: GpuProgram) => p.kernels.length;
 * if (typeof count !== "function") throw new Error();
 * ```
 */
export interface GpuProgram {
  /** The graph after simplification. */
  readonly simplified: Graph;
  /** The fusion pass's program. */
  readonly fused: Program;
  /** The kernels run, in order. */
  readonly kernels: readonly GpuKernel[];
  /** The kernel that computes a shared kernel's output: itself, a merged one, or none (merged away). */
  kernelOf(k: Kernel): GpuKernel | undefined;
}

/** Does `at` read, over iteration space `shape`, the element being computed (row-major, same size)? */
function inLockstep(at: Affine, shape: Shape): boolean {
  const strides = stridesOf(shape);
  return at.offset === 0 && at.coeffs.every((c, d) => c === strides[d] || shape[d] === 1);
}

/**
 * Does `at`, over iteration space `shape` whose last `cols` axis spans a row (or over a per-row space when
 * `cols` is 1), read the row's own element of a per-row value?
 */
function readsRow(at: Affine, shape: Shape, perElement: boolean): boolean {
  const lead = perElement ? shape.slice(0, -1) : shape;
  const strides = stridesOf(lead);
  return at.offset === 0 &&
    at.coeffs.every((c, d) => d >= lead.length ? c === 0 : c === strides[d] || lead[d] === 1);
}

/** Iteration space and body of a kernel that may join a row kernel. */
function rowShapeOf(k: GpuKernel): { shape: Shape; expr: Expr } | undefined {
  if (k.kind === "reduce") {
    const last = k.inShape.length - 1;
    return k.axes.length === 1 && k.axes[0] === last ? { shape: k.inShape, expr: k.prologue } : undefined;
  }
  if (k.kind === "elementwise") return { shape: k.shape, expr: k.expr };
  return undefined;
}

/**
 * Finds row kernels: from a reduction over the last axis of `[..., C]` (R rows), the kernels after it that
 * reduce or map rows of the same R × C, or map the R per-row values, reading the members before them only
 * at their own row (or element), join; kernels in between that read no member stay outside. The group ends
 * at the last member such that every member before it is read only inside the group.
 */
function rowGroups(kernels: readonly GpuKernel[], graph: Graph): GpuKernel[] {
  const readers = new Map<Var, GpuKernel[]>();
  for (const k of kernels) for (const v of new Set(k.inputs)) readers.set(v, [...(readers.get(v) ?? []), k]);
  const outputs = new Set(graph.outputs);
  const taken = new Map<GpuKernel, RowKernel | null>();
  kernels.forEach((first, i) => {
    if (taken.has(first) || first.kind !== "reduce") return;
    const start = rowShapeOf(first);
    if (!start) return;
    const cols = start.shape[start.shape.length - 1];
    const rows = sizeOf(start.shape) / cols;
    if (cols < 2 || rows === 0) return;
    const members: RowMember[] = [];
    const memberOf = new Map<Var, number>();
    const join = (k: GpuKernel): boolean => {
      const body = rowShapeOf(k);
      if (!body || taken.has(k)) return false;
      const size = sizeOf(body.shape);
      const perElement = size === rows * cols && body.shape[body.shape.length - 1] === cols;
      if (!perElement && (size !== rows || k.kind === "reduce")) return false;
      const loads = loadsOf(body.expr);
      // Every kernel after the first reads a member (others stay outside).
      if (members.length > 0 && !loads.some((l) => memberOf.has(k.inputs[l.input]))) return false;
      const ok = loads.every((l) => {
        const m = memberOf.get(k.inputs[l.input]);
        if (m === undefined) return true;
        const member = members[m];
        if (member.perRow) return readsRow(l.at, body.shape, perElement);
        return perElement && member.shape.join() === body.shape.join() && inLockstep(l.at, body.shape);
      });
      if (!ok) return false;
      memberOf.set(k.output, members.length);
      members.push({
        kernel: k,
        shape: body.shape,
        expr: body.expr,
        reduce: k.kind === "reduce" ? k.op : undefined,
        perRow: k.kind === "reduce" || !perElement,
      });
      return true;
    };
    join(first);
    for (const k of kernels.slice(i + 1)) {
      if (join(k)) continue;
      // A kernel that reads a member but cannot join ends the search.
      if (k.inputs.some((v) => memberOf.has(v))) break;
    }
    // The longest prefix whose members, but its last, are read only by members of the prefix.
    let end = -1;
    for (let e = 1; e < members.length; e++) {
      const inside = new Set(members.slice(0, e + 1).map((m) => m.kernel));
      const closed = members.slice(0, e).every((m) =>
        !outputs.has(m.kernel.output) && (readers.get(m.kernel.output) ?? []).every((r) => inside.has(r))
      );
      if (closed) end = e;
    }
    if (end < 1) return;
    const group = members.slice(0, end + 1);
    const row: RowKernel = makeRowKernel(group, rows, cols);
    group.forEach((m, j) => taken.set(m.kernel as GpuKernel, j === end ? row : null));
  });
  return kernels.flatMap((k) => {
    const t = taken.get(k);
    return t === undefined ? [k] : t === null ? [] : [t];
  });
}

/** A row kernel from its members: external inputs renumbered, member reads as negative inputs. */
function makeRowKernel(group: readonly RowMember[], rows: number, cols: number): RowKernel {
  const inputs: Var[] = [];
  const memberOf = new Map<Var, number>(group.map((m, j) => [m.kernel.output, j]));
  const members = group.map((m) => ({
    ...m,
    expr: mapLoads(m.expr, (l) => {
      const v = m.kernel.inputs[l.input];
      const j = memberOf.get(v);
      if (j !== undefined) return { ...l, input: -1 - j };
      let input = inputs.indexOf(v);
      if (input < 0) input = inputs.push(v) - 1;
      return { ...l, input };
    }),
  }));
  const last = group[group.length - 1].kernel;
  return {
    kind: "rows",
    rows,
    cols,
    inputs,
    output: last.output,
    eqns: group.flatMap((m) => m.kernel.eqns),
    members,
  };
}

/**
 * Merges each matmul whose result only one elementwise kernel reads, in lockstep, into that kernel as its
 * epilogue (the elementwise kernel's place in the order, the matmul's operands first).
 */
function epilogues(kernels: readonly GpuKernel[], graph: Graph): GpuKernel[] {
  const readers = new Map<Var, GpuKernel[]>();
  for (const k of kernels) for (const v of new Set(k.inputs)) readers.set(v, [...(readers.get(v) ?? []), k]);
  const outputs = new Set(graph.outputs);
  const merged = new Map<GpuKernel, GpuKernel | null>();
  for (const m of kernels) {
    if (m.kind !== "matmul" || m.epilogue || outputs.has(m.output)) continue;
    const users = readers.get(m.output) ?? [];
    const e = users[0];
    if (users.length !== 1 || e.kind !== "elementwise" || merged.has(e)) continue;
    if (sizeOf(e.shape) !== sizeOf(m.output.shape) || e.output.dtype !== "float32") continue;
    const reads = loadsOf(e.expr).filter((l) => e.inputs[l.input] === m.output);
    if (!reads.every((l) => inLockstep(l.at, e.shape))) continue;
    const inputs: Var[] = [...m.inputs];
    const expr = mapLoads(e.expr, (l) => {
      const v = e.inputs[l.input];
      if (v === m.output) return { kind: "acc", dtype: "float32" };
      let input = inputs.indexOf(v, 2);
      if (input < 0) input = inputs.push(v) - 1;
      return { ...l, input };
    });
    merged.set(m, null);
    merged.set(e, {
      ...m,
      inputs,
      output: e.output,
      eqns: [...m.eqns, ...e.eqns],
      epilogue: { shape: e.shape, expr },
    });
  }
  return kernels.flatMap((k) => {
    const t = merged.get(k);
    return t === undefined ? [k] : t === null ? [] : [t];
  });
}

/**
 * Merges each run of scores matmul, softmax row kernel and values matmul that read each other's results only
 * (and are no graph outputs) into one attention kernel (`attention.ts`), at the values matmul's place.
 */
function attentions(kernels: readonly GpuKernel[], graph: Graph): GpuKernel[] {
  const readers = new Map<Var, GpuKernel[]>();
  for (const k of kernels) for (const v of new Set(k.inputs)) readers.set(v, [...(readers.get(v) ?? []), k]);
  const outputs = new Set(graph.outputs);
  const only = (v: Var) => {
    const users = readers.get(v) ?? [];
    return users.length === 1 && !outputs.has(v) ? users[0] : undefined;
  };
  const merged = new Map<GpuKernel, GpuKernel | null>();
  for (const scores of kernels) {
    if (scores.kind !== "matmul") continue;
    const weights = only(scores.output);
    const values = weights?.kind === "rows" ? only(weights.output) : undefined;
    if (weights?.kind !== "rows" || values?.kind !== "matmul") continue;
    const fused = attentionKernel(scores, weights, values);
    if (!fused) continue;
    merged.set(scores, null).set(weights, null).set(values, fused);
  }
  return kernels.flatMap((k) => {
    const t = merged.get(k);
    return t === undefined ? [k] : t === null ? [] : [t];
  });
}

/**
 * The WebGPU program of a fused program: row kernels, matmul epilogues and attentions merged (unless `merge`
 * is false, for devices whose binding limit the merged kernels would pass).
 *
 * @example
 * ```ts
 * import { tensor, trace } from "../../mod.ts";
 * import { optimize } from "../passes/simplify.ts";
 * import { fuse } from "../passes/fuse.ts";
 * import { gpuProgram } from "./fusion.ts";
 * const g = optimize(trace((x, w, b) => x.matmul(w).add(b).relu(), tensor([[1, 2]]), tensor([[1], [2]]), tensor([1])));
 * const p = gpuProgram(fuse(g));
 * if (p.kernels.length !== 1 || p.kernels[0].kind !== "matmul") throw new Error(); // bias and relu merged
 * ```
 */
export function gpuProgram(fused: Program, options: { merge?: boolean } = {}): GpuProgram {
  const shared = fused.kernels as readonly GpuKernel[];
  const kernels = options.merge === false
    ? shared
    : attentions(epilogues(rowGroups(shared, fused.graph), fused.graph), fused.graph);
  const byOutput = new Map<Var, GpuKernel>(kernels.map((k) => [k.output, k]));
  return {
    simplified: fused.graph,
    fused,
    kernels,
    kernelOf: (k) => byOutput.get(k.output),
  };
}

/**
 * The dispatches of one kernel, reading `inputs` (one per `k.inputs`) and writing `out`; `inPlace` when the
 * memory plan has it write over its first input.
 *
 * @example
 * ```ts
 * import { tensor, trace } from "../../mod.ts";
 * import { fuse } from "../passes/fuse.ts";
 * import { kernelDispatches } from "./fusion.ts";
 * import { WebGpuBuffer } from "./wgsl.ts";
 * const [k] = fuse(trace((x) => x.neg(), tensor([1, 2]))).kernels;
 * const none = new WebGpuBuffer(undefined as unknown as GPUBuffer, 0);
 * if (kernelDispatches(k, [none], none, { scratch: () => none }, false).length !== 1) throw new Error();
 * ```
 */
export function kernelDispatches(
  k: GpuKernel,
  inputs: readonly WebGpuBuffer[],
  out: WebGpuBuffer,
  ctx: KernelContext,
  inPlace: boolean,
): Dispatch[] {
  switch (k.kind) {
    case "elementwise":
      return elementwiseDispatches(k, inputs, out);
    case "reduce":
      return reduceDispatches(k, inputs, out);
    case "matmul":
      return matmulDispatches(k, inputs, out, ctx);
    case "scatter":
      return scatterDispatches(k, inputs, out, inPlace);
    case "rows":
      return rowDispatches(k, inputs, out);
    case "attention":
      return attentionDispatches(k, inputs, out);
    case "opaque": {
      const lowering = WEBGPU_LOWERING[k.eqn.prim] as WgslKernel<typeof k.eqn.prim>;
      if (!("kernel" in lowering)) {
        throw new Error(
          `webgpu backend: fusion left ${k.eqn.prim} on its own, but it lowers as "${lowering.fused}"`,
        );
      }
      return lowering.kernel(k.eqn, inputs, out);
    }
  }
}
