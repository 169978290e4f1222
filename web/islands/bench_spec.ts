/**
 * What the benchmark page and its worker agree on: the request, the rows, the cap on sizes. Its own file, so
 * that the page does not load the worker's libraries.
 * @module
 */

/**
 * One measured row.
 *
 * @example
 * ```ts
 * import type { BenchRow } from "./bench_spec.ts";
 * const row: BenchRow = { workload: "matmul 256", library: "Loom", backend: "cpu", ms: 1.5 };
 * ```
 */
export interface BenchRow {
  workload: string;
  library: string;
  backend: string;
  ms: number;
}

/**
 * What the page asks for: matmul sizes and runs per median.
 *
 * @example
 * ```ts
 * import type { BenchRequest } from "./bench_spec.ts";
 * const request: BenchRequest = { sizes: [128, 256], repeats: 3 };
 * ```
 */
export interface BenchRequest {
  sizes: number[];
  repeats: number;
}

/**
 * The largest matmul the page may ask for, so that no browser hangs.
 *
 * @example
 * ```ts
 * import { MAX_SIZE } from "./bench_spec.ts";
 * if (MAX_SIZE < 512) throw new Error();
 * ```
 */
export const MAX_SIZE = 1024;
