import type { Platform } from "../platform/platform.js";
import { InvalidArgumentError, OutOfRangeError } from "../task/errors.js";

/**
 * The runtime's clock (`runtime.time`): monotonic milliseconds from the platform, which tests can
 * pause, advance by hand and resume (tokio's `time::pause`/`advance`/`resume`). A runtime created
 * with `clock: "virtual"` starts paused at 0 with auto-advance: when every task is idle, time jumps
 * to the next timer, so code that sleeps for an hour is tested in microseconds.
 *
 * @example
 * ```ts
 * const rt = new Runtime({ clock: "virtual" });
 * const done = rt.run(sleep(60 * 60 * 1000)); // completes at once: time auto-advances
 * rt.time.advance(500);                      // or move it by hand
 * ```
 */
export class RuntimeClock {
  private paused: boolean;
  private frozenAt: number;
  private offset = 0;
  /**
   * When paused and every task is idle, jump to the next timer instead of waiting for it. On by
   * default for a virtual clock; ignored while time flows.
   */
  autoAdvance: boolean;

  /** @internal */
  constructor(
    private readonly platform: Platform,
    startPaused: boolean,
    private readonly changed: () => void,
  ) {
    this.paused = startPaused;
    this.autoAdvance = startPaused;
    // A virtual clock starts at 0: runs are reproducible and whole-millisecond sleeps end exactly.
    this.frozenAt = startPaused ? 0 : platform.now();
  }

  /** The current time in milliseconds (fractional; only differences mean anything). */
  now(): number {
    return this.paused ? this.frozenAt : this.platform.now() + this.offset;
  }

  /** True while time stands still (it moves only by `advance` or auto-advance). */
  get isPaused(): boolean {
    return this.paused;
  }

  /**
   * Stops time, rounded up to the next whole millisecond (so that whole-millisecond sleeps started
   * while paused end exactly at their deadline). Timers due later stay pending until `advance` (or
   * auto-advance, if turned on) reaches them.
   */
  pause(): void {
    if (this.paused) return;
    this.frozenAt = Math.ceil(this.now());
    this.paused = true;
    this.changed();
  }

  /** Lets time flow again from where it stands (the real clock's pace, shifted). */
  resume(): void {
    if (!this.paused) return;
    this.offset = this.frozenAt - this.platform.now();
    this.paused = false;
    this.changed();
  }

  /**
   * Moves time forward by `ms`: timers due by then fire (in deadline order) and their tasks run on
   * the next drain.
   *
   * @throws {OutOfRangeError} (a `RangeError`) when `ms` is negative, NaN or not finite.
   */
  advance(ms: number): void {
    if (typeof ms !== "number" || !(ms >= 0) || !Number.isFinite(ms)) {
      throw new OutOfRangeError(
        `advance: expected a finite number of milliseconds >= 0, got ${String(ms)}`,
      );
    }
    if (this.paused) this.frozenAt += ms;
    else this.offset += ms;
    this.changed();
  }

  /** @internal Auto-advance: jump straight to `time` (never backwards). */
  advanceTo(time: number): void {
    if (!this.paused) {
      throw new InvalidArgumentError("advanceTo needs a paused clock");
    }
    if (time > this.frozenAt) this.frozenAt = time;
  }
}
