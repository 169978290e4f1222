/**
 * Attention without its scores or weights in memory (flash attention's forward pass, Dao et al. 2022): where
 * a batched matmul `S = Q·Kᵀ` (with its epilogue: scale, mask), a softmax row kernel over S and a batched
 * matmul `P·V` read each other's results only, one kernel computes `P·V` directly. An invocation takes one
 * query row, with the row of Q and its row of the result in registers; its workgroup (32 queries of one
 * batch) walks the keys in blocks whose rows of K and V it stages in workgroup memory, computes the block's
 * scores through the epilogue and the row kernel's own expression, and folds them in as an online softmax:
 * a running max `m`, a running sum `l = Σ exp(x - m)` and the weighted sum of V's rows, all three rescaled by
 * `exp(m_old - m_new)` when the max grows. The `[batch, queries, keys]` scores are never written.
 *
 * Where a graph reads the weights elsewhere (training: autodiff keeps them for the backward pass), the
 * three kernels stay as they are.
 * @module
 */
import type { Eqn, Var } from "../../dsl/ir/mod.ts";
import type { Expr } from "../passes/fuse.ts";
import { emitExpr, loadsOf, sameExpr } from "./expr.ts";
import type { GpuMatmulKernel } from "./matmul.ts";
import { lockstep, resolveMembers, type RowKernel } from "./rows.ts";
import { difference, perRowOnly, rowStages } from "./row_stages.ts";
import { bindings, type Dispatch, indicesOf, load, u32Literal, type WebGpuBuffer, word } from "./wgsl.ts";

/**
 * How the row kernel turns a row of scores into weights, as an online softmax: the row value `x` (an
 * expression of the score), the max (member `max`) and the sum of `exp(x - shift)` (member `sum`), and the
 * weights `exp(x - outShift) · scale`; `shift`, `outShift` and `scale` read per-row members only.
 *
 * @example
 * ```ts
 * import type { SoftmaxForm } from "./attention.ts";
 * const members = (f: SoftmaxForm) => [f.max, f.sum];
 * if (typeof members !== "function") throw new Error();
 * ```
 */
export interface SoftmaxForm {
  readonly max: number;
  readonly sum: number;
  readonly x: Expr;
  readonly shift: Expr;
  readonly outShift: Expr;
  readonly scale: Expr;
}

/**
 * A fused attention kernel: `values(weights(scores(q, k)), v)` in one dispatch.
 *
 * @example
 * ```ts
 * import type { AttentionKernel } from "./attention.ts";
 * const queries = (k: AttentionKernel) => k.scores.m;
 * if (typeof queries !== "function") throw new Error();
 * ```
 */
export interface AttentionKernel {
  readonly kind: "attention";
  /** `[q, k, v, ...]`: then the inputs the scores' epilogue reads, then those the values' epilogue reads. */
  readonly inputs: readonly Var[];
  readonly output: Var;
  readonly eqns: readonly Eqn[];
  /** `q · kᵀ` per batch, k transposed in place, with its epilogue. */
  readonly scores: GpuMatmulKernel;
  /** The softmax over the scores' rows. */
  readonly weights: RowKernel;
  /** `weights · v` per batch, with its epilogue. */
  readonly values: GpuMatmulKernel;
  readonly form: SoftmaxForm;
}

/** Queries (invocations) per workgroup. */
const QUERIES = 32;
/** The most keys per block. */
const KEYS = 32;
/** The widest rows of Q and of V (floats) an invocation holds in registers. */
const MAX_WIDTH = 128;

/**
 * The row kernel's softmax form, if it is one: a single online-softmax stage, per-row members that read only
 * per-row members, a row value that reads only the scores (at its element), and weights
 * `exp(x - outShift) · scale`.
 */
function softmaxForm(weights: RowKernel): SoftmaxForm | undefined {
  const { members } = weights;
  const resolved = resolveMembers(members);
  const stages = rowStages(members.map((m, j) => ({
    reduce: m.reduce,
    dtype: m.kernel.output.dtype,
    perRow: m.perRow,
    expr: resolved[j],
  })));
  const stage = stages[0];
  if (stages.length !== 1 || stage.kind !== "online") return undefined;
  const isPerRow = (j: number) => members[j].perRow;
  const last = members.length - 1;
  if (members[last].perRow) return undefined;
  if (members.some((m, j) => m.perRow && !m.reduce && !perRowOnly(resolved[j], isPerRow))) return undefined;
  const x = resolved[stage.member];
  if (!loadsOf(x).every((l) => l.input === 0 && lockstep(l.at, members[stage.member].shape))) {
    return undefined;
  }
  const out = resolved[last];
  if (out.kind !== "op" || out.prim !== "mul") return undefined;
  for (const [e, scale] of [[out.args[0], out.args[1]], [out.args[1], out.args[0]]]) {
    const d = e.kind === "op" && e.prim === "exp" ? difference(e.args[0]) : undefined;
    if (d && sameExpr(d.x, x) && perRowOnly(d.y, isPerRow) && perRowOnly(scale, isPerRow)) {
      return { max: stage.member, sum: stage.partner, x, shift: stage.shift, outShift: d.y, scale };
    }
  }
  return undefined;
}

/**
 * The fused attention kernel of three kernels, or undefined where they do not have its form: `scores` a
 * float matmul `q·kᵀ` (k transposed in place), `weights` a softmax row kernel reading only the scores,
 * `values` a matmul `weights · v`, contraction and row widths multiples of 4 up to 128.
 *
 * @example
 * ```ts
 * import { nn, random, trace } from "../../mod.ts";
 * import { optimize } from "../passes/simplify.ts";
 * import { fuse } from "../passes/fuse.ts";
 * import { gpuProgram } from "./fusion.ts";
 * const attend = nn.attend({ heads: 2, causal: true });
 * const params = attend.init(random.key(0), [1, 8, 16]).params;
 * const p = gpuProgram(fuse(optimize(trace((x) => attend.apply(params, x), { shape: [1, 8, 16] }))));
 * if (!p.kernels.some((k) => k.kind === "attention")) throw new Error(p.kernels.map((k) => k.kind).join());
 * ```
 */
export function attentionKernel(
  scores: GpuMatmulKernel,
  weights: RowKernel,
  values: GpuMatmulKernel,
): AttentionKernel | undefined {
  const { batch, m, n, k: depth } = scores;
  if (scores.transA || !scores.transB || values.transA || values.transB) return undefined;
  if (weights.inputs.length !== 1 || weights.inputs[0] !== scores.output) return undefined;
  if (values.inputs[0] !== weights.output) return undefined;
  if (values.batch !== batch || values.m !== m || values.k !== n) return undefined;
  if (weights.rows !== batch * m || weights.cols !== n || batch > 65535) return undefined;
  if (depth % 4 !== 0 || values.n % 4 !== 0 || depth > MAX_WIDTH || values.n > MAX_WIDTH) return undefined;
  const floats = [
    scores.output,
    weights.output,
    values.output,
    ...scores.inputs.slice(0, 2),
    values.inputs[1],
  ];
  if (floats.some((v) => v.dtype !== "float32")) return undefined;
  const form = softmaxForm(weights);
  if (!form) return undefined;
  return {
    kind: "attention",
    inputs: [
      scores.inputs[0],
      scores.inputs[1],
      values.inputs[1],
      ...scores.inputs.slice(2),
      ...values.inputs.slice(2),
    ],
    output: values.output,
    eqns: [...scores.eqns, ...weights.eqns, ...values.eqns],
    scores,
    weights,
    values,
    form,
  };
}

/** Keys per block: at most 32, a power of two, no more than the keys, K's and V's rows within 16 KiB. */
function keysPerBlock(keys: number, vectors: number): number {
  const fit = 2 ** Math.floor(Math.log2(1024 / vectors));
  return Math.max(1, Math.min(KEYS, fit, 2 ** Math.ceil(Math.log2(keys))));
}

/**
 * The dispatch of a fused attention kernel reading `inputs` (one per `k.inputs`) and writing `out`.
 *
 * @example
 * ```ts
 * import { nn, random, trace } from "../../mod.ts";
 * import { optimize } from "../passes/simplify.ts";
 * import { fuse } from "../passes/fuse.ts";
 * import { gpuProgram } from "./fusion.ts";
 * import { type AttentionKernel, attentionDispatches } from "./attention.ts";
 * import { WebGpuBuffer } from "./wgsl.ts";
 * const attend = nn.attend({ heads: 2 });
 * const params = attend.init(random.key(0), [3, 40, 16]).params;
 * const p = gpuProgram(fuse(optimize(trace((x) => attend.apply(params, x), { shape: [3, 40, 16] }))));
 * const k = p.kernels.find((k) => k.kind === "attention") as AttentionKernel;
 * const none = new WebGpuBuffer(undefined as unknown as GPUBuffer, 0);
 * const [d] = attentionDispatches(k, k.inputs.map(() => none), none);
 * if (d.groups.join() !== "2,6,1") throw new Error(d.groups.join()); // 40 queries in 2 groups, 3 × 2 heads
 * ```
 */
export function attentionDispatches(
  k: AttentionKernel,
  inputs: readonly WebGpuBuffer[],
  out: WebGpuBuffer,
): Dispatch[] {
  const { scores, weights, form } = k;
  const { batch, m, n, k: depth } = scores;
  const width = k.values.n;
  if (batch * m * width === 0) return [];
  const [d4, v4] = [depth / 4, width / 4];
  const keys = keysPerBlock(n, d4 + v4);
  const range = (count: number) => Array.from({ length: count }, (_, i) => i);
  const u = u32Literal;

  // The epilogues: the scores' gives a score from its flat index and dot product, the values' the word stored
  // for a result from its flat index and value (their inputs from 2 on are this kernel's from 3 on).
  const epilogue = (name: string, e: GpuMatmulKernel["epilogue"], first: number, type: "f32" | "u32") => {
    const result = (v: string) => (type === "u32" ? word(v, "float32") : v);
    if (!e) return `fn ${name}(flat: u32, acc: f32) -> ${type} { return ${result("acc")}; }`;
    const { code: index, names } = indicesOf("flat", e.shape, "q");
    const { code, value } = emitExpr(e.expr, {
      indices: names,
      acc: "acc",
      loadOf: (l, affine) => load(`in${l.input - 2 + first}`, `u32(${affine(l.at)})`, l.dtype),
    });
    return `fn ${name}(flat: u32, acc: f32) -> ${type} {\n  ${index}\n  ${code}\n  return ${
      result(value)
    };\n}`;
  };
  const score = epilogue("score", scores.epilogue, 3, "f32");
  const finish = epilogue("finish", k.values.epilogue, 3 + scores.inputs.length - 2, "u32");

  // The row kernel's per-row values, in member order, once the keys are done.
  const { members } = weights;
  const lead = indicesOf("row", members[form.max].shape.slice(0, -1), "r");
  const perRow = (expr: Expr, prefix: string) =>
    emitExpr(expr, { indices: lead.names, loadOf: (l) => `v${-1 - l.input}` }, prefix);
  const rowValues: string[] = [];
  const resolved = resolveMembers(members);
  members.forEach((member, j) => {
    if (j === form.max) rowValues.push(`let v${j} = m_run;`);
    else if (j === form.sum) {
      const { code, value } = perRow(form.shift, `y${j}_`);
      rowValues.push(code, `let v${j} = l_run * exp(m_run - ${value});`);
    } else if (member.perRow) {
      const { code, value } = perRow(resolved[j], `t${j}_`);
      rowValues.push(code, `let v${j} = ${value};`);
    }
  });
  const outShift = perRow(form.outShift, "os_");
  const scale = perRow(form.scale, "sc_");

  // One block of keys: scores, row values, the block's max, then the rescaled running sums.
  const block: string[] = [];
  for (const c of range(keys)) {
    const dots = range(d4).map((q) => `dot(q${q}, tk[${u(c * d4 + q)}])`).join(" + ");
    const { code, value } = emitExpr(form.x, {
      indices: [...lead.names, `i32(j0 + ${u(c)})`],
      loadOf: () => `s${c}`,
    }, `x${c}_`);
    block.push(`let s${c} = score(row * ${u(n)} + j0 + ${u(c)}, ${dots});`, code, `let x${c} = ${value};`);
    block.push(`let ok${c} = j0 + ${u(c)} < ${u(n)};`);
  }
  block.push(`var m_block = f32_bits(0xff800000u);`);
  for (const c of range(keys)) {
    block.push(`m_block = max(m_block, select(f32_bits(0xff800000u), x${c}, ok${c}));`);
  }
  block.push(
    "let m_new = max(m_run, m_block);",
    "let rescale = select(exp(m_run - m_new), 1.0, m_run == m_new);",
    "let live_max = m_new != f32_bits(0xff800000u);",
  );
  for (const c of range(keys)) block.push(`let p${c} = select(0.0, exp(x${c} - m_new), ok${c} && live_max);`);
  block.push(`l_run = l_run * rescale + ${range(keys).map((c) => `p${c}`).join(" + ")};`);
  for (const v of range(v4)) {
    const terms = range(keys).map((c) => `p${c} * tv[${u(c * v4 + v)}]`).join(" + ");
    block.push(`acc${v} = acc${v} * rescale + ${terms};`);
  }
  block.push("m_run = m_new;");

  const stores = range(v4).map((v) => {
    const words = range(4).map((c) => `finish(row * ${u(width)} + ${u(4 * v + c)}, result${v}[${c}])`);
    return `let result${v} = acc${v} * factor;\n    out[row * ${u(v4)} + ${u(v)}] = vec4<u32>(${
      words.join(", ")
    });`;
  });
  const source = `${bindings(inputs.length, { vectors: [0, 1, 2], vectorOut: true })}
${score}
${finish}
var<workgroup> tk: array<vec4<f32>, ${keys * d4}>;
var<workgroup> tv: array<vec4<f32>, ${keys * v4}>;
@compute @workgroup_size(${QUERIES})
fn main(@builtin(workgroup_id) group: vec3<u32>, @builtin(local_invocation_index) lane: u32) {
  let b = group.y;
  let i = group.x * ${u(QUERIES)} + lane;
  let row = b * ${u(m)} + min(i, ${u(m - 1)});
  ${range(d4).map((q) => `let q${q} = bitcast<vec4<f32>>(in0[row * ${u(d4)} + ${u(q)}]);`).join("\n  ")}
  ${range(v4).map((v) => `var acc${v} = vec4<f32>(0.0);`).join("\n  ")}
  var m_run = f32_bits(0xff800000u);
  var l_run = 0.0;
  ${lead.code}
  for (var j0 = 0u; j0 < ${u(n)}; j0 += ${u(keys)}) {
    for (var t = lane; t < ${u(keys * d4)}; t += ${u(QUERIES)}) {
      let j = j0 + t / ${u(d4)};
      var kv = vec4<f32>(0.0);
      if (j < ${u(n)}) { kv = bitcast<vec4<f32>>(in1[(b * ${u(n)} + j) * ${u(d4)} + t % ${u(d4)}]); }
      tk[t] = kv;
    }
    for (var t = lane; t < ${u(keys * v4)}; t += ${u(QUERIES)}) {
      let j = j0 + t / ${u(v4)};
      var vv = vec4<f32>(0.0);
      if (j < ${u(n)}) { vv = bitcast<vec4<f32>>(in2[(b * ${u(n)} + j) * ${u(v4)} + t % ${u(v4)}]); }
      tv[t] = vv;
    }
    workgroupBarrier();
    ${block.filter(Boolean).join("\n    ")}
    workgroupBarrier();
  }
  ${rowValues.filter(Boolean).join("\n  ")}
  ${outShift.code}
  ${scale.code}
  let factor = exp(m_run - ${outShift.value}) * ${scale.value};
  if (i < ${u(m)}) {
    ${stores.join("\n    ")}
  }
}
`;
  return [{ source, out, inputs, groups: [Math.ceil(m / QUERIES), batch, 1] }];
}
