/**
 * Element types of Loom tensors and the typed arrays that hold them.
 * @module
 */

/**
 * The element types Loom supports: 32-bit floats, 32-bit signed integers and booleans.
 *
 * @example
 * ```ts
 * import { type DType, zeros } from "../../mod.ts";
 * const dtype: DType = "int32";
 * if (zeros([1], dtype).dtype !== "int32") throw new Error();
 * ```
 */
export type DType = "float32" | "int32" | "bool";

/**
 * The typed array that stores a tensor of each dtype on the host (booleans are bytes 0/1).
 *
 * @example
 * ```ts
 * import { type HostArray, tensor } from "../../mod.ts";
 * const data: HostArray = await tensor([1, 2]).data();
 * if (data.length !== 2) throw new Error();
 * ```
 */
export type HostArray = Float32Array | Int32Array | Uint8Array;

/**
 * Every dtype name, in a fixed order (useful for validation and property tests).
 *
 * @example
 * ```ts
 * import { allocHost, DTYPES } from "./dtype.ts";
 * if (DTYPES.join() !== "float32,int32,bool") throw new Error();
 * if (DTYPES.some((dtype) => allocHost(dtype, 2).length !== 2)) throw new Error();
 * ```
 */
export const DTYPES: readonly DType[] = ["float32", "int32", "bool"];

/**
 * Allocates a zero-filled host array for `size` elements of `dtype`.
 *
 * @example
 * ```ts
 * import { allocHost } from "./dtype.ts";
 * const a = allocHost("int32", 3);
 * if (!(a instanceof Int32Array) || a.length !== 3) throw new Error("wrong array");
 * ```
 */
export function allocHost(dtype: DType, size: number): HostArray {
  switch (dtype) {
    case "float32":
      return new Float32Array(size);
    case "int32":
      return new Int32Array(size);
    case "bool":
      return new Uint8Array(size);
  }
}

/**
 * Checks that `value` names a dtype and returns it; the error lists the valid names.
 *
 * @example
 * ```ts
 * import { checkDType } from "./dtype.ts";
 * if (checkDType("bool", "cast") !== "bool") throw new Error();
 * ```
 */
export function checkDType(value: unknown, where: string): DType {
  if (value === "float32" || value === "int32" || value === "bool") return value;
  throw new TypeError(`${where}: unknown dtype ${JSON.stringify(value)}; use one of ${DTYPES.join(", ")}`);
}

/**
 * The dtype whose host array class is that of `data`, or undefined for other arrays.
 *
 * @example
 * ```ts
 * import { dtypeOfHost } from "./dtype.ts";
 * if (dtypeOfHost(new Int32Array(1)) !== "int32") throw new Error();
 * ```
 */
export function dtypeOfHost(data: ArrayBufferView): DType | undefined {
  if (data instanceof Float32Array) return "float32";
  if (data instanceof Int32Array) return "int32";
  if (data instanceof Uint8Array) return "bool";
  return undefined;
}
