/**
 * The WebGPU backend: graphs compiled to WGSL compute shaders, generated for their shapes and cached by
 * their source; each primitive's lowering is in `WEBGPU_LOWERING` (`lowering.ts`). It runs where
 * `navigator.gpu` exists: browsers with WebGPU, and Deno (`--unstable-webgpu`; on a machine without a GPU,
 * through a software driver such as Mesa's lavapipe).
 *
 * A graph is compiled with the passes the CPU backend uses (simplification, fusion), then this backend's own
 * (`fusion.ts`: matmul epilogues, row kernels), and its intermediates are planned by the shared memory plan.
 * Each kernel is one or two dispatches: elementwise chains (`elementwise.ts`), reductions with workgroup tree
 * reductions (`reduce.ts`), tiled matmuls (`matmul.ts`), softmax/layerNorm-like row kernels (`rows.ts`),
 * atomic scatter-adds (`scatter.ts`) and standalone primitives (`lowering.ts`). A call records every
 * dispatch in one command encoder and submits it once; buffers come from a pool (`pool.ts`) that
 * intermediates return to at the end of the call, and donated inputs are overwritten in place. Nothing is
 * read back unless asked (`await t.data()`; there is no `dataSync()`). Tensors are 32-bit words on the
 * device: float32 and int32 as their bits, bool as 0/1.
 *
 * Differences from the reference backend (the oracle it is tested against): float32 sums and dot products
 * accumulate in float32, in another order (tree reductions, tiles), `exp`/`log`/`sin`/`cos`/`tanh`/`pow` are
 * the device's (within a few ulp), gather and scatter-add skip indices out of range instead of throwing, a
 * scatter-add adds colliding rows in any order, and NaN handling follows the device (WGSL lets
 * implementations assume that no NaN occurs), except in `max` and max reductions, which test NaN on the bits.
 * @module
 */
import {
  allocHost,
  type Backend,
  type CompileOptions,
  type CompileReport,
  type DeviceBuffer,
  type DType,
  type Graph,
  type HostArray,
  type Shape,
  sizeOf,
  type Var,
} from "../../dsl/ir/mod.ts";
import { fuse } from "../passes/fuse.ts";
import { planMemory } from "../passes/memory.ts";
import { reportProgram } from "../passes/report.ts";
import { optimize } from "../passes/simplify.ts";
import { gpuProgram, kernelDispatches } from "./fusion.ts";
import { BufferPool } from "./pool.ts";
import { type Dispatch, type KernelContext, WebGpuBuffer } from "./wgsl.ts";

export { WebGpuBuffer } from "./wgsl.ts";
export { WEBGPU_LOWERING, type WebGpuLowering, type WgslElementwise, type WgslKernel } from "./lowering.ts";

/**
 * A shader whose input `j` is bound to the buffer it writes: WebGPU forbids binding one buffer as both
 * writable and read-only in a dispatch, so the input's declaration goes and its reads read `out`.
 */
function aliased(source: string, inputs: readonly number[]): string {
  let s = source;
  for (const j of inputs) {
    s = s.replace(new RegExp(`@group\\(0\\) @binding\\(${j + 1}\\) var<storage, read> in${j}: [^;]*;\\n`), "")
      .replace(new RegExp(`\\bin${j}\\[`, "g"), "out[");
  }
  return s;
}

/**
 * Creates the WebGPU backend on the first adapter `navigator.gpu` offers, or throws an error that says how
 * to get one.
 *
 * @example
 * ```ts
 * import { createWebGpuBackend } from "./mod.ts";
 * import { trace } from "../../mod.ts";
 * const backend = await createWebGpuBackend().catch((e: Error) => e.message);
 * if (typeof backend !== "string") {
 *   const x = backend.fromHost(new Float32Array([1, 2]), [2], "float32");
 *   const [y] = backend.compile(trace((a) => a.mul(a), { shape: [2] })).run([x]);
 *   if ((await backend.read(y, [2], "float32")).join() !== "1,4") throw new Error();
 * } else if (!backend.includes("webgpu backend")) throw new Error(backend);
 * ```
 */
export async function createWebGpuBackend(): Promise<Backend> {
  const gpu = (globalThis.navigator as Navigator | undefined)?.gpu;
  if (!gpu) {
    throw new Error(
      "webgpu backend: navigator.gpu is missing; run Deno with --unstable-webgpu (on Linux without a GPU, " +
        "install Mesa's software Vulkan: apt-get install mesa-vulkan-drivers libvulkan1), or use a browser with WebGPU",
    );
  }
  const adapter = await gpu.requestAdapter();
  if (!adapter) {
    throw new Error(
      "webgpu backend: no WebGPU adapter (no GPU or driver found); on Linux without a GPU, install Mesa's " +
        "software Vulkan (apt-get install mesa-vulkan-drivers libvulkan1), or use the cpu backend",
    );
  }
  const device = await adapter.requestDevice({
    requiredLimits: {
      maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize,
      maxBufferSize: adapter.limits.maxBufferSize,
      // Fused kernels read many buffers: the more the device binds, the fewer kernels are split.
      maxStorageBuffersPerShaderStage: adapter.limits.maxStorageBuffersPerShaderStage,
    },
  });
  return webGpuBackend(device);
}

/**
 * The WebGPU backend on `device` (for a caller that has one already, such as a page sharing it with another
 * library).
 *
 * @example
 * ```ts
 * import { webGpuBackend } from "./mod.ts";
 * const adapter = await navigator.gpu?.requestAdapter();
 * if (adapter) {
 *   const backend = webGpuBackend(await adapter.requestDevice());
 *   if (backend.name !== "webgpu") throw new Error();
 * }
 * ```
 */
export function webGpuBackend(device: GPUDevice): Backend {
  let failure: string | undefined;
  device.addEventListener("uncapturederror", (event) => {
    failure ??= (event as GPUUncapturedErrorEvent).error.message;
  });
  const pool = new BufferPool(device);
  const pipelines = new Map<string, GPUComputePipeline>();
  const released = new FinalizationRegistry<GPUBuffer>((buffer) => pool.release(buffer));
  const maxWords = Math.floor(device.limits.maxStorageBufferBindingSize / 4);
  const maxBindings = device.limits.maxStorageBuffersPerShaderStage;

  const checkSize = (words: number, what: () => string) => {
    if (words > maxWords) {
      throw new RangeError(
        `webgpu backend: ${what()} needs ${words * 4} bytes, over this device's ${maxWords * 4}-byte limit ` +
          "for one buffer; use smaller batches or the cpu backend",
      );
    }
  };
  /** A buffer that escapes to the caller: back to the pool when its wrapper is garbage-collected. */
  const escaping = (words: number, what: () => string): WebGpuBuffer => {
    checkSize(words, what);
    const buffer = pool.acquire(Math.max(4, words * 4));
    const wrapper = new WebGpuBuffer(buffer, words);
    released.register(wrapper, buffer);
    return wrapper;
  };

  // Explicit layouts: "auto" would leave out the bindings a shader happens not to read.
  const layouts = new Map<string, GPUBindGroupLayout>();
  const layoutFor = (bound: readonly number[]) => {
    const key = bound.join();
    let layout = layouts.get(key);
    if (!layout) {
      layout = device.createBindGroupLayout({
        entries: bound.map((binding) => ({
          binding,
          visibility: GPUShaderStage.COMPUTE,
          buffer: { type: binding === 0 ? "storage" : "read-only-storage" } as const,
        })),
      });
      layouts.set(key, layout);
    }
    return layout;
  };
  const pipelineFor = (source: string, bound: readonly number[]) => {
    let pipeline = pipelines.get(source);
    if (!pipeline) {
      const module = device.createShaderModule({ code: source });
      const layout = device.createPipelineLayout({ bindGroupLayouts: [layoutFor(bound)] });
      pipeline = device.createComputePipeline({ layout, compute: { module, entryPoint: "main" } });
      pipelines.set(source, pipeline);
    }
    return pipeline;
  };

  /** The pipelines of a compiled graph's dispatches, by the inputs a call binds to their outputs (if any). */
  const dispatchPipelines = new WeakMap<Dispatch, Map<string, GPUComputePipeline>>();
  /** The bind groups a compiled graph's dispatches used last, by the ids of their buffers. */
  const bindGroups = new WeakMap<Dispatch, { ids: string; group: GPUBindGroup }[]>();
  const bufferIds = new WeakMap<GPUBuffer, number>();
  let buffersSeen = 0;
  const bufferId = (buffer: GPUBuffer) => {
    let id = bufferIds.get(buffer);
    if (id === undefined) bufferIds.set(buffer, id = buffersSeen++);
    return id;
  };

  /**
   * Records every dispatch in one command encoder, in one compute pass, and submits it: each dispatch of a
   * compiled graph (`template`, whose source and workgroups it takes) with the buffers of this call.
   */
  const submit = (
    dispatches: readonly { template: Dispatch; out: WebGpuBuffer; inputs: WebGpuBuffer[] }[],
  ) => {
    if (dispatches.length === 0) return;
    const encoder = device.createCommandEncoder();
    const pass = encoder.beginComputePass();
    for (const d of dispatches) {
      const self = d.inputs.flatMap((b, j) => (b.buffer === d.out.buffer ? [j] : []));
      const bound = [0, ...d.inputs.flatMap((_, j) => (self.includes(j) ? [] : [j + 1]))];
      const buffers = [d.out, ...d.inputs];
      let pipelines = dispatchPipelines.get(d.template);
      if (!pipelines) dispatchPipelines.set(d.template, pipelines = new Map());
      const key = self.join();
      let pipeline = pipelines.get(key);
      if (!pipeline) {
        const source = self.length ? aliased(d.template.source, self) : d.template.source;
        pipelines.set(key, pipeline = pipelineFor(source, bound));
      }
      pass.setPipeline(pipeline);
      // A call of a compiled graph mostly binds the buffers of the call before it (pooled, donated): the
      // last few bind groups of each dispatch are kept.
      const ids = bound.map((binding) => bufferId(buffers[binding].buffer)).join();
      let groups = bindGroups.get(d.template);
      if (!groups) bindGroups.set(d.template, groups = []);
      let group = groups.find((g) => g.ids === ids)?.group;
      if (!group) {
        group = device.createBindGroup({
          layout: layoutFor(bound),
          entries: bound.map((binding) => ({ binding, resource: { buffer: buffers[binding].buffer } })),
        });
        groups.unshift({ ids, group });
        groups.length = Math.min(groups.length, 4);
      }
      pass.setBindGroup(0, group);
      pass.dispatchWorkgroups(...d.template.groups);
    }
    pass.end();
    device.queue.submit([encoder.finish()]);
  };

  /** The backend's kernels for a graph: the shared passes, then this backend's. */
  const program = (graph: Graph) => {
    const simplified = optimize(graph);
    // A shader binds its output and every buffer it reads, up to the device's limit. A kernel past it has its
    // equations' results written, so that it splits into kernels reading their own operands, while every
    // other kernel stays fused. Writing a value can make a kernel that computed it inline read it besides
    // what it read before, hence a few rounds; past them, every equation is a kernel of its own.
    const fits = (kernel: { inputs: readonly unknown[] }) => kernel.inputs.length + 1 <= maxBindings;
    const written = new Set<Var>();
    for (let round = 0; round < 4; round++) {
      const fused = fuse(simplified, { materialize: written });
      const over = fused.kernels.filter((k) => !fits(k));
      if (over.length === 0) {
        const merged = gpuProgram(fused);
        return merged.kernels.every(fits) ? merged : gpuProgram(fused, { merge: false });
      }
      for (const k of over) for (const e of k.eqns) written.add(e.out);
    }
    return gpuProgram(fuse(simplified, { isolate: true }), { merge: false });
  };

  const unbound = new WebGpuBuffer(undefined as unknown as GPUBuffer, 0);

  return {
    name: "webgpu",
    fromHost(data: HostArray, shape: Shape): DeviceBuffer {
      const words = sizeOf(shape);
      const out = escaping(words, () => `a tensor [${shape.join(", ")}]`);
      if (words > 0) {
        // A copy as words (host data may sit on a SharedArrayBuffer, which writeBuffer does not take).
        const bits = data instanceof Uint8Array
          ? Uint32Array.from(data.subarray(0, words))
          : new Uint32Array(data.slice(0, words).buffer);
        device.queue.writeBuffer(out.buffer, 0, bits);
      }
      return out;
    },
    async read(buffer: DeviceBuffer, shape: Shape, dtype: DType): Promise<HostArray> {
      const source = buffer as WebGpuBuffer;
      const words = sizeOf(shape);
      const host = allocHost(dtype, words);
      if (words === 0) return host;
      const staging = device.createBuffer({
        size: words * 4,
        usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
      });
      const encoder = device.createCommandEncoder();
      encoder.copyBufferToBuffer(source.buffer, 0, staging, 0, words * 4);
      device.queue.submit([encoder.finish()]);
      await staging.mapAsync(GPUMapMode.READ);
      const bits = new Uint32Array(staging.getMappedRange().slice(0));
      staging.unmap();
      staging.destroy();
      if (failure !== undefined) {
        const message = failure;
        failure = undefined;
        throw new Error(`webgpu backend: the device reported an error: ${message}`);
      }
      if (dtype === "bool") host.set(bits);
      else host.set(dtype === "float32" ? new Float32Array(bits.buffer) : new Int32Array(bits.buffer));
      return host;
    },
    explain(graph: Graph): CompileReport {
      const p = program(graph);
      // Shader sources do not depend on the buffers bound to them.
      const ctx: KernelContext = { scratch: () => unbound };
      return reportProgram("webgpu", p.fused, (k) => {
        const kernel = p.kernelOf(k);
        return {
          language: "wgsl",
          text: kernel === undefined ? "(computed inside another kernel)" : kernelDispatches(
            kernel,
            kernel.inputs.map(() => unbound),
            unbound,
            ctx,
            false,
          ).map((d) => d.source).join("\n\n"),
        };
      });
    },
    compile(graph: Graph, options: CompileOptions = {}) {
      const p = program(graph);
      const { simplified, kernels } = p;
      const bound = [...simplified.inputs, ...simplified.captures.map((c) => c.v)];
      const donated = new Set(simplified.inputs.filter((_, i) => options.donated?.[i]));
      const plan = planMemory({ graph: simplified, kernels }, donated);
      // A slot holds values of several shapes and dtypes over a call: it takes the most words of any.
      const slotWords = plan.slotBytes.map(() => 1);
      for (const [v, where] of plan.storage) {
        if ("slot" in where) slotWords[where.slot] = Math.max(slotWords[where.slot], sizeOf(v.shape));
      }
      // Errors name the primitive that makes each result.
      const origin = new Map<Var, string>(simplified.eqns.map((e) => [e.out, e.prim]));
      const what = (v: Var) => () => `${v.dtype}[${v.shape.join(", ")}], the result of ${origin.get(v)}`;
      for (const k of kernels) checkSize(sizeOf(k.output.shape), what(k.output));
      // Each kernel's dispatches, made once (shader sources do not depend on buffers): with placeholders for
      // its inputs, its output and its scratch buffers, which each call replaces with its own.
      const placeholder = (words: number) => new WebGpuBuffer(undefined as unknown as GPUBuffer, words);
      const templates = kernels.map((k) => {
        const inputs = k.inputs.map(() => placeholder(0));
        const out = placeholder(0);
        const scratch: WebGpuBuffer[] = [];
        const ctx: KernelContext = { scratch: (words) => scratch[scratch.push(placeholder(words)) - 1] };
        return {
          inputs,
          out,
          scratch,
          dispatches: kernelDispatches(k, inputs, out, ctx, plan.inPlace.has(k)),
        };
      });
      return {
        run(inputs) {
          const env = new Map<Var, WebGpuBuffer>();
          bound.forEach((v, i) => env.set(v, inputs[i] as WebGpuBuffer));
          // Intermediates and scratch come from the pool and return to it once the call is submitted.
          const borrowed: GPUBuffer[] = [];
          const borrow = (words: number) => {
            const buffer = pool.acquire(Math.max(4, words * 4));
            borrowed.push(buffer);
            return new WebGpuBuffer(buffer, words);
          };
          const slots: (WebGpuBuffer | undefined)[] = slotWords.map(() => undefined);
          const dispatches: Parameters<typeof submit>[0][number][] = [];
          kernels.forEach((k, i) => {
            const where = plan.storage.get(k.output);
            const out = where === undefined
              ? escaping(sizeOf(k.output.shape), what(k.output))
              : "input" in where
              ? env.get(where.input)!
              : (slots[where.slot] ??= borrow(slotWords[where.slot]));
            const template = templates[i];
            const actual = new Map<WebGpuBuffer, WebGpuBuffer>([[template.out, out]]);
            template.inputs.forEach((p, j) => actual.set(p, env.get(k.inputs[j])!));
            for (const p of template.scratch) actual.set(p, borrow(p.words));
            for (const d of template.dispatches) {
              dispatches.push({
                template: d,
                out: actual.get(d.out)!,
                inputs: d.inputs.map((b) => actual.get(b)!),
              });
            }
            env.set(k.output, out);
          });
          submit(dispatches);
          for (const b of borrowed) pool.release(b);
          return simplified.outputs.map((v) => {
            const buffer = env.get(v);
            if (!buffer) throw new Error(`webgpu backend: output ${v.id} was not computed`);
            return buffer;
          });
        },
      };
    },
  };
}
