/**
 * Checkpoints: params pytrees saved as safetensors files, atomically and with a checksum.
 *
 * A param's path in the tree becomes its tensor name (`{ layers: [{ w }] }` → `layers.0.w`), so other tools
 * (Python's `safetensors`, for one) read the file as a flat dict. Two metadata entries make the round trip
 * exact and safe: `loom.tree`, the nested structure with each tensor replaced by its name, and `loom.sha256`,
 * a SHA-256 of the tensor table, the other metadata and the data section. `load` rebuilds the structure and
 * refuses a file whose checksum does not match; a file without them (written elsewhere) is rebuilt from its
 * dotted names, arrays where the keys are 0..n-1.
 *
 * `save`/`load` use Deno's file APIs; `encodeCheckpoint`/`decodeCheckpoint` do the same with bytes anywhere.
 * @module
 */
import * as ops from "./ops.ts";
import { decodeSafetensors, encodeData, encodeSafetensors, type SafetensorsEntry } from "./safetensors.ts";
import { Tensor } from "./tensor.ts";

const TREE_KEY = "loom.tree";
const CHECKSUM_KEY = "loom.sha256";

/** A nested structure of arrays and plain objects whose leaves are tensor names. */
type Skeleton = string | Skeleton[] | { [key: string]: Skeleton };

/**
 * What `load` returns: the rebuilt params and the metadata given to `save`.
 *
 * @example
 * ```ts
 * import { type Checkpoint, decodeCheckpoint, encodeCheckpoint, tensor } from "../mod.ts";
 * const saved: Checkpoint = await decodeCheckpoint(await encodeCheckpoint({ w: tensor([1]) }, { step: "3" }));
 * if (saved.metadata.step !== "3") throw new Error();
 * ```
 */
export interface Checkpoint {
  /** The params pytree, nested as it was saved. */
  params: unknown;
  /** The string metadata given to `save` (Loom's own `loom.*` entries removed). */
  metadata: Record<string, string>;
}

function isPlainObject(x: unknown): x is Record<string, unknown> {
  if (x === null || typeof x !== "object") return false;
  const proto = Object.getPrototypeOf(x);
  return proto === Object.prototype || proto === null;
}

/** Names every tensor leaf by its dotted path and returns the structure with names in place of tensors. */
function nameLeaves(node: unknown, path: string[], out: Map<string, Tensor>): Skeleton {
  if (node instanceof Tensor) {
    const name = path.join(".");
    if (out.has(name)) throw new Error(`checkpoint: two params would both be named "${name}"; rename a key`);
    out.set(name, node);
    return name;
  }
  if (Array.isArray(node)) return node.map((child, i) => nameLeaves(child, [...path, String(i)], out));
  if (isPlainObject(node)) {
    return Object.fromEntries(
      Object.entries(node).map(([k, child]) => [k, nameLeaves(child, [...path, k], out)]),
    );
  }
  throw new TypeError(
    `checkpoint: the param at "${path.join(".")}" is ${node === null ? "null" : typeof node}; ` +
      "params to save must be tensors in nested arrays and plain objects",
  );
}

function rebuild(skeleton: Skeleton, tensors: Map<string, Tensor>, used: Set<string>): unknown {
  if (typeof skeleton === "string") {
    const t = tensors.get(skeleton);
    if (!t) {
      throw new Error(
        `checkpoint: the structure names a tensor "${skeleton}" that the file lacks; the file is corrupt`,
      );
    }
    used.add(skeleton);
    return t;
  }
  if (Array.isArray(skeleton)) return skeleton.map((s) => rebuild(s, tensors, used));
  return Object.fromEntries(Object.entries(skeleton).map(([k, s]) => [k, rebuild(s, tensors, used)]));
}

/** The nesting of dotted names, for files without a `loom.tree`: arrays where the keys are exactly 0..n-1. */
function skeletonFromNames(names: readonly string[]): Skeleton {
  const root: Record<string, unknown> = {};
  for (const name of names) {
    const parts = name.split(".");
    let node = root;
    parts.slice(0, -1).forEach((p) => {
      if (typeof node[p] === "string") {
        throw new Error(`checkpoint: "${name}" nests inside the tensor "${node[p]}"`);
      }
      node = (node[p] ??= {}) as Record<string, unknown>;
    });
    node[parts[parts.length - 1]] = name;
  }
  const nest = (node: unknown): Skeleton => {
    if (typeof node === "string") return node;
    const record = node as Record<string, unknown>;
    const keys = Object.keys(record);
    const isArray = keys.length > 0 && keys.every((_, i) => Object.hasOwn(record, String(i)));
    return isArray
      ? keys.map((_, i) => nest(record[i]))
      : Object.fromEntries(keys.map((k) => [k, nest(record[k])]));
  };
  return nest(root);
}

/** SHA-256 (hex) of the tensor table, the metadata (but the checksum) and the data section as stored. */
async function checksum(
  tensors: ReadonlyMap<string, SafetensorsEntry>,
  metadata: Record<string, string>,
  data: Uint8Array,
): Promise<string> {
  // In data order, so that swapping two tensors' data is caught too.
  const table = [...tensors].map(([name, t]) => `${name}\t${t.dtype}\t${t.shape.join(",")}`);
  const meta = Object.keys(metadata).filter((k) => k !== CHECKSUM_KEY).sort().map((k) =>
    `${k}\t${metadata[k]}`
  );
  const head = new TextEncoder().encode(JSON.stringify([table, meta]));
  const all = new Uint8Array(head.length + data.length);
  all.set(head);
  all.set(data, head.length);
  const digest = await crypto.subtle.digest("SHA-256", all);
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * Encodes params and string metadata as safetensors bytes, with Loom's structure and checksum entries.
 *
 * @example
 * ```ts
 * import { decodeCheckpoint, encodeCheckpoint } from "./checkpoint.ts";
 * import { tensor } from "../mod.ts";
 * const bytes = await encodeCheckpoint({ layers: [{ w: tensor([[1, 2]]) }] }, { epoch: "3" });
 * const { params, metadata } = await decodeCheckpoint(bytes);
 * if ((params as any).layers[0].w.arraySync().toString() !== "1,2") throw new Error();
 * if (metadata.epoch !== "3") throw new Error();
 * ```
 */
export async function encodeCheckpoint(
  params: unknown,
  metadata: Record<string, string> = {},
): Promise<Uint8Array> {
  for (const [k, v] of Object.entries(metadata)) {
    if (k.startsWith("loom.")) {
      throw new Error(`checkpoint: metadata keys starting with "loom." are reserved, got "${k}"`);
    }
    if (typeof v !== "string") {
      throw new TypeError(`checkpoint: metadata values must be strings; "${k}" is ${typeof v}`);
    }
  }
  const leaves = new Map<string, Tensor>();
  const skeleton = nameLeaves(params, [], leaves);
  const tensors = new Map<string, SafetensorsEntry>();
  for (const [name, t] of leaves) {
    tensors.set(name, { dtype: t.dtype, shape: [...t.shape], data: await t.data() });
  }
  const meta: Record<string, string> = { ...metadata, [TREE_KEY]: JSON.stringify(skeleton) };
  const data = encodeData(tensors);
  meta[CHECKSUM_KEY] = await checksum(tensors, meta, data);
  return encodeSafetensors(tensors, meta, data);
}

/**
 * Decodes checkpoint bytes back into params and metadata. A truncated or corrupt file (bad length, bad
 * header, checksum mismatch) is an error that says so; it never yields wrong params.
 *
 * @example
 * ```ts
 * import { decodeCheckpoint, encodeCheckpoint } from "./checkpoint.ts";
 * import { tensor } from "../mod.ts";
 * const bytes = await encodeCheckpoint({ w: tensor([1, 2, 3]) });
 * bytes[bytes.length - 1] ^= 1; // flip one bit of the data
 * const error = await decodeCheckpoint(bytes).catch((e) => e);
 * if (!String(error.message).includes("checksum")) throw new Error();
 * ```
 */
export async function decodeCheckpoint(bytes: Uint8Array): Promise<Checkpoint> {
  const { tensors, metadata, data } = decodeSafetensors(bytes);
  const tree = metadata[TREE_KEY];
  const expected = metadata[CHECKSUM_KEY];
  if ((tree === undefined) !== (expected === undefined)) {
    throw new Error(`checkpoint: the file has only one of ${TREE_KEY} and ${CHECKSUM_KEY}; it is corrupt`);
  }
  if (expected !== undefined && (await checksum(tensors, metadata, data)) !== expected) {
    throw new Error("checkpoint: checksum mismatch: the file is corrupt (changed after it was written)");
  }
  const loaded = new Map<string, Tensor>();
  for (const [name, t] of tensors) loaded.set(name, ops.tensor(t.data, { shape: t.shape, dtype: t.dtype }));
  const used = new Set<string>();
  const params = rebuild(
    tree === undefined ? skeletonFromNames([...tensors.keys()]) : JSON.parse(tree) as Skeleton,
    loaded,
    used,
  );
  if (used.size !== loaded.size) {
    throw new Error("checkpoint: the file holds tensors its structure does not name; it is corrupt");
  }
  const userMetadata = Object.fromEntries(Object.entries(metadata).filter(([k]) => !k.startsWith("loom.")));
  return { params, metadata: userMetadata };
}

function denoFiles(where: string): typeof Deno {
  const deno = (globalThis as { Deno?: typeof Deno }).Deno;
  if (!deno) {
    throw new Error(
      `${where}: needs Deno's file APIs; elsewhere use encodeCheckpoint / decodeCheckpoint with bytes`,
    );
  }
  return deno;
}

function directoryOf(path: string): string {
  const cut = Math.max(path.lastIndexOf("/"), path.lastIndexOf("\\"));
  return cut < 0 ? "." : cut === 0 ? path.slice(0, 1) : path.slice(0, cut);
}

/**
 * Saves params (a pytree of tensors) and string metadata to `path` as safetensors, atomically: the bytes go
 * to a temporary file in the same directory, are flushed to disk (fsync), and the file is renamed over
 * `path`. A crash at any moment leaves either the old file or the new one, never a mix.
 *
 * @example
 * ```ts
 * import { load, save, tensor } from "../mod.ts";
 * // Runs where files may be written (deno test --doc --allow-read --allow-write).
 * if ((await Deno.permissions.query({ name: "write" })).state === "granted") {
 *   const path = await Deno.makeTempFile({ suffix: ".safetensors" });
 *   await save(path, { w: tensor([1, 2]) }, { note: "hi" });
 *   const { params, metadata } = await load(path);
 *   if ((params as any).w.arraySync().toString() !== "1,2" || metadata.note !== "hi") throw new Error();
 *   await Deno.remove(path);
 * }
 * ```
 */
export async function save(
  path: string,
  params: unknown,
  metadata: Record<string, string> = {},
): Promise<void> {
  const deno = denoFiles("save");
  const bytes = await encodeCheckpoint(params, metadata);
  const temporary = `${path}.${crypto.randomUUID()}.tmp`;
  const file = await deno.open(temporary, { write: true, createNew: true });
  try {
    try {
      for (let at = 0; at < bytes.length;) at += await file.write(bytes.subarray(at));
      await file.sync();
    } finally {
      file.close();
    }
    await deno.rename(temporary, path);
  } catch (e) {
    await deno.remove(temporary).catch(() => {});
    throw e;
  }
  // Make the rename itself durable; directories cannot be opened for syncing on Windows.
  if (deno.build.os !== "windows") {
    const directory = await deno.open(directoryOf(path), { read: true });
    try {
      await directory.sync();
    } finally {
      directory.close();
    }
  }
}

/**
 * Loads a checkpoint written by `save` (or any safetensors file of F32/I32/BOOL tensors), rebuilding the
 * nested params. Errors name the file and say what is wrong (truncated, corrupt, checksum mismatch).
 *
 * @example
 * ```ts
 * import { load } from "../mod.ts";
 * // Runs where files may be written (deno test --doc --allow-read --allow-write).
 * if ((await Deno.permissions.query({ name: "write" })).state === "granted") {
 *   const path = await Deno.makeTempFile();
 *   await Deno.writeFile(path, new Uint8Array([1, 2, 3]));
 *   const error = await load(path).catch((e) => e);
 *   if (!String(error.message).includes("truncated")) throw new Error(error.message);
 *   await Deno.remove(path);
 * }
 * ```
 */
export async function load(path: string): Promise<Checkpoint> {
  const bytes = await denoFiles("load").readFile(path);
  try {
    return await decodeCheckpoint(bytes);
  } catch (e) {
    throw new Error(`load(${path}): ${(e as Error).message}`, { cause: e });
  }
}

/**
 * A table of a params pytree: each tensor's name (as in checkpoints), shape and element count, and the total.
 *
 * @example
 * ```ts
 * import { paramsSummary, tensor, zeros } from "../mod.ts";
 * const params = { embed: { table: zeros([100, 8]) }, out: [{ w: zeros([8, 2]), b: tensor([0, 0]) }] };
 * const text = paramsSummary(params);
 * if (!text.includes("out.0.w") || !text.includes("Total: 818")) throw new Error(text);
 * ```
 */
export function paramsSummary(params: unknown): string {
  const leaves = new Map<string, Tensor>();
  nameLeaves(params, [], leaves);
  const rows = [...leaves].map((
    [name, t],
  ) => [name, `[${t.shape.join(", ")}]`, t.size.toLocaleString("en-US")]);
  const header = ["Param", "Shape", "Count"];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r: string[]) =>
    `${r[0].padEnd(widths[0])}  ${r[1].padEnd(widths[1])}  ${r[2].padStart(widths[2])}`;
  const total = [...leaves.values()].reduce((n, t) => n + t.size, 0);
  return [line(header), ...rows.map(line), `Total: ${total.toLocaleString("en-US")}`].join("\n");
}
