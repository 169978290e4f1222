/**
 * The graph IR: a function as a list of primitive equations over typed variables, in the spirit of a jaxpr.
 * Graphs print three ways: readable text, JSON and Graphviz DOT.
 * @module
 */
import type { DType } from "./dtype.ts";
import type { PrimName, PrimParams } from "./primitives.ts";
import type { Shape } from "./shape.ts";
import { showShape } from "./shape.ts";

/**
 * An abstract value: what a graph knows about a tensor before it has data.
 *
 * @example
 * ```ts
 * import { type Aval, trace } from "../../mod.ts";
 * const out: Aval = trace((x) => x.sum(), { shape: [3] }).outputs[0];
 * if (out.shape.length !== 0 || out.dtype !== "float32") throw new Error();
 * ```
 */
export interface Aval {
  /** The tensor's shape. */
  readonly shape: Shape;
  /** The tensor's element type. */
  readonly dtype: DType;
}

/**
 * The params of any equation: the union of every primitive's params (narrowed by checking `eqn.prim`).
 *
 * @example
 * ```ts
 * import type { Params } from "./graph.ts";
 * import { trace } from "../../mod.ts";
 * const params: Params = trace((x) => x.sum(0), { shape: [2, 3] }).eqns[0].params;
 * if (JSON.stringify(params) !== '{"axes":[0]}') throw new Error(JSON.stringify(params));
 * ```
 */
export type Params = PrimParams<PrimName>;

/**
 * A variable of a graph: defined once (as an input, a constant, or an equation's output).
 *
 * @example
 * ```ts
 * import { Var } from "./graph.ts";
 * const v = new Var(0, [2, 3], "float32");
 * if (v.shape[1] !== 3) throw new Error();
 * ```
 */
export class Var implements Aval {
  /** Creates a variable with a graph-unique id. */
  constructor(readonly id: number, readonly shape: Shape, readonly dtype: DType) {}
}

/**
 * One step of a graph, `out = prim[params](...inputs)`, for primitive `P`. `Eqn` (all primitives) is a union
 * discriminated by `prim`, so checking `e.prim` narrows `e.params` to that primitive's params.
 *
 * @example
 * ```ts
 * import { type Eqn, trace } from "../../mod.ts";
 * const eqn: Eqn = trace((x) => x.sum(0), { shape: [2, 3] }).eqns[0];
 * if (eqn.prim !== "reduce_sum" || eqn.params.axes[0] !== 0) throw new Error(); // params typed by prim
 * ```
 */
export type Eqn<P extends PrimName = PrimName> = P extends PrimName ? {
    /** The primitive's name, a key of the primitive declarations. */
    readonly prim: P;
    /** The operands, in order. */
    readonly inputs: readonly Var[];
    /** Static parameters (axes, shapes, constants), typed by the primitive. */
    readonly params: PrimParams<P>;
    /** The result. */
    readonly out: Var;
  }
  : never;

/**
 * Builds an equation of primitive `prim` with params checked against its declaration.
 *
 * @example
 * ```ts
 * import { makeEqn, Var } from "./graph.ts";
 * const x = new Var(0, [2, 3], "float32");
 * const e = makeEqn("reduce_sum", [x], { axes: [1] }, new Var(1, [2], "float32"));
 * if (e.params.axes[0] !== 1) throw new Error();
 * ```
 */
export function makeEqn<P extends PrimName>(
  prim: P,
  inputs: readonly Var[],
  params: PrimParams<P>,
  out: Var,
): Eqn<P> {
  return { prim, inputs, params, out } as Eqn<P>;
}

/**
 * A string that equal params (and only those) share: typed arrays by their values, -0 apart from 0, and
 * NaN, Infinity and -Infinity apart from each other (JSON alone prints -0 as 0 and the three as null, which
 * would merge `full(-0)` with `full(0)`, or `where(m, x, NaN)` with `where(m, x, -Infinity)`). Caches of
 * compiled code and common-subexpression elimination key equations by it.
 *
 * @example
 * ```ts
 * import { paramsKey } from "./graph.ts";
 * if (paramsKey({ value: -0 }) === paramsKey({ value: 0 })) throw new Error("-0 and 0 must differ");
 * if (paramsKey({ value: NaN }) === paramsKey({ value: -Infinity })) throw new Error("NaN and -∞ must differ");
 * ```
 */
export function paramsKey(params: object): string {
  return JSON.stringify(params, (_k, v) => {
    if (typeof v === "number") {
      return Object.is(v, -0) || !Number.isFinite(v) ? `number:${Object.is(v, -0) ? "-0" : v}` : v;
    }
    return ArrayBuffer.isView(v) ? Array.from(v as Float32Array) : v;
  });
}

/**
 * A value captured by a graph from outside (a concrete tensor, or a tracer of an enclosing trace).
 *
 * @example
 * ```ts
 * import type { Capture } from "./graph.ts";
 * import { tensor, trace } from "../../mod.ts";
 * const w = tensor([10, 20]); // not an input of the traced function: the graph captures it
 * const g = trace((x) => x.mul(w), tensor([1, 2]));
 * const capture: Capture = g.captures[0];
 * if (g.captures.length !== 1 || capture.value !== w || capture.v.shape.join() !== "2") throw new Error();
 * ```
 */
export interface Capture {
  /** The variable the graph uses for it. */
  readonly v: Var;
  /** The captured value itself (a `Tensor`). */
  readonly value: unknown;
}

const DTYPE_SHORT: Record<DType, string> = { float32: "f32", int32: "i32", bool: "bool" };

function varName(index: number): string {
  let name = "";
  let n = index;
  do {
    name = String.fromCharCode(97 + (n % 26)) + name;
    n = Math.floor(n / 26) - 1;
  } while (n >= 0);
  return name;
}

function showParam(value: unknown): string {
  if (ArrayBuffer.isView(value)) return `<${(value as unknown as ArrayLike<number>).length} values>`;
  return JSON.stringify(value);
}

/**
 * A traced function: inputs, captured constants, equations and outputs.
 *
 * @example
 * ```ts
 * import { tensor, trace } from "../../mod.ts";
 * const g = trace((x) => x.mul(2).exp(), tensor([1, 2]));
 * if (!g.toString().includes("exp")) throw new Error(g.toString());
 * if (!g.toDot().startsWith("digraph")) throw new Error();
 * ```
 */
export class Graph {
  /** Builds a graph from its parts (the tracer does this; users rarely need to). */
  constructor(
    readonly inputs: readonly Var[],
    readonly captures: readonly Capture[],
    readonly eqns: readonly Eqn[],
    readonly outputs: readonly Var[],
  ) {}

  /** Short names (`a`, `b`, ... `z`, `aa`, ...) for every variable, in order of definition. */
  names(): Map<Var, string> {
    const names = new Map<Var, string>();
    const name = (v: Var) => {
      if (!names.has(v)) names.set(v, varName(names.size));
    };
    this.inputs.forEach(name);
    this.captures.forEach((c) => name(c.v));
    for (const e of this.eqns) name(e.out);
    return names;
  }

  /** Readable text, like a jaxpr: `{ lambda a:f32[2] ; let b:f32[2] = exp a in (b) }` over several lines. */
  toString(): string {
    const names = this.names();
    const typed = (v: Var) => `${names.get(v)}:${DTYPE_SHORT[v.dtype]}${showShape(v.shape)}`;
    const ref = (v: Var) => names.get(v) ?? "?";
    const lines = [
      `{ lambda ${this.inputs.map(typed).join(" ")}${this.captures.length ? " ; " : ""}${
        this.captures.map((c) => typed(c.v)).join(" ")
      } . let`,
    ];
    for (const e of this.eqns) {
      const entries = Object.entries(e.params);
      const params = entries.length ? `[${entries.map(([k, v]) => `${k}=${showParam(v)}`).join(" ")}]` : "";
      lines.push(`    ${typed(e.out)} = ${e.prim}${params} ${e.inputs.map(ref).join(" ")}`.trimEnd());
    }
    lines.push(`  in (${this.outputs.map(ref).join(", ")}) }`);
    return lines.join("\n");
  }

  /** A JSON-ready description: variables by name with shapes and dtypes, equations in order. */
  toJSON(): {
    inputs: { name: string; shape: number[]; dtype: DType }[];
    captures: { name: string; shape: number[]; dtype: DType }[];
    eqns: {
      prim: string;
      inputs: string[];
      params: Record<string, unknown>;
      out: string;
      shape: number[];
      dtype: DType;
    }[];
    outputs: string[];
  } {
    const names = this.names();
    const desc = (v: Var) => ({ name: names.get(v)!, shape: [...v.shape], dtype: v.dtype });
    return {
      inputs: this.inputs.map(desc),
      captures: this.captures.map((c) => desc(c.v)),
      eqns: this.eqns.map((e) => ({
        prim: e.prim,
        inputs: e.inputs.map((v) => names.get(v)!),
        params: Object.fromEntries(
          Object.entries(e.params).map((
            [k, v],
          ) => [k, ArrayBuffer.isView(v) ? Array.from(v as unknown as Float32Array) : v]),
        ),
        out: names.get(e.out)!,
        shape: [...e.out.shape],
        dtype: e.out.dtype,
      })),
      outputs: this.outputs.map((v) => names.get(v)!),
    };
  }

  /** Graphviz DOT: one box per equation, ellipses for inputs and captures, edges labelled by shape. */
  toDot(): string {
    const names = this.names();
    const lines = ["digraph loom {", "  rankdir=TB;", '  node [fontname="monospace"];'];
    const label = (v: Var) => `${DTYPE_SHORT[v.dtype]}${showShape(v.shape)}`;
    for (const v of this.inputs) {
      lines.push(`  ${names.get(v)} [shape=ellipse, label="${names.get(v)}: ${label(v)}"];`);
    }
    for (const c of this.captures) {
      lines.push(
        `  ${names.get(c.v)} [shape=ellipse, style=dashed, label="${names.get(c.v)}: ${label(c.v)}"];`,
      );
    }
    for (const e of this.eqns) {
      const n = names.get(e.out);
      lines.push(`  ${n} [shape=box, label="${n} = ${e.prim}"];`);
      for (const v of e.inputs) lines.push(`  ${names.get(v)} -> ${n} [label="${label(v)}"];`);
    }
    this.outputs.forEach((v, i) => {
      lines.push(`  out${i} [shape=doublecircle, label="out${i}"];`, `  ${names.get(v)} -> out${i};`);
    });
    lines.push("}");
    return lines.join("\n");
  }
}
