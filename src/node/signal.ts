import { Future, pollAfterCompletion } from "../future/future.js";
import { HeldWaker } from "../runtime/held-waker.js";
import { Stream } from "../stream/stream.js";
import type { Context } from "../task/context.js";
import { describeValue, InvalidArgumentError } from "../task/errors.js";
import { Pending, type Poll } from "../task/poll.js";

const SIGNALS = new Set([
  "SIGINT",
  "SIGTERM",
  "SIGHUP",
  "SIGUSR1",
  "SIGUSR2",
  "SIGWINCH",
  "SIGBREAK",
]);

/**
 * Deliveries of one process signal. It listens from its first poll until it is dropped; while it
 * listens, the signal no longer has Node's default effect (SIGINT would otherwise exit), and while
 * a task waits on it the process stays alive.
 */
class SignalStream extends Stream<void> {
  private received = 0;
  private listening = false;
  private readonly waker = new HeldWaker(true);
  /** A referenced timer while a task waits: a signal listener alone does not keep Node alive. */
  private keepAlive: ReturnType<typeof setInterval> | null = null;
  private readonly onSignal = (): void => {
    this.received++;
    this.stopKeepingAlive();
    this.waker.wake();
  };

  constructor(private readonly name: NodeJS.Signals) {
    super();
  }

  pollNext(cx: Context): Poll<void> {
    if (!this.listening) {
      this.listening = true;
      process.on(this.name, this.onSignal);
    }
    if (this.received > 0) {
      this.received--;
      return undefined;
    }
    this.waker.register(cx.waker);
    this.keepAlive ??= setInterval(() => {}, 2 ** 31 - 1);
    return Pending;
  }

  override drop(): void {
    if (this.listening) process.off(this.name, this.onSignal);
    this.listening = false;
    this.stopKeepingAlive();
    this.waker.release();
  }

  private stopKeepingAlive(): void {
    if (this.keepAlive === null) return;
    clearInterval(this.keepAlive);
    this.keepAlive = null;
  }
}

/**
 * A stream that yields once per delivery of the signal `name` (`"SIGINT"`, `"SIGTERM"`,
 * `"SIGHUP"`...). It never ends; drop it to restore the signal's default behaviour.
 *
 * @example
 * ```ts
 * yield* signal("SIGHUP").forEach(() => reloadConfig());
 * ```
 * @throws {InvalidArgumentError} for an unsupported signal name.
 *
 * Cancel safety: deliveries that arrive while nobody polls are counted and yielded later.
 */
export function signal(name: string): Stream<void> {
  if (!SIGNALS.has(name)) {
    throw new InvalidArgumentError(
      `signal: expected one of ${[...SIGNALS].join(", ")}, got ${describeValue(name)}`,
    );
  }
  return new SignalStream(name as NodeJS.Signals);
}

class CtrlC extends Future<void> {
  private readonly signals = new SignalStream("SIGINT");
  private done = false;
  poll(cx: Context): Poll<void> {
    if (this.done) throw pollAfterCompletion(this);
    if (this.signals.pollNext(cx) === Pending) return Pending;
    this.done = true;
    this.signals.drop();
    return undefined;
  }
  override drop(): void {
    this.done = true;
    this.signals.drop();
  }
  override describe(): string {
    return "ctrlC";
  }
}

/**
 * A future that completes at the next SIGINT (Ctrl-C); until then the process does not exit on
 * it. (`main` already turns SIGINT into cancellation of the root task; use this for a custom
 * shutdown.)
 *
 * @example
 * ```ts
 * yield* select([serve(listener), ctrlC()]);
 * ```
 *
 * Cancel safety: dropping it stops listening (SIGINT exits again).
 */
export function ctrlC(): Future<void> {
  return new CtrlC();
}
