import type { Future } from "../future/future.js";
import { Context } from "../task/context.js";
import { describeValue } from "../task/errors.js";
import { Pending, type Poll } from "../task/poll.js";
import { Waker } from "../task/waker.js";
import { countingWaker, type WakeCounts } from "./counting-waker.js";

/**
 * Polls one future by hand, as a task would, and tells whether it was woken and how many of its
 * wakers are alive (tokio-test's `task::spawn`).
 *
 * @example
 * ```ts
 * const task = new MockTask(rx.recv());
 * assertPending(task.poll());
 * tx.send(1);
 * assert.ok(task.isWoken());
 * assert.equal(assertReady(task.poll()), 1);
 * ```
 */
export class MockTask<T> {
  private readonly counts: WakeCounts;
  private readonly cx: Context;
  private wakesSeen = 0;

  constructor(private readonly future: Future<T>) {
    const { waker, counts } = countingWaker();
    this.counts = counts;
    // Lent as a task lends its own waker: borrowed, so wake() does not consume it.
    this.cx = Context.fromWaker(new Waker(waker.data, waker.vtable, true));
  }

  /** Polls the future once; clears the "woken" flag. */
  poll(): Poll<T> {
    this.wakesSeen = this.counts.wakes;
    return this.future.poll(this.cx);
  }

  /** Drives the future's cancellation once (`pollDrop`). */
  pollDrop(): Poll<void> {
    this.wakesSeen = this.counts.wakes;
    return this.future.pollDrop(this.cx);
  }

  /** Drops the future synchronously. */
  drop(): void {
    this.future.drop();
  }

  /** True when the future woke the task since the last poll. */
  isWoken(): boolean {
    return this.counts.wakes > this.wakesSeen;
  }

  /** Wakes since the task was created. */
  get wakeCount(): number {
    return this.counts.wakes;
  }

  /** Clones of the task's waker that are alive (not yet woken or dropped), the task's own excluded. */
  get wakerRefCount(): number {
    return this.counts.live - 1;
  }

  /** The waker the future is polled with. */
  get waker(): Waker {
    return this.cx.waker;
  }
}

/**
 * Asserts that a poll result is ready and returns the value.
 *
 * @example
 * ```ts
 * const value = assertReady(task.poll());
 * ```
 * @throws {Error} when it is `Pending`.
 */
export function assertReady<T>(poll: Poll<T>, message?: string): T {
  if (poll === Pending)
    throw new Error(message ?? "expected the future to be ready, it was Pending");
  return poll as T;
}

/**
 * Asserts that a poll result is `Pending`.
 *
 * @example
 * ```ts
 * assertPending(task.poll());
 * ```
 * @throws {Error} when it is ready.
 */
export function assertPending<T>(poll: Poll<T>, message?: string): void {
  if (poll !== Pending) {
    throw new Error(
      message ?? `expected Pending, the future was ready with ${describeValue(poll)}`,
    );
  }
}

/**
 * A context whose waker does nothing, for polling by hand.
 *
 * @example
 * ```ts
 * const r = fut.poll(noopContext());
 * ```
 */
export function noopContext(): Context {
  return Context.fromWaker(Waker.noop());
}
