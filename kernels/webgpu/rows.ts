/**
 * Row kernels: softmax, logSoftmax, layerNorm, cross-entropy and the like, whose reductions run over the
 * last axis of an R × C array and whose elementwise steps read each row's reduced values. One workgroup
 * takes one row, its size chosen from the row's length (`rowLayout`: a multiple of 32 invocations, each with
 * up to 8 units of the row, a unit being 4 elements read as one vec4 where the row is a multiple of 4). Where
 * they fit in registers (64 words an invocation), the row's elements of every input read element by element
 * are loaded once, and every pass over the row runs on them; otherwise each pass reads global memory again.
 * The reductions run as stages (`row_stages.ts`): a max and the sum of exponentials after it form one online
 * softmax stage, a sum and a sum of squared deviations one mean-and-variance stage, so softmax and layerNorm
 * make one pass for their statistics and one for their output. Each stage folds an invocation's elements into
 * a state, then the workgroup merges the states (8 at a time, in workgroup memory). Every member of the group
 * runs in one dispatch, nothing but the last member's result is written, and intermediate per-element values
 * are recomputed where they are read instead of stored.
 * @module
 */
import { type Shape, sizeOf, stridesOf, type Var } from "../../dsl/ir/mod.ts";
import type { Eqn } from "../../dsl/ir/mod.ts";
import type { Affine, Expr } from "../passes/fuse.ts";
import { emitExpr, loadsOf, mapLoads } from "./expr.ts";
import { type RowStage, rowStages, STAGE_HELPERS, stageCode } from "./row_stages.ts";
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

/** Fewest and most invocations of a row's workgroup, and the units of a row an invocation takes at most. */
const MIN_THREADS = 32;
const MAX_THREADS = 128;
const UNITS_PER_THREAD = 8;
/** The most words of a row an invocation holds in registers (over every input it caches). */
const REGISTER_WORDS = 64;

/**
 * How a row of `cols` elements spreads over a workgroup: units of 4 elements (`vector`) where `cols` is a
 * multiple of 4, else of 1; a power of two of invocations (32 to 128) such that each takes at most 8 units
 * where it can; `perThread` units each (the last ones past the row's end on some invocations).
 *
 * @example
 * ```ts
 * import { rowLayout } from "./rows.ts";
 * const l = rowLayout(1024);
 * if (!l.vector || l.units !== 256 || l.threads !== 32 || l.perThread !== 8) throw new Error();
 * if (rowLayout(65).threads !== 32 || rowLayout(65).perThread !== 3 || rowLayout(10000).threads !== 128) throw new Error();
 * ```
 */
export function rowLayout(cols: number): {
  readonly vector: boolean;
  readonly width: number;
  readonly units: number;
  readonly threads: number;
  readonly perThread: number;
} {
  const vector = cols % 4 === 0;
  const width = vector ? 4 : 1;
  const units = cols / width;
  const wanted = 2 ** Math.ceil(Math.log2(Math.max(1, Math.ceil(units / UNITS_PER_THREAD))));
  const threads = Math.min(MAX_THREADS, Math.max(MIN_THREADS, wanted));
  return { vector, width, units, threads, perThread: Math.ceil(units / threads) };
}

type LoadExpr = Extract<Expr, { kind: "load" }>;

/** One element of the row an invocation holds: its column (an i32 name) and its inputs' values. */
interface Element {
  readonly c: string;
  readonly valid: string;
  /** Its component in its unit (0 for scalar units). */
  readonly comp: number;
  /** The WGSL value of input `input`'s word at this element, as `dtype`. */
  value(input: number, dtype: LoadExpr["dtype"]): string;
}

/** A unit of the row: its index (a u32 WGSL expression), whether it is inside the row, its elements. */
interface Unit {
  readonly index: string;
  readonly valid: string;
  readonly elements: readonly Element[];
}

const COMPONENTS = ["x", "y", "z", "w"];

/** A word as `dtype`. */
function typed(raw: string, dtype: LoadExpr["dtype"]): string {
  if (dtype === "float32") return `bitcast<f32>(${raw})`;
  if (dtype === "int32") return `bitcast<i32>(${raw})`;
  return `(${raw} != 0u)`;
}

/**
 * Does `at`, over the per-element space `shape`, read the element being computed (row-major)?
 *
 * @example
 * ```ts
 * import { lockstep } from "./rows.ts";
 * if (!lockstep({ offset: 0, coeffs: [3, 1] }, [2, 3]) || lockstep({ offset: 0, coeffs: [0, 1] }, [2, 3])) throw new Error();
 * ```
 */
export function lockstep(at: Affine, shape: Shape): boolean {
  const strides = stridesOf(shape);
  return at.offset === 0 && at.coeffs.every((c, d) => c === strides[d] || shape[d] === 1);
}

/**
 * Does `at`, over the per-element space `shape`, read by column only (the same vector of 4 words for every
 * row: a gain or a bias), starting at a multiple of 4?
 */
function byColumn(at: Affine, shape: Shape): boolean {
  const last = shape.length - 1;
  return at.offset % 4 === 0 && at.coeffs.every((c, d) => (d === last ? c === 1 : c === 0 || shape[d] === 1));
}

/**
 * The members' bodies with the per-element members they read substituted (per-element members are
 * recomputed where they are read); loads of per-row members stay.
 *
 * @example
 * ```ts
 * import { tensor, trace } from "../../mod.ts";
 * import { optimize } from "../passes/simplify.ts";
 * import { fuse } from "../passes/fuse.ts";
 * import { gpuProgram } from "./fusion.ts";
 * import { resolveMembers, type RowKernel } from "./rows.ts";
 * const k = gpuProgram(fuse(optimize(trace((x) => x.softmax(), tensor([[1, 2, 3]]))))).kernels[0] as RowKernel;
 * const last = resolveMembers(k.members).at(-1)!;
 * if (last.kind !== "op" || last.prim !== "mul") throw new Error(); // exp(x - max) · (1 / sum)
 * ```
 */
export function resolveMembers(members: readonly RowMember[]): Expr[] {
  const resolved: Expr[] = [];
  const resolve = (e: Expr): Expr =>
    mapLoads(e, (l) => (l.input < 0 && !members[-1 - l.input].perRow ? resolved[-1 - l.input] : l));
  members.forEach((m) => resolved.push(resolve(m.expr)));
  return resolved;
}

/**
 * The dispatch of a row kernel: one workgroup per row (see the module's documentation).
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
 * const [d] = rowDispatches(k, [none], none);
 * if (d.groups[0] !== 1 || !d.source.includes("online_merge(")) throw new Error();
 * ```
 */
export function rowDispatches(k: RowKernel, inputs: readonly WebGpuBuffer[], out: WebGpuBuffer): Dispatch[] {
  const { rows, cols, members } = k;
  if (rows === 0) return [];
  const { vector, width, units, threads, perThread } = rowLayout(cols);
  // Per-element members are recomputed where they are read: substitute their bodies.
  const resolved = resolveMembers(members);
  const lastIndex = members.length - 1;
  const last = members[lastIndex];
  const perElement = (j: number) => sizeOf(members[j].shape) !== rows;
  // The members that pass over the row's elements, and the inputs they read element by element.
  const passes = members.flatMap((m, j) => (perElement(j) && (m.reduce || j === lastIndex) ? [j] : []));
  const streamed = new Set<number>();
  for (const j of passes) {
    for (const l of loadsOf(resolved[j])) {
      if (l.input >= 0 && lockstep(l.at, members[j].shape)) streamed.add(l.input);
    }
  }
  const cached = streamed.size * perThread * width <= REGISTER_WORDS;
  const byColumns = new Set<number>();
  for (const j of passes) {
    for (const l of loadsOf(resolved[j])) {
      if (l.input >= 0 && byColumn(l.at, members[j].shape)) byColumns.add(l.input);
    }
  }
  const vectors = vector ? [...new Set([...streamed, ...byColumns])] : [];
  const vectorOut = vector && perElement(lastIndex) && !last.reduce;

  const lines: string[] = [];
  const emit = (code: string) => lines.push(code);
  emit(`let base = row * ${u32Literal(units)};`);
  // The units of this invocation: held in registers (every unit at once) or read one at a time in a loop.
  const unitOf = (index: string, valid: string, suffix: string, raw: (input: number) => string): Unit => ({
    index,
    valid,
    elements: Array.from({ length: width }, (_, comp) => ({
      c: `c${suffix}${vector ? `_${comp}` : ""}`,
      valid,
      comp,
      value: (input, dtype) => typed(vector ? `${raw(input)}.${COMPONENTS[comp]}` : raw(input), dtype),
    })),
  });
  const columns = (u: Unit) =>
    u.elements.map((e, comp) => `let ${e.c} = i32(${u.index}${vector ? ` * 4u + ${comp}u` : ""});`).join(" ");
  const heldUnits: Unit[] = [];
  if (cached) {
    for (let q = 0; q < perThread; q++) {
      const index = `u${q}`;
      const valid = q === perThread - 1 && units % threads !== 0
        ? `(${index} < ${u32Literal(units)})`
        : "true";
      const unit = unitOf(index, valid, `${q}`, (input) => `w${input}_${q}`);
      emit(`let ${index} = lane + ${u32Literal(q * threads)};`);
      emit(columns(unit));
      for (const input of streamed) emit(`let w${input}_${q} = in${input}[base + ${index}];`);
      heldUnits.push(unit);
    }
  }
  /** `body` over this invocation's units: once over all of them, or in a loop over one at a time. */
  const overRow = (body: (units: readonly Unit[], prefix: string) => string, prefix: string): string => {
    if (cached) return body(heldUnits, prefix);
    const unit = unitOf("u", "true", "", (input) => `w${input}`);
    return `for (var u = lane; u < ${u32Literal(units)}; u += ${u32Literal(threads)}) {
    ${columns(unit)}
    ${[...streamed].map((input) => `let w${input} = in${input}[base + u];`).join(" ")}
    ${body([unit], prefix)}
  }`;
  };

  // Names of the members' row indices (i32), per member.
  const leads: string[][] = [];
  const memberValue = (j: number) => `v${j}`;
  /**
   * Member j's value at element `e` of unit `u` (its statements and value name); the vectors of inputs read
   * by column that it needs go to `needs.decls` (name to statement), named with `needs.prefix`.
   */
  const atElement = (
    j: number,
    u: Unit,
    e: Element,
    prefix: string,
    needs: { readonly prefix: string; readonly decls: Map<string, string> },
  ) => {
    const shape = members[j].shape;
    const loadOf = (l: LoadExpr, affine: (a: Affine) => string) => {
      if (l.input < 0) return memberValue(-1 - l.input);
      if (lockstep(l.at, shape) && streamed.has(l.input)) return e.value(l.input, l.dtype);
      if (vector && byColumn(l.at, shape)) {
        const name = `${needs.prefix}k${l.input}_${l.at.offset}`;
        needs.decls.set(name, `let ${name} = in${l.input}[${u32Literal(l.at.offset / 4)} + ${u.index}];`);
        return typed(`${name}.${COMPONENTS[e.comp]}`, l.dtype);
      }
      if (vectors.includes(l.input)) {
        const at = affine(l.at);
        return typed(`in${l.input}[u32(${at}) / 4u][u32(${at}) % 4u]`, l.dtype);
      }
      return undefined;
    };
    return emitExpr(resolved[j], { indices: [...leads[j], e.c], loadOf }, prefix);
  };
  /** A per-row expression's value (reading per-row members and external inputs at the row). */
  const perRowValue = (j: number, expr: Expr, prefix: string) =>
    emitExpr(expr, {
      indices: leads[j],
      loadOf: (l, affine) => {
        if (l.input < 0) return memberValue(-1 - l.input);
        if (!vectors.includes(l.input)) return undefined;
        const at = affine(l.at);
        return typed(`in${l.input}[u32(${at}) / 4u][u32(${at}) % 4u]`, l.dtype);
      },
    }, prefix);

  const stages = rowStages(members.map((m, j) => ({
    reduce: m.reduce,
    dtype: m.kernel.output.dtype,
    perRow: m.perRow,
    expr: resolved[j],
  })));
  const stageOf = new Map<number, { stage: RowStage; index: number }>();
  const partnerOf = new Map<number, { stage: RowStage; index: number }>();
  stages.forEach((stage, index) => {
    stageOf.set(stage.member, { stage, index });
    if ("partner" in stage) partnerOf.set(stage.partner, { stage, index });
  });
  const shared: string[] = [];

  /** A stage: every invocation folds its elements, then the workgroup merges the states; `r${s}` holds it. */
  const runStage = (stage: RowStage, s: number) => {
    const code = stageCode(stage);
    const j = stage.member;
    emit(`var st${s} = ${code.empty};`);
    emit(overRow((held, prefix) => {
      const statements: string[] = [];
      const values = held.flatMap((u, q) => {
        const needs = { prefix: `${prefix}${q}_`, decls: new Map<string, string>() };
        const unitValues = u.elements.map((e, comp) => {
          const { code: c, value } = atElement(j, u, e, `${prefix}${q}_${comp}_`, needs);
          statements.push(c);
          return { value, valid: e.valid };
        });
        statements.splice(statements.length - unitValues.length, 0, ...needs.decls.values());
        return unitValues;
      });
      return [...statements, code.fold(`st${s}`, values, `${prefix}f`)].join("\n  ");
    }, `s${s}_`));
    shared.push(`var<workgroup> part${s}: array<${code.type}, ${threads}>;`);
    emit(`part${s}[lane] = st${s};`);
    emit("workgroupBarrier();");
    let n = threads;
    while (n > 8) {
      const next = n / 8;
      const merged = Array.from(
        { length: 7 },
        (_, i) => `a = ${code.merge("a", `part${s}[lane + ${(i + 1) * next}u]`)};`,
      );
      emit(`if (lane < ${next}u) {
    var a = part${s}[lane];
    ${merged.join("\n    ")}
    part${s}[lane] = a;
  }
  workgroupBarrier();`);
      n = next;
    }
    emit(`var r${s} = part${s}[0];`);
    for (let i = 1; i < n; i++) emit(`r${s} = ${code.merge(`r${s}`, `part${s}[${i}u]`)};`);
  };

  members.forEach((m, j) => {
    const isLast = j === lastIndex;
    if (!m.perRow && !isLast) return; // computed where it is read
    const lead = perElement(j) ? m.shape.slice(0, -1) : m.shape;
    const index = indicesOf("row", lead, `r${j}_`);
    leads[j] = index.names;
    emit(index.code);
    const stage = stageOf.get(j);
    const partner = partnerOf.get(j);
    if (stage) {
      const { stage: st, index: s } = stage;
      runStage(st, s);
      emit(
        `let v${j} = ${
          st.kind === "online" ? `r${s}.x` : st.kind === "welford" ? `r${s}.x * r${s}.y` : `r${s}`
        };`,
      );
    } else if (partner) {
      // The merged stage's second reduction, once its shift is known.
      const { stage: st, index: s } = partner;
      if (!("shift" in st)) throw new Error("webgpu backend: a merged row stage without its shift");
      const { code, value } = perRowValue(j, st.shift, `y${j}_`);
      emit(code);
      emit(
        st.kind === "online"
          ? `let v${j} = r${s}.y * exp(r${s}.x - ${value});`
          : `let d${j} = r${s}.y - ${value};\n  let v${j} = r${s}.z + r${s}.x * d${j} * d${j};`,
      );
    } else if (m.perRow) {
      const { code, value } = perRowValue(j, resolved[j], `t${j}_`);
      emit(code);
      emit(`let v${j} = ${value};`);
    }
    if (isLast && m.perRow) {
      emit(`if (lane == 0u) { out[row] = ${word(`v${j}`, m.kernel.output.dtype)}; }`);
    } else if (isLast) {
      // The output, per element.
      emit(overRow((held, prefix) =>
        held.map((u, q) => {
          const needs = { prefix: `${prefix}${q}_`, decls: new Map<string, string>() };
          const words = u.elements.map((e, comp) => {
            const { code, value } = atElement(j, u, e, `${prefix}${q}_${comp}_`, needs);
            return { code, word: word(value, m.kernel.output.dtype) };
          });
          const store = vectorOut
            ? `out[base + ${u.index}] = vec4<u32>(${words.map((w) => w.word).join(", ")});`
            : `out[base + ${u.index}] = ${words[0].word};`;
          const body = [...needs.decls.values(), ...words.map((w) => w.code), store].join("\n    ");
          return u.valid === "true" ? body : `if (${u.valid}) {\n    ${body}\n  }`;
        }).join("\n  "), "o_"));
    }
  });
  const source = `${bindings(inputs.length, { vectors, vectorOut })}${STAGE_HELPERS}
${shared.join("\n")}
@compute @workgroup_size(${threads})
fn main(@builtin(workgroup_id) group: vec3<u32>, @builtin(local_invocation_index) lane: u32) {
  let row = group.y * 65535u + group.x;
  if (row >= ${u32Literal(rows)}) { return; }
  ${lines.filter(Boolean).join("\n  ")}
}
`;
  return [{ source, out, inputs, groups: spread(rows) }];
}
