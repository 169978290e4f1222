/**
 * Entry point of a {@linkcode CpuRuntime} worker. It instantiates the sgemm module over the
 * runtime's shared memory, then sleeps in `Atomics.wait` on the job counter of the control
 * block; for each new job it joins the job (unless its caller has already closed it, having done
 * every unit alone), takes units from the shared unit counter until none are left, and leaves. No
 * messages are exchanged after start-up, so a job costs two atomic wake-ups and nothing else.
 *
 * Started by `pool.ts` only; not meant to be imported.
 * @module
 */

import type { GemmFunction, PackFunction } from "./matmul.ts";
import { readJob, runUnits, type ThreadContext } from "./partition.ts";
import { Control, joinJob, leaveJob, type WorkerInit } from "./control.ts";
import { compileKernel, groupRunner, type KernelRunner, readGroupMembers, runChunks } from "./jobs.ts";

/** The start-up data, or null when this module was imported rather than started as a worker. */
async function receiveInit(): Promise<WorkerInit | null> {
  if ("Deno" in globalThis) {
    // Deno runs pool workers as node:worker_threads workers (they can be unref'ed).
    const { workerData, isMainThread } = await import("node:worker_threads");
    if (workerData) return workerData as WorkerInit;
    if (isMainThread) return null;
  }
  if (!("WorkerGlobalScope" in globalThis)) return null;
  return await new Promise((resolve) => {
    globalThis.addEventListener("message", (event) => resolve((event as MessageEvent).data), { once: true });
  });
}

function serve(init: WorkerInit): void {
  const instance = new WebAssembly.Instance(init.module, { env: { memory: init.memory } });
  const control = new Int32Array(init.memory.buffer, init.control, Control.ints);
  const context: ThreadContext = {
    gemm: instance.exports.gemm as GemmFunction,
    packB: instance.exports.packB as PackFunction,
    work: init.work,
    next: () => Atomics.add(control, Control.nextUnit, 1),
    packed: () => void Atomics.add(control, Control.packedCount, 1),
    packedCount: () => Atomics.load(control, Control.packedCount),
  };

  const kernels = new Map<number, KernelRunner>();
  Atomics.add(control, Control.ready, 1);
  Atomics.notify(control, Control.ready);

  // Generations only increase, starting at 0: a job posted before this worker was up is still seen.
  let seen = 0;
  for (;;) {
    // Spin briefly before sleeping: back-to-back matmuls then skip the futex wake-up.
    for (let spin = 0; spin < init.spin && Atomics.load(control, Control.generation) === seen; spin++);
    Atomics.wait(control, Control.generation, seen);
    const generation = Atomics.load(control, Control.generation);
    if (generation === seen) continue;
    seen = generation;
    if (Atomics.load(control, Control.quit)) return;
    // A job its caller has finished alone (this thread woke late: the machine ran something else)
    // is closed, and skipped. One joined is the one posted now, whichever generation woke us.
    if (!joinJob(control)) continue;
    const kind = Atomics.load(control, Control.kind);
    if (kind === 1 || kind === 2) {
      (kind === 1 ? runKernelJob : runGroupJob)(control, init.memory, kernels);
      leaveJob(control);
      continue;
    }
    const job = readJob(control, Control.job);
    // Small jobs use fewer threads than the pool has.
    if (init.thread < job.threads) {
      try {
        runUnits(job, context);
      } catch (error) {
        Atomics.store(control, Control.error, 1);
        // Release threads waiting for B to be packed: the caller throws once all are done.
        Atomics.add(control, Control.packedCount, 1 << 20);
        console.error(`loom cpu worker ${init.thread}:`, error);
      }
    }
    leaveJob(control);
  }
}

/** Takes chunks of the posted kernel job, compiling the kernel the first time this worker meets it. */
function runKernelJob(
  control: Int32Array,
  memory: WebAssembly.Memory,
  kernels: Map<number, KernelRunner>,
): void {
  const k = Control.kernel;
  const [id, type, codePtr, codeLength, outer, chunk, argc] = control.subarray(k, k + 7);
  const args = Array.from(control.subarray(k + 7, k + 7 + argc));
  try {
    let run = kernels.get(id);
    if (!run) kernels.set(id, run = compileKernel(type, codePtr, codeLength, memory));
    runChunks(run, outer, chunk, args, () => Atomics.add(control, Control.nextUnit, 1));
  } catch (error) {
    Atomics.store(control, Control.error, 1);
    console.error("loom cpu worker:", error);
  }
}

/** Takes chunks of rows of the posted row group, running every member over each chunk. */
function runGroupJob(
  control: Int32Array,
  memory: WebAssembly.Memory,
  kernels: Map<number, KernelRunner>,
): void {
  const k = Control.kernel;
  const [count, rows, chunk] = control.subarray(k, k + 3);
  try {
    const members = readGroupMembers(control, k + 3, count).map((m) => {
      let run = kernels.get(m.id);
      if (!run) kernels.set(m.id, run = compileKernel(m.type, m.ptr, m.length, memory));
      return { run, scale: m.scale, args: m.args };
    });
    runChunks(groupRunner(members), rows, chunk, [], () => Atomics.add(control, Control.nextUnit, 1));
  } catch (error) {
    Atomics.store(control, Control.error, 1);
    console.error("loom cpu worker:", error);
  }
}

const init = await receiveInit();
if (init) {
  serve(init);
  if (!("Deno" in globalThis)) (globalThis as unknown as { close(): void }).close();
}
