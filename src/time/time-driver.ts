import type { HostTimer } from "../platform/platform.js";
import { currentOrDefaultRuntime } from "../runtime/default-runtime.js";
import type { Driver } from "../runtime/driver.js";
import type { Runtime } from "../runtime/runtime.js";
import { TimerEntry, type TimerOwner, TimerWheel } from "./timer-wheel.js";

const KEY = {};
/**
 * The longest delay a host timer takes: Node's and browsers' `setTimeout` turn a larger one (over
 * ~24.8 days) into 1 ms. A later deadline is reached in steps: the timer fires early and re-arms.
 */
const MAX_HOST_DELAY = 2147483647;
/**
 * The farthest tick (2^53 - 1 ms, ~285,000 years after the driver started): a later deadline fires
 * then (like tokio's far-future clamp), so auto-advance reaches it in a bounded number of steps.
 */
const MAX_TICK = Number.MAX_SAFE_INTEGER;

/**
 * The runtime's time driver: one {@link TimerWheel} of 1 ms ticks and at most one host timer,
 * armed for the next deadline. The host timer only records that time passed and fires expired
 * entries (which wake their tasks); it never polls a future.
 *
 * - Deadlines round up to the next millisecond, and an entry fires only once the clock has reached
 *   it: when Node fires a timer early, the driver re-arms for the rest. A host timer is never set
 *   for more than 2^31 - 1 ms (`setTimeout`'s limit); a later deadline is reached by re-arming.
 * - A deadline more than 2^53 - 1 ms (~285,000 years) after the driver started fires at that
 *   point: no wheel tick is farther.
 * - Lifetime: while the wheel holds entries it counts as a wake source (no deadlock is reported);
 *   its host timer keeps the process alive only while a `run`/`main` root is pending.
 * - Paused clock: no host timer; with auto-advance, an idle runtime jumps to the next deadline.
 */
export class TimeDriver implements Driver {
  private readonly wheel = new TimerWheel();
  /** Clock time (ms) of tick 0; an integer, so `timeOf(tick) - origin === tick` exactly. */
  private readonly origin: number;
  private hostTimer: HostTimer | null = null;
  /** The tick the host timer is armed for. */
  private armedFor = -1;
  private releaseSource: (() => void) | null = null;
  private readonly onHostTimer = (): void => {
    this.hostTimer = null;
    this.armedFor = -1;
    this.process();
  };

  private constructor(private readonly runtime: Runtime) {
    this.origin = Math.floor(runtime.time.now());
  }

  /** @internal */
  static create(runtime: Runtime): TimeDriver {
    return new TimeDriver(runtime);
  }

  /** The driver of `runtime` (the runtime polling now, else the default one). */
  static of(runtime: Runtime = currentOrDefaultRuntime()): TimeDriver {
    return runtime.driver(KEY, createTimeDriver);
  }

  /** Milliseconds on the runtime's clock. */
  now(): number {
    return this.runtime.time.now();
  }

  /**
   * The wheel tick of a clock time: rounded up, so a timer never fires before its deadline. Capped
   * at {@link MAX_TICK}, past which milliseconds are no longer whole numbers.
   */
  tickOf(time: number): number {
    const tick = Math.ceil(time - this.origin);
    return tick > MAX_TICK ? MAX_TICK : Math.max(tick, 0);
  }

  /** The clock time a tick stands for. */
  timeOf(tick: number): number {
    return this.origin + tick;
  }

  /**
   * Registers `entry` to expire at clock time `deadline`. Returns `false` when it is already due
   * (the caller completes at once instead).
   */
  register(entry: TimerEntry, deadline: number, now: number = this.now()): boolean {
    if (deadline <= now) return false;
    if (entry.registered) this.wheel.remove(entry);
    const tick = this.tickOf(deadline);
    if (!this.wheel.insert(entry, tick)) return false;
    // (A timer callback may register while the wheel is empty but before `becameEmpty` ran:
    // the wake source taken then is still held.)
    if (this.wheel.count === 1 && this.releaseSource === null) {
      this.releaseSource = this.runtime.retainWakeSource();
    }
    if (this.armedFor < 0 || tick < this.armedFor) this.arm();
    else if (this.wheel.count === 1 && this.runtime.hasPendingRoots()) this.hostTimer?.ref();
    return true;
  }

  /** Removes `entry` at once (a dropped or reset `Sleep`). */
  deregister(entry: TimerEntry): void {
    if (!entry.registered) return;
    this.wheel.remove(entry);
    if (this.wheel.count === 0) this.becameEmpty();
  }

  /** Pending timers (for tests and dumps). */
  get pending(): number {
    return this.wheel.count;
  }

  /** Virtual time: jump to the next deadline when every task is idle. */
  idle(): boolean {
    const clock = this.runtime.time;
    if (!clock.isPaused || !clock.autoAdvance || this.wheel.count === 0) return false;
    // Jump slot by slot (a cascade of a far slot fires nothing) until some timer fires.
    for (;;) {
      const next = this.wheel.nextExpiration();
      if (next < 0) return false;
      clock.advanceTo(this.timeOf(next));
      const before = this.wheel.count;
      this.process();
      if (this.wheel.count < before) return true;
    }
  }

  rootsChanged(pending: boolean): void {
    if (pending) this.hostTimer?.ref();
    else this.hostTimer?.unref();
  }

  clockChanged(): void {
    this.process();
  }

  /** Fires every entry due by now, then re-arms the host timer for the next one. */
  private process(): void {
    this.wheel.advance(Math.floor(this.now() - this.origin));
    if (this.wheel.count === 0) {
      this.becameEmpty();
      return;
    }
    this.arm();
  }

  private arm(): void {
    const next = this.runtime.time.isPaused ? -1 : this.wheel.nextExpiration();
    if (next >= 0 && next === this.armedFor && this.hostTimer !== null) {
      if (this.runtime.hasPendingRoots()) this.hostTimer.ref();
      return;
    }
    if (this.hostTimer !== null) {
      this.hostTimer.clear();
      this.hostTimer = null;
      this.armedFor = -1;
    }
    if (next < 0) return;
    const delay = Math.min(MAX_HOST_DELAY, Math.max(0, Math.ceil(this.timeOf(next) - this.now())));
    const timer = this.runtime.platform.setTimer(this.onHostTimer, delay);
    if (!this.runtime.hasPendingRoots()) timer.unref();
    this.hostTimer = timer;
    this.armedFor = next;
  }

  /**
   * The wheel is empty: it is no longer a wake source. The host timer is left armed (it finds
   * nothing when it fires): a request that sets and cancels one timeout on an idle runtime then
   * costs no `setTimeout`/`clearTimeout` pair; it is unreferenced, so it never holds the process.
   */
  private becameEmpty(): void {
    this.hostTimer?.unref();
    const release = this.releaseSource;
    this.releaseSource = null;
    release?.();
  }
}

export { TimerEntry, type TimerOwner };

function createTimeDriver(runtime: Runtime): TimeDriver {
  return TimeDriver.create(runtime);
}
