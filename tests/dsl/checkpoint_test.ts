/**
 * Checkpoints: exact round trips, the safetensors layout read back by an independent parser, every
 * truncation and every flipped byte rejected, and a writer killed mid-save leaving the previous file intact.
 */
import assert from "node:assert/strict";
import {
  decodeCheckpoint,
  encodeCheckpoint,
  load,
  nn,
  paramsSummary,
  random,
  save,
  type Tensor,
  tensor,
  zeros,
} from "../../mod.ts";

async function withTempDir(body: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "loom_checkpoint_" });
  try {
    await body(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function names(dir: string): Promise<string[]> {
  return (await Array.fromAsync(Deno.readDir(dir))).map((e) => e.name);
}

/** The bytes of every tensor leaf with its path, for bit-exact comparison (NaN payloads and -0 included). */
function bits(tree: unknown, path = ""): string[] {
  if (tree && typeof tree === "object" && "dataSync" in tree) {
    const t = tree as Tensor;
    const data = t.dataSync();
    return [
      `${path} ${t.dtype}[${t.shape}] ${
        new Uint8Array(data.buffer, data.byteOffset, data.byteLength).join(",")
      }`,
    ];
  }
  if (Array.isArray(tree)) {
    return [
      `${path} array(${tree.length})`,
      ...tree.flatMap((c, i) => bits(c, `${path}[${i}]`)),
    ];
  }
  const entries = Object.entries(tree as object);
  return [
    `${path} object(${entries.map(([k]) => k)})`,
    ...entries.flatMap(([k, v]) => bits(v, `${path}.${k}`)),
  ];
}

const specialParams = () => ({
  layers: [
    { w: tensor([[1.5, -0, NaN], [Infinity, -Infinity, 1e-42]]), b: tensor([3.4028234663852886e38]) },
    {},
    { counts: tensor([-2147483648, 2147483647, 0], { dtype: "int32" }), mask: tensor([[true, false]]) },
  ],
  scalar: tensor(7),
  empty: [],
});

Deno.test("a checkpoint round trip is exact: structure, dtypes, shapes, bits and metadata", async () => {
  await withTempDir(async (dir) => {
    const params = specialParams();
    await save(`${dir}/a.safetensors`, params, { step: "120", note: "ünïcode ✓" });
    const loaded = await load(`${dir}/a.safetensors`);
    assert.deepEqual(bits(loaded.params), bits(params));
    assert.deepEqual(loaded.metadata, { step: "120", note: "ünïcode ✓" });
    assert.deepEqual(await names(dir), ["a.safetensors"]);
  });
});

Deno.test("a model's params survive save and load, and the model gives the same outputs", async () => {
  await withTempDir(async (dir) => {
    const model = nn.serial(nn.embed(20, 8), nn.recur(nn.gruCell(6)), nn.layerNorm(), nn.dense(20));
    const { params } = model.init(random.key(3), [2, 5]);
    await save(`${dir}/model.safetensors`, params);
    const ids = tensor([[1, 2, 3, 4, 5], [6, 7, 8, 9, 10]], { dtype: "int32" });
    const again = model.apply((await load(`${dir}/model.safetensors`)).params as typeof params, ids);
    assert.deepEqual(again.dataSync(), model.apply(params, ids).dataSync());
  });
});

Deno.test("the file is safetensors: LE header length, padded JSON header, contiguous LE data, string metadata", async () => {
  const params = {
    layers: [{ w: tensor([[1, 2], [3, 4]]), b: tensor([0.5, -1]) }],
    ids: tensor([7, 8], { dtype: "int32" }),
  };
  const bytes = await encodeCheckpoint(params, { epoch: "2" });
  // An independent reader, following the format description rather than Loom's decoder.
  const view = new DataView(bytes.buffer, bytes.byteOffset);
  const n = Number(view.getBigUint64(0, true));
  assert.equal((8 + n) % 8, 0, "data starts 8-byte aligned");
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
  const { __metadata__: metadata, ...tensors } = header;
  assert.equal(metadata.epoch, "2");
  assert.ok(Object.values(metadata).every((v) => typeof v === "string"));
  assert.deepEqual(Object.keys(tensors).sort(), ["ids", "layers.0.b", "layers.0.w"]);
  assert.deepEqual(tensors["layers.0.w"].dtype, "F32");
  assert.deepEqual(tensors["layers.0.w"].shape, [2, 2]);
  assert.deepEqual(tensors.ids.dtype, "I32");
  const spans = Object.values(tensors as Record<string, { data_offsets: number[] }>).map((t) =>
    t.data_offsets
  )
    .sort((a, b) => a[0] - b[0]);
  spans.forEach(([begin], i) => assert.equal(begin, i === 0 ? 0 : spans[i - 1][1]));
  assert.equal(8 + n + spans[spans.length - 1][1], bytes.length);
  const read = (name: string, i: number) => {
    const at = 8 + n + tensors[name].data_offsets[0];
    return tensors[name].dtype === "F32"
      ? view.getFloat32(at + 4 * i, true)
      : view.getInt32(at + 4 * i, true);
  };
  assert.deepEqual([0, 1, 2, 3].map((i) => read("layers.0.w", i)), [1, 2, 3, 4]);
  assert.deepEqual([0, 1].map((i) => read("layers.0.b", i)), [0.5, -1]);
  assert.deepEqual([0, 1].map((i) => read("ids", i)), [7, 8]);
});

Deno.test("a safetensors file written elsewhere loads, nesting its dotted names", async () => {
  // The example file of the reference implementation's documentation, plus a few tensors of our own.
  const header = JSON.stringify({
    "test": { dtype: "I32", shape: [2, 2], data_offsets: [0, 16] },
    "enc.0.w": { dtype: "F32", shape: [1], data_offsets: [16, 20] },
    "enc.1.w": { dtype: "F32", shape: [1], data_offsets: [20, 24] },
    "mask": { dtype: "BOOL", shape: [2], data_offsets: [24, 26] },
  });
  const json = new TextEncoder().encode(header);
  const bytes = new Uint8Array(8 + json.length + 26);
  new DataView(bytes.buffer).setUint32(0, json.length, true);
  bytes.set(json, 8);
  const data = new DataView(bytes.buffer, 8 + json.length);
  data.setInt32(4, 5, true);
  data.setFloat32(16, 1.5, true);
  data.setFloat32(20, -2, true);
  data.setUint8(25, 1);
  const { params, metadata } = await decodeCheckpoint(bytes);
  assert.deepEqual(metadata, {});
  const p = params as { test: Tensor; enc: { w: Tensor }[]; mask: Tensor };
  assert.deepEqual(p.test.arraySync(), [[0, 5], [0, 0]]);
  assert.deepEqual(p.enc.map((e) => e.w.arraySync()), [[1.5], [-2]]);
  assert.deepEqual(p.mask.arraySync(), [false, true]);
});

Deno.test("a file truncated at any byte is rejected with a clear message", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/small.safetensors`;
    await save(path, { w: tensor([[1, 2, 3]]), b: [tensor([4], { dtype: "int32" })] }, { run: "x" });
    const full = await Deno.readFile(path);
    for (let length = 0; length < full.length; length++) {
      await Deno.writeFile(path, full.subarray(0, length));
      await assert.rejects(
        () => load(path),
        /load\(.*small\.safetensors\): safetensors: corrupt file: .*truncated/,
        `length ${length}`,
      );
    }
  });
});

Deno.test("any flipped byte is caught: bad header, bad offsets or checksum mismatch", async () => {
  const bytes = await encodeCheckpoint({ w: tensor([[1, 2, 3]]), b: [tensor([4], { dtype: "int32" })] }, {
    run: "x",
  });
  for (let i = 0; i < bytes.length; i++) {
    for (const mask of [0x01, 0x80]) {
      const corrupt = bytes.slice();
      corrupt[i] ^= mask;
      await assert.rejects(
        () => decodeCheckpoint(corrupt),
        /corrupt|has dtype/,
        `byte ${i}`,
      );
    }
  }
});

Deno.test("swapping two tensors' data in the header is caught by the checksum", async () => {
  const bytes = await encodeCheckpoint({ a: tensor([1, 2]), b: tensor([3, 4]) });
  const n = new DataView(bytes.buffer).getUint32(0, true);
  const header = new TextDecoder().decode(bytes.subarray(8, 8 + n));
  const swapped = header.replace("[0,8]", "[X]").replace("[8,16]", "[0,8]").replace("[X]", "[8,16]");
  assert.notEqual(swapped, header);
  const forged = bytes.slice();
  forged.set(new TextEncoder().encode(swapped), 8);
  await assert.rejects(() => decodeCheckpoint(forged), /checksum mismatch/);
});

Deno.test("save refuses what it cannot store faithfully", async () => {
  await assert.rejects(
    () => encodeCheckpoint({ w: tensor([1]) }, { "loom.tree": "x" }),
    /keys starting with "loom\." are reserved/,
  );
  await assert.rejects(() => encodeCheckpoint({ lr: 0.1 }), /the param at "lr" is number/);
  await assert.rejects(
    () => encodeCheckpoint({ "a.b": tensor([1]), a: { b: tensor([2]) } }),
    /two params would both be named "a.b"/,
  );
});

Deno.test("a writer killed mid-save leaves the previous checkpoint intact and loadable", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/model.safetensors`;
    const elements = 2_000_000;
    await save(path, { big: zeros([elements]), small: [tensor([0])] }, { iteration: "0" });
    let interruptedMidSave = 0;
    for (const completedSaves of [0, 1, 3]) {
      const child = new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "--allow-read",
          "--allow-write",
          new URL("./checkpoint_writer.ts", import.meta.url).pathname,
          path,
          String(elements),
        ],
        stdout: "piped",
        stderr: "null",
      }).spawn();
      let lastSaved = -1;
      const reading = (async () => {
        for await (const line of child.stdout.pipeThrough(new TextDecoderStream())) {
          for (const match of line.matchAll(/saved (\d+)/g)) lastSaved = Number(match[1]);
        }
      })();
      let exited = false;
      const status = child.status.then((s) => {
        exited = true;
        return s;
      });
      // Kill as soon as a temporary file exists (a save is under way) after the wanted number of saves.
      const before = (await load(path)).metadata.iteration;
      for (;;) {
        if (exited) throw new Error(`the writer exited by itself (code ${(await status).code})`);
        if (lastSaved >= completedSaves && (await names(dir)).some((n) => n.endsWith(".tmp"))) break;
        await new Promise((r) => setTimeout(r, 1));
      }
      child.kill("SIGKILL");
      await status;
      await reading;
      const leftovers = (await names(dir)).filter((n) => n.endsWith(".tmp"));
      if (leftovers.length > 0) interruptedMidSave++;
      for (const name of leftovers) await Deno.remove(`${dir}/${name}`);
      const { params, metadata } = await load(path);
      const iteration = Number(metadata.iteration);
      // The file is the last completed save (the kill may land between the rename and the print).
      assert.ok(
        iteration === lastSaved || iteration === lastSaved + 1,
        `loaded ${iteration}, last saved ${lastSaved}, before ${before}`,
      );
      const { big, small } = params as { big: Tensor; small: Tensor[] };
      assert.equal(big.size, elements);
      assert.equal(big.min().item(), iteration);
      assert.equal(big.max().item(), iteration);
      assert.equal(small[0].item(), iteration);
    }
    assert.ok(interruptedMidSave > 0, "at least one kill landed while a temporary file was being written");
  });
});

Deno.test("paramsSummary lists each param's checkpoint name, shape and count", () => {
  const model = nn.serial(nn.embed(10, 4), nn.dense(3));
  const { params } = model.init(random.key(0), [1, 2]);
  const text = paramsSummary(params);
  assert.match(text, /^0\.table +\[10, 4\] +40$/m);
  assert.match(text, /^1\.w +\[4, 3\] +12$/m);
  assert.match(text, /^1\.b +\[3\] +3$/m);
  assert.match(text, /Total: 55$/);
});
