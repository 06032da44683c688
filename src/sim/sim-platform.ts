import type { HostTimer, Platform } from "../platform/platform.js";
import { ReadyQueue } from "../runtime/ready-queue.js";
import type { EventLog } from "./event-log.js";

/** A timer of the simulated host: due at `time`; `seq` orders equal times (first armed, first due). */
class SimTimer implements HostTimer {
  cancelled = false;
  constructor(
    readonly time: number,
    readonly seq: number,
    readonly fn: () => void,
  ) {}
  clear(): void {
    this.cancelled = true;
  }
  /** A simulation has no process to keep alive: every armed timer counts until it fires. */
  ref(): void {}
  unref(): void {}
}

function before(a: SimTimer, b: SimTimer): boolean {
  return a.time < b.time || (a.time === b.time && a.seq < b.seq);
}

/** Why {@link SimPlatform.runUntil} returned. */
export type StopReason = "done" | "idle" | "steps" | "time" | "stopped";

/**
 * The host of a simulated run: a {@link Platform} whose clock is virtual and whose microtasks,
 * immediates and timers go to its own deterministic queues instead of the host event loop.
 * {@link runUntil} then runs them synchronously, in the order a Node event loop would (microtasks
 * first, then due timers, then immediates), jumping the clock to the next timer when nothing else
 * is left. A run is therefore a pure function of what the program does and the seeded choices.
 *
 * @example
 * ```ts
 * const host = new SimPlatform(seededRandom(1), null);
 * const rt = new Runtime({ platform: host });
 * rt.spawn(sleep(1000));
 * host.runUntil(() => false, { maxSteps: 1e6, maxTime: 1e9 }); // "idle" at time 1000
 * ```
 */
export class SimPlatform implements Platform {
  /** Virtual milliseconds since the start of the run. */
  time = 0;
  /** Steps taken: task polls (counted by the scheduler) plus host callbacks run. */
  steps = 0;
  /** Task polls (counted by the scheduler). */
  polls = 0;
  /** Set to end {@link runUntil} at the next step (an unhandled task error, say). */
  stopRequested = false;
  private readonly microtasks = new ReadyQueue<() => void>();
  private readonly immediates = new ReadyQueue<() => void>();
  private timers: SimTimer[] = [];
  private seq = 0;

  constructor(
    readonly random: () => number,
    /** Where time jumps are recorded; `null` when the run keeps no event log. */
    private readonly log: EventLog | null,
    private readonly onReport: (message: string, error: unknown) => void = () => {},
  ) {}

  now(): number {
    return this.time;
  }

  queueMicrotask(fn: () => void): void {
    this.microtasks.push(fn);
  }

  setImmediate(fn: () => void): void {
    this.immediates.push(fn);
  }

  setTimer(fn: () => void, ms: number): HostTimer {
    const delay = Math.max(Number.isNaN(ms) ? 0 : ms, 0);
    const timer = new SimTimer(this.time + delay, this.seq++, fn);
    this.pushTimer(timer);
    return timer;
  }

  reportError(message: string, error: unknown): void {
    this.onReport(message, error);
  }

  /** A simulation gets no interrupts. */
  onInterrupt(): () => void {
    return () => {};
  }

  setExitCode(): void {}

  exit(): void {}

  /** True when no microtask, immediate or armed timer is left: nothing can ever happen again. */
  isIdle(): boolean {
    this.dropCancelledTimers();
    return this.microtasks.isEmpty() && this.immediates.isEmpty() && this.timers.length === 0;
  }

  /** Armed (not cancelled) timers: the events still in flight. */
  get pendingTimers(): number {
    this.dropCancelledTimers();
    let n = 0;
    for (const t of this.timers) if (!t.cancelled) n++;
    return n;
  }

  /**
   * Runs queued callbacks until `done()` is true or nothing is left, or a limit is reached:
   * `maxSteps` steps (polls plus callbacks) or virtual time past `maxTime`.
   */
  runUntil(done: () => boolean, limits: { maxSteps: number; maxTime: number }): StopReason {
    const { maxSteps, maxTime } = limits;
    const microtasks = this.microtasks;
    for (;;) {
      if (done()) return "done";
      if (this.stopRequested) return "stopped";
      if (this.steps >= maxSteps) return "steps";
      // Polls cost virtual time too: a run that spins past maxTime stops as one that sleeps past it.
      if (this.time > maxTime) return "time";
      const micro = microtasks.shift();
      if (micro !== undefined) {
        this.steps++;
        micro();
        continue;
      }
      this.dropCancelledTimers();
      const timer = this.timers[0];
      if (timer !== undefined && timer.time <= this.time) {
        this.fire(timer);
        continue;
      }
      const immediate = this.immediates.shift();
      if (immediate !== undefined) {
        this.steps++;
        immediate();
        continue;
      }
      if (timer === undefined) return "idle";
      if (timer.time > maxTime) return "time";
      this.time = timer.time;
      this.log?.push(`time ${formatTime(timer.time)}`);
      this.fire(timer);
    }
  }

  private fire(timer: SimTimer): void {
    this.popTimer();
    this.steps++;
    timer.cancelled = true;
    timer.fn();
  }

  private dropCancelledTimers(): void {
    while (this.timers.length > 0 && this.timers[0]!.cancelled) this.popTimer();
  }

  private pushTimer(timer: SimTimer): void {
    const items = this.timers;
    let i = items.length;
    items.push(timer);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = items[parent]!;
      if (!before(timer, p)) break;
      items[i] = p;
      i = parent;
    }
    items[i] = timer;
  }

  private popTimer(): void {
    const items = this.timers;
    const last = items.pop();
    if (last === undefined || items.length === 0) return;
    const n = items.length;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const child = r < n && before(items[r]!, items[l]!) ? r : l;
      if (!before(items[child]!, last)) break;
      items[i] = items[child]!;
      i = child;
    }
    items[i] = last;
  }
}

/** Virtual time for the event log: whole milliseconds as integers, else 3 decimals. */
export function formatTime(ms: number): string {
  return Number.isInteger(ms) ? String(ms) : ms.toFixed(3);
}
