/**
 * A FIFO queue on a power-of-two ring buffer that grows by doubling and never shrinks: push and
 * shift are O(1) and allocate nothing once the buffer is large enough.
 */
export class ReadyQueue<T> {
  // Fields declared and assigned in the constructor: see "Hot constructors" on Future.
  declare private buffer: (T | undefined)[];
  declare private mask: number;
  declare private head: number;
  declare private tail: number;

  /**
   * @param expected how many items the queue is expected to hold at once (a channel's capacity):
   * the first buffer holds that many without growing, up to 256 slots; more grows it.
   */
  constructor(expected = 255) {
    let size = 2;
    while (size <= expected && size < 256) size *= 2;
    this.buffer = emptySlots(size);
    this.mask = size - 1;
    this.head = 0;
    this.tail = 0;
  }

  get length(): number {
    return (this.tail - this.head) & this.mask;
  }

  isEmpty(): boolean {
    return this.head === this.tail;
  }

  push(item: T): void {
    this.buffer[this.tail] = item;
    this.tail = (this.tail + 1) & this.mask;
    if (this.tail === this.head) this.grow();
  }

  /** The oldest item, or `undefined` when empty. */
  shift(): T | undefined {
    if (this.head === this.tail) return undefined;
    const item = this.buffer[this.head];
    this.buffer[this.head] = undefined;
    this.head = (this.head + 1) & this.mask;
    return item;
  }

  /**
   * Removes and returns a uniformly chosen item (`random` in [0, 1)), moving the head into its
   * place: for randomised scheduling. `undefined` when empty.
   */
  takeRandom(random: () => number): T | undefined {
    const length = this.length;
    if (length === 0) return undefined;
    return this.takeAt(Math.floor(random() * length));
  }

  /** The item `offset` places from the oldest (0 = oldest), or `undefined` past the end. */
  at(offset: number): T | undefined {
    if (offset < 0 || offset >= this.length) return undefined;
    return this.buffer[(this.head + offset) & this.mask];
  }

  /**
   * Removes and returns the item `offset` places from the oldest, moving the head into its place
   * (so the order of the rest changes): for schedulers that choose by their own rule (the
   * simulator's priorities). `undefined` past the end.
   */
  takeAt(offset: number): T | undefined {
    if (offset < 0 || offset >= this.length) return undefined;
    const index = (this.head + offset) & this.mask;
    const item = this.buffer[index];
    this.buffer[index] = this.buffer[this.head];
    this.buffer[this.head] = undefined;
    this.head = (this.head + 1) & this.mask;
    return item;
  }

  private grow(): void {
    const old = this.buffer;
    const size = old.length;
    const next: (T | undefined)[] = emptySlots(size * 2);
    // The buffer is full: head === tail. Copy head..end, then 0..head.
    let j = 0;
    for (let i = this.head; i < size; i++) next[j++] = old[i];
    for (let i = 0; i < this.head; i++) next[j++] = old[i];
    this.buffer = next;
    this.head = 0;
    this.tail = size;
    this.mask = size * 2 - 1;
  }
}

/**
 * `size` empty slots in an array of V8's general element kind from the start. `new Array(n)` alone
 * starts as an array of small integers and changes kind at the first object or `undefined`
 * stored; the queues' push and shift then saw two kinds and checked for both on every call.
 */
function emptySlots<T>(size: number): (T | undefined)[] {
  return new Array<T | undefined>(size).fill(undefined);
}
