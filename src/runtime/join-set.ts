import { Future, type InheritedFuture, inheritFrom } from "../future/future.js";
import type { Context } from "../task/context.js";
import { Pending, type Poll } from "../task/poll.js";
import { currentOrDefaultRuntime } from "./default-runtime.js";
import { HeldWaker } from "./held-waker.js";
import { JoinHandle, outputOf, reportIfUnread } from "./join-handle.js";
import type { SpawnOptions } from "./runtime.js";
import { OBSERVED, type Task, type TaskOwner } from "./task.js";

/**
 * A set of spawned tasks whose outputs you collect in completion order (tokio's `JoinSet`).
 * Dropping the set (`drop()`, `using`) aborts every task still in it.
 *
 * @example
 * ```ts
 * using set = new JoinSet<number>();
 * for (const id of ids) set.spawn(fetchScore(id));
 * let total = 0, score: number | undefined;
 * while ((score = yield* set.joinNext()) !== undefined) total += score;
 * ```
 */
export class JoinSet<T> implements TaskOwner {
  private readonly running = new Set<Task<T>>();
  private readonly finished: Task<T>[] = [];
  private readonly waiter = new HeldWaker();
  /**
   * Waits of other tasks, while `waiter` holds one: `joinNext` awaited from several tasks at once.
   * Every completion wakes them all; whoever polls first takes the task, the others wait again.
   */
  private others: HeldWaker[] | null = null;

  /** Tasks in the set: running, or finished and not yet returned by `joinNext`. */
  get length(): number {
    return this.running.size + this.finished.length;
  }

  /**
   * Spawns `fut` on the current runtime (the one polling, else the default) as a member of the set.
   *
   * @throws {InvalidArgumentError} when `fut` is not a future.
   */
  spawn(fut: Future<T>, options?: SpawnOptions): JoinHandle<T> {
    const rt = currentOrDefaultRuntime();
    const task = rt.spawnTask(fut, options?.name, this);
    this.running.add(task);
    return new JoinHandle(task, rt);
  }

  /**
   * A future of the next task to finish: its output, or `undefined` when the set is empty.
   *
   * @throws {JoinError} when that task threw (its error is the `cause`).
   * @throws {Cancelled} when that task was aborted.
   *
   * Several tasks may wait at once: each completion wakes them all and one of them returns it;
   * when the set becomes empty (or is dropped), every waiting one returns `undefined`.
   *
   * Cancel safety: dropping the wait loses nothing; the next call returns the same task.
   */
  joinNext(): Future<T | undefined> {
    return new JoinNext(this) as unknown as Future<T | undefined>;
  }

  /** Aborts every task in the set; they stay in it until `joinNext` returns them as cancelled. */
  abortAll(): void {
    for (const task of this.running) task.scheduler.abort(task);
  }

  /**
   * Aborts every task still running and forgets them all. As with dropped handles, an error
   * nobody can join any more (a failed task not yet joined, or one failing in its cleanup after
   * the drop) is reported by the runtime (`onUnhandledError`). A `joinNext` still waiting (of
   * another task) completes with `undefined`: the set is empty.
   */
  drop(): void {
    this.abortAll();
    this.running.clear();
    for (const task of this.finished) reportIfUnread(task);
    this.finished.length = 0;
    this.wakeWaiters();
  }

  [Symbol.dispose](): void {
    this.drop();
  }

  /** @internal */
  childCompleted(task: Task): void {
    if (!this.running.delete(task as Task<T>)) {
      reportIfUnread(task); // forgotten by drop(): nobody will join it
      return;
    }
    this.finished.push(task as Task<T>);
    this.wakeWaiters();
  }

  /** @internal */
  pollJoinNext(cx: Context): Poll<T | undefined> {
    const task = this.finished.shift();
    if (task !== undefined) {
      task.handleFlags |= OBSERVED;
      return outputOf(task);
    }
    if (this.running.size === 0) return undefined;
    const waiter = this.waiter;
    if (!waiter.isRegistered || waiter.willWake(cx.waker)) {
      waiter.register(cx.waker);
    } else {
      // Another task waits already: keep both (replacing its waker would leave it parked).
      const others = (this.others ??= []);
      if (!others.some((held) => held.willWake(cx.waker))) {
        const held = new HeldWaker();
        held.register(cx.waker);
        others.push(held);
      }
    }
    return Pending;
  }

  /** Wakes every waiting `joinNext`. */
  private wakeWaiters(): void {
    this.waiter.wake();
    const others = this.others;
    if (others !== null) {
      this.others = null;
      for (const held of others) held.wake();
    }
  }
}

/**
 * A base class that inherits from Future without deriving from it: made per await, often inside
 * a `try` (see "Constructors in try blocks" on Future).
 */
class JoinNext<T> implements InheritedFuture<T | undefined> {
  constructor(private readonly set: JoinSet<T>) {}
  poll(cx: Context): Poll<T | undefined> {
    return this.set.pollJoinNext(cx);
  }
  describe(): string {
    return `JoinSet.joinNext(${this.set.length} in set)`;
  }
}
inheritFrom(JoinNext, Future);
