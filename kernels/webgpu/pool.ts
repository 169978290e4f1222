/**
 * Device buffers, recycled: a buffer given back (an intermediate at the end of a call, a tensor that was
 * garbage-collected) waits in a free list of its byte size until a request of that size takes it, so that a
 * training loop, after its first step, allocates nothing. Sizes are rounded up (to 256 bytes, then to an
 * eighth of their power of two) so that nearby sizes share lists; what is free beyond `keepBytes` is
 * destroyed.
 * @module
 */

/**
 * A pool of storage buffers on one device.
 *
 * @example
 * ```ts
 * import { BufferPool } from "./pool.ts";
 * if (BufferPool.roundBytes(1000) !== 1024 || BufferPool.roundBytes(5000) !== 5120) throw new Error();
 * ```
 */
export class BufferPool {
  private readonly free = new Map<number, GPUBuffer[]>();
  private freeBytes = 0;
  /** Buffers created so far (for tests of reuse). */
  created = 0;

  /** A pool on `device` that keeps at most `keepBytes` of free buffers. */
  constructor(private readonly device: GPUDevice, private readonly keepBytes = 1 << 30) {}

  /** The byte size a request of `bytes` gets. */
  static roundBytes(bytes: number): number {
    const b = Math.max(256, Math.ceil(bytes / 256) * 256);
    const step = Math.max(256, 2 ** Math.floor(Math.log2(b)) / 8);
    return Math.ceil(b / step) * step;
  }

  /** A buffer of at least `bytes` bytes (storage, copy source and destination). */
  acquire(bytes: number): GPUBuffer {
    const size = BufferPool.roundBytes(bytes);
    const list = this.free.get(size);
    const reused = list?.pop();
    if (reused) {
      this.freeBytes -= size;
      return reused;
    }
    this.created++;
    return this.device.createBuffer({
      size,
      usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
    });
  }

  /**
   * Gives `buffer` back. Work already submitted that uses it runs before any later submission that reuses
   * it (a queue runs in order), so a buffer may be released as soon as the last submission using it is.
   */
  release(buffer: GPUBuffer): void {
    if (this.freeBytes + buffer.size > this.keepBytes) {
      buffer.destroy();
      return;
    }
    const list = this.free.get(buffer.size) ?? [];
    list.push(buffer);
    this.free.set(buffer.size, list);
    this.freeBytes += buffer.size;
  }
}
