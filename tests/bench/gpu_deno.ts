/**
 * The Deno half of `deno task bench:webgpu`: the transformer training step on Loom's CPU backend and on its
 * WebGPU backend (Deno's `--unstable-webgpu`), timed side by side in the same rounds, then Loom alone on
 * WebGPU for the other workloads. Prints one JSON line on stdout per result as it comes:
 * `{ "adapter" }`, `{ "transformer": { cpu, webgpu, notes } }`, then `{ "row" }` for each row.
 * @module
 */
import * as L from "../../mod.ts";
import { type GpuRow, gpuRows } from "./gpu_workloads.ts";
import { transformerTraining } from "./transformer.ts";
import { loomStep } from "./loom.ts";
import { type Contender, measure } from "./harness.ts";

const quick = Deno.args.includes("--quick");
const only = Deno.args.find((a) => a.startsWith("--only="))?.split("=")[1].split(",");
const log = (m: string) => console.error(`[bench deno] ${m}`);

const adapter = await navigator.gpu?.requestAdapter();
const info = adapter?.info;
const name = info
  ? [info.vendor, info.architecture, info.device, info.description].filter(Boolean).join(" ")
  : "";
console.log(JSON.stringify({ adapter: name || "(no name)" }));

/**
 * One transformer step contender on `backend`: the model, weights and batch made on it, a first step run
 * (compiling), its step-1 loss noted.
 */
async function transformerOn(backend: string, losses: string[]): Promise<Contender> {
  await L.setBackend(backend);
  const spec = transformerTraining();
  let params = spec.model.init(L.random.key(0), spec.inputShape).params;
  const { step, opt } = loomStep(spec);
  let state = opt.init(params);
  const once = async () => {
    let loss: L.Tensor;
    [loss, params, state] = step(params, state, spec.x, spec.y);
    return (await loss.data())[0];
  };
  losses.push(`${backend} ${(await once()).toFixed(4)}`);
  return {
    name: backend,
    firstCallIsFair: true,
    prepare: () => L.setBackend(backend),
    run: () => {},
    timed: async () => {
      const start = performance.now();
      await once();
      return performance.now() - start;
    },
  };
}

if (!only || only.includes("transformer")) {
  log("transformer step, cpu and webgpu");
  const losses: string[] = [];
  const contenders = [await transformerOn("cpu", losses), await transformerOn("webgpu", losses)];
  const t = await measure(
    contenders,
    quick ? { maxReps: 2, budgetMs: 2000 } : { maxReps: 7, budgetMs: 15000 },
  );
  const transformer = {
    cpu: t.get("cpu"),
    webgpu: t.get("webgpu"),
    notes: [`step-1 loss ${losses.join(", ")}`],
  };
  console.log(JSON.stringify({ transformer }));
}
await L.setBackend("webgpu");
// The transformer's WebGPU step is the one above.
const rest = (only ?? ["sgemm", "softmax", "layernorm", "attention", "mlp", "lstm"]).filter((w) =>
  w !== "transformer"
);
if (rest.length) {
  await gpuRows({
    tf: null,
    quick,
    only: rest,
    log,
    onRow: (row: GpuRow) => console.log(JSON.stringify({ row })),
  });
}
Deno.exit(0);
