/**
 * Sums of products as one product: `A₁·B₁ + A₂·B₂ + … = [A₁ A₂ …]·[B₁; B₂; …]`. Reverse mode through an
 * unrolled loop makes such sums: the gradient of a weight used at every time step (an RNN's recurrent
 * matrix) is `Σ_t h_tᵀ·dz_t`, one thin product per step, each written to its own buffer and then read back
 * by the sum. One product over the concatenated operands does the same arithmetic with a long inner
 * dimension, where a matmul kernel runs near its peak, and writes the result once.
 * @module
 */
import { type Eqn, Graph, makeEqn, shapesEqual, Var } from "../../dsl/ir/mod.ts";

/**
 * Whether merging a product of inner size `k` into a longer one saves memory traffic: copying its operands
 * (`m·k + k·n` values) costs no more than writing and reading back its `[m, n]` partial result.
 */
function worthMerging(m: number, n: number, k: number): boolean {
  return k * (m + n) <= m * n;
}

/**
 * Rewrites every tree of float additions whose leaves include two or more 2-D matmuls (each used only by
 * the tree, each thin: see `worthMerging`) into one matmul over the operands concatenated along the inner
 * axis, plus the tree's other leaves. Left operands that are all transposes are concatenated before the
 * transpose (a splat is made in the transposed shape), so the merged product still reads them transposed (as a flag of the matmul kernel). The
 * replaced products stay in the graph, unused, for dead-code elimination to drop (`optimize` runs both).
 *
 * @example
 * ```ts
 * import { trace, tensor } from "../../mod.ts";
 * import { mergeMatmulSums } from "./matmul_sums.ts";
 * import { eliminateDeadCode } from "./simplify.ts";
 * const h = [tensor([[1, 2]]), tensor([[3, 4]]), tensor([[5, 6]])];
 * const d = tensor([[1, 0, 2]]);
 * const sum = (x: any, y: any, z: any, g: any) =>
 *   x.transpose().matmul(g).add(y.transpose().matmul(g)).add(z.transpose().matmul(g));
 * const g = eliminateDeadCode(mergeMatmulSums(trace(sum, ...h, d)));
 * if (g.eqns.filter((e) => e.prim === "matmul").length !== 1) throw new Error(g.toString());
 * ```
 */
export function mergeMatmulSums(graph: Graph): Graph {
  const uses = new Map<Var, number>();
  const producer = new Map<Var, Eqn>();
  for (const e of graph.eqns) {
    producer.set(e.out, e);
    for (const v of e.inputs) uses.set(v, (uses.get(v) ?? 0) + 1);
  }
  for (const v of graph.outputs) uses.set(v, (uses.get(v) ?? 0) + 2);
  // An add whose only use is another add of the same shape belongs to that add's tree, not a root.
  const inner = new Set<Var>();
  for (const e of graph.eqns) {
    if (e.prim !== "add") continue;
    for (const v of e.inputs) {
      const p = producer.get(v);
      if (p?.prim === "add" && uses.get(v) === 1 && shapesEqual(v.shape, e.out.shape)) inner.add(v);
    }
  }
  let nextId = 1 + Math.max(
    0,
    ...graph.inputs.map((v) => v.id),
    ...graph.captures.map((c) => c.v.id),
    ...graph.eqns.map((e) => e.out.id),
  );
  const fresh = (shape: readonly number[], like: Var) => new Var(nextId++, [...shape], like.dtype);
  const replaced = new Map<Var, Var>();
  const get = (v: Var) => replaced.get(v) ?? v;
  const eqns: Eqn[] = [];
  let changed = false;
  for (const e of graph.eqns) {
    if (e.prim === "add" && !inner.has(e.out) && e.out.dtype === "float32" && e.out.shape.length === 2) {
      const merged = mergeTree(e, producer, uses, inner, fresh, eqns, get);
      if (merged) {
        replaced.set(e.out, merged);
        changed = true;
        continue;
      }
    }
    eqns.push({ ...e, inputs: e.inputs.map(get) });
  }
  if (!changed) return graph;
  return new Graph(graph.inputs, graph.captures, eqns, graph.outputs.map(get));
}

/** The merged sum for the tree rooted at `root`, its equations appended to `eqns`; undefined if not worth it. */
function mergeTree(
  root: Eqn,
  producer: Map<Var, Eqn>,
  uses: Map<Var, number>,
  inner: Set<Var>,
  fresh: (shape: readonly number[], like: Var) => Var,
  eqns: Eqn[],
  get: (v: Var) => Var,
): Var | undefined {
  const [m, n] = root.out.shape;
  const products: Eqn[] = [];
  const others: Var[] = [];
  const visit = (v: Var) => {
    const p = producer.get(v);
    if (p?.prim === "add" && inner.has(v)) return p.inputs.forEach(visit);
    const [a, b] = p?.inputs ?? [];
    const thin = p?.prim === "matmul" && uses.get(v) === 1 && a.shape.length === 2 && b.shape.length === 2 &&
      shapesEqual(v.shape, root.out.shape) && worthMerging(m, n, a.shape[1]);
    thin ? products.push(p) : others.push(v);
  };
  root.inputs.forEach(visit);
  if (products.length < 2) return undefined;
  const emit = (eqn: Eqn) => (eqns.push(eqn), eqn.out);
  const k = products.reduce((sum, p) => sum + p.inputs[0].shape[1], 0);
  const lefts = products.map((p) => get(p.inputs[0]));
  // A splat (the zero state before a loop's first step) is transposed by making it in the other shape.
  const transposable = (v: Var) => ["transpose", "full"].includes(producer.get(v)?.prim ?? "");
  const untransposed = (v: Var) => {
    const p = producer.get(v)!;
    if (p.prim !== "full") return get(p.inputs[0]);
    const [rows, columns] = v.shape;
    return emit(makeEqn("full", [], { ...p.params, shape: [columns, rows] }, fresh([columns, rows], v)));
  };
  const left = lefts.every(transposable)
    ? emit(makeEqn(
      "transpose",
      [
        emit(makeEqn("concat", lefts.map(untransposed), { axis: 0 }, fresh([k, m], root.out))),
      ],
      { perm: [1, 0] },
      fresh([m, k], root.out),
    ))
    : emit(makeEqn("concat", lefts, { axis: 1 }, fresh([m, k], root.out)));
  const right = emit(
    makeEqn("concat", products.map((p) => get(p.inputs[1])), { axis: 0 }, fresh([k, n], root.out)),
  );
  let sum = emit(makeEqn("matmul", [left, right], {}, fresh([m, n], root.out)));
  for (const v of others) sum = emit(makeEqn("add", [sum, get(v)], {}, fresh([m, n], root.out)));
  return sum;
}
