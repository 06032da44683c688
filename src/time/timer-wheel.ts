/**
 * A hierarchical timing wheel (the shape of tokio's): 6 levels of 64 slots; a slot of level L
 * spans 64^L ticks (1 tick = 1 ms), so the wheel covers 64^6 ms (~2.2 years) ahead. Each slot is
 * an intrusive doubly-linked list of entries, and each level has a 64-bit occupancy bitmap (two
 * 32-bit words) so the next deadline is found without scanning slots.
 *
 * - insert: O(1): the level is where the deadline's bits first differ from the wheel's current
 *   time, the slot is those 6 bits.
 * - remove (cancel): O(1): unlink.
 * - advance: each occupied slot whose start has passed is emptied; entries of level 0 expire (in
 *   list order, which is registration order), entries of higher levels cascade to lower levels.
 */

const LEVELS = 6;
const SLOT_BITS = 6;
const SLOTS = 64;
const TWO_32 = 4294967296;
/** Ticks covered by the whole wheel: 64^6 = 2^36. */
const WHEEL_RANGE = SLOTS ** LEVELS;
/** Ticks spanned by one slot of each level: 64^level (a table: `**` is slow on this path). */
const SLOT_RANGE = [1, 64, 4096, 262144, 16777216, 1073741824] as const;

/** What a timer entry calls when it expires (a `Sleep`, an `Interval`). */
export interface TimerOwner {
  expire(): void;
}

/** A timer registered in the wheel. Owned by a `Sleep`; reused across resets. */
export class TimerEntry {
  /** Deadline in ticks since the wheel's origin. */
  tick = 0;
  /** -1 when not in the wheel. */
  level = -1;
  slot = 0;
  prev: TimerEntry | null = null;
  next: TimerEntry | null = null;

  constructor(readonly owner: TimerOwner) {}

  get registered(): boolean {
    return this.level >= 0;
  }
}

export class TimerWheel {
  /** Ticks processed so far: every entry in the wheel has `tick > elapsed`. */
  elapsed = 0;
  /** Entries in the wheel. */
  count = 0;
  private readonly heads: (TimerEntry | null)[] = new Array(LEVELS * SLOTS).fill(null);
  private readonly tails: (TimerEntry | null)[] = new Array(LEVELS * SLOTS).fill(null);
  /** Occupancy: words [2L] (slots 0-31) and [2L+1] (slots 32-63) of level L. */
  private readonly occupied = new Uint32Array(LEVELS * 2);

  /**
   * Adds `entry` with deadline `tick`. Returns `false` (and does not add it) when `tick` has
   * already passed: the caller treats the timer as expired.
   */
  insert(entry: TimerEntry, tick: number): boolean {
    if (tick <= this.elapsed) return false;
    entry.tick = tick;
    this.place(entry);
    this.count++;
    return true;
  }

  /** Removes `entry` if it is in the wheel. */
  remove(entry: TimerEntry): void {
    if (entry.level < 0) return;
    this.unlink(entry);
    this.count--;
  }

  /**
   * The tick at which the next slot must be processed (an entry expires or cascades), or -1 when
   * the wheel is empty.
   */
  nextExpiration(): number {
    if (this.count === 0) return -1;
    for (let level = 0; level < LEVELS; level++) {
      const deadline = this.nextAtLevel(level);
      if (deadline >= 0) return deadline;
    }
    return -1;
  }

  /**
   * Moves the wheel to `now` (ticks): expires every entry with `tick <= now`, in deadline order
   * and registration order for equal deadlines, calling its `onExpire`.
   */
  advance(now: number): void {
    for (;;) {
      let level = -1;
      let deadline = -1;
      for (let l = 0; l < LEVELS && this.count > 0; l++) {
        deadline = this.nextAtLevel(l);
        if (deadline >= 0) {
          level = l;
          break;
        }
      }
      if (level < 0 || deadline > now) break;
      this.elapsed = deadline;
      const index = level * SLOTS + slotOf(deadline, level);
      // Cascade first (no callback runs), so that entries an expiry below adds come after these.
      let entry = this.heads[index] ?? null;
      while (entry !== null) {
        const next: TimerEntry | null = entry.next;
        if (entry.tick > deadline) {
          this.unlink(entry);
          this.place(entry);
        }
        entry = next;
      }
      // Then expire one entry at a time, each unlinked first: an expiry may remove, reset or add
      // entries, including ones of this slot. (Nothing new is ever placed in this slot.)
      for (entry = this.heads[index] ?? null; entry !== null; entry = this.heads[index] ?? null) {
        this.unlink(entry);
        if (entry.tick <= deadline) {
          this.count--;
          entry.owner.expire();
        } else {
          this.place(entry);
        }
      }
    }
    if (now > this.elapsed) this.elapsed = now;
  }

  private place(entry: TimerEntry): void {
    const tick = entry.tick;
    // Past the wheel's range: park in the farthest slot; it cascades back in when reached.
    const placed = tick - this.elapsed >= WHEEL_RANGE ? this.elapsed + WHEEL_RANGE - 1 : tick;
    const level = levelFor(this.elapsed, placed);
    const slot = slotOf(placed, level);
    const index = level * SLOTS + slot;
    entry.level = level;
    entry.slot = slot;
    const tail = this.tails[index] ?? null;
    entry.prev = tail;
    entry.next = null;
    if (tail === null) {
      this.heads[index] = entry;
      this.setBit(level, slot);
    } else {
      tail.next = entry;
    }
    this.tails[index] = entry;
  }

  private unlink(entry: TimerEntry): void {
    const index = entry.level * SLOTS + entry.slot;
    if (entry.prev !== null) entry.prev.next = entry.next;
    else this.heads[index] = entry.next;
    if (entry.next !== null) entry.next.prev = entry.prev;
    else this.tails[index] = entry.prev;
    if (this.heads[index] === null) this.clearBit(entry.level, entry.slot);
    entry.prev = entry.next = null;
    entry.level = -1;
  }

  /**
   * The start tick of the next occupied slot of `level` after the current position. Entries of a
   * level always sit in slots after the position, except those parked beyond the wheel's range,
   * which wrap around to the next rotation of the level.
   */
  private nextAtLevel(level: number): number {
    const lo = this.occupied[level * 2]!;
    const hi = this.occupied[level * 2 + 1]!;
    if ((lo | hi) === 0) return -1;
    const position = slotOf(this.elapsed, level);
    const slot = nextSetBit(lo, hi, (position + 1) & (SLOTS - 1));
    const slotRange = SLOT_RANGE[level]!;
    const levelRange = slotRange * SLOTS;
    const levelStart = Math.floor(this.elapsed / levelRange) * levelRange;
    let deadline = levelStart + slot * slotRange;
    if (deadline <= this.elapsed) deadline += levelRange;
    return deadline;
  }

  private setBit(level: number, slot: number): void {
    const word = level * 2 + (slot >>> 5);
    this.occupied[word] = this.occupied[word]! | (1 << (slot & 31));
  }

  private clearBit(level: number, slot: number): void {
    const word = level * 2 + (slot >>> 5);
    this.occupied[word] = this.occupied[word]! & ~(1 << (slot & 31));
  }
}

/** The slot of `tick` at `level`: bits 6L..6L+5. */
function slotOf(tick: number, level: number): number {
  return level === 0 ? tick % SLOTS : Math.floor(tick / SLOT_RANGE[level]!) % SLOTS;
}

/** The level whose 6 bits hold the highest bit where `elapsed` and `tick` differ. */
function levelFor(elapsed: number, tick: number): number {
  const hiDiff = (Math.floor(elapsed / TWO_32) ^ Math.floor(tick / TWO_32)) >>> 0;
  let significant: number;
  if (hiDiff !== 0) significant = 32 + 31 - Math.clz32(hiDiff);
  else significant = 31 - Math.clz32(((elapsed >>> 0) ^ (tick >>> 0)) | (SLOTS - 1));
  const level = Math.floor(significant / SLOT_BITS);
  return level < LEVELS ? level : LEVELS - 1;
}

/** Index of the lowest set bit (x !== 0). */
function trailingZeros(x: number): number {
  return 31 - Math.clz32(x & -x);
}

/** The first set bit of the 64-bit (lo, hi) at or after `from`, wrapping around. */
function nextSetBit(lo: number, hi: number, from: number): number {
  if (from < 32) {
    const m = lo & (-1 << from);
    if (m !== 0) return trailingZeros(m);
    if (hi !== 0) return 32 + trailingZeros(hi);
    return trailingZeros(lo);
  }
  const m = hi & (-1 << (from - 32));
  if (m !== 0) return 32 + trailingZeros(m);
  if (lo !== 0) return trailingZeros(lo);
  return 32 + trailingZeros(hi);
}
