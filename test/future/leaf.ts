/**
 * Hand-written leaf futures for the tests of src/future: each counts its polls and drops and
 * records any poll that arrives after it completed, threw or was dropped (a contract violation by
 * its owner).
 */
import { type Context, Future, future, Pending, type Poll, type Waker } from "../../src/index.js";

/** A leaf completed or failed from outside (`resolve`/`reject`), which then wakes its waker. */
export class Leaf<T = void> extends Future<T> {
  polls = 0;
  drops = 0;
  /** Polls that arrived after the leaf completed, threw or was dropped. */
  pollsAfterEnd = 0;
  completed = false;
  dropped = false;
  private waker: Waker | null = null;
  private outcome: { ok: true; value: T } | { ok: false; error: unknown } | null = null;

  constructor(readonly label = "leaf") {
    super();
  }

  poll(cx: Context): Poll<T> {
    this.polls++;
    if (this.completed || this.dropped) {
      this.pollsAfterEnd++;
      throw new Error(`${this.label} polled after it ended`);
    }
    const outcome = this.outcome;
    if (outcome !== null) {
      this.completed = true;
      this.releaseWaker();
      if (outcome.ok) return outcome.value;
      throw outcome.error;
    }
    if (this.waker === null || !this.waker.willWake(cx.waker)) {
      this.waker?.drop();
      this.waker = cx.waker.clone();
    }
    return Pending;
  }

  /** True while a waker clone is stored. */
  get hasWaker(): boolean {
    return this.waker !== null;
  }

  resolve(value: T): void {
    this.outcome = { ok: true, value };
    this.wake();
  }

  reject(error: unknown): void {
    this.outcome = { ok: false, error };
    this.wake();
  }

  /** Wakes the stored waker without settling (a spurious wake). */
  wakeSpuriously(): void {
    this.waker?.wakeByRef();
  }

  override drop(): void {
    this.drops++;
    if (!this.completed) this.dropped = true;
    this.releaseWaker();
  }

  override describe(): string {
    return this.label;
  }

  private wake(): void {
    const w = this.waker;
    this.waker = null;
    w?.wake();
  }

  private releaseWaker(): void {
    this.waker?.drop();
    this.waker = null;
  }
}

/**
 * A leaf that returns `Pending` (waking itself) `yields` times, then completes with `value` or
 * throws `error`. Needs no outside help: a runtime or a loop of polls drives it.
 */
export class Countdown<T = void> extends Future<T> {
  polls = 0;
  drops = 0;
  pollsAfterEnd = 0;
  completed = false;
  dropped = false;
  private left: number;

  constructor(
    yields: number,
    private readonly outcome: { ok: true; value: T } | { ok: false; error: unknown },
    readonly label = "countdown",
  ) {
    super();
    this.left = yields;
  }

  static ok<T>(yields: number, value: T, label?: string): Countdown<T> {
    return new Countdown(yields, { ok: true, value }, label);
  }

  static fail(yields: number, error: unknown, label?: string): Countdown<never> {
    return new Countdown<never>(yields, { ok: false, error }, label);
  }

  /** Polled at least once and neither completed nor dropped. */
  get inFlight(): boolean {
    return this.polls > 0 && !this.completed && !this.dropped;
  }

  poll(cx: Context): Poll<T> {
    this.polls++;
    if (this.completed || this.dropped) {
      this.pollsAfterEnd++;
      throw new Error(`${this.label} polled after it ended`);
    }
    if (this.left > 0) {
      this.left--;
      cx.waker.wakeByRef();
      return Pending;
    }
    this.completed = true;
    if (this.outcome.ok) return this.outcome.value;
    throw this.outcome.error;
  }

  override drop(): void {
    this.drops++;
    if (!this.completed) this.dropped = true;
  }

  override describe(): string {
    return this.label;
  }
}

/**
 * A block that waits for ever, whose `finally` logs "finally", awaits `cleanup`, then logs
 * "cleaned": the shape of an async cleanup that a drop must drive to its end.
 */
export function blockWithAsyncFinally(cleanup: Future<unknown>, log: string[]): Future<void> {
  return future(function* () {
    try {
      yield* new Leaf<void>("body");
    } finally {
      log.push("finally");
      yield* cleanup;
      log.push("cleaned");
    }
  });
}
