import { Future, type InheritedFuture, inheritFrom } from "../future/future.js";
import { consumeBudget } from "../runtime/budget.js";
import { HeldWaker } from "../runtime/held-waker.js";
import type { Context } from "../task/context.js";
import { describeValue, InvalidArgumentError, OutOfRangeError } from "../task/errors.js";
import { Pending, type Poll } from "../task/poll.js";
import { checkDuration } from "./errors.js";
import { Instant } from "./instant.js";
import { TimeDriver, TimerEntry } from "./time-driver.js";

/**
 * What an {@link Interval} does about ticks it missed (its task was busy past a tick):
 * - `"burst"` (default): keep the original schedule, firing missed ticks back to back;
 * - `"delay"`: schedule the next tick one period after the late one;
 * - `"skip"`: drop the missed ticks and continue on the original schedule's next tick.
 */
export type MissedTickBehavior = "burst" | "delay" | "skip";

/** Options of {@link interval}. */
export interface IntervalOptions {
  readonly missedTick?: MissedTickBehavior;
}

/** A tick later than this (ms) counts as missed (tokio uses the same 5 ms allowance). */
const LATE_AFTER_MS = 5;

/**
 * Ticks every `period` ms; the first tick completes at once (tokio's `Interval`). Await ticks with
 * `yield* iv.tick()`, which completes with the instant the tick was scheduled for.
 *
 * @example
 * ```ts
 * const iv = interval(1000, { missedTick: "skip" });
 * for (;;) {
 *   yield* iv.tick();
 *   report();
 * }
 * ```
 */
export class Interval {
  /** Clock ms of the next tick; NaN before the first. */
  private next = Number.NaN;
  private driver: TimeDriver | null = null;
  private entry: TimerEntry | null = null;
  private readonly waiter = new HeldWaker();
  private due = false;

  /** @internal Use {@link interval}. */
  constructor(
    /** The period in milliseconds. */
    readonly period: number,
    /** The missed-tick policy. */
    readonly missedTick: MissedTickBehavior,
  ) {}

  /**
   * A future of the next tick: completes with the instant it was scheduled for.
   *
   * Cancel safety: dropping it loses no tick; the next `tick()` returns it.
   */
  tick(): Future<Instant> {
    return new Tick(this) as unknown as Future<Instant>;
  }

  /**
   * Restarts the schedule: the next tick is one period from now. A task already waiting on
   * `tick()` is woken at that new tick.
   */
  reset(): void {
    const driver = this.timeDriver();
    this.next = driver.now() + this.period;
    this.due = false;
    // Keep the waiting task's waker: move its timer entry to the new tick instead of removing it.
    const entry = this.entry;
    if (entry?.registered) {
      driver.deregister(entry);
      if (!driver.register(entry, this.next)) this.expire();
    }
  }

  /** @internal */
  pollTick(cx: Context): Poll<Instant> {
    if (consumeBudget(cx) === false) return Pending;
    const driver = this.timeDriver();
    const now = driver.now();
    if (Number.isNaN(this.next)) this.next = now;
    if (!this.due && now < this.next) {
      this.waiter.register(cx.waker);
      this.entry ??= new TimerEntry(this);
      if (this.entry.registered || driver.register(this.entry, this.next, now)) return Pending;
    }
    this.cancelWait();
    this.due = false;
    const scheduled = this.next;
    this.next = this.following(scheduled, now);
    return new Instant(scheduled);
  }

  /** @internal */
  cancelWait(): void {
    if (this.entry !== null) this.timeDriver().deregister(this.entry);
    this.waiter.release();
  }

  /** The tick after the one scheduled at `scheduled`, taken at `now`. */
  private following(scheduled: number, now: number): number {
    const period = this.period;
    if (now - scheduled <= LATE_AFTER_MS || this.missedTick === "burst") return scheduled + period;
    if (this.missedTick === "delay") return now + period;
    return scheduled + period * (Math.floor((now - scheduled) / period) + 1);
  }

  private timeDriver(): TimeDriver {
    this.driver ??= TimeDriver.of();
    return this.driver;
  }

  /** @internal The wheel fired the entry. */
  expire(): void {
    this.due = true;
    this.waiter.wake();
  }
}

/**
 * A base class that inherits from Future without deriving from it: made per await, often inside
 * a `try` (see "Constructors in try blocks" on Future).
 */
class Tick implements InheritedFuture<Instant> {
  constructor(private readonly interval: Interval) {}
  poll(cx: Context): Poll<Instant> {
    return this.interval.pollTick(cx);
  }
  drop(): void {
    this.interval.cancelWait();
  }
  describe(): string {
    return `interval(${this.interval.period} ms).tick`;
  }
}
inheritFrom(Tick, Future);

/**
 * An {@link Interval} ticking every `ms` milliseconds, the first tick at once. The schedule starts
 * at the first `tick()` poll, not at the call (futures are lazy; tokio's starts at creation), so an
 * interval made early does not owe ticks for the time before it was first awaited.
 *
 * @example
 * ```ts
 * const iv = interval(100);
 * yield* iv.tick(); // at once
 * yield* iv.tick(); // 100 ms later
 * ```
 * @throws {InvalidDurationError} (a `RangeError`) when `ms` is not a finite number > 0.
 * @throws {InvalidArgumentError} for an unknown `missedTick`.
 */
export function interval(ms: number, options?: IntervalOptions): Interval {
  const period = checkDuration(ms, "interval");
  if (period === 0) throw new OutOfRangeError("interval: the period must be > 0 ms, got 0");
  const missedTick = options?.missedTick ?? "burst";
  if (missedTick !== "burst" && missedTick !== "delay" && missedTick !== "skip") {
    throw new InvalidArgumentError(
      `interval: missedTick must be "burst", "delay" or "skip", got ${describeValue(missedTick)}`,
    );
  }
  return new Interval(period, missedTick);
}
