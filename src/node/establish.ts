import type { EventEmitter } from "node:events";
import { Future, pollAfterCompletion } from "../future/future.js";
import { HeldWaker } from "../runtime/held-waker.js";
import type { Context } from "../task/context.js";
import { Pending, type Poll } from "../task/poll.js";
import { IoError } from "./io-error.js";

/**
 * The future of a host resource that becomes usable on an event: a connection ("connect"), a TLS
 * handshake ("secureConnect"), a listening server ("listening"). `start` runs on the first poll;
 * the ready event or an error wakes the task; `wrap` turns the ready emitter into the result;
 * `abandon` (close or destroy) runs when the future is dropped or fails, so nothing half-open is
 * left behind.
 */
export class Establish<E extends EventEmitter, T> extends Future<T> {
  private emitter: E | null = null;
  private ready = false;
  private error: Error | null = null;
  private done = false;
  private readonly waker = new HeldWaker(true);
  private readonly onReady = (): void => {
    this.ready = true;
    this.waker.wake();
  };
  private readonly onError = (error: Error): void => {
    this.error = IoError.from(error, this.syscall, this.target);
    this.waker.wake();
  };

  constructor(
    private readonly syscall: string,
    private readonly target: string,
    private readonly readyEvent: string,
    private readonly start: () => E,
    private readonly wrap: (emitter: E) => T,
    private readonly abandon: (emitter: E) => void,
  ) {
    super();
  }

  poll(cx: Context): Poll<T> {
    if (this.done) throw pollAfterCompletion(this);
    if (this.emitter === null) {
      const emitter = this.start();
      this.emitter = emitter;
      emitter.once(this.readyEvent, this.onReady);
      emitter.once("error", this.onError);
    }
    if (this.error !== null) {
      this.done = true;
      this.abandon(this.emitter);
      throw this.error;
    }
    if (this.ready) {
      this.done = true;
      this.emitter.off("error", this.onError);
      return this.wrap(this.emitter);
    }
    this.waker.register(cx.waker);
    return Pending;
  }

  override drop(): void {
    if (this.done) return;
    this.done = true;
    this.waker.release();
    if (this.emitter !== null) this.abandon(this.emitter);
  }

  override describe(): string {
    return `${this.syscall}(${this.target})`;
  }
}
