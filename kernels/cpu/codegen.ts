/**
 * JavaScript code generation for fused elementwise and reduction kernels. Each kernel becomes one function
 * with a loop nest over its (collapsed) iteration space; operands are read at affine offsets kept as running
 * counters, so movement ops cost no division. Every float32 result is rounded with `Math.fround`, so fused
 * code computes exactly what op-by-op float32 evaluation computes (reductions accumulate in float64 in index
 * order, like the reference backend).
 * @module
 */
import type { Affine, ElementwiseKernel, Expr, ReduceKernel } from "../passes/fuse.ts";
import { stridesOf } from "../../dsl/ir/mod.ts";
import { elementwiseLowering, LOGF_SOURCE } from "./lowering.ts";

/**
 * A compiled kernel: typed-array views of its inputs then its output; rows `[lo, hi)` of the outer loop.
 *
 * @example
 * ```ts
 * import type { KernelFunction } from "./codegen.ts";
 * const double: KernelFunction = ([x, out], lo, hi) => {
 *   for (let i = lo; i < hi; i++) (out as Float32Array)[i] = 2 * x[i];
 * };
 * const out = new Float32Array(2);
 * double([new Float32Array([1, 2]), out], 0, 2);
 * if (out.join() !== "2,4") throw new Error();
 * ```
 */
export type KernelFunction = (views: readonly ArrayLike<number>[], lo: number, hi: number) => void;

/**
 * The generated source and the size of the outer loop (the range callers may split across threads).
 *
 * @example
 * ```ts
 * import { trace, tensor } from "../../mod.ts";
 * import { type ElementwiseKernel, fuse } from "../passes/fuse.ts";
 * import { elementwiseKernel, type GeneratedKernel } from "./codegen.ts";
 * const k = fuse(trace((x) => x.exp(), tensor([1, 2]))).kernels[0] as ElementwiseKernel;
 * const generated: GeneratedKernel = elementwiseKernel(k);
 * if (generated.outer !== 2 || !generated.source.includes("exp")) throw new Error(generated.source);
 * ```
 */
export interface GeneratedKernel {
  /** The compiled function. */
  readonly run: KernelFunction;
  /** Extent of the outermost loop. */
  readonly outer: number;
  /** Whether rows of the outer loop may run on different threads (false for a full reduction). */
  readonly splittable: boolean;
  /** The function's body (`views`, `lo`, `hi` in scope): for workers, debugging and the docs site. */
  readonly source: string;
}

/**
 * Whether a max reduction holding `acc` takes `v`, as JavaScript: IEEE 754's maximum (NaN wins and stays, +0
 * beats -0), the reference backend's rule, under which the order of the elements does not matter.
 */
const takesMax = (acc: string, v: string) =>
  `${acc} === ${acc} && (${v} !== ${v} || ${v} > ${acc} || (${v} === 0 && ${acc} === 0 && 1 / ${acc} < 0))`;

/** Emits an expression tree as statements, one `const` per node, reusing shared nodes. */
class Emitter {
  readonly lines: string[] = [];
  private readonly names = new Map<Expr, string>();

  constructor(private readonly counter: (a: Affine) => string) {}

  emit(e: Expr): string {
    const known = this.names.get(e);
    if (known) return known;
    let code: string;
    switch (e.kind) {
      case "load":
        code = `in${e.input}[${this.counter(e.at)}]`;
        break;
      case "const":
        code = Number.isNaN(e.value)
          ? "NaN"
          : e.value === Infinity
          ? "Infinity"
          : e.value === -Infinity
          ? "-Infinity"
          : Object.is(e.value, -0)
          ? "-0"
          : String(
            e.dtype === "float32"
              ? Math.fround(e.value)
              : e.dtype === "bool"
              ? Number(e.value !== 0)
              : e.value | 0,
          );
        return code;
      case "iota":
        code = this.counter(e.at);
        break;
      case "acc":
        return "acc";
      case "op": {
        const args = e.args.map((a) => this.emit(a));
        code = elementwiseLowering(e.prim).js(args, e.args[0]?.dtype ?? e.dtype, e.params);
        break;
      }
      case "gather":
        code = `in${e.input}[${this.emit(e.index)} * ${e.rowSize} + ${this.counter(e.at)}]`;
        break;
      case "pad": {
        const inside = this.emit(e.inside);
        const guards = e.guards.map((g) =>
          `(${this.counter(g.at)}) >= 0 && (${this.counter(g.at)}) < ${g.size}`
        );
        code = `(${guards.join(" && ") || "true"} ? ${inside} : ${
          this.emit({ kind: "const", dtype: e.dtype, value: e.value })
        })`;
        break;
      }
    }
    const name = `t${this.names.size}`;
    this.names.set(e, name);
    this.lines.push(`const ${name} = ${code};`);
    return name;
  }
}

/**
 * Every affine form an expression reads (loads, iotas, pad guards, gathers' indices and rows).
 *
 * @example
 * ```ts
 * import { trace, tensor } from "../../mod.ts";
 * import { type ElementwiseKernel, fuse } from "../passes/fuse.ts";
 * import { collectAffines } from "./codegen.ts";
 * const k = fuse(trace((x, y) => x.add(y), tensor([1, 2]), tensor([3, 4]))).kernels[0] as ElementwiseKernel;
 * if (collectAffines(k.expr).length !== 2) throw new Error(); // one load of each input
 * ```
 */
export function collectAffines(e: Expr, out: Affine[] = [], seen = new Set<Expr>()): Affine[] {
  if (seen.has(e)) return out;
  seen.add(e);
  switch (e.kind) {
    case "load":
    case "iota":
      out.push(e.at);
      break;
    case "op":
      e.args.forEach((a) => collectAffines(a, out, seen));
      break;
    case "pad":
      e.guards.forEach((g) => out.push(g.at));
      collectAffines(e.inside, out, seen);
      break;
    case "gather":
      collectAffines(e.index, out, seen);
      out.push(e.at);
      break;
  }
  return out;
}

/**
 * Collapses the iteration space: drops size-1 axes and merges neighbours that every affine form walks
 * contiguously (coefficient of the outer = inner coefficient × inner extent). `groups` keeps reduction axes
 * from merging with kept axes.
 *
 * @example
 * ```ts
 * import { collapse } from "./codegen.ts";
 * // A contiguous [4, 8] loop over one row-major operand is one loop of 32.
 * const dims = collapse([4, 8], [{ offset: 0, coeffs: [8, 1] }], [0, 0]);
 * if (dims.length !== 1 || dims[0].n !== 32) throw new Error(JSON.stringify(dims));
 * ```
 */
export function collapse(
  shape: readonly number[],
  forms: readonly Affine[],
  groups: readonly number[],
): { n: number; group: number; coeffs: number[] }[] {
  let dims = shape.map((n, d) => ({ n, group: groups[d], coeffs: forms.map((f) => f.coeffs[d]) }))
    .filter((d) => d.n !== 1);
  for (let changed = true; changed;) {
    changed = false;
    for (let d = 0; d + 1 < dims.length; d++) {
      const outer = dims[d];
      const inner = dims[d + 1];
      if (outer.group !== inner.group) continue;
      if (outer.coeffs.every((c, f) => c === inner.coeffs[f] * inner.n)) {
        dims = [
          ...dims.slice(0, d),
          { n: outer.n * inner.n, group: outer.group, coeffs: inner.coeffs },
          ...dims.slice(d + 2),
        ];
        changed = true;
        break;
      }
    }
  }
  return dims;
}

/**
 * Builds the loop nest over `dims`; the outermost loop runs rows `[lo, hi)`. Counter `c{f}_{level}` tracks
 * affine form f at a level (`c{f}_s` is its value at the start). `wrap` puts lines around the sub-nest that
 * starts at a given level (a reduction's accumulator around its reduced levels).
 */
function loopNest(
  dims: readonly { n: number; coeffs: readonly number[] }[],
  offsets: readonly number[],
  body: (counter: (f: number) => string) => string[],
  wrap?: { level: number; before: string[]; after: (counter: (f: number) => string) => string[] },
): string[] {
  const name = (f: number, level: number) => (level < 0 ? `c${f}_s` : `c${f}_${level}`);
  const lines = offsets.map((o, f) =>
    `let ${name(f, -1)} = ${o} + lo * ${dims.length ? dims[0].coeffs[f] : 0};`
  );
  const open = (level: number): string[] => {
    const at = (f: number) => name(f, level - 1);
    let inner: string[];
    if (level === dims.length) {
      inner = body(at);
    } else {
      const d = dims[level];
      const steps = d.coeffs.map((c, f) => (c ? `${name(f, level)} += ${c}` : "")).filter(Boolean);
      const [from, to] = level === 0 ? ["lo", "hi"] : ["0", String(d.n)];
      inner = [
        ...offsets.map((_, f) => `let ${name(f, level)} = ${at(f)};`),
        `for (let i${level} = ${from}; i${level} < ${to}; i${level}++${
          steps.length ? ", " + steps.join(", ") : ""
        }) {`,
        ...open(level + 1).map((l) => "  " + l),
        "}",
      ];
    }
    return wrap?.level === level ? [...wrap.before, ...inner, ...wrap.after(at)] : inner;
  };
  return [...lines, ...open(0)];
}

/** The whole body of a kernel function `(views, lo, hi)`: unpack the views, the helpers it calls, the loops. */
function functionBody(source: string, inputs: number): string {
  const unpack = Array.from({ length: inputs }, (_, i) => `const in${i} = views[${i}];`).join("\n");
  const helpers = source.includes("logf(") ? `${LOGF_SOURCE}\n` : "";
  return `${unpack}\nconst out = views[${inputs}];\n${helpers}${source}`;
}

function compile(body: string): KernelFunction {
  return new Function("views", "lo", "hi", `"use strict";\n${body}`) as KernelFunction;
}

/**
 * Generates the loop for an elementwise kernel.
 *
 * @example
 * ```ts
 * import { trace, tensor } from "../../mod.ts";
 * import { fuse, type ElementwiseKernel } from "../passes/fuse.ts";
 * import { elementwiseKernel } from "./codegen.ts";
 * const k = fuse(trace((x, b) => x.add(b).relu(), tensor([[1, -2]]), tensor([1, 1]))).kernels[0] as ElementwiseKernel;
 * const out = new Float32Array(2);
 * const gen = elementwiseKernel(k);
 * gen.run([new Float32Array([1, -2]), new Float32Array([1, 1]), out], 0, gen.outer);
 * if (out.join() !== "2,0") throw new Error(out.join());
 * ```
 */
export function elementwiseKernel(k: ElementwiseKernel): GeneratedKernel {
  const forms = collectAffines(k.expr);
  const outForm: Affine = { offset: 0, coeffs: stridesOf(k.shape) };
  const all = [...forms, outForm];
  const dims = collapse(k.shape, all, k.shape.map(() => 0));
  const index = new Map<Affine, number>(all.map((a, i) => [a, i]));
  const body = (counter: (f: number) => string) => {
    const emitter = new Emitter((a) => counter(index.get(a)!));
    const value = emitter.emit(k.expr);
    return [...emitter.lines, `out[${counter(all.length - 1)}] = ${value};`];
  };
  const source = functionBody(loopNest(dims, all.map((a) => a.offset), body).join("\n"), k.inputs.length);
  return {
    run: compile(source),
    outer: dims.length ? dims[0].n : 1,
    splittable: true,
    source,
  };
}

/**
 * Generates the loop for a reduction: kept axes outside, reduced axes inside, float64 accumulation.
 *
 * @example
 * ```ts
 * import { trace, tensor } from "../../mod.ts";
 * import { fuse, type ReduceKernel } from "../passes/fuse.ts";
 * import { reduceKernel } from "./codegen.ts";
 * const k = fuse(trace((x) => x.square().sum(1), tensor([[1, 2], [3, 4]]))).kernels[0] as ReduceKernel;
 * const out = new Float32Array(2);
 * const gen = reduceKernel(k);
 * gen.run([new Float32Array([1, 2, 3, 4]), out], 0, gen.outer);
 * if (out.join() !== "5,25") throw new Error(out.join());
 * ```
 */
export function reduceKernel(k: ReduceKernel): GeneratedKernel {
  const rank = k.inShape.length;
  const kept = Array.from({ length: rank }, (_, d) => d).filter((d) => !k.axes.includes(d));
  // When the innermost axis is kept (column sums, bias gradients), walk the input in memory order and
  // accumulate into a row of float64 partial results; otherwise finish one output element at a time.
  if (kept.includes(rank - 1) && k.inShape[rank - 1] > 1) return streamingReduceKernel(k, kept);
  const order = [...kept, ...k.axes];
  const forms = collectAffines(k.prologue);
  const outStrides = stridesOf(kept.map((d) => k.inShape[d]));
  const outForm: Affine = {
    offset: 0,
    coeffs: Array.from({ length: rank }, (_, d) => (kept.includes(d) ? outStrides[kept.indexOf(d)] : 0)),
  };
  const all = [...forms, outForm];
  const permuted = all.map((a) => ({ offset: a.offset, coeffs: order.map((d) => a.coeffs[d]) }));
  const dims = collapse(
    order.map((d) => k.inShape[d]),
    permuted,
    order.map((d) => (kept.includes(d) ? 0 : 1)),
  );
  const keptLevels = dims.filter((d) => d.group === 0).length;
  const index = new Map<Affine, number>(all.map((a, i) => [a, i]));
  const isMax = k.op === "max";
  const init = isMax ? (k.output.dtype === "float32" ? "-Infinity" : "-2147483648") : "0";
  const body = (counter: (f: number) => string) => {
    const emitter = new Emitter((a) => counter(index.get(a)!));
    const v = emitter.emit(k.prologue);
    return [...emitter.lines, isMax ? `if (${takesMax("acc", v)}) acc = ${v};` : `acc += ${v};`];
  };
  const lines = loopNest(dims, permuted.map((a) => a.offset), body, {
    level: keptLevels,
    before: [`let acc = ${init};`],
    after: (counter) => [`out[${counter(all.length - 1)}] = acc;`],
  });
  const source = functionBody(lines.join("\n"), k.inputs.length);
  return {
    run: compile(source),
    outer: dims.length ? dims[0].n : 1,
    splittable: keptLevels > 0,
    source,
  };
}

/**
 * A reduction in input order: every output element accumulates its inputs in increasing index order (as the
 * one-element-at-a-time loop does), into a float64 scratch that is rounded once at the end. Rows of the
 * outer loop may go to different threads when the outermost axis is kept.
 */
function streamingReduceKernel(k: ReduceKernel, kept: readonly number[]): GeneratedKernel {
  const rank = k.inShape.length;
  const forms = collectAffines(k.prologue);
  const outShape = kept.map((d) => k.inShape[d]);
  const outStrides = stridesOf(outShape);
  const outForm: Affine = {
    offset: 0,
    coeffs: Array.from({ length: rank }, (_, d) => (kept.includes(d) ? outStrides[kept.indexOf(d)] : 0)),
  };
  const all = [...forms, outForm];
  const dims = collapse(k.inShape, all, k.inShape.map((_, d) => (kept.includes(d) ? 0 : 1)));
  const index = new Map<Affine, number>(all.map((a, i) => [a, i]));
  const out = all.length - 1;
  const isMax = k.op === "max";
  const init = isMax ? (k.output.dtype === "float32" ? "-Infinity" : "-2147483648") : "0";
  const outSize = outShape.reduce((n, d) => n * d, 1);
  const splittable = dims.length > 0 && dims[0].group === 0;
  // The output elements rows [lo, hi) own: contiguous when the outer loop runs over a kept axis.
  const [first, last] = splittable
    ? [`lo * ${dims[0].coeffs[out]}`, `hi * ${dims[0].coeffs[out]}`]
    : ["0", String(outSize)];
  const body = (counter: (f: number) => string) => {
    const emitter = new Emitter((a) => counter(index.get(a)!));
    const v = emitter.emit(k.prologue);
    const slot = `acc[${counter(out)}]`;
    return [...emitter.lines, isMax ? `if (${takesMax(slot, v)}) ${slot} = ${v};` : `${slot} += ${v};`];
  };
  const lines = [
    `const acc = new Float64Array(${outSize});`,
    `for (let o = ${first}; o < ${last}; o++) acc[o] = ${init};`,
    ...loopNest(dims, all.map((a) => a.offset), body),
    `for (let o = ${first}; o < ${last}; o++) out[o] = acc[o];`,
  ];
  const source = functionBody(lines.join("\n"), k.inputs.length);
  return { run: compile(source), outer: dims.length ? dims[0].n : 1, splittable, source };
}
