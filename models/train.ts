/**
 * `deno task train`: trains the default model. The models arrive with the models issue; until then this
 * command says so instead of pretending.
 * @module
 */
if (import.meta.main) {
  console.log(
    "Loom: no models yet. Tensors, autodiff, jit, layers, losses and optimizers are ready: see README.md.",
  );
}
