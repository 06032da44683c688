import type { AsyncGenerator } from "../future/async-block.js";
import { future } from "../future/async-block.js";
import { Future, pollAfterCompletion } from "../future/future.js";
import { reportCleanupError } from "../future/orphan-cleanup.js";
import type { Context } from "../task/context.js";
import { describeValue, InvalidArgumentError } from "../task/errors.js";
import { Pending, type Poll } from "../task/poll.js";
import { currentOrDefaultRuntime } from "./default-runtime.js";
import { HeldWaker } from "./held-waker.js";
import { JoinHandle, reportIfUnread } from "./join-handle.js";
import type { Runtime, SpawnOptions } from "./runtime.js";
import { FAILED, type Task, type TaskOwner } from "./task.js";

/** What a scope's body receives: spawns tasks that cannot outlive the scope. */
export interface Scope {
  /**
   * Spawns `fut` as a child of the scope. The scope does not finish before the child does; if the
   * child throws, the scope cancels its body and the other children and rethrows that error.
   */
  spawn<T>(fut: Future<T>, options?: SpawnOptions): JoinHandle<T>;
}

const BODY = 0;
const JOINING = 1;
const CANCELLING = 2;
const DONE = 3;

class ScopeFuture<T> extends Future<T> implements Scope, TaskOwner {
  private readonly body: Future<T>;
  private phase = BODY;
  private bodyDone = false;
  private value: T | undefined = undefined;
  private failed = false;
  private error: unknown = undefined;
  private readonly children = new Set<Task>();
  private readonly waiter = new HeldWaker();
  private runtime: Runtime | null = null;
  private dropping = false;

  constructor(bodyFn: (s: Scope) => AsyncGenerator<T>) {
    super();
    this.body = future(() => bodyFn(this));
  }

  spawn<U>(fut: Future<U>, options?: SpawnOptions): JoinHandle<U> {
    if (this.phase === DONE || this.dropping) {
      throw new InvalidArgumentError("scope.spawn: the scope has already finished");
    }
    const rt = this.runtime ?? currentOrDefaultRuntime();
    const task = rt.spawnTask(fut, options?.name, this);
    this.children.add(task);
    return new JoinHandle(task, rt);
  }

  poll(cx: Context): Poll<T> {
    if (this.phase === DONE) throw pollAfterCompletion(this);
    this.runtime ??= currentOrDefaultRuntime();
    this.waiter.register(cx.waker);
    if (this.phase === BODY) {
      try {
        const r = this.body.poll(cx);
        if (r !== Pending) {
          this.value = r;
          this.bodyDone = true;
          this.phase = JOINING;
        }
      } catch (error) {
        this.bodyDone = true;
        this.fail(error);
      }
    }
    if (this.phase === JOINING) {
      if (this.children.size > 0) return Pending;
      this.finish();
      return this.value as T;
    }
    if (this.phase === CANCELLING) {
      if (this.cancelAll(cx) === Pending) return Pending;
      this.finish();
      throw this.error;
    }
    return Pending;
  }

  override drop(): void {
    if (this.phase === DONE) return;
    this.dropping = true;
    try {
      this.body.drop(); // throws a cleanup error of the body's that is thrown synchronously
    } finally {
      for (const child of this.children) child.scheduler.abort(child);
      this.finish();
      // An error of the body or a child, recorded but not thrown yet: nobody else can read it.
      if (this.failed) reportCleanupError(this.error);
    }
  }

  override pollDrop(cx: Context): Poll<void> {
    if (this.phase === DONE) return undefined;
    this.dropping = true;
    this.waiter.register(cx.waker);
    if (this.cancelAll(cx) === Pending) return Pending;
    this.finish();
    if (this.failed) throw this.error;
    return undefined;
  }

  override describe(): string {
    const state = ["running", "joining children", "cancelling", "done"][this.phase];
    const body = this.bodyDone ? "" : ` > ${this.body.describe()}`;
    return `scope(${state}, ${this.children.size} children)${body}`;
  }

  /** @internal */
  childCompleted(task: Task): void {
    if (!this.children.delete(task)) return;
    if (task.outcome === FAILED) {
      // The first error is the scope's. A later one (a child failing while it is cancelled) or
      // one after a synchronous drop has nobody to read it: the runtime reports it.
      if (!this.failed && this.phase !== DONE) this.fail(task.result);
      else reportIfUnread(task);
    }
    this.waiter.wakeByRef();
  }

  private fail(error: unknown): void {
    if (this.failed) return;
    this.failed = true;
    this.error = error;
    if (this.phase !== DONE) this.phase = CANCELLING;
    for (const child of this.children) child.scheduler.abort(child);
  }

  /** Drops the body (if running) and waits until every child has finished. */
  private cancelAll(cx: Context): Poll<void> {
    if (!this.bodyDone) {
      let r: Poll<void>;
      try {
        r = this.body.pollDrop(cx);
      } catch (error) {
        r = undefined;
        if (!this.failed) this.fail(error);
        else reportCleanupError(error); // a child's error is thrown: report this one
      }
      if (r === Pending) return Pending;
      this.bodyDone = true;
    }
    for (const child of this.children) child.scheduler.abort(child);
    return this.children.size > 0 ? Pending : undefined;
  }

  private finish(): void {
    this.phase = DONE;
    this.waiter.release();
  }
}

/**
 * Structured concurrency: runs `body` with a {@link Scope} whose `spawn` starts child tasks that
 * cannot outlive it. When the body returns, the scope waits for every child, then completes with
 * the body's value. When the body or any child throws, the body and the other children are
 * cancelled (their `finally` blocks run), and once all have finished the first error is rethrown.
 *
 * @example
 * ```ts
 * const total = yield* scope(function* (s) {
 *   const a = s.spawn(count("a.txt"));
 *   const b = s.spawn(count("b.txt"));
 *   return (yield* a) + (yield* b);
 * });
 * ```
 * @throws the first error of the body or a child, after everything was cancelled. A later error
 * (of cleanup that failed meanwhile, or of a child after the scope was dropped synchronously) is
 * reported by the runtime (`onUnhandledError`), never swallowed; so is the first error when the
 * scope is dropped synchronously (`drop()`, `using`) before it could throw it.
 * @throws {InvalidArgumentError} when `body` is not a generator function.
 *
 * Cancel safety: dropping the scope cancels the body and every child; with an owner that drives
 * `pollDrop` (a task, `select`), it completes only once all of their cleanup has finished.
 */
export function scope<T>(body: (s: Scope) => AsyncGenerator<T>): Future<T> {
  if (typeof body !== "function") {
    throw new InvalidArgumentError(
      `scope: expected a generator function (function* (s) { ... }), got ${describeValue(body)}`,
    );
  }
  return new ScopeFuture(body);
}
