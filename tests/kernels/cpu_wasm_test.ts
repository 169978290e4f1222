import assert from "node:assert/strict";
import fc from "fast-check";
import {
  type Code,
  hasRelaxedSimd,
  ModuleBuilder,
  signedLeb,
  unsignedLeb,
  ValType,
} from "../../kernels/cpu/wasm.ts";
import { SCATTER_STRIPES, scatterAddRowsModule } from "../../kernels/cpu/rows.ts";

/** Reads back a LEB128 number, the way a WebAssembly decoder does. */
function decodeLeb(bytes: number[], signed: boolean): bigint {
  let result = 0n, shift = 0n;
  for (const byte of bytes) {
    result |= BigInt(byte & 0x7f) << shift;
    shift += 7n;
    if ((byte & 0x80) === 0) {
      if (signed && byte & 0x40) result -= 1n << shift;
      return result;
    }
  }
  throw new Error("unterminated LEB128");
}

Deno.test("LEB128 encodes 0, 127 and 128 as in the spec, and -1 in one byte", () => {
  assert.deepEqual(unsignedLeb(0), [0]);
  assert.deepEqual(unsignedLeb(127), [127]);
  assert.deepEqual(unsignedLeb(128), [0x80, 0x01]);
  assert.deepEqual(signedLeb(-1), [0x7f]);
  assert.deepEqual(signedLeb(64), [0xc0, 0x00]); // 64 needs a second byte to keep its sign positive
});

Deno.test("LEB128 round-trips every u32, i32 and i64", () => {
  fc.assert(fc.property(fc.nat({ max: 2 ** 32 - 1 }), (n) => decodeLeb(unsignedLeb(n), false) === BigInt(n)));
  fc.assert(fc.property(fc.integer(), (n) => decodeLeb(signedLeb(n), true) === BigInt(n)));
  fc.assert(
    fc.property(
      fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
      (n) => decodeLeb(signedLeb(n), true) === n,
    ),
  );
});

Deno.test("a loop with br_if computes a sum (labels resolve to the right depth)", () => {
  const mb = new ModuleBuilder();
  // sum(n) = n + (n - 1) + ... + 1, with an early exit for n <= 0
  const sum = mb.addFunction([ValType.i32], [ValType.i32], (c: Code) => {
    const total = c.local(ValType.i32);
    c.block((done) => {
      c.get(0).i32Const(0).i32LeS().brIf(done);
      c.loop((again) => {
        c.get(total).get(0).i32Add().set(total);
        c.get(0).i32Const(1).i32Sub().tee(0).brIf(again);
      });
    });
    c.get(total);
  });
  mb.exportFunction("sum", sum);
  const { exports } = new WebAssembly.Instance(new WebAssembly.Module(mb.toBytes()));
  const run = exports.sum as (n: number) => number;
  assert.equal(run(10), 55);
  assert.equal(run(-3), 0);
});

Deno.test("SIMD helpers: splat, multiply, add and extract a lane from shared memory", () => {
  const memory = new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true });
  const mb = new ModuleBuilder().importMemory("env", "memory", { initial: 1, maximum: 1, shared: true });
  // f(p) = lane 2 of (load(p) * splat(2) + load(p)) = 3 * p[2]
  const f = mb.addFunction([ValType.i32], [ValType.f32], (c) => {
    c.get(0).v128Load().f32Const(2).f32x4Splat().f32x4Mul().get(0).v128Load().f32x4Add().f32x4ExtractLane(2);
  });
  mb.exportFunction("f", f);
  new Float32Array(memory.buffer).set([1, 2, 5, 7], 4);
  const { exports } = new WebAssembly.Instance(new WebAssembly.Module(mb.toBytes()), { env: { memory } });
  assert.equal((exports.f as (p: number) => number)(16), 15);
});

Deno.test("relaxed SIMD is detected where V8 supports it, and relaxed_madd computes a·b + c", () => {
  assert.ok(hasRelaxedSimd(), "Deno 2 (V8 12+) accepts relaxed SIMD");
  const mb = new ModuleBuilder();
  const f = mb.addFunction([ValType.f32, ValType.f32, ValType.f32], [ValType.f32], (c) => {
    c.get(0).f32x4Splat().get(1).f32x4Splat().get(2).f32x4Splat().f32x4RelaxedMadd().f32x4ExtractLane(0);
  });
  mb.exportFunction("f", f);
  const { exports } = new WebAssembly.Instance(new WebAssembly.Module(mb.toBytes()));
  assert.equal((exports.f as (a: number, b: number, c: number) => number)(3, 4, 5), 17);
});

Deno.test("scatter-add rows: any split of the stripes between threads gives the same table", () => {
  const [rows, width, count] = [150, 3, 60]; // 150 rows: two whole blocks of 64 stripes and a part
  fc.assert(
    fc.property(
      fc.array(fc.integer({ min: 0, max: rows - 1 }), { minLength: count, maxLength: count }),
      fc.integer({ min: 1, max: SCATTER_STRIPES - 1 }),
      fc.boolean(),
      (indices, cut, inPlace) => {
        const memory = new WebAssembly.Memory({ initial: 1 });
        const bytes = scatterAddRowsModule({ rows, width, count, int: false, inPlace }, { initial: 1 });
        const kernel = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } }).exports
          .kernel as (...args: number[]) => void;
        const [BASE, INDICES, UPDATES, OUT] = [0, 4096, 8192, 16384];
        const base = Float32Array.from({ length: rows * width }, (_, i) => i % 7);
        const updates = Float32Array.from({ length: count * width }, (_, i) => (i % 5) / 4 + 0.125);
        new Float32Array(memory.buffer, BASE, base.length).set(base);
        new Int32Array(memory.buffer, INDICES, count).set(indices);
        new Float32Array(memory.buffer, UPDATES, updates.length).set(updates);
        const out = inPlace ? BASE : OUT;
        new Float32Array(memory.buffer, OUT, base.length).fill(NaN);
        // Two "threads": stripes [0, cut) and [cut, SCATTER_STRIPES), run in either order.
        kernel(cut, SCATTER_STRIPES, BASE, INDICES, UPDATES, out);
        kernel(0, cut, BASE, INDICES, UPDATES, out);
        const want = Float64Array.from(base);
        indices.forEach((row, i) => {
          for (let j = 0; j < width; j++) want[row * width + j] += updates[i * width + j];
        });
        assert.deepEqual(Array.from(new Float32Array(memory.buffer, out, base.length)), Array.from(want));
      },
    ),
    { numRuns: 50 },
  );
});
