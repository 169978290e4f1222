/**
 * WebAssembly text of a module's bytes, through wabt's wasm2wat (npm `wabt`), loaded on first use. Loom's
 * kernels use SIMD, relaxed SIMD and shared memory, so those features are on.
 * @module
 */
import type { KernelCode } from "../../mod.ts";

type Wabt = Awaited<ReturnType<typeof import("wabt")>>;
let wabt: Promise<Wabt> | undefined;

/**
 * The text of a kernel's code: WebAssembly disassembled, JavaScript and WGSL as they are.
 *
 * @example
 * ```ts
 * import { kernelText } from "./wat.ts";
 * // The smallest module: magic number and version.
 * const text = await kernelText({ language: "wasm", text: "", bytes: new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0]) });
 * if (!text.startsWith("(module")) throw new Error(text);
 * ```
 */
export async function kernelText(code: KernelCode): Promise<string> {
  if (code.language !== "wasm" || !code.bytes) return code.text;
  // wabt is CommonJS (`export =`): its function comes as the default export.
  wabt ??= import("wabt").then((m) => (m as unknown as { default: () => Promise<Wabt> }).default());
  const module = (await wabt).readWasm(code.bytes, {
    readDebugNames: true,
    simd: true,
    relaxed_simd: true,
    threads: true,
  });
  try {
    module.generateNames();
    module.applyNames();
    return module.toText({ foldExprs: false, inlineExport: false });
  } finally {
    module.destroy();
  }
}
