/**
 * Helper of the checkpoint kill test: saves a big checkpoint to `path` over and over, each time filled with
 * the iteration number, and prints `saved N` after each save returns. The test kills it with SIGKILL mid-save.
 *
 * Usage: deno run --allow-read --allow-write checkpoint_writer.ts PATH ELEMENTS
 */
import { save, tensor } from "../../mod.ts";

const [path, elements] = Deno.args;
for (let iteration = 1;; iteration++) {
  const big = tensor(new Float32Array(Number(elements)).fill(iteration));
  await save(path, { big, small: [tensor([iteration])] }, { iteration: String(iteration) });
  console.log(`saved ${iteration}`);
}
