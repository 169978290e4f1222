/**
 * Small numerics on plain arrays of word vectors, for drawing them: cosine similarity, nearest neighbours, and a
 * 2-D PCA map kept aligned with the previous frame's (so that it does not spin or flip as training moves it).
 * @module
 */

/**
 * Cosine similarity of two vectors (0 where either is zero).
 *
 * @example
 * ```ts
 * import { cosine } from "./vectors_math.ts";
 * if (cosine([1, 0], [2, 0]) !== 1 || cosine([1, 0], [0, 3]) !== 0) throw new Error();
 * ```
 */
export function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let [dot, na, nb] = [0, 0, 0];
  for (let i = 0; i < a.length; i++) [dot, na, nb] = [dot + a[i] * b[i], na + a[i] * a[i], nb + b[i] * b[i]];
  return na === 0 || nb === 0 ? 0 : dot / Math.sqrt(na * nb);
}

/**
 * The `k` rows most similar (cosine) to row `row`, itself left out, best first.
 *
 * @example
 * ```ts
 * import { nearest } from "./vectors_math.ts";
 * const rows = [[1, 0], [0.9, 0.1], [0, 1]];
 * if (nearest(rows, 0, 1)[0][0] !== 1) throw new Error();
 * ```
 */
export function nearest(rows: readonly ArrayLike<number>[], row: number, k: number): [number, number][] {
  return rows.map((r, i) => [i, cosine(rows[row], r)] as [number, number]).filter(([i]) => i !== row)
    .sort((a, b) => b[1] - a[1]).slice(0, k);
}

/** Top principal direction of centred rows, deflated by `exclude` (power iteration on the covariance). */
function principal(rows: readonly number[][], exclude?: number[]): number[] {
  const dim = rows[0].length;
  let v = Array.from({ length: dim }, (_, i) => Math.cos(i + 1));
  for (let iteration = 0; iteration < 100; iteration++) {
    const next = new Array(dim).fill(0);
    for (const r of rows) {
      const p = r.reduce((s, x, i) => s + x * v[i], 0);
      for (let i = 0; i < dim; i++) next[i] += p * r[i];
    }
    if (exclude) {
      const p = next.reduce((s, x, i) => s + x * exclude[i], 0);
      for (let i = 0; i < dim; i++) next[i] -= p * exclude[i];
    }
    const norm = Math.hypot(...next) || 1;
    v = next.map((x) => x / norm);
  }
  return v;
}

/**
 * Rows projected on their two principal components; where `previous` (the last frame's points) is given, the
 * map is rotated (and mirrored if that fits better) onto it, the orthogonal Procrustes fit in 2-D.
 *
 * @example
 * ```ts
 * import { pcaMap } from "./vectors_math.ts";
 * const rows = [[2, 0, 0], [-2, 0, 0], [0, 1, 0], [0, -1, 0]];
 * const map = pcaMap(rows);
 * if (Math.abs(Math.abs(map[0][0]) - 2) > 1e-6) throw new Error(); // the widest spread comes first
 * const again = pcaMap(rows, [[-2, 0], [2, 0], [0, -1], [0, 1]]);
 * if (Math.abs(again[0][0] + 2) > 1e-6) throw new Error(); // turned to match the previous frame
 * ```
 */
export function pcaMap(
  rows: readonly ArrayLike<number>[],
  previous?: readonly [number, number][],
): [number, number][] {
  const dim = rows[0]?.length ?? 0;
  if (rows.length === 0 || dim === 0) return [];
  const mean = new Array(dim).fill(0);
  for (const r of rows) for (let i = 0; i < dim; i++) mean[i] += r[i] / rows.length;
  const centred = rows.map((r) => Array.from({ length: dim }, (_, i) => r[i] - mean[i]));
  const first = principal(centred);
  const second = dim > 1 ? principal(centred, first) : first.map(() => 0);
  const points = centred.map((r) =>
    [r.reduce((s, x, i) => s + x * first[i], 0), r.reduce((s, x, i) => s + x * second[i], 0)] as [
      number,
      number,
    ]
  );
  if (!previous || previous.length !== points.length) return points;
  // Best rotation of (x, y) and of its mirror (x, -y) onto the previous points; keep the better one.
  let best = points, bestError = Infinity;
  for (const mirror of [1, -1]) {
    const mirrored = points.map(([x, y]) => [x, mirror * y]);
    let [cos, sin] = [0, 0];
    mirrored.forEach(([x, y], i) => {
      const [px, py] = previous[i];
      cos += x * px + y * py;
      sin += x * py - y * px;
    });
    const angle = Math.atan2(sin, cos);
    const [c, s] = [Math.cos(angle), Math.sin(angle)];
    const turned = mirrored.map(([x, y]) => [c * x - s * y, s * x + c * y] as [number, number]);
    const error = turned.reduce(
      (e, [x, y], i) => e + (x - previous[i][0]) ** 2 + (y - previous[i][1]) ** 2,
      0,
    );
    if (error < bestError) [best, bestError] = [turned, error];
  }
  return best;
}
