import { Future } from "../future/future.js";
import type { Context } from "../task/context.js";
import { Pending as PendingExport, type Poll } from "../task/poll.js";
import type { Waker } from "../task/waker.js";
import { Cancelled, JoinError } from "./errors.js";
import {
  ABORTED,
  DETACHED,
  FAILED,
  heldByRuntime,
  MORE_WAITERS,
  OBSERVED,
  releasedByRuntime,
  type Task,
  taskName,
} from "./task.js";
import * as TaskState from "./task-state.js";

// Bound locally for the hot path: see "Hot imports" on Future.
const Pending: typeof PendingExport = PendingExport;
const { COMPLETE } = TaskState;

/** What a runtime does for handles: abort a task, report an error nobody will see. */
export interface HandleHost {
  abort(task: Task): void;
  reportUnobserved(task: Task): void;
  watchUnobserved(handle: JoinHandle<unknown>, task: Task): void;
  unwatchUnobserved(handle: JoinHandle<unknown>): void;
}

/**
 * The wakers of the tasks awaiting a handle besides the one in `task.joinWaker` (a handle awaited
 * by several tasks at once), each marked {@link heldByRuntime}. Kept aside, with the task's
 * {@link MORE_WAITERS} flag, so that the common case of one awaiting task costs nothing more.
 */
const moreJoinWakers = new WeakMap<Task, Waker[]>();

/**
 * @internal Wakes (`wake === true`) or drops the wakers of {@link moreJoinWakers}, and forgets them.
 */
export function releaseMoreJoinWakers(task: Task, wake: boolean): void {
  if ((task.handleFlags & MORE_WAITERS) === 0) return;
  task.handleFlags &= ~MORE_WAITERS;
  const wakers = moreJoinWakers.get(task);
  moreJoinWakers.delete(task);
  if (wakers === undefined) return;
  for (const waker of wakers) {
    releasedByRuntime(waker);
    if (wake) waker.wake();
    else waker.drop();
  }
}

/** Keeps a clone of `waker` in {@link moreJoinWakers}, unless one there wakes the same task. */
function addJoinWaker(task: Task, waker: Waker): void {
  let wakers = moreJoinWakers.get(task);
  if (wakers === undefined) {
    wakers = [];
    moreJoinWakers.set(task, wakers);
    task.handleFlags |= MORE_WAITERS;
  } else if (wakers.some((w) => w.willWake(waker))) {
    return;
  }
  const clone = waker.clone();
  heldByRuntime(clone);
  wakers.push(clone);
}

/**
 * @internal Reports the error of a failed task whose outcome nobody read and nobody can read any
 * more (its owner forgot it), through the task's own runtime, as a detached task's; once.
 */
export function reportIfUnread(task: Task): void {
  if (task.outcome !== FAILED || (task.handleFlags & OBSERVED) !== 0) return;
  task.handleFlags |= OBSERVED;
  (task.scheduler as unknown as HandleHost).reportUnobserved(task);
}

/**
 * The handle of a spawned task, and a future of its output (tokio's `JoinHandle`).
 *
 * - Awaiting it (`yield* handle`) completes with the task's output; throws {@link JoinError} (the
 *   task's error as `cause`) if the task threw, and {@link Cancelled} if it was aborted.
 * - `abort()` cancels the task: its current wait is dropped and its `finally` blocks run.
 * - Dropping the handle (`drop()`, `using`) detaches the task: it keeps running, and an error it
 *   throws is reported by the runtime instead of being lost. A `select` that the handle lost, or a
 *   cancelled task that was awaiting it, drops it too; awaiting it again re-attaches it, so a
 *   failure after that is read through the handle, not reported.
 * - Several tasks may await the handle at once (as a promise): each gets the outcome.
 *
 * @example
 * ```ts
 * const handle = spawn(fetchUser(7));
 * const user = yield* handle;
 * ```
 *
 * Cancel safety: dropping a wait on the handle loses nothing; await it again (or `abort()` it).
 */
export class JoinHandle<T> extends Future<T> {
  /** @internal Created by the runtime. */
  constructor(
    private readonly task: Task<T>,
    private readonly host: HandleHost,
  ) {
    super();
  }

  /** The task's id, unique within its runtime; task dumps and error reports use it. */
  get id(): number {
    return this.task.id;
  }

  /** True once the task has completed, failed or been cancelled (its output is ready). */
  isFinished(): boolean {
    return (this.task.state & COMPLETE) !== 0;
  }

  /**
   * Requests cancellation of the task. Its future is dropped on its next turn (its `finally`
   * blocks run, asynchronous ones to their end), then awaiting the handle throws `Cancelled`.
   * Does nothing if the task already finished.
   */
  abort(): void {
    this.host.abort(this.task);
  }

  poll(cx: Context): Poll<T> {
    const task = this.task;
    // Awaited again after a drop (a select it lost): attached again.
    if ((task.handleFlags & DETACHED) !== 0) task.handleFlags &= ~DETACHED;
    if ((task.state & COMPLETE) === 0) {
      const current = task.joinWaker;
      if (current === null) {
        const waker = cx.waker.clone();
        heldByRuntime(waker);
        task.joinWaker = waker;
      } else if (!current.willWake(cx.waker)) {
        // Another task awaits the handle too (or did, and has not dropped it): keep both, since
        // replacing its waker would leave it parked. A stale one only gets a spurious wake.
        addJoinWaker(task, cx.waker);
      }
      return Pending;
    }
    if ((task.handleFlags & OBSERVED) === 0) {
      task.handleFlags |= OBSERVED;
      if (task.outcome === FAILED) this.host.unwatchUnobserved(this);
    }
    return outputOf(task);
  }

  /** Detaches the task (it keeps running); an error it throws later is reported by the runtime. */
  override drop(): void {
    const task = this.task;
    if ((task.handleFlags & DETACHED) !== 0) return;
    task.handleFlags |= DETACHED;
    const waker = task.joinWaker;
    if (waker !== null) {
      task.joinWaker = null;
      releasedByRuntime(waker);
      if ((task.handleFlags & MORE_WAITERS) === 0) {
        waker.drop();
      } else {
        // Awaited by several tasks: which one drops the handle is unknown, so wake them all;
        // the others poll it again, which attaches the task again.
        waker.wake();
        releaseMoreJoinWakers(task, true);
      }
    }
    // A task with an owner (a join set, a scope) is reported by its owner if nobody reads it.
    if (task.outcome === FAILED && (task.handleFlags & OBSERVED) === 0 && task.owner === null) {
      task.handleFlags |= OBSERVED;
      this.host.unwatchUnobserved(this);
      this.host.reportUnobserved(task);
    }
  }

  override describe(): string {
    return `JoinHandle(task ${this.task.id}${this.task.name ? ` ${this.task.name}` : ""})`;
  }
}

/** The output of a finished task, or the error that awaiting it throws. */
export function outputOf<T>(task: Task<T>): T {
  switch (task.outcome) {
    case FAILED:
      throw new JoinError(`task ${taskLabel(task)} failed`, task.id, { cause: task.result });
    case ABORTED:
      throw new Cancelled(`task ${taskLabel(task)} was cancelled`);
    default:
      return task.result as T;
  }
}

/** "12" or "12 (name)". */
export function taskLabel(task: Task): string {
  const name = taskName(task);
  return name ? `${task.id} (${name})` : String(task.id);
}
