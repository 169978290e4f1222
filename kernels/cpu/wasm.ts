/**
 * A small WebAssembly binary emitter: enough of the format to write Loom's CPU kernels
 * (i32/i64/f32 arithmetic, structured control flow, memory access, SIMD128 and relaxed SIMD)
 * from TypeScript, without an external toolchain.
 *
 * A function body is written with {@linkcode Code}, a chainable stack-machine writer whose
 * blocks take callbacks and hand out {@linkcode Label}s, so branch depths are computed for us.
 * @module
 */

/**
 * Value types of WebAssembly locals, parameters and results (their binary codes).
 *
 * @example
 * ```ts
 * import { ValType } from "./wasm.ts";
 * if (ValType.v128 !== 0x7b) throw new Error();
 * ```
 */
export const ValType = { i32: 0x7f, i64: 0x7e, f32: 0x7d, f64: 0x7c, v128: 0x7b } as const;
/**
 * One of the {@linkcode ValType} codes.
 *
 * @example
 * ```ts
 * import { Code, ValType } from "./wasm.ts";
 * const params: ValType[] = [ValType.i32, ValType.f32];
 * const c = new Code(params);
 * if (c.local(ValType.v128) !== 2 || c.localTypes[0] !== ValType.v128) throw new Error(); // after the params
 * ```
 */
export type ValType = typeof ValType[keyof typeof ValType];

/**
 * Encodes a non-negative integer as unsigned LEB128.
 *
 * @example
 * ```ts
 * import { unsignedLeb } from "./wasm.ts";
 * if (unsignedLeb(624485).join() !== "229,142,38") throw new Error();
 * ```
 */
export function unsignedLeb(value: number): number[] {
  if (!Number.isInteger(value) || value < 0) throw new RangeError(`unsignedLeb: ${value} is not a u32`);
  const out: number[] = [];
  do {
    let byte = value % 128;
    value = Math.floor(value / 128);
    if (value !== 0) byte |= 0x80;
    out.push(byte);
  } while (value !== 0);
  return out;
}

/**
 * Encodes an integer (number or bigint, e.g. for `i64.const`) as signed LEB128.
 *
 * @example
 * ```ts
 * import { signedLeb } from "./wasm.ts";
 * if (signedLeb(-123456).join() !== "192,187,120") throw new Error();
 * ```
 */
export function signedLeb(value: number | bigint): number[] {
  let rest = BigInt(value);
  const out: number[] = [];
  for (;;) {
    const byte = Number(rest & 0x7fn);
    rest >>= 7n; // arithmetic shift keeps the sign
    const signBitClear = (byte & 0x40) === 0;
    if ((rest === 0n && signBitClear) || (rest === -1n && !signBitClear)) {
      out.push(byte);
      return out;
    }
    out.push(byte | 0x80);
  }
}

function encodeName(name: string): number[] {
  const utf8 = new TextEncoder().encode(name);
  return [...unsignedLeb(utf8.length), ...utf8];
}

/**
 * A branch target handed out by {@linkcode Code.block}, {@linkcode Code.loop} and {@linkcode Code.if}.
 *
 * @example
 * ```ts
 * import { Code } from "./wasm.ts";
 * const c = new Code([]);
 * c.block((exit) => c.loop((again) => c.br(exit).br(again))); // br 1, then br 0
 * ```
 */
export interface Label {
  /** Nesting depth of the construct; `br` turns it into a relative depth. */
  readonly depth: number;
}

/** SIMD opcodes live behind the 0xfd prefix with a LEB128 sub-opcode. */
const SIMD_PREFIX = 0xfd;

/**
 * The SIMD instructions Loom's kernels emit by opcode (behind the 0xfd prefix), named as in the text format
 * (`f32x4.add` is `SIMD.f32x4Add`). Every WebAssembly opcode of the project is in this file.
 *
 * @example
 * ```ts
 * import { Code, SIMD, ValType } from "./wasm.ts";
 * const c = new Code([ValType.v128, ValType.v128]).get(0).get(1).simd(SIMD.f32x4Add);
 * if (c.bytes.join() !== "32,0,32,1,253,228,1") throw new Error(c.bytes.join());
 * ```
 */
export const SIMD = {
  i8x16Shuffle: 0x0d,
  i32x4ExtractLane: 0x1b,
  f64x2ExtractLane: 0x21,
  i32x4Eq: 0x37,
  i32x4Ne: 0x38,
  i32x4LtS: 0x39,
  f32x4Eq: 0x41,
  f32x4Ne: 0x42,
  f32x4Lt: 0x43,
  f32x4Gt: 0x44,
  v128And: 0x4e,
  v128Or: 0x50,
  v128Bitselect: 0x52,
  f32x4DemoteF64x2Zero: 0x5e,
  f64x2PromoteLowF32x4: 0x5f,
  f32x4Nearest: 0x6a,
  i16x8ExtendLowI8x16U: 0x89,
  i32x4ExtendLowI16x8U: 0xa9,
  i32x4Neg: 0xa1,
  i32x4Shl: 0xab,
  i32x4ShrS: 0xac,
  i32x4ShrU: 0xad,
  i32x4Add: 0xae,
  i32x4Sub: 0xb1,
  i32x4Mul: 0xb5,
  i32x4MaxS: 0xb8,
  i32x4MaxU: 0xb9,
  f32x4Abs: 0xe0,
  f32x4Neg: 0xe1,
  f32x4Sqrt: 0xe3,
  f32x4Add: 0xe4,
  f32x4Sub: 0xe5,
  f32x4Mul: 0xe6,
  f32x4Div: 0xe7,
  f32x4Min: 0xe8,
  f32x4Max: 0xe9,
  f32x4Pmax: 0xeb,
  f64x2Add: 0xf0,
  i32x4TruncSatF32x4S: 0xf8,
  f32x4ConvertI32x4S: 0xfa,
} as const;

/**
 * The 16 bytes of a v128 with `value` in all four float32 lanes.
 *
 * @example
 * ```ts
 * import { splatF32 } from "./wasm.ts";
 * if (new Float32Array(splatF32(1.5).buffer)[3] !== 1.5) throw new Error();
 * ```
 */
export function splatF32(value: number): Uint8Array {
  return new Uint8Array(new Float32Array(4).fill(value).buffer);
}

/**
 * The 16 bytes of a v128 with `value` in all four int32 lanes.
 *
 * @example
 * ```ts
 * import { splatI32 } from "./wasm.ts";
 * if (new Int32Array(splatI32(-2).buffer)[0] !== -2) throw new Error();
 * ```
 */
export function splatI32(value: number): Uint8Array {
  return new Uint8Array(new Int32Array(4).fill(value).buffer);
}

/**
 * Scalar instructions Loom's kernels emit by opcode rather than through a named `Code` method.
 *
 * @example
 * ```ts
 * import { Code, OP, ValType } from "./wasm.ts";
 * const c = new Code([ValType.f32, ValType.f32]).get(0).get(1).op(OP.f32Max);
 * if (c.bytes.at(-1) !== 0x97) throw new Error();
 * ```
 */
export const OP = {
  i32Store: 0x36,
  f32Max: 0x97,
  f64Add: 0xa0,
  f32DemoteF64: 0xb6,
  f64PromoteF32: 0xbb,
} as const;

/**
 * Writes the instructions of one function body. Every method appends and returns `this`,
 * so a kernel reads as the stack program it is: `c.get(x).get(y).i32Add().set(z)`.
 *
 * @example
 * ```ts
 * import { Code, ValType } from "./wasm.ts";
 * const c = new Code([ValType.i32]);
 * const twice = c.local(ValType.i32);
 * c.get(0).get(0).i32Add().set(twice).get(twice);
 * if (c.bytes.length !== 9) throw new Error("unexpected encoding");
 * ```
 */
export class Code {
  /** The encoded instructions (without the locals header and the final `end`). */
  readonly bytes: number[] = [];
  /** Types of the declared locals, after the parameters. */
  readonly localTypes: ValType[] = [];
  private depth = 0;

  /** `params` are the function's parameter types: they are locals 0..params.length-1. */
  constructor(readonly params: readonly ValType[]) {}

  /** Declares a new local and returns its index. */
  local(type: ValType): number {
    this.localTypes.push(type);
    return this.params.length + this.localTypes.length - 1;
  }

  /** Appends raw bytes (an opcode and its immediates). */
  op(...bytes: number[]): this {
    for (const b of bytes) this.bytes.push(b);
    return this;
  }

  /** A SIMD instruction: the 0xfd prefix, the sub-opcode (see `SIMD`), then its immediates. */
  simd(opcode: number, ...immediates: number[]): this {
    return this.op(SIMD_PREFIX, ...unsignedLeb(opcode), ...immediates);
  }

  /** Memory immediate: alignment hint (log2 of bytes) and a constant byte offset. */
  private mem(opcode: number, alignLog2: number, offset: number, simd = false): this {
    const immediates = [...unsignedLeb(alignLog2), ...unsignedLeb(offset)];
    return simd ? this.simd(opcode, ...immediates) : this.op(opcode, ...immediates);
  }

  // ---- structured control flow -------------------------------------------------------------

  private structured(opcode: number, body: (label: Label) => void): this {
    this.op(opcode, 0x40); // 0x40: the block yields no value
    this.depth++;
    body({ depth: this.depth });
    this.depth--;
    return this.op(0x0b);
  }

  /** `block ... end`; branching to its label jumps past the end. */
  block(body: (exit: Label) => void): this {
    return this.structured(0x02, body);
  }

  /** `loop ... end`; branching to its label jumps back to the start. */
  loop(body: (repeat: Label) => void): this {
    return this.structured(0x03, body);
  }

  /** `if ... else ... end` on the i32 on top of the stack. */
  if(then: (exit: Label) => void, otherwise?: (exit: Label) => void): this {
    this.op(0x04, 0x40);
    this.depth++;
    const label = { depth: this.depth };
    then(label);
    if (otherwise) {
      this.op(0x05);
      otherwise(label);
    }
    this.depth--;
    return this.op(0x0b);
  }

  /** Unconditional branch to `label`. */
  br(label: Label): this {
    return this.op(0x0c, ...unsignedLeb(this.depth - label.depth));
  }

  /** Branch to `label` when the i32 on top of the stack is non-zero. */
  brIf(label: Label): this {
    return this.op(0x0d, ...unsignedLeb(this.depth - label.depth));
  }

  /** Returns from the function. */
  return(): this {
    return this.op(0x0f);
  }

  /** Calls function `index` of the module. */
  call(index: number): this {
    return this.op(0x10, ...unsignedLeb(index));
  }

  /** Drops the top of the stack. */
  drop(): this {
    return this.op(0x1a);
  }

  /** `select`: picks the first of two values when the i32 condition is non-zero. */
  select(): this {
    return this.op(0x1b);
  }

  // ---- locals and constants ----------------------------------------------------------------

  /** `local.get`. */
  get(index: number): this {
    return this.op(0x20, ...unsignedLeb(index));
  }

  /** `local.set`. */
  set(index: number): this {
    return this.op(0x21, ...unsignedLeb(index));
  }

  /** `local.tee`: sets the local and keeps the value on the stack. */
  tee(index: number): this {
    return this.op(0x22, ...unsignedLeb(index));
  }

  /** `i32.const`. */
  i32Const(value: number): this {
    return this.op(0x41, ...signedLeb(value | 0));
  }

  /** `i64.const`. */
  i64Const(value: bigint): this {
    return this.op(0x42, ...signedLeb(BigInt.asIntN(64, value)));
  }

  /** `f32.const`. */
  f32Const(value: number): this {
    return this.op(0x43, ...new Uint8Array(new Float32Array([value]).buffer));
  }

  /** `f64.const`. */
  f64Const(value: number): this {
    return this.op(0x44, ...new Uint8Array(new Float64Array([value]).buffer));
  }

  // ---- memory ------------------------------------------------------------------------------

  /** `i32.load` at address + offset. */
  i32Load(offset = 0): this {
    return this.mem(0x28, 2, offset);
  }
  /** `i64.load` at address + offset. */
  i64Load(offset = 0): this {
    return this.mem(0x29, 3, offset);
  }
  /** `f32.load` at address + offset. */
  f32Load(offset = 0): this {
    return this.mem(0x2a, 2, offset);
  }
  /** `i32.store` at address + offset. */
  i32Store(offset = 0): this {
    return this.mem(0x36, 2, offset);
  }
  /** `i64.store` at address + offset. */
  i64Store(offset = 0): this {
    return this.mem(0x37, 3, offset);
  }
  /** `f32.store` at address + offset. */
  f32Store(offset = 0): this {
    return this.mem(0x38, 2, offset);
  }

  // ---- i32 / i64 / f32 arithmetic and comparisons ------------------------------------------

  /** `i32.eqz`. */
  i32Eqz(): this {
    return this.op(0x45);
  }
  /** `i32.eq`. */
  i32Eq(): this {
    return this.op(0x46);
  }
  /** `i32.ne`. */
  i32Ne(): this {
    return this.op(0x47);
  }
  /** `i32.lt_s`. */
  i32LtS(): this {
    return this.op(0x48);
  }
  /** `i32.lt_u`. */
  i32LtU(): this {
    return this.op(0x49);
  }
  /** `i32.gt_s`. */
  i32GtS(): this {
    return this.op(0x4a);
  }
  /** `i32.gt_u`. */
  i32GtU(): this {
    return this.op(0x4b);
  }
  /** `i32.le_s`. */
  i32LeS(): this {
    return this.op(0x4c);
  }
  /** `i32.ge_s`. */
  i32GeS(): this {
    return this.op(0x4e);
  }
  /** `i32.ge_u`. */
  i32GeU(): this {
    return this.op(0x4f);
  }
  /** `i32.add`. */
  i32Add(): this {
    return this.op(0x6a);
  }
  /** `i32.sub`. */
  i32Sub(): this {
    return this.op(0x6b);
  }
  /** `i32.mul`. */
  i32Mul(): this {
    return this.op(0x6c);
  }
  /** `i32.div_u`. */
  i32DivU(): this {
    return this.op(0x6e);
  }
  /** `i32.rem_u`. */
  i32RemU(): this {
    return this.op(0x70);
  }
  /** `i32.and`. */
  i32And(): this {
    return this.op(0x71);
  }
  /** `i32.or`. */
  i32Or(): this {
    return this.op(0x72);
  }
  /** `i32.shl`. */
  i32Shl(): this {
    return this.op(0x74);
  }
  /** `i32.shr_u`. */
  i32ShrU(): this {
    return this.op(0x76);
  }
  /** `i64.add`. */
  i64Add(): this {
    return this.op(0x7c);
  }
  /** `i64.mul`. */
  i64Mul(): this {
    return this.op(0x7e);
  }
  /** `f32.add`. */
  f32Add(): this {
    return this.op(0x92);
  }
  /** `f32.sub`. */
  f32Sub(): this {
    return this.op(0x93);
  }
  /** `f32.mul`. */
  f32Mul(): this {
    return this.op(0x94);
  }

  // ---- SIMD128 -----------------------------------------------------------------------------

  /** `v128.load` (16 bytes) at address + offset. */
  v128Load(offset = 0): this {
    return this.mem(0x00, 4, offset, true);
  }
  /** `v128.load32_splat`: loads one f32/i32 and copies it to all four lanes. */
  v128Load32Splat(offset = 0): this {
    return this.mem(0x09, 2, offset, true);
  }
  /** `v128.load8_splat`: loads one byte and copies it to all sixteen lanes. */
  v128Load8Splat(offset = 0): this {
    return this.mem(0x07, 0, offset, true);
  }
  /** `v128.load32_zero`: loads 4 bytes into the low lane, zeroing the rest. */
  v128Load32Zero(offset = 0): this {
    return this.mem(0x5c, 2, offset, true);
  }
  /** `v128.store` (16 bytes) at address + offset. */
  v128Store(offset = 0): this {
    return this.mem(0x0b, 4, offset, true);
  }
  /** `v128.const` from 16 little-endian bytes (all zero by default). */
  v128Const(bytes: ArrayLike<number> = new Uint8Array(16)): this {
    if (bytes.length !== 16) throw new RangeError("v128Const: need exactly 16 bytes");
    return this.simd(0x0c, ...Array.from(bytes));
  }
  /**
   * `i8x16.shuffle` with 16 lane indices into the concatenation of the two operands (0-15: the
   * first, 16-31: the second).
   */
  i8x16Shuffle(lanes: ArrayLike<number>): this {
    if (lanes.length !== 16 || Array.from(lanes).some((lane) => !(lane >= 0 && lane < 32))) {
      throw new RangeError("i8x16Shuffle: need 16 lane indices in 0..31");
    }
    return this.simd(0x0d, ...Array.from(lanes));
  }
  /**
   * Pops two vectors and pushes 32-bit lane `lane` of the first in all four lanes: push one
   * vector twice to broadcast its lane (engines lower this to a single `pshufd`).
   */
  splatLane32(lane: number): this {
    if (!(lane >= 0 && lane < 4)) throw new RangeError(`splatLane32: lane ${lane} is not in 0..3`);
    return this.i8x16Shuffle(Array.from({ length: 16 }, (_, i) => 4 * lane + (i % 4)));
  }
  /** `memory.copy` (bulk memory) within memory 0: dst, src, length on the stack. */
  memoryCopy(): this {
    return this.op(0xfc, ...unsignedLeb(10), 0, 0);
  }
  /** `i32x4.splat`. */
  i32x4Splat(): this {
    return this.simd(0x11);
  }
  /** `f32x4.splat`. */
  f32x4Splat(): this {
    return this.simd(0x13);
  }
  /** `f32x4.extract_lane`. */
  f32x4ExtractLane(lane: number): this {
    return this.simd(0x1f, lane);
  }
  /** `i32x4.add`. */
  i32x4Add(): this {
    return this.simd(0xae);
  }
  /** `i32x4.mul`. */
  i32x4Mul(): this {
    return this.simd(0xb5);
  }
  /** `f32x4.add`. */
  f32x4Add(): this {
    return this.simd(0xe4);
  }
  /** `f32x4.sub`. */
  f32x4Sub(): this {
    return this.simd(0xe5);
  }
  /** `f32x4.mul`. */
  f32x4Mul(): this {
    return this.simd(0xe6);
  }
  /**
   * Relaxed-SIMD `f32x4.relaxed_madd` (a · b + c): a fused multiply-add where the hardware has
   * one, so results may differ from `mul` then `add` in the last bit.
   */
  f32x4RelaxedMadd(): this {
    return this.simd(0x105);
  }
}

/**
 * Limits of an imported linear memory, in 64 KiB pages.
 *
 * @example
 * ```ts
 * import { type MemoryLimits, ModuleBuilder } from "./wasm.ts";
 * const limits: MemoryLimits = { initial: 1, maximum: 16, shared: true };
 * new ModuleBuilder().importMemory("env", "memory", limits);
 * ```
 */
export interface MemoryLimits {
  /** Pages the memory has at least. */
  initial: number;
  /** Pages it may grow to (required for shared memory). */
  maximum?: number;
  /** Shared memory (a SharedArrayBuffer that workers can use at the same time). */
  shared?: boolean;
}

interface FunctionEntry {
  typeIndex: number;
  code: Code;
}

function section(id: number, payload: number[]): number[] {
  return [id, ...unsignedLeb(payload.length), ...payload];
}

function vector(items: number[][]): number[] {
  return [...unsignedLeb(items.length), ...items.flat()];
}

/**
 * Builds a module: function types, one imported memory, functions with locals, exports.
 *
 * @example
 * ```ts
 * import { ModuleBuilder, ValType } from "./wasm.ts";
 * const mb = new ModuleBuilder();
 * const add = mb.addFunction([ValType.i32, ValType.i32], [ValType.i32], (c) => c.get(0).get(1).i32Add());
 * mb.exportFunction("add", add);
 * const { exports } = new WebAssembly.Instance(new WebAssembly.Module(mb.toBytes()));
 * if ((exports.add as (a: number, b: number) => number)(2, 3) !== 5) throw new Error();
 * ```
 */
export class ModuleBuilder {
  private types: number[][] = [];
  private typeKeys = new Map<string, number>();
  private functions: FunctionEntry[] = [];
  private exports: number[][] = [];
  private memoryImport: number[] | null = null;

  /** Imports a memory as `module.name` (Loom uses `env.memory`). */
  importMemory(module: string, name: string, limits: MemoryLimits): this {
    let flags = 0;
    const bounds = unsignedLeb(limits.initial);
    if (limits.maximum !== undefined) {
      flags |= 1;
      bounds.push(...unsignedLeb(limits.maximum));
    }
    if (limits.shared) {
      if (limits.maximum === undefined) throw new Error("importMemory: shared memory needs a maximum");
      flags |= 2;
    }
    this.memoryImport = [...encodeName(module), ...encodeName(name), 0x02, flags, ...bounds];
    return this;
  }

  private typeIndex(params: readonly ValType[], results: readonly ValType[]): number {
    const encoded = [
      0x60,
      ...unsignedLeb(params.length),
      ...params,
      ...unsignedLeb(results.length),
      ...results,
    ];
    const key = encoded.join();
    let index = this.typeKeys.get(key);
    if (index === undefined) {
      index = this.types.length;
      this.types.push(encoded);
      this.typeKeys.set(key, index);
    }
    return index;
  }

  /**
   * Adds a function whose body `build` writes into a fresh {@linkcode Code} (parameters are
   * locals 0..n-1); returns the function's index, for `call` and exports.
   */
  addFunction(
    params: readonly ValType[],
    results: readonly ValType[],
    build: (code: Code) => void,
  ): number {
    const code = new Code(params);
    build(code);
    this.functions.push({ typeIndex: this.typeIndex(params, results), code });
    return this.functions.length - 1;
  }

  /** Exports function `index` under `name`. */
  exportFunction(name: string, index: number): this {
    this.exports.push([...encodeName(name), 0x00, ...unsignedLeb(index)]);
    return this;
  }

  /** Encodes the module. */
  toBytes(): Uint8Array<ArrayBuffer> {
    const bodies = this.functions.map(({ code }) => {
      // Locals are declared as runs of equal types; one run per local keeps this simple.
      const locals = vector(code.localTypes.map((type) => [1, type]));
      const body = [...locals, ...code.bytes, 0x0b];
      return [...unsignedLeb(body.length), ...body];
    });
    const bytes = [
      0x00,
      0x61,
      0x73,
      0x6d, // "\0asm"
      0x01,
      0x00,
      0x00,
      0x00, // version 1
      ...section(1, vector(this.types)),
      ...(this.memoryImport ? section(2, vector([this.memoryImport])) : []),
      ...section(3, vector(this.functions.map((f) => unsignedLeb(f.typeIndex)))),
      ...section(7, vector(this.exports)),
      ...section(10, vector(bodies)),
    ];
    return new Uint8Array(bytes);
  }
}

let relaxedSimdSupport: boolean | undefined;

/**
 * Whether this engine accepts relaxed SIMD (`f32x4.relaxed_madd`), checked once by validating
 * a tiny module.
 *
 * @example
 * ```ts
 * import { hasRelaxedSimd } from "./wasm.ts";
 * console.log("relaxed SIMD:", hasRelaxedSimd());
 * ```
 */
export function hasRelaxedSimd(): boolean {
  if (relaxedSimdSupport === undefined) {
    const mb = new ModuleBuilder();
    mb.addFunction([], [ValType.v128], (c) => c.v128Const().v128Const().v128Const().f32x4RelaxedMadd());
    relaxedSimdSupport = typeof WebAssembly === "object" && WebAssembly.validate(mb.toBytes());
  }
  return relaxedSimdSupport;
}
