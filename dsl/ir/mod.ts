/**
 * Loom's intermediate representation, the one module backends import: dtypes, shapes, the graph (`Var`,
 * `Eqn`, `Graph`; text, JSON and DOT), the primitive declarations, and the `Backend` interface. It imports
 * nothing else of the project.
 *
 * @example
 * ```ts
 * import { Graph, makeEqn, PRIMITIVES, Var } from "./mod.ts";
 * const x = new Var(0, [2], "float32");
 * const y = new Var(1, [2], "float32");
 * const g = new Graph([x], [], [makeEqn("exp", [x], {}, y)], [y]);
 * if (!g.toString().includes("exp") || PRIMITIVES.exp.kind !== "elementwise") throw new Error();
 * ```
 * @module
 */
export * from "./dtype.ts";
export * from "./shape.ts";
export * from "./graph.ts";
export * from "./primitives.ts";
export * from "./backend.ts";
