import { Future } from "../../future/future.js";
import { HeldWaker } from "../../runtime/held-waker.js";
import type { Context } from "../../task/context.js";
import { Pending, type Poll } from "../../task/poll.js";
import { type TimeDriver, TimerEntry } from "../../time/time-driver.js";
import type { SimNetwork } from "./network.js";

/**
 * @internal The network's delivery loop, a task of the runtime ("sim-net"): each poll delivers
 * every segment due by now, then sleeps on one runtime timer until the next one. So deliveries
 * follow the runtime's clock (virtual or real), and while anything is in flight the timer counts
 * as a way out of a deadlock; with nothing in flight it waits for a task to send (a wake held by
 * the runtime, not a way out).
 */
export class NetPump extends Future<never> {
  private readonly entry = new TimerEntry(this);
  /** Deadline of the registered timer (NaN when none). */
  private armedAt = Number.NaN;
  private readonly waiter = new HeldWaker();

  constructor(
    private readonly net: SimNetwork,
    private readonly driver: TimeDriver,
  ) {
    super();
  }

  poll(cx: Context): Poll<never> {
    const driver = this.driver;
    this.waiter.register(cx.waker);
    for (;;) {
      const now = driver.now();
      this.net.deliverDue(now);
      const next = this.net.nextEventTime();
      if (next === undefined) {
        this.disarm();
        return Pending;
      }
      if (this.entry.registered && this.armedAt === next) return Pending;
      // Deregister first: re-registering a registered entry would count the wheel twice.
      this.disarm();
      if (driver.register(this.entry, next, now)) {
        this.armedAt = next;
        return Pending;
      }
    }
  }

  /** A segment was scheduled at `time`: re-arm if it is due before the timer. */
  poke(time: number): void {
    if (!(time >= this.armedAt)) this.waiter.wakeByRef();
  }

  /** The timer fired. */
  expire(): void {
    this.armedAt = Number.NaN;
    this.waiter.wakeByRef();
  }

  override drop(): void {
    this.disarm();
    this.waiter.release();
  }

  override describe(): string {
    return `sim-net: ${this.net.describeTraffic()}`;
  }

  private disarm(): void {
    if (this.entry.registered) this.driver.deregister(this.entry);
    this.armedAt = Number.NaN;
  }
}
