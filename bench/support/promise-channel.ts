/**
 * The native baseline for the channel workloads: a bounded channel written the way one is written
 * with async/await. `send` returns a promise that resolves once the value is in the buffer (at once
 * when there is room), `recv` a promise of the next value. Values live in a ring buffer; a waiting
 * receiver or waiting senders are kept in arrays of their promises' resolve functions. Nothing here
 * is specific to the benchmark: it is the small class a program would carry.
 */

/** A send waiting for room: its value and the resolve function of the promise `send` returned. */
interface PendingSend<T> {
  readonly value: T;
  readonly resolve: () => void;
}

/** The promise every send that needs no wait returns (awaiting it still takes one microtask). */
const SENT: Promise<void> = Promise.resolve();

/**
 * A bounded multi-producer, multi-consumer channel on promises: at most `capacity` values are
 * buffered; `send` waits for room (FIFO among senders), `recv` waits for a value (FIFO among
 * receivers). No close: the benchmark's loops count their messages.
 *
 * @example
 * ```ts
 * const ch = new PromiseChannel<number>(16);
 * void (async () => { for (let i = 0; i < 100; i++) await ch.send(i); })();
 * for (let i = 0; i < 100; i++) console.log(await ch.recv());
 * ```
 */
export class PromiseChannel<T> {
  private readonly ring: (T | undefined)[];
  private head = 0;
  private count = 0;
  private readonly receivers: ((value: T) => void)[] = [];
  private readonly senders: PendingSend<T>[] = [];

  /** @throws {RangeError} when `capacity` is not a positive integer. */
  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new RangeError(`PromiseChannel: capacity must be an integer >= 1, got ${capacity}`);
    }
    this.ring = new Array<T | undefined>(capacity).fill(undefined);
  }

  /** Values buffered now. */
  get length(): number {
    return this.count;
  }

  /** Resolves once `value` is buffered or handed to a waiting receiver. */
  send(value: T): Promise<void> {
    const receiver = this.receivers.shift();
    if (receiver !== undefined) {
      receiver(value);
      return SENT;
    }
    if (this.count < this.capacity) {
      this.enqueue(value);
      return SENT;
    }
    return new Promise<void>((resolve) => {
      this.senders.push({ value, resolve });
    });
  }

  /** A promise of the next value. */
  recv(): Promise<T> {
    if (this.count > 0) return Promise.resolve(this.take());
    return new Promise<T>((resolve) => {
      this.receivers.push(resolve);
    });
  }

  /** A promise of up to `limit` values (at least one), in order. */
  async recvMany(limit: number): Promise<T[]> {
    const out: T[] = [(await this.recv()) as T];
    while (out.length < limit && this.count > 0) out.push(this.take());
    return out;
  }

  private enqueue(value: T): void {
    this.ring[(this.head + this.count) % this.capacity] = value;
    this.count++;
  }

  /** Takes the oldest buffered value; the oldest waiting sender's value takes the freed slot. */
  private take(): T {
    const value = this.ring[this.head] as T;
    this.ring[this.head] = undefined;
    this.head = (this.head + 1) % this.capacity;
    this.count--;
    const sender = this.senders.shift();
    if (sender !== undefined) {
      this.enqueue(sender.value);
      sender.resolve();
    }
    return value;
  }
}
