/**
 * Entry point of the CPU backend's pool workers in the browser build. Bundled beside the code that holds the
 * pool, as `loom_worker.js`, where the pool looks for it.
 * @module
 */
import "../../kernels/cpu/worker.ts";
