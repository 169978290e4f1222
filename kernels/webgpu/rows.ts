/**
 * Row kernels: softmax, logSoftmax, layerNorm, cross-entropy and the like, whose reductions run over the
 * last axis of an R × C array and whose elementwise steps read each row's reduced values. One workgroup
 * takes one row: its invocations stride over the row for each reduction, combine their partial results in
 * workgroup memory (a tree), and share the row's values, so every member of the group runs in one
 * dispatch, nothing but the last member's result is written, and intermediate per-element values are
 * recomputed where they are read instead of stored.
 * @module
 */
import { type Shape, sizeOf, type Var } from "../../dsl/ir/mod.ts";
import type { Eqn } from "../../dsl/ir/mod.ts";
import type { Expr } from "../passes/fuse.ts";
import { emitExpr, mapLoads } from "./expr.ts";
import { reduction, treeSteps } from "./reduce.ts";
import { bindings, type Dispatch, indicesOf, spread, u32Literal, type WebGpuBuffer, word } from "./wgsl.ts";

/**
 * One kernel of a row group: its iteration space (`[..., C]` per element, or the R rows), its body (loads
 * with a negative input `-1 - j` read member j), and whether its result is one value per row.
 *
 * @example
 * ```ts
 * import type { RowMember } from "./rows.ts";
 * const perRow = (m: RowMember) => m.perRow;
 * if (typeof perRow !== "function") throw new Error();
 * ```
 */
export interface RowMember {
  /** The kernel of the shared program it comes from. */
  readonly kernel: {
    readonly kind: string;
    readonly output: Var;
    readonly inputs: readonly Var[];
    readonly eqns: readonly Eqn[];
  };
  /** Its iteration space. */
  readonly shape: Shape;
  /** Its body: a reduction's prologue or an elementwise kernel's expression. */
  readonly expr: Expr;
  /** The reduction, for a reduction. */
  readonly reduce?: "sum" | "max";
  /** Whether its result is one value per row. */
  readonly perRow: boolean;
}

/**
 * A row kernel: `members` run in order on each of `rows` rows of `cols` elements; the last one's result is
 * the output.
 *
 * @example
 * ```ts
 * import { tensor, trace } from "../../mod.ts";
 * import { optimize } from "../passes/simplify.ts";
 * import { fuse } from "../passes/fuse.ts";
 * import { gpuProgram } from "./fusion.ts";
 * import type { RowKernel } from "./rows.ts";
 * const p = gpuProgram(fuse(optimize(trace((x) => x.softmax(), tensor([[1, 2, 3]])))));
 * const k = p.kernels[0] as RowKernel;
 * if (p.kernels.length !== 1 || k.kind !== "rows" || k.cols !== 3) throw new Error();
 * ```
 */
export interface RowKernel {
  readonly kind: "rows";
  readonly rows: number;
  readonly cols: number;
  readonly inputs: readonly Var[];
  readonly output: Var;
  readonly eqns: readonly Eqn[];
  readonly members: readonly RowMember[];
}

/**
 * The dispatch of a row kernel: one workgroup per row.
 *
 * @example
 * ```ts
 * import { tensor, trace } from "../../mod.ts";
 * import { optimize } from "../passes/simplify.ts";
 * import { fuse } from "../passes/fuse.ts";
 * import { gpuProgram } from "./fusion.ts";
 * import { type RowKernel, rowDispatches } from "./rows.ts";
 * import { WebGpuBuffer } from "./wgsl.ts";
 * const k = gpuProgram(fuse(optimize(trace((x) => x.softmax(), tensor([[1, 2, 3]]))))).kernels[0] as RowKernel;
 * const none = new WebGpuBuffer(undefined as unknown as GPUBuffer, 0);
 * if (rowDispatches(k, [none], none)[0].groups[0] !== 1) throw new Error();
 * ```
 */
export function rowDispatches(k: RowKernel, inputs: readonly WebGpuBuffer[], out: WebGpuBuffer): Dispatch[] {
  const { rows, cols, members } = k;
  if (rows === 0) return [];
  const threads = 64;
  // Per-element members are recomputed where they are read: substitute their bodies.
  const resolved: Expr[] = [];
  const resolve = (e: Expr): Expr =>
    mapLoads(e, (l) => (l.input < 0 && !members[-1 - l.input].perRow ? resolved[-1 - l.input] : l));
  members.forEach((m) => resolved.push(resolve(m.expr)));
  const loadOf = (l: Extract<Expr, { kind: "load" }>) => (l.input < 0 ? `v${-1 - l.input}` : undefined);
  const types = new Set<string>();
  const lines: string[] = [];
  const lastIndex = members.length - 1;
  members.forEach((m, j) => {
    const last = j === lastIndex;
    if (!m.perRow && !last) return; // computed where it is read
    const perElement = sizeOf(m.shape) !== rows;
    const lead = perElement ? m.shape.slice(0, -1) : m.shape;
    const index = indicesOf("row", lead, `r${j}_`);
    const names = perElement ? [...index.names, `c${j}`] : index.names;
    const { code, value } = emitExpr(resolved[j], { indices: names, loadOf }, `t${j}_`);
    if (m.reduce) {
      const { init, type, step } = reduction(m.reduce, m.kernel.output.dtype);
      types.add(type);
      // A float max strides with the device's max and notes NaNs aside (cheaper than an IEEE maximum per
      // element); the tree then combines IEEE maxima, so NaN still wins. Signed zeros are the device's.
      const fastMax = m.reduce === "max" && type === "f32";
      lines.push(`${index.code}
  var acc${j} = ${init};
  ${fastMax ? `var nan${j} = false;` : ""}
  for (var c = lane; c < ${u32Literal(cols)}; c += ${threads}u) {
    let c${j} = i32(c);
    ${code}
    ${
        fastMax
          ? `acc${j} = max(acc${j}, ${value}); nan${j} = nan${j} | is_nan(${value});`
          : step(`acc${j}`, value)
      }
  }
  ${fastMax ? `if (nan${j}) { acc${j} = nan_f32(); }` : ""}
  partial_${type}[lane] = acc${j};
  workgroupBarrier();
${treeSteps(threads, 1, step, `partial_${type}`)}
  let v${j} = partial_${type}[0];
  workgroupBarrier();`);
      if (last) lines.push(`if (lane == 0u) { out[row] = ${word(`v${j}`, m.kernel.output.dtype)}; }`);
    } else if (perElement) {
      // The last member, per element.
      lines.push(`${index.code}
  for (var c = lane; c < ${u32Literal(cols)}; c += ${threads}u) {
    let c${j} = i32(c);
    ${code}
    out[row * ${u32Literal(cols)} + c] = ${word(value, m.kernel.output.dtype)};
  }`);
    } else {
      lines.push(`${index.code}
  ${code}
  let v${j} = ${value};`);
      if (last) lines.push(`if (lane == 0u) { out[row] = ${word(`v${j}`, m.kernel.output.dtype)}; }`);
    }
  });
  const source = `${bindings(inputs.length)}
${[...types].map((t) => `var<workgroup> partial_${t}: array<${t}, ${threads}>;`).join("\n")}
@compute @workgroup_size(${threads})
fn main(@builtin(workgroup_id) group: vec3<u32>, @builtin(local_invocation_index) lane: u32) {
  let row = group.y * 65535u + group.x;
  if (row >= ${u32Literal(rows)}) { return; }
  let y = lane;
  ${lines.join("\n  ")}
}
`;
  return [{ source, out, inputs, groups: spread(rows) }];
}
