/**
 * The CPU backend: compiles graphs into fused kernels over one WebAssembly memory. Passes (simplify, CSE,
 * DCE), fusion and a liveness-based memory plan run once per graph; elementwise chains and reductions become
 * generated JavaScript loops, matmuls run in the WebAssembly SIMD sgemm across the worker pool, gathers and
 * scatter-adds copy rows.
 *
 * Memory: eager tensors own blocks of the runtime's memory, returned to the allocator when the tensor is
 * garbage-collected (FinalizationRegistry); a compiled graph keeps its intermediates in slots it owns and
 * reuses on every run, so a training step allocates only its outputs.
 * @module
 */
import {
  type Backend,
  type CompileOptions,
  type CompileReport,
  type DeviceBuffer,
  type DType,
  type Executable,
  type Graph,
  type HostArray,
  type KernelCode,
  type Shape,
  showShape,
  sizeOf,
  stridesOf,
  type Var,
} from "../../dsl/ir/mod.ts";
import {
  type Expr,
  fuse,
  type Kernel,
  type MatmulKernel,
  type OpaqueKernel,
  Program,
  type ScatterKernel,
} from "../passes/fuse.ts";
import { BYTES_PER_ELEMENT, byteSize, planMemory } from "../passes/memory.ts";
import { groupRows, rowGroups } from "../passes/row_groups.ts";
import { optimize } from "../passes/simplify.ts";
import { reportProgram } from "../passes/report.ts";
import { elementwiseKernel, type GeneratedKernel, reduceKernel } from "./codegen.ts";
import { Control } from "./control.ts";
import { viewType } from "./jobs.ts";
import { packedBElements } from "./matmul.ts";
import { CPU_LOWERING, type KernelLowering } from "./lowering.ts";
import type { CpuRuntime } from "./pool.ts";
import { gatherRowsModule, SCATTER_STRIPES, scatterAddRowsModule } from "./rows.ts";
import {
  simdElementwiseModule,
  simdReduceModule,
  simdScatterAddModule,
  simdScatterSupported,
} from "./simd.ts";
import {
  checkIndices,
  CpuBuffer,
  type KernelContext,
  memoryLimits,
  type Step,
  type View,
} from "./standalone.ts";
import type { MemoryLimits } from "./wasm.ts";

export { CpuBuffer };

/**
 * Size of one ballast. Above glibc's largest mmap threshold (32 MiB), so that every ballast is a fresh
 * mapping of untouched zero pages: allocating it costs no memset and no resident memory. (Smaller buffers
 * are served from the malloc heap once a first one is freed, and then calloc clears them page by page.)
 */
const BALLAST_BYTES = 64 << 20;

/**
 * How many vectorised elements one element of a JavaScript kernel costs, roughly (scalar float64 code with a
 * rounding per op, often a `Math` call): the worker pool weighs a kernel's work by it when it decides
 * whether waking other threads pays.
 */
const JS_ELEMENT_COST = 8;

/**
 * Options of {@linkcode createCpuBackend}.
 *
 * @example
 * ```ts
 * import { type CpuBackendOptions, createCpuBackend } from "./mod.ts";
 * import { CpuRuntime } from "./pool.ts";
 * const options: CpuBackendOptions = { name: "cpu-one-thread" };
 * const runtime = await CpuRuntime.create({ threads: 1 });
 * if (createCpuBackend(runtime, options).name !== "cpu-one-thread") throw new Error();
 * runtime.close();
 * ```
 */
export interface CpuBackendOptions {
  /** The name to register under (default "cpu"). */
  name?: string;
}

/**
 * Creates a CPU backend over a runtime (its memory, allocator, sgemm and worker pool).
 *
 * @example
 * ```ts
 * import { CpuRuntime } from "./pool.ts";
 * import { createCpuBackend } from "./mod.ts";
 * const runtime = await CpuRuntime.create({ threads: 1 });
 * const cpu = createCpuBackend(runtime);
 * const buffer = cpu.fromHost(new Float32Array([1, 2]), [2], "float32");
 * if ((await cpu.read(buffer, [2], "float32"))[1] !== 2) throw new Error();
 * runtime.close();
 * ```
 */
export function createCpuBackend(runtime: CpuRuntime, options: CpuBackendOptions = {}): Backend {
  const owned = new OwnedBlocks(runtime);

  const allocate = (bytes: number, what: () => string, isOwned = true): CpuBuffer => {
    let ptr: number;
    try {
      ptr = runtime.alloc(bytes);
    } catch (e) {
      throw new RangeError(
        `cpu backend: cannot allocate ${formatBytes(bytes)} for ${what()}: ${(e as Error).message}. ` +
          "Use smaller batches or shapes. Tensors that are no longer used are only returned to memory when " +
          "the program yields to the event loop: a long synchronous loop should `await` now and then, or " +
          "donate the values it replaces (jit(step, { donate: [...] })).",
        { cause: e },
      );
    }
    const buffer = new CpuBuffer(ptr, bytes);
    if (isOwned) owned.adopt(buffer);
    return buffer;
  };

  const view = (buffer: CpuBuffer, dtype: DType, length: number): View => {
    const memory = runtime.memory.buffer;
    switch (dtype) {
      case "float32":
        return new Float32Array(memory, buffer.ptr, length);
      case "int32":
        return new Int32Array(memory, buffer.ptr, length);
      case "bool":
        return new Uint8Array(memory, buffer.ptr, length);
    }
  };

  const copyOut = (buffer: DeviceBuffer, shape: Shape, dtype: DType): HostArray =>
    view(buffer as CpuBuffer, dtype, sizeOf(shape)).slice();

  const limits = memoryLimits(runtime);
  const backend: Backend = {
    name: options.name ?? "cpu",
    fromHost(data, shape, dtype) {
      const buffer = allocate(
        data.length * BYTES_PER_ELEMENT[dtype],
        () => `a ${dtype}${showShape(shape)} tensor`,
      );
      view(buffer, dtype, data.length).set(data);
      return buffer;
    },
    read: (buffer, shape, dtype) => Promise.resolve(copyOut(buffer, shape, dtype)),
    readSync: copyOut,
    compile(graph: Graph, compileOptions: CompileOptions = {}): Executable {
      return compileGraph(graph, { allocate, view, runtime, limits }, compileOptions);
    },
    release(buffer) {
      owned.release(buffer as CpuBuffer);
    },
    aside: (task) => runtime.aside(task),
    explain(graph: Graph): CompileReport {
      const program = fuse(optimize(graph), FUSE_OPTIONS);
      const ctx = { allocate, view, runtime, limits };
      return reportProgram(backend.name, program, (k) => generateKernel(k, ctx).code);
    },
  };
  return backend;
}

/**
 * The blocks that tensors own, returned to the allocator when their buffer is garbage-collected. The
 * registry's callbacks run between tasks, so a synchronous loop releases nothing until it awaits; donate the
 * values a loop replaces (`jit(step, { donate })`) or await between steps.
 */
class OwnedBlocks {
  private readonly finalizer: FinalizationRegistry<number>;

  constructor(private readonly runtime: CpuRuntime) {
    this.finalizer = new FinalizationRegistry((ptr) => runtime.free(ptr));
  }

  /** Frees a donated block now (see `Backend.release`), unless another tensor may hold it. */
  release(buffer: CpuBuffer): void {
    if (buffer.shared || buffer.released || !this.finalizer.unregister(buffer)) return;
    buffer.released = true;
    this.runtime.free(buffer.ptr);
    // Freed without a collection: it no longer counts towards the next ballast (which prompts one).
    this.debt = Math.max(0, this.debt - buffer.bytes);
  }

  /** Bytes adopted since the last ballast. */
  private debt = 0;

  adopt(buffer: CpuBuffer): void {
    this.finalizer.register(buffer, buffer.ptr, buffer);
    // V8 does not see WebAssembly blocks as memory that a collection would free, so every BALLAST_BYTES of
    // adopted blocks, one of them carries an untouched ArrayBuffer of that size: V8 counts it as external
    // memory and collects (and the registry frees blocks) as often as the WebAssembly allocations warrant.
    this.debt += buffer.bytes;
    if (this.debt >= BALLAST_BYTES) {
      buffer.ballast = new ArrayBuffer(BALLAST_BYTES);
      this.debt = 0;
    }
  }
}

function formatBytes(bytes: number): string {
  if (bytes >= 2 ** 30) return `${(bytes / 2 ** 30).toFixed(1)} GiB`;
  if (bytes >= 2 ** 20) return `${(bytes / 2 ** 20).toFixed(1)} MiB`;
  return `${bytes} bytes`;
}

interface Context extends KernelContext {
  allocate(bytes: number, what: () => string, owned?: boolean): CpuBuffer;
}

function compileGraph(source: Graph, ctx: Context, options: CompileOptions): Executable {
  const graph = optimize(source);
  const fused = fuse(graph, FUSE_OPTIONS);
  const generated = new Map(fused.kernels.map((k) => [k, generateKernel(k, ctx)]));
  const grouping = rowGroups(fused.kernels, (k) => {
    const outer = generated.get(k)!.rows?.outer;
    return outer !== undefined && outer % groupRows(k)! === 0;
  });
  const program = new Program(graph, grouping.kernels);
  const donated = new Set(graph.inputs.filter((_, i) => options.donated?.[i]));
  const plan = planMemory(program, donated, grouping.groups);
  const groupAt = new Map(grouping.groups.map((g) => {
    const members = program.kernels.slice(g.start, g.end);
    return [g.start, { end: g.end, members, run: groupStep(members, g.rows, generated, ctx) }];
  }));
  // A group's members run through its step only: they get no step (nor registered code) of their own.
  const grouped = new Set([...groupAt.values()].flatMap((g) => g.members));
  const steps = program.kernels.map((k) =>
    grouped.has(k) ? undefined : compileKernel(k, generated.get(k)!, ctx)
  );
  const ownSlots: (CpuBuffer | undefined)[] = plan.slotBytes.map(() => undefined);
  const bound = [...graph.inputs, ...graph.captures.map((c) => c.v)];
  const shared = sharedOperandsB(program.kernels);
  let runs = 0;
  let running = 0;
  return {
    run(inputs) {
      const run = ++runs;
      // A run inside a run of this same executable (a task set aside, Backend.aside, may make one while the
      // workers are on the outer run's job) gets intermediates of its own, and packs its own op(B).
      const nested = running > 0;
      const slots = nested ? plan.slotBytes.map((): CpuBuffer | undefined => undefined) : ownSlots;
      const env = new Map<Var, CpuBuffer>();
      bound.forEach((v, i) => env.set(v, inputs[i] as CpuBuffer));
      /** The buffer kernel `k` writes, as the plan says: a fresh one for a graph output. */
      const outputOf = (k: Kernel): CpuBuffer => {
        const out = k.output;
        const where = plan.storage.get(out);
        let buffer: CpuBuffer;
        if (where === undefined) {
          buffer = ctx.allocate(
            byteSize(out),
            () => `${out.dtype}${showShape(out.shape)}, the result of ${k.kind}`,
          );
        } else if ("input" in where) {
          buffer = env.get(where.input)!;
        } else {
          // Intermediates live in slots the executable owns for its lifetime (allocated on first use).
          buffer = slots[where.slot] ??= ctx.allocate(
            plan.slotBytes[where.slot],
            () => `an intermediate ${out.dtype}${showShape(out.shape)}`,
            false,
          );
        }
        env.set(out, buffer);
        return buffer;
      };
      const kernels = program.kernels;
      running++;
      try {
        runKernels();
      } finally {
        running--;
        if (nested) { for (const slot of slots) if (slot) ctx.runtime.free(slot.ptr); }
        ctx.runtime.runAside(); // a task that no job took runs now (see Backend.aside)
      }
      return graph.outputs.map((v) => {
        const buffer = env.get(v);
        if (!buffer) throw new Error(`cpu backend: output ${v.id} was not computed`);
        if (inputs.includes(buffer)) buffer.shared = true; // see CpuBuffer.shared
        return buffer;
      });
      function runKernels() {
        for (let i = 0; i < kernels.length; i++) {
          const group = groupAt.get(i);
          if (group) {
            const { members } = group;
            const outputs = members.map(outputOf);
            group.run(
              members.map((k, m) => ({ inputs: k.inputs.map((v) => env.get(v)!), output: outputs[m] })),
            );
            i = group.end - 1;
            continue;
          }
          const k = kernels[i];
          const buffer = outputOf(k);
          const operandB = nested ? undefined : shared.get(k);
          if (operandB && k.kind === "matmul") {
            const [a, b] = k.inputs.map((v) => env.get(v)!);
            const { m, n, transA, transB } = k;
            const shape = { m, n, k: k.k, transA, transB };
            // A value does not change during a run, so op(B) packed at its first product serves the rest.
            operandB.buffer ??= ctx.allocate(
              4 * packedBElements(k.k, n),
              () => `op(B) of ${showShape([k.k, n])} packed for ${operandB.products} products`,
              false,
            );
            if (operandB.run !== run) ctx.runtime.packB(b.ptr, shape, operandB.buffer.ptr);
            operandB.run = run;
            ctx.runtime.sgemm(a.ptr, b.ptr, buffer.ptr, { ...shape, prepackedB: operandB.buffer.ptr });
          } else {
            steps[i]!(k.inputs.map((v) => env.get(v)!), buffer, plan.inPlace.has(k));
          }
        }
      }
    },
  };
}

/**
 * The step of a row group (`kernels/passes/row_groups.ts`): each member's WebAssembly module registered, the
 * indices of fused gathers checked first, then one job over the rows. A group whose description does not fit
 * the control block runs as groups of fewer members, one after the other (still in order).
 */
function groupStep(
  members: readonly Kernel[],
  rows: number,
  generated: ReadonlyMap<Kernel, Generated>,
  ctx: Context,
): (buffers: readonly { inputs: readonly CpuBuffer[]; output: CpuBuffer }[]) => void {
  const { runtime } = ctx;
  const parts = members.map((k) => {
    const { bytes, outer } = generated.get(k)!.rows!;
    return {
      id: runtime.registerKernel({ wasm: bytes }),
      scale: outer / rows,
      work: sizeOf(k.kind === "reduce" ? k.inShape : k.output.shape),
      ints: 6 + k.inputs.length + 1,
    };
  });
  // The gathers' indices, each value checked once against each table size (word2vec's negatives' indices
  // feed both the dot products and the sum over their rows).
  const checks = new Map<string, { member: number; input: number; count: number; rows: number }>();
  members.forEach((k, member) => {
    for (const check of gatheredIndices(k)) {
      checks.set(`${k.inputs[check.input].id}:${check.rows}`, { member, ...check });
    }
  });
  // Consecutive members whose descriptions fit the control block together.
  const batches: number[][] = [[]];
  let used = 3;
  parts.forEach((part, m) => {
    if (used + part.ints > Control.ints - Control.kernel && batches[batches.length - 1].length > 0) {
      batches.push([]);
      used = 3;
    }
    batches[batches.length - 1].push(m);
    used += part.ints;
  });
  return (buffers) => {
    for (const { member, input, count, rows } of checks.values()) {
      checkIndices(runtime, buffers[member].inputs[input], count, rows);
    }
    for (const batch of batches) {
      const jobs = batch.map((m) => ({
        id: parts[m].id,
        scale: parts[m].scale,
        args: [...buffers[m].inputs.map((b) => b.ptr), buffers[m].output.ptr],
      }));
      runtime.runGroup(jobs, rows, batch.reduce((sum, m) => sum + parts[m].work, 0));
    }
  };
}

/** A B operand that several products of one executable read the same way, and where it is packed. */
interface SharedOperandB {
  readonly products: number;
  buffer?: CpuBuffer;
  /** The run whose value the buffer holds. */
  run: number;
}

/**
 * The products (batch 1) that share op(B) with another: the same value, transposed or not, of the same size.
 * An unrolled RNN multiplies by its recurrent weights once per step, forwards and backwards; packed once per
 * run, each product then costs only its arithmetic.
 */
function sharedOperandsB(kernels: readonly Kernel[]): Map<Kernel, SharedOperandB> {
  const groups = new Map<string, MatmulKernel[]>();
  for (const k of kernels) {
    if (k.kind !== "matmul" || k.batch !== 1) continue;
    const key = `${k.inputs[1].id}:${k.transB}:${k.k}:${k.n}`;
    groups.set(key, [...groups.get(key) ?? [], k]);
  }
  const shared = new Map<Kernel, SharedOperandB>();
  for (const group of groups.values()) {
    if (group.length < 2) continue;
    const operand: SharedOperandB = { products: group.length, run: 0 };
    for (const k of group) shared.set(k, operand);
  }
  return shared;
}

/**
 * A kernel's generated code, and how to run it: `step()` registers the code with the runtime (workers
 * compile it too) and returns the step. `explain` reads `code` alone.
 */
interface Generated {
  readonly code: KernelCode;
  step(): Step;
  /** A WebAssembly module whose outer loop splits into rows `[lo, hi)` of `outer`: it may join a row group. */
  readonly rows?: { readonly bytes: Uint8Array<ArrayBuffer>; readonly outer: number };
}

function compileKernel(k: Kernel, generated: Generated, ctx: Context): Step {
  const step = generated.step();
  const checks = gatheredIndices(k);
  if (checks.length === 0) return step;
  // A gather read inside the loop trusts its indices, so they are checked first, as the gather kernel does.
  return (inputs, output, inPlace) => {
    for (const { input, count, rows } of checks) checkIndices(ctx.runtime, inputs[input], count, rows);
    step(inputs, output, inPlace);
  };
}

/** The indices a fused kernel gathers rows with: which input holds them, how many, and the table's rows. */
function gatheredIndices(k: Kernel): { input: number; count: number; rows: number }[] {
  if (k.kind === "opaque" && k.eqn.prim === "gather") {
    // A row gather that runs in a row group: the group checks its indices (the kernel alone checks its own).
    return [{ input: 1, count: sizeOf(k.inputs[1].shape), rows: k.inputs[0].shape[0] }];
  }
  const expr = k.kind === "elementwise" ? k.expr : k.kind === "reduce" ? k.prologue : undefined;
  const found = new Map<string, { input: number; count: number; rows: number }>();
  const visit = (e: Expr) => {
    if (e.kind === "op") e.args.forEach(visit);
    if (e.kind === "pad") visit(e.inside);
    if (e.kind !== "gather" || e.index.kind !== "load") return;
    const input = e.index.input;
    const rows = sizeOf(k.inputs[e.input].shape) / e.rowSize;
    found.set(`${input}:${rows}`, { input, count: sizeOf(k.inputs[input].shape), rows });
  };
  if (expr) visit(expr);
  return [...found.values()];
}

function generateKernel(k: Kernel, ctx: Context): Generated {
  const { runtime, limits } = ctx;
  const views = (inputs: readonly CpuBuffer[], output: CpuBuffer) => [
    ...inputs.map((b, i) => ctx.view(b, k.inputs[i].dtype, sizeOf(k.inputs[i].shape))),
    ctx.view(output, k.output.dtype, sizeOf(k.output.shape)),
  ];
  const jsArgs = (inputs: readonly CpuBuffer[], output: CpuBuffer) =>
    [...inputs, output].flatMap((b, i) => {
      const v = i < inputs.length ? k.inputs[i] : k.output;
      return [b.ptr, sizeOf(v.shape), viewType(v.dtype)];
    });
  const pointers = (
    inputs: readonly CpuBuffer[],
    output: CpuBuffer,
  ) => [...inputs.map((b) => b.ptr), output.ptr];
  /** A WebAssembly kernel over `outer` rows, `work` elements' worth of work across the pool. */
  const wasm = (bytes: Uint8Array<ArrayBuffer>, outer: number, work: number): Generated => ({
    code: { language: "wasm", text: "", bytes },
    ...(work > 0 ? { rows: { bytes, outer } } : {}),
    step() {
      const id = runtime.registerKernel({ wasm: bytes });
      return (inputs, output) => runtime.runKernel(id, pointers(inputs, output), outer, work);
    },
  });
  /** A generated JavaScript kernel (run on this thread alone when its rows cannot be split). */
  const js = (generated: GeneratedKernel, work: number): Generated => ({
    code: { language: "javascript", text: generated.source },
    step() {
      if (!generated.splittable) {
        return (inputs, output) => generated.run(views(inputs, output), 0, generated.outer);
      }
      const id = runtime.registerKernel({ js: generated.source });
      return (inputs, output) => runtime.runKernel(id, jsArgs(inputs, output), generated.outer, work);
    },
  });
  switch (k.kind) {
    case "elementwise": {
      const vectorized = simdElementwiseModule(k, limits);
      if (vectorized) return wasm(vectorized.bytes, vectorized.outer, sizeOf(k.shape));
      return js(elementwiseKernel(k), sizeOf(k.shape) * JS_ELEMENT_COST);
    }
    case "reduce": {
      const vectorized = simdReduceModule(k, limits, { fusedMultiplyAdd: runtime.relaxed });
      // Without kept outer rows to share out, the whole reduction runs on this thread (work 0).
      if (vectorized) {
        return wasm(vectorized.bytes, vectorized.outer, vectorized.splittable ? sizeOf(k.inShape) : 0);
      }
      return js(reduceKernel(k), sizeOf(k.inShape) * JS_ELEMENT_COST);
    }
    case "matmul": {
      const { batch, m, n, transA, transB } = k;
      const kk = k.k;
      return {
        code: {
          language: "none",
          text:
            `the WebAssembly SIMD sgemm (one module for every product, packed panels, a 5x8 register tile) ` +
            `with batch=${batch} m=${m} n=${n} k=${kk}${transA ? ", A transposed" : ""}${
              transB ? ", B transposed" : ""
            }`,
        },
        step: () => (inputs, output) =>
          runtime.sgemm(inputs[0].ptr, inputs[1].ptr, output.ptr, { batch, m, n, k: kk, transA, transB }),
      };
    }
    case "scatter":
      return generateScatter(k, runtime, limits);
    case "opaque":
      return generateStandalone(k, ctx);
  }
}

/** How this backend fuses: scatter-adds compute their updates when it can, gathers are read where used. */
const FUSE_OPTIONS = { scatterUpdates, gatherLoads: true } as const;

/** Can the plain scatter-add kernel run `k`: are its updates a buffer read row after row? */
function plainScatter(k: ScatterKernel): boolean {
  const u = k.updates;
  if (u.kind !== "load" || u.at.offset !== 0) return false;
  const strides = stridesOf(k.shape);
  return u.at.coeffs.every((c, d) => c === strides[d] || k.shape[d] === 1);
}

/** What the CPU backend generates for a scatter-add: updates in a buffer, or computed by a SIMD kernel. */
function scatterUpdates(k: ScatterKernel): boolean {
  return plainScatter(k) || simdScatterSupported(k);
}

function generateScatter(k: ScatterKernel, runtime: CpuRuntime, limits: MemoryLimits): Generated {
  const [table, indices] = k.inputs;
  const rows = table.shape[0];
  const width = sizeOf(table.shape.slice(1));
  const count = sizeOf(indices.shape);
  const plain = plainScatter(k);
  const updatesInput = k.updates.kind === "load" ? k.updates.input : -1;
  // One module for each way the memory plan may run it; in place, only the touched rows are written.
  const modules = [false, true].map((inPlace) =>
    plain
      ? scatterAddRowsModule({ rows, width, count, int: k.output.dtype === "int32", inPlace }, limits)
      : simdScatterAddModule(k, limits, inPlace)!
  );
  return {
    code: { language: "wasm", text: "", bytes: modules[1] },
    step: () => scatterStep(k, runtime, modules, plain, updatesInput),
  };
}

function scatterStep(
  k: ScatterKernel,
  runtime: CpuRuntime,
  modules: readonly Uint8Array<ArrayBuffer>[],
  plain: boolean,
  updatesInput: number,
): Step {
  const [table, indices] = k.inputs;
  const rows = table.shape[0];
  const width = sizeOf(table.shape.slice(1));
  const count = sizeOf(indices.shape);
  const ids = modules.map((wasm) => runtime.registerKernel({ wasm }));
  return (inputs, output, inPlace) => {
    checkIndices(runtime, inputs[1], count, rows);
    const pointers = plain
      ? [inputs[0].ptr, inputs[1].ptr, inputs[updatesInput].ptr, output.ptr]
      : [...inputs.map((b) => b.ptr), output.ptr];
    const work = count * width + (inPlace ? 0 : rows * width);
    // Every chunk of stripes scans all the indices, so one chunk per thread (interleaved stripes balance).
    runtime.runKernel(ids[inPlace ? 1 : 0], pointers, SCATTER_STRIPES, work, 1);
  };
}

/** A primitive that fusion left on its own runs as the standalone kernel its CPU lowering names. */
function generateStandalone(k: OpaqueKernel, ctx: Context): Generated {
  const lowering = CPU_LOWERING[k.eqn.prim] as KernelLowering<typeof k.eqn.prim>;
  if (!("kernel" in lowering)) {
    throw new Error(
      `cpu backend: fusion left ${k.eqn.prim} on its own, but its CPU lowering is "${lowering.fused}"`,
    );
  }
  const [table, indices] = k.inputs;
  return {
    code: { language: "none", text: `${k.eqn.prim}: a standalone kernel (kernels/cpu/standalone.ts)` },
    // The kernel reads the buffers fusion chose (a reshaped operand is read in its source's buffer).
    step: () => lowering.kernel(k.eqn as never, ctx),
    // A row gather is a loop over its indices, which a row group may split with its other members.
    ...(k.eqn.prim === "gather"
      ? {
        rows: {
          bytes: gatherRowsModule(
            sizeOf(table.shape.slice(1)) * BYTES_PER_ELEMENT[k.output.dtype],
            ctx.limits,
          ),
          outer: sizeOf(indices.shape),
        },
      }
      : {}),
  };
}
