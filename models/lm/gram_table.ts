/**
 * A hash table from fixed-length id sequences (n-grams) to counts, held in typed arrays: the keys one after
 * another in an Int32Array, the counts in another, and an open-addressed slot array of entry numbers. A
 * million 5-grams take 28 MB, against hundreds for a Map of strings.
 * @module
 */

/**
 * n-grams of one length and a count each.
 *
 * @example
 * ```ts
 * import { GramTable } from "./gram_table.ts";
 * const table = new GramTable(2);
 * const ids = new Int32Array([4, 5, 4, 5]);
 * table.add(ids, 0, 1);
 * table.add(ids, 2, 1);
 * if (table.size !== 1 || table.count(ids, 0) !== 2 || table.find(new Int32Array([5, 4]), 0) !== -1) throw new Error();
 * ```
 */
export class GramTable {
  /** Keys, `length` ids an entry. */
  keys: Int32Array;
  /** Count of each entry. */
  counts: Int32Array;
  /** Entries stored. */
  size = 0;
  private slots: Int32Array;
  private mask: number;

  /** An empty table of grams of `length` ids (0 for the one empty gram). */
  constructor(readonly length: number, capacity = 1024) {
    const slots = 2 ** Math.ceil(Math.log2(Math.max(16, capacity * 2)));
    this.slots = new Int32Array(slots).fill(-1);
    this.mask = slots - 1;
    this.keys = new Int32Array(Math.max(1, capacity) * Math.max(1, length));
    this.counts = new Int32Array(Math.max(1, capacity));
  }

  /** A 32-bit hash of the gram at `ids[at, at + length)`. */
  private hash(ids: ArrayLike<number>, at: number): number {
    let h = 0x811c9dc5 ^ this.length;
    for (let i = 0; i < this.length; i++) h = Math.imul(h ^ ids[at + i], 0x01000193) ^ (h >>> 15);
    return Math.imul(h ^ (h >>> 13), 0x5bd1e995) >>> 0;
  }

  /** Whether entry `entry` holds the gram at `ids[at, at + length)`. */
  private same(entry: number, ids: ArrayLike<number>, at: number): boolean {
    const base = entry * this.length;
    for (let i = 0; i < this.length; i++) if (this.keys[base + i] !== ids[at + i]) return false;
    return true;
  }

  /** The entry of the gram `ids[at, at + length)`, or -1. */
  find(ids: ArrayLike<number>, at: number): number {
    for (let slot = this.hash(ids, at) & this.mask;; slot = (slot + 1) & this.mask) {
      const entry = this.slots[slot];
      if (entry < 0) return -1;
      if (this.same(entry, ids, at)) return entry;
    }
  }

  /** The count of a gram (0 when absent). */
  count(ids: ArrayLike<number>, at: number): number {
    const entry = this.find(ids, at);
    return entry < 0 ? 0 : this.counts[entry];
  }

  /** Adds `by` to a gram's count (inserting it at 0 first); returns its entry. */
  add(ids: ArrayLike<number>, at: number, by: number): number {
    let slot = this.hash(ids, at) & this.mask;
    for (;; slot = (slot + 1) & this.mask) {
      const entry = this.slots[slot];
      if (entry < 0) break;
      if (this.same(entry, ids, at)) {
        this.counts[entry] += by;
        return entry;
      }
    }
    if (this.size * this.length + this.length > this.keys.length || this.size >= this.counts.length) {
      this.growEntries();
    }
    const entry = this.size++;
    for (let i = 0; i < this.length; i++) this.keys[entry * this.length + i] = ids[at + i];
    this.counts[entry] = by;
    this.slots[slot] = entry;
    if (this.size * 2 > this.slots.length) this.rehash(this.slots.length * 2);
    return entry;
  }

  /** Doubles the key and count arrays. */
  private growEntries(): void {
    const keys = new Int32Array(Math.max(this.keys.length * 2, this.length));
    keys.set(this.keys);
    const counts = new Int32Array(this.counts.length * 2);
    counts.set(this.counts);
    [this.keys, this.counts] = [keys, counts];
  }

  /** Rebuilds the slot array with `slots` slots. */
  private rehash(slots: number): void {
    this.slots = new Int32Array(slots).fill(-1);
    this.mask = slots - 1;
    for (let entry = 0; entry < this.size; entry++) {
      let slot = this.hash(this.keys, entry * this.length) & this.mask;
      while (this.slots[slot] >= 0) slot = (slot + 1) & this.mask;
      this.slots[slot] = entry;
    }
  }

  /**
   * A table holding given keys and counts (as {@linkcode GramTable.keys} and {@linkcode GramTable.counts}
   * store them).
   */
  static from(length: number, keys: Int32Array, counts: Int32Array): GramTable {
    const table = new GramTable(length, counts.length);
    for (let entry = 0; entry < counts.length; entry++) table.add(keys, entry * length, counts[entry]);
    return table;
  }
}
