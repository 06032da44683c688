import {
  Future,
  type InheritedFuture,
  inheritFrom,
  pollAfterCompletion,
} from "../future/future.js";
import type { Context } from "../task/context.js";
import { OutOfRangeError } from "../task/errors.js";
import { Pending, type Poll } from "../task/poll.js";
import { Waiter, WaitList } from "./wait-list.js";

/** What `Barrier.wait` completes with: exactly one task of each generation is the leader. */
export interface BarrierWaitResult {
  readonly isLeader: boolean;
}

/**
 * Makes `n` tasks wait for each other (tokio's `Barrier`): the n-th `wait()` releases the group,
 * and the barrier is ready for the next group. The task whose arrival released the group is its
 * leader.
 *
 * @example
 * ```ts
 * const barrier = new Barrier(3);
 * for (let i = 0; i < 3; i++) spawn(future(function* () {
 *   yield* load(i);
 *   const { isLeader } = yield* barrier.wait();
 *   if (isLeader) console.log("all loaded");
 * }));
 * ```
 * @throws {OutOfRangeError} (a `RangeError`) when `n` is not an integer >= 1.
 */
export class Barrier {
  private arrived = 0;
  private generation = 0;
  /** @internal */
  readonly waiters = new WaitList();

  constructor(readonly n: number) {
    if (!Number.isInteger(n) || n < 1) {
      throw new OutOfRangeError(`Barrier: n must be an integer >= 1, got ${String(n)}`);
    }
  }

  /**
   * A future that completes when `n` tasks are waiting.
   *
   * Cancel safety: dropping a wait before the group is released withdraws this arrival.
   */
  wait(): Future<BarrierWaitResult> {
    return new BarrierWait(this) as unknown as Future<BarrierWaitResult>;
  }

  /** @internal Arrives; true when this arrival completes the group (which is released). */
  arrive(): boolean {
    this.arrived++;
    if (this.arrived < this.n) return false;
    this.arrived = 0;
    this.generation++;
    this.waiters.wakeAll();
    return true;
  }

  /** @internal */
  withdraw(): void {
    this.arrived--;
  }

  /** @internal */
  get currentGeneration(): number {
    return this.generation;
  }
}

/**
 * A base class that inherits from Future without deriving from it: made per await, often inside
 * a `try` (see "Constructors in try blocks" on Future).
 */
class BarrierWait implements InheritedFuture<BarrierWaitResult> {
  private waiter: Waiter | null = null;
  private done = false;
  private generation = -1;

  constructor(private readonly barrier: Barrier) {}

  poll(cx: Context): Poll<BarrierWaitResult> {
    if (this.done) throw pollAfterCompletion(this);
    const barrier = this.barrier;
    if (this.waiter === null) {
      this.generation = barrier.currentGeneration;
      if (barrier.arrive()) return this.finish(true);
      this.waiter = new Waiter();
      barrier.waiters.pushBack(this.waiter);
    }
    if (barrier.currentGeneration !== this.generation) return this.finish(false);
    this.waiter.register(cx.waker);
    return Pending;
  }

  drop(): void {
    if (this.done) return;
    this.done = true;
    const waiter = this.waiter;
    if (waiter === null) return;
    if (this.barrier.currentGeneration === this.generation) {
      this.barrier.waiters.remove(waiter);
      this.barrier.withdraw();
    }
    waiter.release();
  }

  describe(): string {
    return `Barrier.wait(${this.barrier.n})`;
  }

  private finish(isLeader: boolean): BarrierWaitResult {
    this.done = true;
    this.waiter?.release();
    return { isLeader };
  }
}
inheritFrom(BarrierWait, Future);
