import { Future, type InheritedFuture, inheritFrom } from "../future/future.js";
import { consumeBudget } from "../runtime/budget.js";
import { HeldWaker } from "../runtime/held-waker.js";
import type { Context } from "../task/context.js";
import { Pending, type Poll } from "../task/poll.js";
import { checkDuration } from "./errors.js";
import { checkInstant, Instant } from "./instant.js";
import { TimeDriver, TimerEntry } from "./time-driver.js";

/**
 * A future that completes at a deadline (tokio's `Sleep`). Created by {@link sleep} (the deadline is
 * fixed when it is first polled: futures are lazy) or {@link sleepUntil}.
 *
 * It registers one entry in the runtime's timer wheel on its first `Pending` poll and removes it at
 * once when dropped or reset. Each poll spends one unit of the task's cooperative budget.
 *
 * Process lifetime: a pending sleep keeps the process alive while a `run`/`main` root is pending;
 * sleeps of background tasks do not hold the process open once the roots are done.
 *
 * @example
 * ```ts
 * const s = sleep(1000);
 * yield* s;
 * ```
 *
 * Cancel safety: dropping it only deregisters the timer.
 *
 * A base class that inherits from Future without deriving from it: made per await, often inside
 * a `try` (see "Constructors in try blocks" on Future).
 */
// biome-ignore lint/suspicious/noUnsafeDeclarationMerging: Future's members come from its prototype (inheritFrom).
export class Sleep implements InheritedFuture<void> {
  /** Clock ms of the deadline; NaN until fixed (first poll of a relative sleep). */
  private at: number;
  private driver: TimeDriver | null = null;
  private entry: TimerEntry | null = null;
  private readonly waiter = new HeldWaker();
  private fired = false;

  /** @internal Use {@link sleep} or {@link sleepUntil}. */
  constructor(
    private readonly duration: number,
    at: number,
  ) {
    this.at = at;
  }

  /** The deadline (for a relative sleep not yet polled: now plus its duration). */
  get deadline(): Instant {
    return new Instant(Number.isNaN(this.at) ? Instant.now().valueOf() + this.duration : this.at);
  }

  /** True once the deadline has passed. */
  isElapsed(): boolean {
    return this.fired || (!Number.isNaN(this.at) && this.timeDriver().now() >= this.at);
  }

  /**
   * Moves the deadline (earlier or later). The old timer entry is removed at once, so it never fires
   * at the old deadline; a task waiting on this sleep is re-registered for the new one.
   *
   * @throws {InvalidArgumentError} when `deadline` is not an `Instant`.
   */
  reset(deadline: Instant): void {
    this.at = checkInstant(deadline, "Sleep.reset").valueOf();
    this.fired = false;
    const entry = this.entry;
    if (entry?.registered) {
      const driver = this.timeDriver();
      driver.deregister(entry);
      if (!driver.register(entry, this.at)) this.expire();
    }
  }

  poll(cx: Context): Poll<void> {
    if (consumeBudget(cx) === false) return Pending;
    if (this.fired) return this.complete();
    const driver = this.timeDriver();
    const now = driver.now();
    if (Number.isNaN(this.at)) this.at = now + this.duration;
    if (now >= this.at) return this.complete();
    this.waiter.register(cx.waker);
    this.entry ??= new TimerEntry(this);
    if (!this.entry.registered && !driver.register(this.entry, this.at, now))
      return this.complete();
    return Pending;
  }

  drop(): void {
    if (this.entry !== null) this.timeDriver().deregister(this.entry);
    this.waiter.release();
  }

  describe(): string {
    if (Number.isNaN(this.at)) return `sleep(${this.duration} ms, not started)`;
    const left = Math.max(0, this.at - this.timeDriver().now());
    return `sleep(${left.toFixed(0)} ms left)`;
  }

  private timeDriver(): TimeDriver {
    this.driver ??= TimeDriver.of();
    return this.driver;
  }

  private complete(): void {
    this.fired = true;
    this.drop();
  }

  /** @internal The wheel fired the entry: wake the task. */
  expire(): void {
    this.fired = true;
    this.waiter.wake();
  }
}
inheritFrom(Sleep, Future);
/** A {@link Sleep} is a `Future<void>`: its prototype inherits from Future's (see `inheritFrom`). */
export interface Sleep extends Future<void> {}

/**
 * A future that completes `ms` milliseconds after it is first polled. Deadlines round up to the
 * millisecond; it never completes early (when the host timer fires early, the driver re-arms).
 * Any finite `ms` is accepted: a deadline more than 2^53 - 1 ms (~285,000 years) after the runtime's
 * time driver started is treated as that limit (tokio likewise caps far deadlines), so on a virtual
 * clock `sleep(Number.MAX_VALUE)` ends when auto-advance reaches it.
 *
 * @example
 * ```ts
 * yield* sleep(250);
 * ```
 * @throws {InvalidDurationError} (a `RangeError` with the value) when `ms` is negative, NaN or not
 * finite.
 *
 * Cancel safety: dropping it removes its timer at once; nothing else is lost.
 */
export function sleep(ms: number): Sleep {
  return new Sleep(checkDuration(ms, "sleep"), Number.NaN);
}

/**
 * A future that completes at `deadline` (at once if it has passed).
 *
 * @example
 * ```ts
 * const deadline = Instant.now().add(5_000);
 * yield* sleepUntil(deadline);
 * ```
 * @throws {InvalidArgumentError} when `deadline` is not an `Instant`.
 *
 * Cancel safety: as {@link sleep}.
 */
export function sleepUntil(deadline: Instant): Sleep {
  return new Sleep(0, checkInstant(deadline, "sleepUntil").valueOf());
}
