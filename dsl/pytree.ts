/**
 * Pytrees: nested arrays and plain objects whose leaves are tensors. Params, gradients and optimizer states are
 * pytrees, so transforms flatten them to lists of tensors and rebuild the same structure afterwards.
 * @module
 */
import { SparseRows } from "./sparse.ts";
import { Tensor } from "./tensor.ts";

/**
 * A nested structure of tensors: what params, gradients and batches are.
 *
 * @example
 * ```ts
 * import { flatten, type PyTree, tensor } from "../mod.ts";
 * const params: PyTree = { w: tensor([1]), layers: [tensor([2])] };
 * if (flatten(params).leaves.length !== 2) throw new Error();
 * ```
 */
export type PyTree = Tensor | SparseRows | PyTreeNode | number | string | boolean | null | undefined;
/**
 * A container node of a pytree.
 *
 * @example
 * ```ts
 * import type { PyTreeNode } from "./pytree.ts";
 * import { flatten, tensor } from "../mod.ts";
 * const node: PyTreeNode = { w: tensor([1]), layers: [tensor([2]), 3] };
 * if (flatten(node).leaves.length !== 2) throw new Error();
 * ```
 */
export type PyTreeNode = readonly PyTree[] | { readonly [key: string]: PyTree };

/**
 * The structure of a pytree without its tensors; `key` identifies it (for caches).
 *
 * @example
 * ```ts
 * import { flatten, tensor, type TreeDef } from "../mod.ts";
 * const def: TreeDef = flatten([tensor([1]), 2]).def;
 * if (def.leafCount !== 1) throw new Error();
 * ```
 */
export interface TreeDef {
  /** A string that is equal for equal structures (including static leaves). */
  readonly key: string;
  /** Number of tensor leaves. */
  readonly leafCount: number;
  /** @internal */ readonly build: (leaves: readonly unknown[], at: { i: number }) => unknown;
}

function isPlainObject(x: unknown): x is Record<string, unknown> {
  if (x === null || typeof x !== "object") return false;
  const proto = Object.getPrototypeOf(x);
  return proto === Object.prototype || proto === null;
}

/**
 * Flattens a pytree into its tensor leaves (depth first, object keys in insertion order) and its structure.
 * Numbers, strings, booleans, null and undefined are static leaves kept in the structure.
 *
 * @example
 * ```ts
 * import { flatten, tensor, unflatten } from "../mod.ts";
 * const { leaves, def } = flatten({ w: tensor([1]), b: [tensor([2]), 3] });
 * if (leaves.length !== 2) throw new Error();
 * const back = unflatten(def, leaves) as { b: unknown[] };
 * if (back.b[1] !== 3) throw new Error();
 * ```
 */
export function flatten(tree: unknown): { leaves: Tensor[]; def: TreeDef } {
  return flattenWith(tree, (x): x is Tensor => x instanceof Tensor);
}

/**
 * Flattens a pytree whose leaves are the nodes `isLeaf` accepts (tensors and shape specs, say), in the same
 * order and with the same structure keys as `flatten`.
 *
 * @example
 * ```ts
 * import { flattenWith } from "./pytree.ts";
 * const isShape = (x: unknown): x is number[] => Array.isArray(x) && x.every((d) => typeof d === "number");
 * const { leaves, def } = flattenWith({ a: [2, 3], b: [[4]] }, isShape);
 * if (leaves.length !== 2 || def.leafCount !== 2) throw new Error();
 * ```
 */
export function flattenWith<L>(tree: unknown, isLeaf: (x: unknown) => x is L): { leaves: L[]; def: TreeDef } {
  const leaves: L[] = [];
  const def = walk(tree, leaves as unknown[], "", isLeaf);
  return { leaves, def };
}

function walk(node: unknown, leaves: unknown[], path: string, isLeaf: (x: unknown) => boolean): TreeDef {
  if (isLeaf(node)) {
    leaves.push(node);
    return { key: "T", leafCount: 1, build: (l, at) => l[at.i++] };
  }
  if (node instanceof SparseRows) {
    leaves.push(node.indices, node.values);
    const shape = [...node.shape];
    return {
      key: `S${JSON.stringify(shape)}`,
      leafCount: 2,
      build: (l, at) => new SparseRows(l[at.i++] as Tensor, l[at.i++] as Tensor, shape),
    };
  }
  if (Array.isArray(node)) {
    const defs = node.map((child, i) => walk(child, leaves, `${path}[${i}]`, isLeaf));
    return {
      key: `[${defs.map((d) => d.key).join(",")}]`,
      leafCount: defs.reduce((n, d) => n + d.leafCount, 0),
      build: (l, at) => defs.map((d) => d.build(l, at)),
    };
  }
  if (isPlainObject(node)) {
    const keys = Object.keys(node);
    const defs = keys.map((k) => walk(node[k], leaves, `${path}.${k}`, isLeaf));
    return {
      key: `{${keys.map((k, i) => `${JSON.stringify(k)}:${defs[i].key}`).join(",")}}`,
      leafCount: defs.reduce((n, d) => n + d.leafCount, 0),
      build: (l, at) => Object.fromEntries(keys.map((k, i) => [k, defs[i].build(l, at)])),
    };
  }
  if (node === null || node === undefined || ["number", "string", "boolean"].includes(typeof node)) {
    const key = node === undefined ? "u" : JSON.stringify(node);
    return { key, leafCount: 0, build: () => node };
  }
  throw new TypeError(
    `pytree: unsupported value at ${path || "the root"} (${Object.prototype.toString.call(node)}); ` +
      "use tensors, numbers, strings, arrays and plain objects",
  );
}

/**
 * Rebuilds a structure from `flatten`'s definition and a list of leaves.
 *
 * @example
 * ```ts
 * import { flatten, tensor, unflatten } from "../mod.ts";
 * const { def } = flatten([tensor([1]), tensor([2])]);
 * const out = unflatten(def, [tensor([5]), tensor([6])]) as unknown[];
 * if (out.length !== 2) throw new Error();
 * ```
 */
export function unflatten(def: TreeDef, leaves: readonly unknown[]): unknown {
  if (leaves.length !== def.leafCount) {
    throw new Error(`unflatten: the structure has ${def.leafCount} tensor leaves, got ${leaves.length}`);
  }
  return def.build([...leaves], { i: 0 });
}

/**
 * Applies `f` to every tensor leaf of one or more pytrees of the same structure, returning a new pytree.
 *
 * @example
 * ```ts
 * import { tensor, treeMap } from "../mod.ts";
 * const doubled = treeMap((t) => t.mul(2), { a: tensor([1, 2]) }) as { a: { arraySync(): unknown } };
 * if (String(doubled.a.arraySync()) !== "2,4") throw new Error();
 * ```
 */
export function treeMap(f: (...leaves: Tensor[]) => Tensor, tree: unknown, ...rest: unknown[]): unknown {
  const { leaves, def } = flatten(tree);
  const others = rest.map((r) => {
    const flat = flatten(r);
    if (flat.def.key !== def.key) throw new Error("treeMap: the pytrees have different structures");
    return flat.leaves;
  });
  return unflatten(def, leaves.map((leaf, i) => f(leaf, ...others.map((o) => o[i]))));
}

/**
 * The path of every tensor leaf (`.encoder.w`, `[0].b`), in flatten order: for error messages and summaries.
 *
 * @example
 * ```ts
 * import { leafPaths, tensor } from "../mod.ts";
 * if (leafPaths({ w: tensor([1]), b: [tensor([2])] }).join() !== ".w,.b[0]") throw new Error();
 * ```
 */
export function leafPaths(tree: unknown, prefix = ""): string[] {
  if (tree instanceof Tensor) return [prefix];
  if (tree instanceof SparseRows) return [`${prefix}.indices`, `${prefix}.values`];
  if (Array.isArray(tree)) return tree.flatMap((c, i) => leafPaths(c, `${prefix}[${i}]`));
  if (isPlainObject(tree)) return Object.keys(tree).flatMap((k) => leafPaths(tree[k], `${prefix}.${k}`));
  return [];
}
