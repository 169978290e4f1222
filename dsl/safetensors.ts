/**
 * The safetensors format as pure byte encoding and decoding (no file system: it runs in browsers too).
 *
 * Layout: 8 bytes little-endian header length N; N bytes of UTF-8 JSON (padded with spaces to a multiple of
 * 8) mapping each tensor name to `{ dtype, shape, data_offsets: [begin, end] }`, plus an optional
 * `"__metadata__"` object of strings; then the data section, raw little-endian values, the tensors back to
 * back exactly covering it. Loom reads and writes the dtypes "F32", "I32" and "BOOL".
 * @module
 */
import type { DType, HostArray } from "./ir/dtype.ts";

/**
 * One tensor of a safetensors file: dtype, shape and row-major data.
 *
 * @example
 * ```ts
 * import { encodeData, type SafetensorsEntry } from "./safetensors.ts";
 * const mask: SafetensorsEntry = { dtype: "bool", shape: [2, 2], data: new Uint8Array([1, 0, 0, 1]) };
 * if (encodeData(new Map([["mask", mask]])).join() !== "1,0,0,1") throw new Error(); // a byte per bool
 * ```
 */
export interface SafetensorsEntry {
  /** Loom dtype (stored as F32, I32 or BOOL). */
  dtype: DType;
  /** The shape. */
  shape: number[];
  /** The elements, row-major. */
  data: HostArray;
}

/**
 * A decoded file: tensors by name, the string metadata and the raw data section.
 *
 * @example
 * ```ts
 * import { decodeSafetensors, encodeSafetensors, type Safetensors } from "./safetensors.ts";
 * const bytes = encodeSafetensors(
 *   new Map([["b", { dtype: "int32", shape: [2], data: new Int32Array([7, 8]) }]]),
 *   { format: "loom" },
 * );
 * const file: Safetensors = decodeSafetensors(bytes);
 * if (file.metadata.format !== "loom" || file.data.length !== 8) throw new Error();
 * if (file.tensors.get("b")?.data.join() !== "7,8") throw new Error();
 * ```
 */
export interface Safetensors {
  /** Tensors by name, in the order of their data. */
  tensors: Map<string, SafetensorsEntry>;
  /** The `__metadata__` map (empty when absent). */
  metadata: Record<string, string>;
  /** The data section's bytes, as stored (a view into the input). */
  data: Uint8Array;
}

const CODES: Record<DType, string> = { float32: "F32", int32: "I32", bool: "BOOL" };
const DTYPES: Record<string, DType> = { F32: "float32", I32: "int32", BOOL: "bool" };
const BYTES: Record<DType, number> = { float32: 4, int32: 4, bool: 1 };
// The reference implementation refuses larger headers; refusing them here too keeps garbage lengths cheap.
const MAX_HEADER_BYTES = 100_000_000;

/** Whether this machine stores numbers little-endian, as safetensors does: typed arrays copy as bytes then. */
const LITTLE_ENDIAN = new Uint8Array(Uint32Array.of(1).buffer)[0] === 1;

function writeValues(view: DataView, offset: number, entry: SafetensorsEntry): void {
  const { data, dtype } = entry;
  const typed = dtype === "float32"
    ? data instanceof Float32Array
    : dtype === "int32" && data instanceof Int32Array;
  if (LITTLE_ENDIAN && typed) {
    const source = data as Float32Array | Int32Array;
    new Uint8Array(view.buffer, view.byteOffset + offset, source.byteLength)
      .set(new Uint8Array(source.buffer, source.byteOffset, source.byteLength));
    return;
  }
  for (let i = 0; i < data.length; i++) {
    if (dtype === "float32") view.setFloat32(offset + 4 * i, data[i], true);
    else if (dtype === "int32") view.setInt32(offset + 4 * i, data[i], true);
    else view.setUint8(offset + i, data[i] ? 1 : 0);
  }
}

function readValues(view: DataView, offset: number, dtype: DType, count: number): HostArray {
  if (dtype === "bool") {
    const out = new Uint8Array(count);
    for (let i = 0; i < count; i++) out[i] = view.getUint8(offset + i);
    return out;
  }
  const out = dtype === "float32" ? new Float32Array(count) : new Int32Array(count);
  if (LITTLE_ENDIAN) {
    new Uint8Array(out.buffer).set(new Uint8Array(view.buffer, view.byteOffset + offset, 4 * count));
    return out;
  }
  for (let i = 0; i < count; i++) {
    out[i] = dtype === "float32"
      ? view.getFloat32(offset + 4 * i, true)
      : view.getInt32(offset + 4 * i, true);
  }
  return out;
}

/**
 * The data section of a safetensors file for these tensors: their values back to back, little-endian.
 *
 * @example
 * ```ts
 * import { encodeData } from "./safetensors.ts";
 * const data = encodeData(new Map([["n", { dtype: "int32", shape: [1], data: new Int32Array([258]) }]]));
 * if (data.join() !== "2,1,0,0") throw new Error();
 * ```
 */
export function encodeData(tensors: ReadonlyMap<string, SafetensorsEntry>): Uint8Array {
  let length = 0;
  for (const [name, entry] of tensors) {
    const count = entry.shape.reduce((n, d) => n * d, 1);
    if (count !== entry.data.length) {
      throw new RangeError(
        `safetensors: tensor "${name}" has shape [${entry.shape}] but ${entry.data.length} values`,
      );
    }
    length += count * BYTES[entry.dtype];
  }
  const bytes = new Uint8Array(length);
  const view = new DataView(bytes.buffer);
  let at = 0;
  for (const entry of tensors.values()) {
    writeValues(view, at, entry);
    at += entry.data.length * BYTES[entry.dtype];
  }
  return bytes;
}

/**
 * Encodes tensors (in the given order) and string metadata as safetensors bytes. `data` is the data section
 * when the caller already made it with `encodeData` (to hash it, say).
 *
 * @example
 * ```ts
 * import { decodeSafetensors, encodeSafetensors, type SafetensorsEntry } from "./safetensors.ts";
 * const w: SafetensorsEntry = { dtype: "float32", shape: [2], data: new Float32Array([1, 2]) };
 * const bytes = encodeSafetensors(new Map([["w", w]]));
 * const back = decodeSafetensors(bytes).tensors.get("w")!;
 * if (back.shape.join() !== "2" || back.data[1] !== 2) throw new Error();
 * ```
 */
export function encodeSafetensors(
  tensors: ReadonlyMap<string, SafetensorsEntry>,
  metadata: Record<string, string> = {},
  data: Uint8Array = encodeData(tensors),
): Uint8Array {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  let offset = 0;
  for (const [name, entry] of tensors) {
    if (name === "__metadata__") {
      throw new Error(`safetensors: "__metadata__" is reserved and cannot name a tensor`);
    }
    const end = offset + entry.data.length * BYTES[entry.dtype];
    header[name] = { dtype: CODES[entry.dtype], shape: entry.shape, data_offsets: [offset, end] };
    offset = end;
  }
  if (offset !== data.length) {
    throw new RangeError(
      `safetensors: the data section has ${data.length} bytes, the tensors need ${offset}`,
    );
  }
  const json = JSON.stringify(header);
  // Pad the header with spaces so the data starts 8-byte aligned, as the reference writer does.
  const padding = (8 - (new TextEncoder().encode(json).length % 8)) % 8;
  const headerBytes = new TextEncoder().encode(json + " ".repeat(padding));
  const bytes = new Uint8Array(8 + headerBytes.length + data.length);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, headerBytes.length, true);
  view.setUint32(4, Math.floor(headerBytes.length / 2 ** 32), true);
  bytes.set(headerBytes, 8);
  bytes.set(data, 8 + headerBytes.length);
  return bytes;
}

function corrupt(message: string): Error {
  return new Error(`safetensors: corrupt file: ${message}`);
}

/**
 * Decodes safetensors bytes, validating everything: the header length, the JSON, each dtype, shape and
 * offset, and that the tensors exactly cover the data section (so a truncated or padded file is an error, never
 * garbage). Dtypes other than F32, I32 and BOOL are refused with their name.
 *
 * @example
 * ```ts
 * import { decodeSafetensors, encodeSafetensors, type SafetensorsEntry } from "./safetensors.ts";
 * const n: SafetensorsEntry = { dtype: "int32", shape: [], data: new Int32Array([7]) };
 * const bytes = encodeSafetensors(new Map([["n", n]]), { a: "b" });
 * try {
 *   decodeSafetensors(bytes.subarray(0, bytes.length - 1));
 *   throw new Error("unreachable");
 * } catch (e) {
 *   if (!(e as Error).message.includes("truncated")) throw e;
 * }
 * if (decodeSafetensors(bytes).metadata.a !== "b") throw new Error();
 * ```
 */
export function decodeSafetensors(bytes: Uint8Array): Safetensors {
  if (bytes.length < 8) {
    throw corrupt(`the file has ${bytes.length} bytes, fewer than the 8 of the header length (truncated?)`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = view.getUint32(0, true) + view.getUint32(4, true) * 2 ** 32;
  if (headerLength > MAX_HEADER_BYTES) {
    throw corrupt(`the header length ${headerLength} is implausible (is this a safetensors file?)`);
  }
  if (8 + headerLength > bytes.length) {
    throw corrupt(
      `the header needs ${headerLength} bytes but only ${bytes.length - 8} follow: the file is truncated`,
    );
  }
  let header: unknown;
  try {
    header = JSON.parse(
      new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(8, 8 + headerLength)),
    );
  } catch (e) {
    throw corrupt(`the header is not valid UTF-8 JSON (${(e as Error).message})`);
  }
  if (header === null || typeof header !== "object" || Array.isArray(header)) {
    throw corrupt("the header is not a JSON object");
  }
  const dataStart = 8 + headerLength;
  const dataLength = bytes.length - dataStart;
  const metadata: Record<string, string> = {};
  const spans: { name: string; begin: number; end: number; dtype: DType; shape: number[] }[] = [];
  for (const [name, info] of Object.entries(header as Record<string, unknown>)) {
    if (name === "__metadata__") {
      if (info === null || typeof info !== "object") {
        throw corrupt("__metadata__ must be an object of strings");
      }
      for (const [k, v] of Object.entries(info)) {
        if (typeof v !== "string") {
          throw corrupt(`__metadata__.${k} must be a string, got ${JSON.stringify(v)}`);
        }
        metadata[k] = v;
      }
      continue;
    }
    const { dtype: code, shape, data_offsets: offsets } = (info ?? {}) as Record<string, unknown>;
    const dtype = DTYPES[code as string];
    if (!dtype) {
      throw new Error(
        `safetensors: tensor "${name}" has dtype ${JSON.stringify(code)}; Loom reads F32, I32 and BOOL`,
      );
    }
    if (!Array.isArray(shape) || shape.some((d) => !Number.isSafeInteger(d) || d < 0)) {
      throw corrupt(`tensor "${name}" has an invalid shape ${JSON.stringify(shape)}`);
    }
    if (
      !Array.isArray(offsets) || offsets.length !== 2 ||
      offsets.some((o) => !Number.isSafeInteger(o) || o < 0)
    ) {
      throw corrupt(`tensor "${name}" has invalid data_offsets ${JSON.stringify(offsets)}`);
    }
    const [begin, end] = offsets as number[];
    const size = shape.reduce((n: number, d: number) => n * d, 1) * BYTES[dtype];
    if (end - begin !== size) {
      throw corrupt(
        `tensor "${name}" ${code}[${shape}] needs ${size} bytes but its data_offsets span ${end - begin}`,
      );
    }
    spans.push({ name, begin, end, dtype, shape });
  }
  // The tensors must tile the data section exactly, in offset order, as the reference implementation demands.
  let covered = 0;
  spans.sort((a, b) => a.begin - b.begin);
  for (const span of spans) {
    if (span.begin !== covered) {
      throw corrupt(`tensor "${span.name}" starts at byte ${span.begin} of the data, expected ${covered}`);
    }
    covered = span.end;
  }
  if (covered > dataLength) {
    throw corrupt(
      `the data section has ${dataLength} bytes but the header describes ${covered}: the file is truncated`,
    );
  }
  if (covered < dataLength) {
    throw corrupt(`${dataLength - covered} unexpected bytes follow the last tensor`);
  }
  const tensors = new Map<string, SafetensorsEntry>();
  for (const s of spans) {
    const count = (s.end - s.begin) / BYTES[s.dtype];
    tensors.set(s.name, {
      dtype: s.dtype,
      shape: s.shape,
      data: readValues(view, dataStart + s.begin, s.dtype, count),
    });
  }
  return { tensors, metadata, data: bytes.subarray(dataStart) };
}
