import type { Future } from "../future/future.js";
import { type RawWaker, RawWakerVTable } from "../task/raw-waker.js";
import { Waker } from "../task/waker.js";
import type { AsyncContextScope } from "./async-context.js";
import * as TaskState from "./task-state.js";

// Bound locally for the hot path: see "Hot imports" on Future.
const { COMPLETE } = TaskState;

/** How a task ended. */
export const NOT_DONE = 0;
export const OUTPUT = 1;
export const FAILED = 2;
export const ABORTED = 3;

/** Whoever must hear of a task's completion: a scope, a join set, a `run` call. */
export interface TaskOwner {
  childCompleted(task: Task): void;
}

/** What the scheduler a task belongs to provides to the task's waker. */
export interface TaskScheduler {
  /** Puts a woken task on the ready queue (the state bits were already checked). */
  wakeTask(task: Task): void;
  /** Requests cancellation of a task. */
  abort(task: Task): void;
  /** Live waker clones of unfinished tasks held outside the runtime's own structures. */
  externalWakers: number;
}

/** Handle flags: the JoinHandle was dropped (the task is detached). */
export const DETACHED = 1;
/** Handle flags: the task's outcome was read through its handle or owner. */
export const OBSERVED = 2;
/** Handle flags: tasks other than the one of `joinWaker` await the handle too (`moreJoinWakers`). */
export const MORE_WAITERS = 4;

/**
 * One spawned future and everything the scheduler needs to run it. The task is its own waker: its
 * `data` is the task, its vtable {@link TASK_VTABLE}, and it is lent to `poll` as `cx.waker`
 * (borrowed: `wake()` does not consume it). So a spawn allocates the task and its handle, and
 * polling allocates nothing (the runtime lends one shared `Context`, pointed at each task in turn).
 */
export class Task<T = unknown> extends Waker {
  // Fields declared and assigned in the constructor: see "Hot constructors" on Future.
  /** Bit flags from `task-state.ts`. */
  declare state: number;
  declare future: Future<T> | null;
  /** NOT_DONE, OUTPUT, FAILED or ABORTED. */
  declare outcome: number;
  /** The output or the error, once done. */
  declare result: unknown;
  /** The waker of whoever awaits the JoinHandle. */
  declare joinWaker: Waker | null;
  declare owner: TaskOwner | null;
  /** DETACHED | OBSERVED. */
  declare handleFlags: number;
  /** Live clones of this task's waker (wake/drop release one). */
  declare wakers: number;
  /** Of those, the clones held by the runtime's own wait structures. */
  declare internalWakers: number;
  declare polls: number;
  /** The task's handle until it completes (to report an error if the handle is collected unread). */
  declare handle: Future<unknown> | null;
  /** Links in the runtime's list of unfinished tasks. */
  declare prevTask: Task | null;
  declare nextTask: Task | null;
  /** The host async context its polls run in (`RuntimeOptions.asyncContext`), or `null`. */
  declare asyncScope: AsyncContextScope | null;
  declare readonly id: number;
  declare readonly scheduler: TaskScheduler;
  declare readonly name: string | undefined;

  constructor(
    id: number,
    future: Future<T>,
    scheduler: TaskScheduler,
    name: string | undefined,
    state: number,
  ) {
    super(null, TASK_VTABLE, true);
    (this as unknown as { data: unknown }).data = this;
    this.state = state;
    this.future = future;
    this.outcome = NOT_DONE;
    this.result = undefined;
    this.joinWaker = null;
    this.owner = null;
    this.handleFlags = 0;
    this.wakers = 0;
    this.internalWakers = 0;
    this.polls = 0;
    this.handle = null;
    this.prevTask = null;
    this.nextTask = null;
    this.asyncScope = null;
    this.id = id;
    this.scheduler = scheduler;
    this.name = name;
  }

  /**
   * The task's own waker, as lent to `poll`: puts the task on its scheduler's ready queue, as
   * {@link TASK_VTABLE}'s `wakeByRef` does, without the call through the vtable (every `yieldNow`
   * and every leaf that wakes its own task in the poll takes this path).
   */
  override wakeByRef(): void {
    this.scheduler.wakeTask(this);
  }

  /** Borrowed: the same as {@link Task.wakeByRef} (the task's own waker is never consumed). */
  override wake(): void {
    this.scheduler.wakeTask(this);
  }
}

function cloneTaskWaker(data: unknown): RawWaker {
  const task = data as Task;
  task.wakers++;
  if ((task.state & COMPLETE) === 0) task.scheduler.externalWakers++;
  // The task has the raw waker's shape (data = itself, vtable), so no RawWaker is allocated.
  return task as unknown as RawWaker;
}

function releaseTaskWaker(task: Task): void {
  task.wakers--;
  if ((task.state & COMPLETE) === 0) task.scheduler.externalWakers--;
}

function wakeTaskByRef(data: unknown): void {
  const task = data as Task;
  task.scheduler.wakeTask(task);
}

/** The vtable of every task's waker: wake puts the task on its runtime's ready queue. */
export const TASK_VTABLE: RawWakerVTable = new RawWakerVTable(
  cloneTaskWaker,
  (data) => {
    releaseTaskWaker(data as Task);
    wakeTaskByRef(data);
  },
  wakeTaskByRef,
  (data) => releaseTaskWaker(data as Task),
);

/**
 * Tells the runtime that `waker` is now held by one of its own wait structures (a join handle, a
 * channel's wait list), which only another task can trigger, so it does not count as a way out of
 * a deadlock. Call {@link releasedByRuntime} before waking or dropping it.
 */
export function heldByRuntime(waker: Waker): void {
  if (waker.vtable !== TASK_VTABLE) return;
  const task = waker.data as Task;
  task.internalWakers++;
  if ((task.state & COMPLETE) === 0) task.scheduler.externalWakers--;
}

/** Undoes {@link heldByRuntime}; call it before the waker is woken or dropped. */
export function releasedByRuntime(waker: Waker): void {
  if (waker.vtable !== TASK_VTABLE) return;
  const task = waker.data as Task;
  task.internalWakers--;
  if ((task.state & COMPLETE) === 0) task.scheduler.externalWakers++;
}

/**
 * Accounts for a waker of `task` that a runtime structure keeps without allocating a clone (see
 * `HeldWaker`): the same counts as `clone()` plus, unless `byHost`, {@link heldByRuntime}.
 */
export function holdTaskWaker(task: Task, byHost: boolean): void {
  task.wakers++;
  if (byHost === true) {
    if ((task.state & COMPLETE) === 0) task.scheduler.externalWakers++;
  } else {
    task.internalWakers++;
  }
}

/** Undoes {@link holdTaskWaker} (the held waker was dropped, or is being woken). */
export function releaseTaskWakerHold(task: Task, byHost: boolean): void {
  task.wakers--;
  if (byHost === true) {
    if ((task.state & COMPLETE) === 0) task.scheduler.externalWakers--;
  } else {
    task.internalWakers--;
  }
}

/**
 * The task's name: the one given to `spawn`, else the name of the generator function it runs
 * (from the future's description). Computed on demand, for dumps and errors only.
 */
export function taskName(task: Task): string | undefined {
  if (task.name !== undefined) return task.name;
  let description: string | undefined;
  try {
    description = task.future?.describe();
  } catch {
    return undefined; // a user's describe() that throws names nothing; the dump shows the error
  }
  if (description === undefined) return undefined;
  const first = description.split(" ")[0];
  return first === "GenFuture" || first === "" ? undefined : first;
}
