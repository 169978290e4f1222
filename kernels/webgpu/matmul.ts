/**
 * Batched matmuls as WGSL: `out[b] = op(a[b]) · op(b[b])`, transposed operands read in place. A workgroup of
 * `tx × ty` invocations computes a `4ty × 4tx` tile of the output, each invocation a 4 × 4 register tile;
 * the operands' tiles of depth `bk` are staged in workgroup memory, k-major, with vec4 loads wherever the
 * contiguous axis of the operand is a multiple of 4, and the inner loop over the tile's depth is unrolled.
 * Tile sizes follow the shape; when the output has few tiles and the contraction is long, the depth is split
 * over workgroups (split-K) whose partial sums a second dispatch adds. An epilogue from the fusion pass
 * (bias, activation, residual add) is applied to each result before it is stored.
 * @module
 */
import type { Shape } from "../../dsl/ir/mod.ts";
import type { Expr, MatmulKernel } from "../passes/fuse.ts";
import { emitExpr } from "./expr.ts";
import {
  bindings,
  type Dispatch,
  indicesOf,
  type KernelContext,
  load,
  single,
  type WebGpuBuffer,
  word,
} from "./wgsl.ts";

/**
 * An elementwise computation applied to each result of a kernel before it is stored: `expr` over the
 * iteration space `shape` (the output's elements in row-major order), where `acc` is the result and loads
 * name the kernel's inputs by position.
 *
 * @example
 * ```ts
 * import type { Epilogue } from "./matmul.ts";
 * const relu: Epilogue = {
 *   shape: [2, 2],
 *   expr: { kind: "op", prim: "max", dtype: "float32", params: {}, args: [{ kind: "acc", dtype: "float32" }, { kind: "const", value: 0, dtype: "float32" }] },
 * };
 * if (relu.shape.length !== 2) throw new Error();
 * ```
 */
export interface Epilogue {
  /** The iteration space the expression's affine loads refer to (same size as the output). */
  readonly shape: Shape;
  /** The value stored, reading `acc`. */
  readonly expr: Expr;
}

/**
 * A matmul kernel of the WebGPU backend: the fusion pass's, with more inputs read by an optional epilogue.
 *
 * @example
 * ```ts
 * import type { GpuMatmulKernel } from "./matmul.ts";
 * const hasEpilogue = (k: GpuMatmulKernel) => k.epilogue !== undefined;
 * if (typeof hasEpilogue !== "function") throw new Error();
 * ```
 */
export type GpuMatmulKernel = Omit<MatmulKernel, "inputs"> & {
  readonly inputs: MatmulKernel["inputs"] | readonly MatmulKernel["inputs"][number][];
  readonly epilogue?: Epilogue;
};

/**
 * The shape of a matmul's workgroup tiles: `tx × ty` invocations of 4 × 4 results, depth `bk` per step, the
 * contraction split over `splits` workgroups.
 *
 * @example
 * ```ts
 * import { chooseTiles } from "./matmul.ts";
 * const t = chooseTiles(1, 1024, 1024, 1024);
 * if (t.splits !== 1 || t.tx * 4 > 1024) throw new Error();
 * ```
 */
export interface Tiles {
  /** Invocations along the output's columns. */
  readonly tx: number;
  /** Invocations along the output's rows. */
  readonly ty: number;
  /** Depth of a step (a multiple of 4). */
  readonly bk: number;
  /** Workgroups sharing each tile's contraction. */
  readonly splits: number;
}

/**
 * Tiles for a `batch × m × n` output contracting `k`: 64 × 64 tiles where the output has many of them, 32 ×
 * 32 where it does not, 16-row tiles for skinny outputs; split-K when the output has fewer than 32 tiles
 * (too few workgroups to fill a GPU) and each would contract over more than 256.
 *
 * @example
 * ```ts
 * import { chooseTiles } from "./matmul.ts";
 * if (chooseTiles(1, 128, 128, 4096).splits < 2) throw new Error(); // few tiles, a long contraction
 * ```
 */
export function chooseTiles(batch: number, m: number, n: number, k: number): Tiles {
  const count = (tx: number, ty: number) => batch * Math.ceil(m / (4 * ty)) * Math.ceil(n / (4 * tx));
  let tx = 16, ty = 16;
  if (count(tx, ty) < 64) [tx, ty] = [8, 8];
  if (m <= 16) [tx, ty] = [16, 4];
  else if (n <= 16) [tx, ty] = [4, 16];
  const tiles = count(tx, ty);
  const splits = tiles < 32 && k >= 512 ? Math.min(Math.ceil(k / 256), Math.ceil(64 / tiles)) : 1;
  return { tx, ty, bk: 16, splits };
}

/** Below this many multiply-adds, one invocation per result (no tiles): small eager products. */
const SMALL = 32768;

/**
 * The dispatches of a matmul kernel reading `inputs` (one per `k.inputs`) and writing `out`.
 *
 * @example
 * ```ts
 * import { tensor, trace } from "../../mod.ts";
 * import { fuse, type MatmulKernel } from "../passes/fuse.ts";
 * import { matmulDispatches } from "./matmul.ts";
 * import { WebGpuBuffer } from "./wgsl.ts";
 * const x = tensor(new Float32Array(64 * 64), { shape: [64, 64] });
 * const k = fuse(trace((a, b) => a.matmul(b), x, x)).kernels[0] as MatmulKernel;
 * const none = new WebGpuBuffer(undefined as unknown as GPUBuffer, 0);
 * const [d] = matmulDispatches(k, [none, none], none, { scratch: () => none });
 * if (!d.source.includes("var<workgroup>")) throw new Error();
 * ```
 */
export function matmulDispatches(
  k: GpuMatmulKernel,
  inputs: readonly WebGpuBuffer[],
  out: WebGpuBuffer,
  ctx: KernelContext,
  tiles: Tiles = chooseTiles(k.batch, k.m, k.n, k.k),
): Dispatch[] {
  const { batch, m, n } = k;
  if (batch * m * n === 0) return [];
  if (batch * m * n * k.k < SMALL) return naiveDispatches(k, inputs, out);
  const { tx, ty, splits } = tiles;
  const groups: [number, number, number] = [Math.ceil(n / (4 * tx)), Math.ceil(m / (4 * ty)), batch * splits];
  if (groups[0] > 65535 || groups[1] > 65535 || groups[2] > 65535) return naiveDispatches(k, inputs, out);
  if (splits === 1) {
    return [{ source: tiledShader(k, inputs.length, tiles, "store"), out, inputs, groups }];
  }
  const partials = ctx.scratch(splits * batch * m * n);
  const sum = Array.from({ length: splits }, (_, s) => `bitcast<f32>(in0[${s * batch * m * n}u + i])`);
  const { fn, call } = epilogueFunction(k, "value", 1);
  return [
    { source: tiledShader(k, 2, tiles, "partial"), out: partials, inputs: inputs.slice(0, 2), groups },
    ...single(
      batch * m * n,
      `let value = ${sum.join(" + ")};\n  out[i] = ${call("i")};`,
      [partials, ...inputs.slice(2)],
      out,
      fn,
    ),
  ];
}

/**
 * The WGSL function `epilogue(flat, value)` that gives the word stored for result `value` at flat index
 * `flat` (the kernel's epilogue, or just the value's bits); `first` is the binding of the epilogue's first
 * extra input (its loads from position 2 on).
 */
function epilogueFunction(
  k: GpuMatmulKernel,
  value: string,
  first: number,
): { fn: string; call: (flat: string) => string } {
  const e = k.epilogue;
  if (!e) return { fn: "", call: () => `bitcast<u32>(${value})` };
  const { code: index, names } = indicesOf("flat", e.shape, "q");
  const { code, value: result } = emitExpr(e.expr, {
    indices: names,
    acc: "acc",
    loadOf: (l, affine) => load(`in${l.input - 2 + first}`, `u32(${affine(l.at)})`, l.dtype),
  });
  const fn = `
fn epilogue(flat: u32, acc: f32) -> u32 {
  ${index}
  ${code}
  return ${word(result, k.output.dtype)};
}`;
  return { fn, call: (flat) => `epilogue(${flat}, ${value})` };
}

/** Element (row, col) of operand `a` or `b` of batch `b`, as a u32 index expression. */
function operandIndex(k: GpuMatmulKernel, which: "a" | "b", row: string, col: string): string {
  const { m, n, k: depth } = k;
  if (which === "a") {
    return k.transA
      ? `b * ${m * depth}u + ${col} * ${m}u + ${row}`
      : `b * ${m * depth}u + ${row} * ${depth}u + ${col}`;
  }
  return k.transB
    ? `b * ${depth * n}u + ${col} * ${depth}u + ${row}`
    : `b * ${depth * n}u + ${row} * ${n}u + ${col}`;
}

/** One invocation per result, looping over the contraction: for products too small to tile. */
function naiveDispatches(k: GpuMatmulKernel, inputs: readonly WebGpuBuffer[], out: WebGpuBuffer): Dispatch[] {
  const { batch, m, n, k: depth } = k;
  const { fn, call } = epilogueFunction(k, "acc", 2);
  return single(
    batch * m * n,
    `let col = i % ${n}u;
  let row = (i / ${n}u) % ${m}u;
  let b = i / ${m * n}u;
  var acc = 0.0;
  for (var p = 0u; p < ${depth}u; p++) {
    acc = acc + bitcast<f32>(in0[${operandIndex(k, "a", "row", "p")}]) * bitcast<f32>(in1[${
      operandIndex(k, "b", "p", "col")
    }]);
  }
  out[i] = ${call("i")};`,
    inputs,
    out,
    fn,
  );
}

/**
 * Statements that load one operand's tile (`span` rows or columns of the output by `bk` of the contraction,
 * starting at `start` and `k0`) into the workgroup array `tile`, k-major: element (kk, j) at `kk * span + j`.
 */
function tileLoads(
  k: GpuMatmulKernel,
  which: "a" | "b",
  span: number,
  bk: number,
  threads: number,
  start: string,
): string {
  const extent = which === "a" ? k.m : k.n;
  const binding = which === "a" ? "in0" : "in1";
  // Which axis of the operand is contiguous in memory: the contraction (a row-major a, a transposed b) or
  // the output's axis.
  const alongK = which === "a" ? !k.transA : k.transB;
  const contiguous = alongK ? k.k : extent;
  const index = (j: string, kk: string) =>
    which === "a" ? operandIndex(k, "a", j, kk) : operandIndex(k, "b", kk, j);
  const lines: string[] = [];
  if (contiguous % 4 === 0) {
    // vec4 loads along the contiguous axis; a vector is wholly inside or wholly outside the operand.
    const vectors = (span * bk) / 4;
    for (let l = 0; l < vectors / threads; l++) {
      const v = `lane + ${l * threads}u`;
      const [j, kk] = alongK
        ? [`(${v}) / ${bk / 4}u`, `((${v}) % ${bk / 4}u) * 4u`]
        : [`((${v}) % ${span / 4}u) * 4u`, `(${v}) / ${span / 4}u`];
      lines.push(`{
    let j = ${j};
    let kk = ${kk};
    let gj = ${start} + j;
    let gk = k0 + kk;
    var v = vec4<f32>(0.0);
    if (gj < ${extent}u && gk < k_end) {
      let at = (${index("gj", "gk")}) / 4u;
      v = bitcast<vec4<f32>>(${binding}[at]);
    }
    ${
        alongK
          ? `tile_${which}[(kk * ${span}u + j) / 4u][j % 4u] = v.x;
    tile_${which}[((kk + 1u) * ${span}u + j) / 4u][j % 4u] = v.y;
    tile_${which}[((kk + 2u) * ${span}u + j) / 4u][j % 4u] = v.z;
    tile_${which}[((kk + 3u) * ${span}u + j) / 4u][j % 4u] = v.w;`
          : `tile_${which}[(kk * ${span}u + j) / 4u] = v;`
      }
  }`);
    }
  } else {
    const scalars = span * bk;
    for (let l = 0; l < scalars / threads; l++) {
      const s = `lane + ${l * threads}u`;
      const [j, kk] = alongK
        ? [`(${s}) / ${bk}u`, `(${s}) % ${bk}u`]
        : [`(${s}) % ${span}u`, `(${s}) / ${span}u`];
      lines.push(`{
    let j = ${j};
    let kk = ${kk};
    let gj = ${start} + j;
    let gk = k0 + kk;
    var v = 0.0;
    if (gj < ${extent}u && gk < k_end) { v = bitcast<f32>(${binding}[${index("gj", "gk")}]); }
    tile_${which}[(kk * ${span}u + j) / 4u][j % 4u] = v;
  }`);
    }
  }
  return lines.join("\n  ");
}

/** The tiled shader: `store` writes results through the epilogue; `partial` writes this split's sums. */
function tiledShader(
  k: GpuMatmulKernel,
  inputCount: number,
  tiles: Tiles,
  mode: "store" | "partial",
): string {
  const { batch, m, n } = k;
  const { tx, ty, bk, splits } = tiles;
  const threads = tx * ty;
  const [bm, bn] = [4 * ty, 4 * tx];
  const chunk = Math.ceil(k.k / splits / bk) * bk;
  const vecA = (k.transA ? m : k.k) % 4 === 0;
  const vecB = (k.transB ? k.k : n) % 4 === 0;
  const { fn, call } = mode === "store" ? epilogueFunction(k, "value", 2) : { fn: "", call: () => "" };
  const rows = [0, 1, 2, 3];
  const inner: string[] = [];
  for (let kk = 0; kk < bk; kk++) {
    inner.push(`a = tile_a[${(kk * bm) / 4}u + ty];
      bv = tile_b[${(kk * bn) / 4}u + tx];
      ${rows.map((r) => `acc${r} = fma(vec4<f32>(a[${r}]), bv, acc${r});`).join(" ")}`);
  }
  const stores = rows.map((r) =>
    `{
    let row = m0 + ty * 4u + ${r}u;
    if (row < ${m}u) {
      ${
      [0, 1, 2, 3].map((c) =>
        `if (col + ${c}u < ${n}u) { ${
          mode === "store"
            ? `let value = acc${r}[${c}]; let flat = b * ${m * n}u + row * ${n}u + col + ${c}u; out[flat] = ${
              call("flat")
            };`
            : `out[split * ${batch * m * n}u + b * ${
              m * n
            }u + row * ${n}u + col + ${c}u] = bitcast<u32>(acc${r}[${c}]);`
        } }`
      ).join("\n      ")
    }
    }
  }`
  ).join("\n  ");
  const vectors = [vecA ? 0 : -1, vecB ? 1 : -1].filter((j) => j >= 0);
  return `${bindings(inputCount, { vectors })}
var<workgroup> tile_a: array<vec4<f32>, ${(bk * bm) / 4}>;
var<workgroup> tile_b: array<vec4<f32>, ${(bk * bn) / 4}>;
${fn}
@compute @workgroup_size(${tx}, ${ty})
fn main(@builtin(workgroup_id) group: vec3<u32>, @builtin(local_invocation_id) local: vec3<u32>) {
  let tx = local.x;
  let ty = local.y;
  let lane = ty * ${tx}u + tx;
  let b = group.z / ${splits}u;
  let split = group.z % ${splits}u;
  let m0 = group.y * ${bm}u;
  let n0 = group.x * ${bn}u;
  var acc0 = vec4<f32>(0.0);
  var acc1 = vec4<f32>(0.0);
  var acc2 = vec4<f32>(0.0);
  var acc3 = vec4<f32>(0.0);
  var a: vec4<f32>;
  var bv: vec4<f32>;
  let k_end = min(${k.k}u, (split + 1u) * ${chunk}u);
  for (var k0 = split * ${chunk}u; k0 < k_end; k0 += ${bk}u) {
  ${tileLoads(k, "a", bm, bk, threads, "m0")}
  ${tileLoads(k, "b", bn, bk, threads, "n0")}
    workgroupBarrier();
    ${inner.join("\n    ")}
    workgroupBarrier();
  }
  let col = n0 + tx * 4u;
  ${stores}
}
`;
}
