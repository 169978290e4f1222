/**
 * A small allocator for a WebAssembly.Memory: bump allocation plus free lists per size class.
 *
 * Sizes are rounded up to a class (64-byte multiples for small blocks, then four classes per
 * power of two, so at most 25% is wasted) and freed blocks go to their class's list, so a
 * training loop that allocates the same shapes every step reuses the same blocks and runs at
 * flat memory. Blocks are 64-byte aligned: a block never shares a cache line with another,
 * which keeps workers writing neighbouring blocks from slowing each other down.
 * @module
 */

const ALIGN = 64;
const PAGE = 65536;

/**
 * The size class a request of `bytes` is rounded up to.
 *
 * @example
 * ```ts
 * import { sizeClass } from "./allocator.ts";
 * if (sizeClass(1) !== 64 || sizeClass(1000) !== 1024 || sizeClass(1100) !== 1280) throw new Error();
 * ```
 */
export function sizeClass(bytes: number): number {
  if (bytes <= 256) return Math.max(ALIGN, Math.ceil(bytes / ALIGN) * ALIGN);
  // Four classes per power of two: round up to a multiple of a quarter of the power below.
  const quarter = 2 ** (Math.floor(Math.log2(bytes)) - 2);
  return Math.ceil(bytes / quarter) * quarter;
}

/**
 * Allocates blocks of a memory from `base` upwards, growing the memory when needed.
 * Pointers are byte offsets into the memory; 0 is never returned.
 *
 * @example
 * ```ts
 * import { Allocator } from "./allocator.ts";
 * const memory = new WebAssembly.Memory({ initial: 1, maximum: 4 });
 * const heap = new Allocator(memory, 64);
 * const p = heap.alloc(100);
 * heap.free(p);
 * if (heap.alloc(90) !== p) throw new Error("a freed block of the same class is reused");
 * ```
 */
export class Allocator {
  private top: number;
  private readonly freeLists = new Map<number, number[]>();
  private readonly sizes = new Map<number, number>();
  private inUse = 0;

  /** Hands out memory above `base` (a multiple of 64, and above 0). */
  constructor(readonly memory: WebAssembly.Memory, base: number) {
    if (base <= 0 || base % ALIGN !== 0) {
      throw new RangeError(`Allocator: base ${base} must be a positive multiple of 64`);
    }
    this.top = base;
  }

  /** Returns a 64-byte aligned block of at least `bytes` bytes (contents unspecified). */
  alloc(bytes: number): number {
    if (!Number.isFinite(bytes) || bytes < 0) throw new RangeError(`alloc: invalid size ${bytes}`);
    const size = sizeClass(bytes);
    let ptr = this.freeLists.get(size)?.pop();
    if (ptr === undefined) {
      ptr = this.top;
      this.ensure(ptr + size);
      this.top += size;
    }
    this.sizes.set(ptr, size);
    this.inUse += size;
    return ptr;
  }

  /** Returns a block from {@linkcode Allocator.alloc} to its size class's free list. */
  free(ptr: number): void {
    const size = this.sizes.get(ptr);
    if (size === undefined) throw new Error(`free: ${ptr} is not an allocated block (double free?)`);
    this.sizes.delete(ptr);
    this.inUse -= size;
    let list = this.freeLists.get(size);
    if (!list) this.freeLists.set(size, list = []);
    list.push(ptr);
  }

  /** Bytes in allocated (not freed) blocks, counting the rounding to size classes. */
  get bytesInUse(): number {
    return this.inUse;
  }

  /** The end of the highest block ever handed out. */
  get highWater(): number {
    return this.top;
  }

  /** Grows the memory so that byte offsets below `end` are valid. */
  private ensure(end: number): void {
    const have = this.memory.buffer.byteLength;
    if (end <= have) return;
    const pages = Math.ceil((end - have) / PAGE);
    try {
      // Grow by at least a quarter so that a growing workload does not grow page by page.
      this.memory.grow(Math.max(pages, Math.ceil(have / PAGE / 4)));
    } catch {
      try {
        this.memory.grow(pages);
      } catch {
        throw new RangeError(
          `alloc: cannot grow WebAssembly memory to ${end} bytes; create the runtime with a larger maximum`,
        );
      }
    }
  }
}
