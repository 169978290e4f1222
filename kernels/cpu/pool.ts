/**
 * The CPU runtime: one WebAssembly memory shared by a pool of workers, an allocator over it, and
 * a synchronous, multi-threaded sgemm.
 *
 * The caller's thread takes part in every job (it is thread 0) and then blocks in
 * `Atomics.wait` until the workers are done, so `sgemm` returns with C written, like a plain
 * function call. Where threads are impossible (no SharedArrayBuffer, `crossOriginIsolated` false,
 * or `Atomics.wait` forbidden on this thread as on a browser's main thread) it runs on one thread.
 * @module
 */

import { Allocator } from "./allocator.ts";
import { CLOSED, closeJob, Control, openJob, type WorkerInit } from "./control.ts";
import { compileKernel, groupRunner, type KernelRunner, KernelType, runChunks } from "./jobs.ts";
import {
  buildSgemmModule,
  GemmFlags,
  type GemmFunction,
  gemmScratchBytes,
  type PackFunction,
} from "./matmul.ts";
import {
  JobFlags,
  type MatmulJob,
  packedBBytes,
  packOperandB,
  runUnits,
  soloContext,
  type ThreadContext,
  unitCount,
  writeJob,
} from "./partition.ts";
import { hasRelaxedSimd } from "./wasm.ts";

/**
 * A batched matmul `C[i] (+)= op(A[i]) · op(B[i])` for `i < batch`, over row-major float32
 * matrices in the runtime's memory. `op(A)` is `m x k` (A is stored `k x m` when `transA`),
 * `op(B)` is `k x n` (stored `n x k` when `transB`), C is `m x n`.
 *
 * @example
 * ```ts
 * import type { MatmulShape } from "./pool.ts";
 * // 8 heads of attention scores, Q · Kᵀ, each 16 x 16 from 16 x 64 blocks
 * const scores: MatmulShape = { batch: 8, m: 16, n: 16, k: 64, transB: true };
 * ```
 */
export interface MatmulShape {
  /** Number of matrices (default 1). */
  batch?: number;
  /** Rows of op(A) and of C. */
  m: number;
  /** Columns of op(B) and of C. */
  n: number;
  /** The contracted dimension. */
  k: number;
  /** A is stored transposed (`k x m`). */
  transA?: boolean;
  /** B is stored transposed (`n x k`). */
  transB?: boolean;
  /** Row stride of A as stored, in elements (default: its row length). */
  lda?: number;
  /** Row stride of B as stored, in elements (default: its row length). */
  ldb?: number;
  /** Row stride of C, in elements (default n). */
  ldc?: number;
  /** Elements between matrices of A (default m·k; 0 reuses one A for the whole batch). */
  strideA?: number;
  /** Elements between matrices of B (default k·n; 0 reuses one B for the whole batch). */
  strideB?: number;
  /** Elements between matrices of C (default m·n); the C matrices must not overlap. */
  strideC?: number;
  /** Add to C instead of overwriting it. */
  accumulate?: boolean;
  /**
   * Byte address where {@linkcode CpuRuntime.packB} already packed op(B) (batch 1 only): several products
   * with the same B, such as an unrolled RNN's steps, pack it once between them.
   */
  prepackedB?: number;
}

/**
 * Options of {@linkcode CpuRuntime.create}.
 *
 * @example
 * ```ts
 * import type { CpuRuntimeOptions } from "./pool.ts";
 * const options: CpuRuntimeOptions = { threads: 4, relaxed: false, maxBytes: 2 ** 30 };
 * ```
 */
export interface CpuRuntimeOptions {
  /** Threads, the caller's included; default: env `LOOM_THREADS`, else `navigator.hardwareConcurrency`. */
  threads?: number;
  /** Use fused multiply-add (relaxed SIMD); default: when the engine supports it. */
  relaxed?: boolean;
  /** Largest size the memory may grow to, in bytes (default 4 GiB). */
  maxBytes?: number;
  /** Heap bytes available before the memory first grows (default 16 MiB). */
  initialHeapBytes?: number;
  /** The workers' module (default: {@linkcode defaultWorkerUrl}). */
  workerUrl?: string | URL;
}

const PAGE = 65536;
const CONTROL_OFFSET = 64;
/** Below this many elements per thread a generated kernel runs on the calling thread alone. */
const MIN_ELEMENTS_PER_THREAD = 1 << 15;
/** Below this many flops per thread the wake-up costs more than the extra thread saves. */
const MIN_FLOPS_PER_THREAD = 1 << 21;
/** Elements of work a row group's chunk should not exceed, so that a member's rows stay in cache for the next. */
const GROUP_CHUNK_WORK = 1 << 16;
/** Polls of a shared counter before sleeping on it (tens of microseconds). */
const WORKER_SPIN = 20000;
const STARTUP_TIMEOUT_MS = 60000;

function envThreads(): number | undefined {
  try {
    const deno = (globalThis as { Deno?: typeof Deno }).Deno;
    // Query first so that a missing --allow-env neither prompts nor throws.
    if (deno?.permissions.querySync({ name: "env", variable: "LOOM_THREADS" }).state !== "granted") return;
    const value = deno.env.get("LOOM_THREADS");
    return value ? Number(value) : undefined;
  } catch {
    return undefined;
  }
}

/** Whether this thread may share memory with workers and block in `Atomics.wait`. */
function threadsPossible(): boolean {
  if (typeof SharedArrayBuffer !== "function" || typeof Worker !== "function") return false;
  if ((globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === false) return false;
  try {
    // Returns "not-equal" at once where waiting is allowed; throws on a browser's main thread.
    return Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 1) === "not-equal";
  } catch {
    return false;
  }
}

function resolveThreads(requested: number | undefined): number {
  const wanted = requested ?? envThreads() ?? globalThis.navigator?.hardwareConcurrency ?? 1;
  if (!Number.isInteger(wanted) || wanted < 1) {
    throw new RangeError(
      `CpuRuntime: threads must be a positive integer, got ${wanted} (option or LOOM_THREADS)`,
    );
  }
  return wanted > 1 && threadsPossible() ? wanted : 1;
}

/** Creates the memory; returns it with the maximum it got (in pages), which the module must declare. */
function createMemory(initial: number, maximum: number, shared: boolean) {
  const make = (max: number) => ({
    memory: new WebAssembly.Memory({ initial, maximum: max, shared }),
    maximum: max,
  });
  try {
    return make(maximum);
  } catch (error) {
    // 32-bit hosts cannot reserve 4 GiB; 1 GiB is the next sensible ceiling.
    if (maximum > 16384 && initial <= 16384) return make(16384);
    throw error;
  }
}

interface PoolWorker {
  terminate(): void;
}

/**
 * Where the pool's workers load their module from: `worker.ts` beside this file when it runs from source, and
 * `loom_worker.js` beside the bundle when it runs bundled (a bundler keeps `import.meta.url` but not the
 * worker's file, so a browser build ships that entry point under this name next to the code that holds the pool).
 *
 * @example
 * ```ts
 * import { defaultWorkerUrl } from "./pool.ts";
 * if (defaultWorkerUrl("https://example.com/loom/loom.js").href !== "https://example.com/loom/loom_worker.js") {
 *   throw new Error();
 * }
 * if (!defaultWorkerUrl().pathname.endsWith("/kernels/cpu/worker.ts")) throw new Error();
 * ```
 */
export function defaultWorkerUrl(base: string | URL = import.meta.url): URL {
  return new URL(new URL(base).pathname.endsWith(".ts") ? "./worker.ts" : "./loom_worker.js", base);
}

/** Starts a worker from `url`; `onFailure` is told if it fails to load or start, or dies. */
async function startWorker(
  url: URL,
  init: WorkerInit,
  onFailure: (error: unknown) => void,
): Promise<PoolWorker> {
  if ("Deno" in globalThis) {
    // node:worker_threads workers can be unref'ed, so an idle pool does not keep Deno alive.
    const { Worker: NodeWorker } = await import("node:worker_threads");
    const worker = new NodeWorker(url, { workerData: init });
    worker.on("error", onFailure);
    worker.on("exit", (code) => code !== 0 && onFailure(new Error(`worker exited with code ${code}`)));
    worker.unref();
    return { terminate: () => void worker.terminate() };
  }
  const worker = new Worker(url, { type: "module" });
  // A module that cannot be fetched or parsed raises an error event without a message: name the URL.
  worker.addEventListener(
    "error",
    (event) => onFailure(event.message || `could not load the worker module ${url}`),
  );
  worker.postMessage(init);
  return worker;
}

/** Throws unless operand `name` (`rows x cols`, row stride `ld`, `batch` matrices `stride` apart) fits in memory. */
function checkOperand(
  name: string,
  ptr: number,
  rows: number,
  cols: number,
  ld: number,
  stride: number,
  batch: number,
  bytes: number,
) {
  if (!Number.isInteger(ptr) || ptr <= 0 || ptr % 4 !== 0) {
    throw new RangeError(`sgemm: ${name} pointer ${ptr} must be a positive multiple of 4 from alloc()`);
  }
  if (!Number.isInteger(ld) || !Number.isInteger(stride) || stride < 0) {
    throw new RangeError(`sgemm: ld${name.toLowerCase()} and stride${name} must be non-negative integers`);
  }
  if (ld < cols) {
    throw new RangeError(`sgemm: ld${name.toLowerCase()} ${ld} is less than its row length ${cols}`);
  }
  const span = (batch - 1) * stride + (rows - 1) * ld + cols;
  if (rows > 0 && cols > 0 && ptr + 4 * span > bytes) {
    throw new RangeError(
      `sgemm: ${name} (${span} elements from ${ptr}) runs past the end of memory (${bytes} bytes)`,
    );
  }
}

/**
 * A CPU compute context: one WebAssembly memory, its allocator, and a pool of `threads - 1`
 * workers that share it. Allocate operands with {@linkcode CpuRuntime.alloc}, fill them through
 * {@linkcode CpuRuntime.f32} views, multiply with {@linkcode CpuRuntime.sgemm}, and call
 * {@linkcode CpuRuntime.close} when done (idle workers do not keep Deno alive, but they hold
 * memory until closed).
 *
 * @example
 * ```ts
 * import { CpuRuntime } from "./pool.ts";
 * const rt = await CpuRuntime.create({ threads: 1 });
 * const a = rt.alloc(16), b = rt.alloc(16), c = rt.alloc(16);
 * rt.f32(a, 4).set([1, 2, 3, 4]); // [[1, 2], [3, 4]]
 * rt.f32(b, 4).set([0, 1, 1, 0]); // swaps columns
 * rt.sgemm(a, b, c, { m: 2, n: 2, k: 2 });
 * if (rt.f32(c, 4).join() !== "2,1,4,3") throw new Error();
 * rt.close();
 * ```
 */
export class CpuRuntime {
  /** Whether the kernel uses fused multiply-add (relaxed SIMD). */
  readonly relaxed: boolean;
  private readonly heap: Allocator;
  private readonly gemm: GemmFunction;
  private readonly packBKernel: PackFunction;
  private readonly work: number;
  /** The calling thread's context for jobs shared with the workers. */
  private readonly shared: ThreadContext;
  private readonly control: Int32Array;
  /** The buffer threads pack a shared B into, grown on demand (0 until first needed). */
  private packBuffer = 0;
  private packBufferBytes = 0;
  private closed = false;
  /** Registered kernels: where their code is, and the calling thread's compiled copy. */
  private readonly kernels: { type: number; ptr: number; length: number; run: KernelRunner }[] = [];

  private constructor(
    /** The memory all operands live in (shared when `threads > 1` or when the host allows it). */
    readonly memory: WebAssembly.Memory,
    module: WebAssembly.Module,
    relaxed: boolean,
    scratch: number[],
    heapBase: number,
    private readonly workers: PoolWorker[],
  ) {
    this.relaxed = relaxed;
    this.heap = new Allocator(memory, heapBase);
    const { exports } = new WebAssembly.Instance(module, { env: { memory } });
    const [gemm, packB] = [exports.gemm as GemmFunction, exports.packB as PackFunction];
    const control = this.control = new Int32Array(memory.buffer, CONTROL_OFFSET, Control.ints);
    [this.gemm, this.packBKernel, this.work] = [gemm, packB, scratch[0]];
    this.shared = {
      gemm,
      packB,
      work: scratch[0],
      next: () => Atomics.add(control, Control.nextUnit, 1),
      packed: () => void Atomics.add(control, Control.packedCount, 1),
      packedCount: () => Atomics.load(control, Control.packedCount),
    };
  }

  /** Threads that run a large matmul, the caller's included. */
  get threads(): number {
    return this.workers.length + 1;
  }

  /**
   * Creates a runtime and waits until its workers are ready. Workers need to read
   * `worker.ts` (in Deno: `--allow-read`); if they cannot start, a default thread count falls
   * back to one thread, while an explicit `threads` option throws.
   *
   * @example
   * ```ts
   * import { CpuRuntime } from "./pool.ts";
   * const rt = await CpuRuntime.create({ threads: 2 });
   * console.log(rt.threads, rt.relaxed ? "fma" : "mul+add");
   * rt.close();
   * ```
   */
  static async create(options: CpuRuntimeOptions = {}): Promise<CpuRuntime> {
    const threads = resolveThreads(options.threads);
    const relaxed = options.relaxed ?? hasRelaxedSimd();
    if (relaxed && !hasRelaxedSimd()) {
      throw new Error("CpuRuntime: relaxed SIMD is not supported by this engine");
    }
    const shared = typeof SharedArrayBuffer === "function" &&
      (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated !== false;

    const scratchBytes = gemmScratchBytes();
    const scratchBase = Math.ceil((CONTROL_OFFSET + Control.ints * 4) / 64) * 64;
    const scratch = Array.from({ length: threads }, (_, t) => scratchBase + t * scratchBytes);
    const heapBase = scratchBase + threads * scratchBytes;
    const initial = Math.ceil((heapBase + (options.initialHeapBytes ?? 16 << 20)) / PAGE);
    const maximum = Math.min(65536, Math.floor((options.maxBytes ?? 2 ** 32) / PAGE));
    if (maximum < initial) throw new RangeError(`CpuRuntime: maxBytes must be at least ${initial * PAGE}`);
    const created = createMemory(initial, maximum, shared);
    const memory = created.memory;
    const module = new WebAssembly.Module(
      buildSgemmModule({ relaxed, memory: { initial, maximum: created.maximum, shared } }),
    );

    const workerUrl = new URL(options.workerUrl ?? defaultWorkerUrl());
    let failure: unknown;
    const workers: PoolWorker[] = [];
    for (let thread = 1; thread < threads; thread++) {
      const init: WorkerInit = {
        memory,
        module,
        control: CONTROL_OFFSET,
        thread,
        work: scratch[thread],
        spin: WORKER_SPIN,
      };
      try {
        workers.push(await startWorker(workerUrl, init, (error) => failure ??= error));
      } catch (error) {
        failure ??= error; // e.g. no read permission for the worker module
        break;
      }
    }
    const runtime = new CpuRuntime(memory, module, relaxed, scratch, heapBase, workers);
    Atomics.store(runtime.control, Control.members, CLOSED); // no job open until one is posted
    const started = Date.now();
    while (failure === undefined && Atomics.load(runtime.control, Control.ready) < workers.length) {
      if (Date.now() - started > STARTUP_TIMEOUT_MS) failure = new Error("workers did not start in time");
      else await new Promise((resolve) => setTimeout(resolve, 1));
    }
    if (failure !== undefined) {
      runtime.close();
      const message = `CpuRuntime: a worker from ${workerUrl} failed to start (${failure})`;
      // Threads were only a default: carry on with one rather than fail, and say why.
      if (options.threads === undefined) {
        console.warn(`${message}; running on one thread`);
        return CpuRuntime.create({ ...options, threads: 1 });
      }
      throw new Error(`${message}; try { threads: 1 }`, { cause: failure });
    }
    runtime.warmUp();
    return runtime;
  }

  /**
   * Runs a small product twice so that the engine's tiering compiles the kernel with its
   * optimising compiler now (a few milliseconds) rather than during the first real matmul,
   * which would otherwise run whole in baseline code, several times slower.
   */
  private warmUp(): void {
    const [m, n, k] = [96, 64, 256];
    const a = this.alloc(4 * m * k), b = this.alloc(4 * k * n), c = this.alloc(4 * m * n);
    for (let i = 0; i < 2; i++) this.sgemm(a, b, c, { m, n, k });
    [a, b, c].forEach((ptr) => this.free(ptr));
  }

  /** Allocates `bytes` in the runtime's memory (64-byte aligned) and returns its byte address. */
  alloc(bytes: number): number {
    return this.heap.alloc(bytes);
  }

  /** Frees a block from {@linkcode CpuRuntime.alloc} for reuse by allocations of the same size class. */
  free(ptr: number): void {
    this.heap.free(ptr);
  }

  /**
   * A view of `length` floats at `ptr`. Make views when you use them: if the memory grows, views
   * on a shared memory stay valid but do not cover the new part, and views on an unshared memory
   * (the single-thread fallback) are detached.
   */
  f32(ptr: number, length: number): Float32Array {
    return new Float32Array(this.memory.buffer, ptr, length);
  }

  /**
   * Computes `C = op(A) · op(B)` (or `C += ...` with `accumulate`) for every matrix of the batch;
   * `aPtr`, `bPtr`, `cPtr` are byte addresses from {@linkcode CpuRuntime.alloc}. Returns when C
   * is written. The result is bit-identical for every thread count.
   */
  sgemm(aPtr: number, bPtr: number, cPtr: number, shape: MatmulShape): void {
    if (this.closed) throw new Error("sgemm: this CpuRuntime is closed");
    if (shape.prepackedB !== undefined && (shape.batch ?? 1) !== 1) {
      throw new RangeError(`sgemm: prepackedB needs batch 1, got ${shape.batch}`);
    }
    const job = this.resolve(aPtr, bPtr, cPtr, shape);
    if (shape.prepackedB !== undefined) {
      job.packed = shape.prepackedB;
      job.flags |= JobFlags.prepackedB;
    }
    if (job.batch === 0 || job.m === 0 || job.n === 0) return;
    if (job.k === 0 && job.flags & GemmFlags.accumulate) return;
    const flops = 2 * job.batch * job.m * job.n * Math.max(job.k, 1);
    job.threads = Math.max(1, Math.min(this.threads, Math.floor(flops / MIN_FLOPS_PER_THREAD)));
    if (unitCount(job) === 1 || this.solo) job.threads = 1; // one band only: waking workers would not help
    if (job.threads === 1) {
      runUnits(job, soloContext(this.gemm, this.packBKernel, this.work));
      return;
    }
    const packBytes = job.flags & JobFlags.prepackedB ? 0 : packedBBytes(job);
    if (packBytes > this.packBufferBytes) {
      if (this.packBuffer) this.heap.free(this.packBuffer);
      this.packBuffer = this.heap.alloc(packBytes);
      this.packBufferBytes = packBytes;
    }
    if (packBytes) job.packed = this.packBuffer;
    const control = this.control;
    writeJob(control, Control.job, job);
    Atomics.store(control, Control.error, 0);
    Atomics.store(control, Control.nextUnit, 0);
    Atomics.store(control, Control.packedCount, 0);
    Atomics.store(control, Control.kind, 0);
    openJob(control);
    let failure: unknown;
    try {
      runUnits(job, this.shared);
    } catch (error) {
      failure = error;
      Atomics.add(control, Control.packedCount, 1 << 20); // release workers waiting for packed B
    }
    // Wait for the workers that joined (they usually finish about when we do), not for those that
    // have not woken. Even after a failure we wait, so that no worker still writes when the
    // caller moves on.
    closeJob(control, WORKER_SPIN);
    if (failure !== undefined) throw failure;
    if (Atomics.load(control, Control.error)) throw new Error("sgemm: a worker failed (see the console)");
  }

  /**
   * Packs op(B) of a product of `shape` (B at byte `bPtr`) into `dst`, which holds
   * {@linkcode packedBElements}`(k, n)` floats, for later calls of {@linkcode CpuRuntime.sgemm} with
   * `prepackedB: dst`. Runs on the calling thread.
   *
   * @example
   * ```ts
   * import { CpuRuntime } from "./pool.ts";
   * import { packedBElements } from "./matmul.ts";
   * const rt = await CpuRuntime.create({ threads: 1 });
   * const a = rt.alloc(16), b = rt.alloc(16), c = rt.alloc(16), packed = rt.alloc(4 * packedBElements(2, 2));
   * rt.f32(a, 4).set([1, 2, 3, 4]);
   * rt.f32(b, 4).set([0, 1, 1, 0]);
   * rt.packB(b, { m: 2, n: 2, k: 2 }, packed);
   * rt.sgemm(a, b, c, { m: 2, n: 2, k: 2, prepackedB: packed });
   * if (rt.f32(c, 4).join() !== "2,1,4,3") throw new Error();
   * rt.close();
   * ```
   */
  packB(bPtr: number, shape: MatmulShape, dst: number): void {
    if (this.closed) throw new Error("packB: this CpuRuntime is closed");
    const { k, n, transB = false } = shape;
    const ldb = shape.ldb ?? (transB ? k : n);
    packOperandB(this.packBKernel, { b: bPtr, k, n, ldb, transB }, dst);
  }

  /**
   * Registers generated kernel code (a WebAssembly module exporting `kernel(lo, hi, ...pointers)`, or the
   * body of a JavaScript function `(views, lo, hi)`) and returns its id for {@linkcode CpuRuntime.runKernel}.
   * The code is kept in the shared memory, where workers compile it on first use.
   */
  registerKernel(code: { wasm: Uint8Array } | { js: string }): number {
    const bytes = "wasm" in code ? code.wasm : new TextEncoder().encode(code.js);
    const type = "wasm" in code ? KernelType.wasm : KernelType.js;
    const ptr = this.heap.alloc(bytes.length);
    new Uint8Array(this.memory.buffer, ptr, bytes.length).set(bytes);
    const id = this.kernels.length;
    this.kernels.push({
      type,
      ptr,
      length: bytes.length,
      run: compileKernel(type, ptr, bytes.length, this.memory),
    });
    return id;
  }

  /**
   * Runs rows `[0, outer)` of kernel `id` with `args` (byte addresses for WebAssembly kernels; address,
   * length, dtype-code triples for JavaScript ones). `work` (elements touched) decides whether waking the
   * workers pays; each row is computed by one thread, so results do not depend on the thread count.
   * `chunksPerThread` (default 4) trades load balance for per-chunk cost: a scatter-add, whose every chunk
   * scans all of its indices, asks for 1.
   */
  runKernel(id: number, args: readonly number[], outer: number, work: number, chunksPerThread = 4): void {
    if (this.closed) throw new Error("runKernel: this CpuRuntime is closed");
    const kernel = this.kernels[id];
    const threads = this.solo
      ? 1
      : Math.max(1, Math.min(this.threads, outer, Math.floor(work / MIN_ELEMENTS_PER_THREAD)));
    if (threads === 1 || args.length > Control.ints - Control.kernel - 7) {
      kernel.run(0, outer, args);
      return;
    }
    // Several chunks per thread so that a thread slowed by the machine gets help from the others.
    const chunk = Math.ceil(outer / (threads * chunksPerThread));
    const description = [id, kernel.type, kernel.ptr, kernel.length, outer, chunk, args.length, ...args];
    this.shareJob(
      1,
      description,
      "runKernel",
      () => runChunks(kernel.run, outer, chunk, args, this.shared.next),
    );
  }

  /**
   * Posts a kernel or row-group job (`kind` 1 or 2, described at `Control.kernel`), takes its chunks on this
   * thread with `work`, then waits for the workers that joined; rethrows what failed here or in a worker.
   */
  private shareJob(kind: number, description: readonly number[], caller: string, work: () => void): void {
    const control = this.control;
    control.set(description, Control.kernel);
    Atomics.store(control, Control.kind, kind);
    Atomics.store(control, Control.error, 0);
    Atomics.store(control, Control.nextUnit, 0);
    openJob(control);
    let failure: unknown;
    try {
      this.runAside();
      work();
    } catch (error) {
      failure = error;
    }
    closeJob(control, WORKER_SPIN);
    if (failure !== undefined) throw failure;
    if (Atomics.load(control, Control.error)) throw new Error(`${caller}: a worker failed (see the console)`);
  }

  /**
   * Runs a row group: kernels that loop over the same `rows` first, each row of a member reading only that
   * row of the members before it. Threads take chunks of rows and run every member over a chunk before the
   * next one (its rows still in cache), and meet once, at the end. `scale` is a member's outer rows per group
   * row; `work` (elements touched by all members) decides how many threads and how large the chunks. Each row
   * is computed by one thread, so results do not depend on the thread count.
   */
  runGroup(
    members: readonly { id: number; scale: number; args: readonly number[] }[],
    rows: number,
    work: number,
  ): void {
    if (this.closed) throw new Error("runGroup: this CpuRuntime is closed");
    const threads = this.solo
      ? 1
      : Math.max(1, Math.min(this.threads, rows, Math.floor(work / MIN_ELEMENTS_PER_THREAD)));
    // Chunks small enough that a member's rows are still in cache for the next, and several per thread.
    const chunk = Math.max(
      1,
      Math.min(Math.ceil(rows / (threads * 4)), Math.floor((GROUP_CHUNK_WORK * rows) / Math.max(work, 1))),
    );
    const runner = groupRunner(members.map((m) => ({ ...m, run: this.kernels[m.id].run })));
    const description = [members.length, rows, chunk];
    for (const m of members) {
      const kernel = this.kernels[m.id];
      description.push(m.id, kernel.type, kernel.ptr, kernel.length, m.scale, m.args.length, ...m.args);
    }
    if (threads === 1 || description.length > Control.ints - Control.kernel) {
      let next = 0;
      runChunks(runner, rows, chunk, [], () => next++);
      return;
    }
    this.shareJob(2, description, "runGroup", () => runChunks(runner, rows, chunk, [], this.shared.next));
  }

  /**
   * Runs `task` on this thread as soon as the next kernel or row-group job is posted: the workers start on
   * the job's chunks meanwhile, and this thread takes what is left when the task returns. A training loop
   * makes its next batch this way while the step computes. Whatever the task computes itself (an eager op)
   * runs on this thread alone, since the job holds the workers. {@linkcode CpuRuntime.runAside} runs a task
   * that no job has taken.
   *
   * @example
   * ```ts
   * import { CpuRuntime } from "./pool.ts";
   * const rt = await CpuRuntime.create({ threads: 1 });
   * let ran = false;
   * rt.aside(() => (ran = true));
   * rt.runAside(); // no job came: the owner of the task runs it when its work is done
   * if (!ran) throw new Error();
   * rt.close();
   * ```
   */
  aside(task: () => void): void {
    if (this.pendingAside) throw new Error("aside: a task is already waiting for a job");
    this.pendingAside = task;
  }

  /** Runs the task {@linkcode CpuRuntime.aside} left, if any, with jobs of its own kept on this thread. */
  runAside(): void {
    const task = this.pendingAside;
    if (!task) return;
    this.pendingAside = undefined;
    this.solo = true;
    try {
      task();
    } finally {
      this.solo = false;
    }
  }

  /** The task that the next job runs on this thread (see {@linkcode CpuRuntime.aside}). */
  private pendingAside?: () => void;

  /** Set while an aside task runs inside a job: jobs it posts would overwrite the open one's description. */
  private solo = false;

  /** Stops the workers. The memory stays readable; `sgemm` and `alloc` must not be used after. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.workers.length === 0) return;
    Atomics.store(this.control, Control.quit, 1);
    Atomics.add(this.control, Control.generation, 1);
    Atomics.notify(this.control, Control.generation);
    for (const worker of this.workers) worker.terminate();
  }

  private resolve(a: number, b: number, c: number, shape: MatmulShape): MatmulJob {
    const { m, n, k, transA = false, transB = false, batch = 1 } = shape;
    for (const [name, value] of Object.entries({ m, n, k, batch })) {
      if (!Number.isInteger(value) || value < 0 || value >= 2 ** 31) {
        throw new RangeError(`sgemm: ${name} must be a non-negative integer, got ${value}`);
      }
    }
    const lda = shape.lda ?? (transA ? m : k);
    const ldb = shape.ldb ?? (transB ? k : n);
    const ldc = shape.ldc ?? n;
    const job: MatmulJob = {
      a,
      b,
      c,
      batch,
      m,
      n,
      k,
      lda,
      ldb,
      ldc,
      strideA: shape.strideA ?? m * k,
      strideB: shape.strideB ?? k * n,
      strideC: shape.strideC ?? m * n,
      flags: (transA ? GemmFlags.transA : 0) | (transB ? GemmFlags.transB : 0) |
        (shape.accumulate ? GemmFlags.accumulate : 0),
      threads: 1,
      packed: 0,
    };
    const bytes = this.memory.buffer.byteLength;
    if (batch > 0) {
      checkOperand("A", a, transA ? k : m, transA ? m : k, lda, job.strideA, batch, bytes);
      checkOperand("B", b, transB ? n : k, transB ? k : n, ldb, job.strideB, batch, bytes);
      checkOperand("C", c, m, n, ldc, job.strideC, batch, bytes);
      if (batch > 1 && m > 0 && n > 0 && job.strideC < (m - 1) * ldc + n) {
        throw new RangeError(`sgemm: strideC ${job.strideC} makes the C matrices of the batch overlap`);
      }
    }
    return job;
  }
}
