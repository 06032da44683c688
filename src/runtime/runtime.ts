import { Future } from "../future/future.js";
import { setOrphanCleanupHandler } from "../future/orphan-cleanup.js";
import { setRandomSource } from "../future/random-source.js";
import { defaultPlatform } from "../platform/default-platform.js";
import type { Platform } from "../platform/platform.js";
import { seededRandom } from "../platform/seeded-random.js";
import { Context } from "../task/context.js";
import { debugMode, setDebugMode } from "../task/debug.js";
import { describeValue, InvalidArgumentError } from "../task/errors.js";
import { Pending as PendingExport } from "../task/poll.js";
import { Waker } from "../task/waker.js";
import { type AsyncContextCarrier, checkAsyncContextCarrier } from "./async-context.js";
import * as Budget from "./budget.js";
import { RuntimeClock } from "./clock.js";
import { enterRuntime } from "./current.js";
import { currentOrDefaultRuntime } from "./default-runtime.js";
import type { Driver } from "./driver.js";
import { type TaskDump, takeDump } from "./dump.js";
import { BlockOnError, Cancelled, DeadlockError, RuntimeClosedError } from "./errors.js";
import {
  type HandleHost,
  JoinHandle,
  outputOf,
  releaseMoreJoinWakers,
  taskLabel,
} from "./join-handle.js";
import { ReadyQueue } from "./ready-queue.js";
import {
  ABORTED,
  DETACHED,
  FAILED,
  MORE_WAITERS,
  OBSERVED,
  OUTPUT,
  releasedByRuntime,
  Task,
  type TaskOwner,
  type TaskScheduler,
  taskName,
} from "./task.js";
import * as TaskState from "./task-state.js";

// Bound locally for the hot path: see "Hot imports" on Future.
const Pending: typeof PendingExport = PendingExport;
const { CANCELLED, COMPLETE, RUNNING, SCHEDULED } = TaskState;
const { resetBudget, TASK_BUDGET } = Budget;
const setContextWaker = Context.setWaker;

/** Options of {@link Runtime}. */
export interface RuntimeOptions {
  /** Turn on debug mode (process-wide): waker contract checks and spawn sites in dumps. */
  readonly debug?: boolean;
  /** Seed for the runtime's random numbers (`select`'s start branch), for replayable runs. */
  readonly seed?: number;
  /** The host seam; defaults to Node's or the browser's. */
  readonly platform?: Platform;
  /**
   * `"real"` (default): time flows with the platform clock. `"virtual"`: the clock starts paused
   * and auto-advances to the next timer whenever every task is idle (see {@link RuntimeClock}).
   */
  readonly clock?: "real" | "virtual";
  /**
   * Which ready task runs next: `"fifo"` (default, the production order), or
   * `{ random: seed }` to pick uniformly among the ready tasks with a seeded generator, which
   * shakes out bugs that depend on scheduling order; a failing seed replays the same order.
   * A {@link SchedulingPolicy} object is the simulator's hook (`waker/sim`).
   */
  readonly scheduling?: "fifo" | { readonly random: number } | SchedulingPolicy;
  /** Polls per drain before the runtime lets the host run I/O (default 1024). */
  readonly drainBudget?: number;
  /** Milliseconds per drain before the runtime lets the host run I/O (default 4). */
  readonly drainTimeMs?: number;
  /**
   * What to do with an error of a task nobody will join (its handle was dropped or garbage
   * collected before reading it): `"log"` (default) prints it with the task's id, name and spawn
   * site; `"shutdown"` prints it and shuts the runtime down; a function receives it.
   */
  readonly onUnhandledError?: "log" | "shutdown" | ((error: unknown, task: TaskInfo) => void);
  /**
   * Carries the host's async context (Node's `AsyncLocalStorage`) into tasks: each task's polls
   * run in the context it was spawned in (`nodeAsyncContext` from `waker/node`). Off by default:
   * it costs a capture per spawn and a context switch per poll (measured in `nodeAsyncContext`'s
   * docs).
   */
  readonly asyncContext?: AsyncContextCarrier;
}

/**
 * @internal A custom polling order, the hook of the simulator (`waker/sim`, its seeded random and
 * PCT schedulers and its event log): the runtime asks `next` for every task it polls, and tells
 * `woken` of every wake that schedules a task. With no policy (FIFO) neither is called.
 */
export interface SchedulingPolicy {
  /** Removes and returns the task to poll next from `ready`; `undefined` when it is empty. */
  next(ready: ReadyQueue<Task>): Task | undefined;
  /** `task` was woken and is now scheduled (once per wake that sets `SCHEDULED`). */
  woken(task: Task): void;
}

/** Options of `spawn`. */
export interface SpawnOptions {
  /** A name for task dumps and error reports. */
  readonly name?: string;
}

/** Identifies a task in error reports. */
export interface TaskInfo {
  readonly id: number;
  readonly name: string | undefined;
  /** Where the task was spawned (debug mode only). */
  readonly spawnSite: string | undefined;
}

/** Owner of a `run` root: settles the promise and counts pending roots. */
class RootOwner implements TaskOwner {
  constructor(
    private readonly runtime: Runtime,
    readonly resolve: (value: unknown) => void,
    readonly reject: (error: unknown) => void,
  ) {}
  settled = false;
  childCompleted(task: Task): void {
    this.runtime.rootCompleted(task, this);
  }
}

/**
 * An executor of futures: a FIFO ready queue of tasks, each polled with its own waker when woken.
 * It owns no thread: a wake after idle arms one drain on a microtask; a drain polls until the queue
 * is empty or its budget (1024 polls or 4 ms) is spent, then continues on `setImmediate` so I/O
 * callbacks run in between. Each task poll gets a cooperative budget of 128 leaf operations.
 *
 * Lifetime: `run` keeps its promise pending while the root can progress. When the root is pending
 * and nothing can wake any task — no ready task, no timer, no driver, no waker held outside the
 * runtime — `run` rejects with {@link DeadlockError} carrying the task dump, instead of letting the
 * process exit silently. The one host timer of the time driver keeps the process alive only while
 * a `run`/`main` root is pending: timers of background tasks never hold the process open after
 * the roots are done (and, with a virtual clock, no host timer is used at all).
 *
 * @example
 * ```ts
 * const rt = new Runtime();
 * const answer = await rt.run(future(function* () {
 *   const a = rt.spawn(compute(1));
 *   const b = rt.spawn(compute(2));
 *   return (yield* a) + (yield* b);
 * }));
 * ```
 */
export class Runtime implements TaskScheduler, HandleHost {
  /** @internal Live waker clones of unfinished tasks held outside runtime structures. */
  externalWakers = 0;
  /** @internal Timers and drivers that can wake a task from outside (see `retainWakeSource`). */
  private wakeSources = 0;

  /** The runtime's clock: `now()`, and `pause`/`advance`/`resume` for tests. */
  readonly time: RuntimeClock;
  /** @internal The host seam, for drivers. */
  readonly platform: Platform;
  private readonly drivers = new Map<object, Driver>();
  private readonly random: () => number;
  private readonly queue = new ReadyQueue<Task>();
  private readonly drainBudget: number;
  /** Who picks the next ready task; `null` for FIFO. */
  private readonly policy: SchedulingPolicy | null;
  private readonly drainTimeMs: number;
  private readonly onUnhandledError: RuntimeOptions["onUnhandledError"];
  private armed = false;
  private draining = false;
  private closed = false;
  private nextId = 1;
  private liveCount = 0;
  private firstTask: Task | null = null;
  private readonly roots = new Set<Task>();
  private shutdownWaiters: (() => void)[] = [];
  private unobserved: FinalizationRegistry<TaskInfo & { error: unknown }> | null = null;
  private readonly drainFn = (): void => this.drain();
  /** `RuntimeOptions.asyncContext`, or `null`. */
  private readonly asyncContext: AsyncContextCarrier | null;
  /** Polls a task inside its async context scope (`RuntimeOptions.asyncContext`). */
  private pollInScope(task: Task): unknown {
    return task.asyncScope!(this.pollTask, task);
  }
  /** The poll that `pollInScope` runs inside the scope (one closure for all tasks). */
  private readonly pollTask = (task: Task): unknown => {
    const fut = task.future!;
    return (task.state & CANCELLED) === 0 ? fut.poll(this.cx) : fut.pollDrop(this.cx);
  };
  /** The context every poll gets; its waker is the task being polled (valid for that poll only). */
  private readonly cx = new Context(Waker.noop());

  constructor(options: RuntimeOptions = {}) {
    if (options === null || typeof options !== "object") {
      throw new InvalidArgumentError(
        `Runtime: options must be an object, got ${describeValue(options)}`,
      );
    }
    if (options.debug === true) setDebugMode(true);
    this.platform = options.platform ?? defaultPlatform();
    this.random = options.seed === undefined ? this.platform.random : seededRandom(options.seed);
    this.drainBudget = positive(options.drainBudget, 1024, "drainBudget");
    this.drainTimeMs = positive(options.drainTimeMs, 4, "drainTimeMs");
    this.policy = schedulingPolicy(options.scheduling);
    this.onUnhandledError = options.onUnhandledError ?? "log";
    this.asyncContext = checkAsyncContextCarrier(options.asyncContext);
    if (options.clock !== undefined && options.clock !== "real" && options.clock !== "virtual") {
      throw new InvalidArgumentError(
        `Runtime: clock must be "real" or "virtual", got ${describeValue(options.clock)}`,
      );
    }
    this.time = new RuntimeClock(this.platform, options.clock === "virtual", () => {
      for (const driver of this.drivers.values()) driver.clockChanged?.();
    });
    setOrphanCleanupHandler(
      (dropping) => currentOrDefaultRuntime().adoptCleanup(dropping),
      (error) => currentOrDefaultRuntime().reportCleanupError(error),
    );
  }

  /**
   * Starts running `fut` as a new task and returns its {@link JoinHandle}. The task is first polled
   * on the runtime's next drain (a microtask away), never inside `spawn`.
   *
   * @example
   * ```ts
   * const handle = rt.spawn(serve(conn), { name: "conn 42" });
   * ```
   * @throws {InvalidArgumentError} when `fut` is not a future.
   * @throws {RuntimeClosedError} after `shutdown()`.
   */
  spawn<T>(fut: Future<T>, options?: SpawnOptions): JoinHandle<T> {
    const task = this.spawnTask(fut, options?.name, null);
    const handle = new JoinHandle(task, this);
    task.handle = handle;
    return handle;
  }

  /**
   * Runs `fut` as a root task and settles the promise with its output or error. Rejects with
   * {@link DeadlockError} when the root is pending and nothing could ever wake a task.
   *
   * @example
   * ```ts
   * const reply = await rt.run(client.send(message));
   * ```
   * @throws {InvalidArgumentError} when `fut` is not a future (synchronously).
   *
   * Cancel safety: the promise cannot be cancelled; to stop the root, have it select on a signal.
   */
  run<T>(fut: Future<T>): Promise<T> {
    checkFuture(fut, "Runtime.run");
    return new Promise<T>((resolve, reject) => {
      const owner = new RootOwner(this, resolve as (v: unknown) => void, reject);
      const task = this.spawnTask(fut, undefined, owner);
      this.roots.add(task);
      if (this.roots.size === 1) this.rootsChanged(true);
    });
  }

  /**
   * Runs `fut` to completion synchronously and returns its output: for futures that need no host
   * callbacks (computation, channels between tasks of this runtime). Other ready tasks of the
   * runtime are polled too.
   *
   * @example
   * ```ts
   * const [a, b] = rt.blockOn(join(ready(1), ready(2)));
   * ```
   * @throws the future's error.
   * @throws {BlockOnError} when the future waits for the host (a timer, I/O), or when called from
   * inside a task; the future is cancelled (its finalizers run) before this is thrown.
   * @throws {DeadlockError} when nothing could ever wake it.
   */
  blockOn<T>(fut: Future<T>): T {
    checkFuture(fut, "Runtime.blockOn");
    if (this.draining === true) {
      throw new BlockOnError("blockOn was called from inside a task of this runtime; use yield*");
    }
    const task = this.spawnTask(fut, "blockOn", null);
    task.handleFlags |= OBSERVED;
    this.drainUntil(task);
    if ((task.state & COMPLETE) !== 0) {
      if (task.outcome === FAILED) throw task.result;
      return outputOf(task);
    }
    const deadlocked = this.nothingCanWake();
    const dump = this.dump().toString();
    this.abort(task);
    this.drainUntil(task);
    if (deadlocked) {
      throw new DeadlockError("blockOn: the future can never complete: nothing can wake it", dump);
    }
    throw new BlockOnError(
      "blockOn: the future waits for the host (a timer, I/O or another callback); use await rt.run(fut) instead",
    );
  }

  /**
   * Cancels every task (their `finally` blocks run, asynchronous ones to their end) and resolves
   * once all have finished. Afterwards `spawn` and `run` throw {@link RuntimeClosedError}.
   *
   * @example
   * ```ts
   * process.on("SIGTERM", () => rt.shutdown());
   * ```
   */
  shutdown(): Promise<void> {
    this.closed = true;
    for (let task = this.firstTask; task !== null; task = task.nextTask) this.abort(task);
    if (this.liveCount === 0) return Promise.resolve();
    return new Promise((resolve) => this.shutdownWaiters.push(resolve));
  }

  /**
   * A snapshot of every unfinished task: id, name, spawn site (debug mode), state, what it waits
   * on, and how many wakers for it are alive.
   *
   * @example
   * ```ts
   * console.log(rt.dump().toString());
   * ```
   */
  dump(): TaskDump {
    const tasks: Task[] = [];
    for (let task = this.firstTask; task !== null; task = task.nextTask) tasks.push(task);
    return takeDump(tasks, this.queue.length, spawnSiteOf);
  }

  /**
   * Declares a source of wakes outside the runtime (a host timer, an I/O registration), so that
   * a root waiting on it is not reported as deadlocked. Returns the release function.
   *
   * @example
   * ```ts
   * const release = rt.retainWakeSource();
   * socket.once("close", release);
   * ```
   */
  retainWakeSource(): () => void {
    this.wakeSources++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.wakeSources--;
      if (this.wakeSources === 0 && this.armed === false && this.draining === false)
        this.checkDeadlock();
    };
  }

  /**
   * @internal The driver of one kind (`key`), created by `create` on first use.
   */
  driver<D extends Driver>(key: object, create: (rt: Runtime) => D): D {
    let driver = this.drivers.get(key) as D | undefined;
    if (driver === undefined) {
      driver = create(this);
      this.drivers.set(key, driver);
    }
    return driver;
  }

  /** @internal True while a `run` root is pending: drivers keep the host process alive then. */
  hasPendingRoots(): boolean {
    return this.roots.size > 0;
  }

  private rootsChanged(pending: boolean): void {
    for (const driver of this.drivers.values()) driver.rootsChanged?.(pending);
  }

  /** The queue is empty: let drivers wake something (auto-advance). True if one did. */
  private idleDrivers(): boolean {
    let woke = false;
    for (const driver of this.drivers.values()) {
      if (driver.idle?.() === true) woke = true;
    }
    return woke;
  }

  /** @internal The scheduler side of a wake (the waker's vtable calls it). */
  wakeTask(task: Task): void {
    const state = task.state;
    if ((state & (SCHEDULED | COMPLETE)) !== 0) return;
    task.state = state | SCHEDULED;
    if (this.policy !== null) this.policy.woken(task);
    if ((state & RUNNING) !== 0) return;
    this.queue.push(task);
    if (this.armed === false && this.draining === false) {
      this.armed = true;
      this.platform.queueMicrotask(this.drainFn);
    }
  }

  /** @internal Requests cancellation of a task (`JoinHandle.abort`, scopes, shutdown). */
  abort(task: Task): void {
    const state = task.state;
    if ((state & (COMPLETE | CANCELLED)) !== 0) return;
    task.state = state | CANCELLED;
    this.wakeTask(task);
  }

  /** @internal Spawns a task with an owner (scope, join set, run). */
  spawnTask<T>(fut: Future<T>, name: string | undefined, owner: TaskOwner | null): Task<T> {
    checkFuture(fut, "spawn");
    if (this.closed === true)
      throw new RuntimeClosedError("the runtime was shut down; it spawns nothing");
    return this.insertTask(fut, name, owner, SCHEDULED);
  }

  /** @internal A task that drives the unfinished cleanup of a future dropped synchronously. */
  adoptCleanup(dropping: Future<unknown>): void {
    let what: string;
    try {
      what = dropping.describe();
    } catch {
      what = dropping.constructor.name; // a user's describe() that throws must not lose the cleanup
    }
    const task = this.insertTask(dropping, `cleanup of ${what}`, null, SCHEDULED | CANCELLED);
    task.handleFlags |= DETACHED;
  }

  /** @internal */
  rootCompleted(task: Task, owner: RootOwner): void {
    if (this.roots.delete(task) && this.roots.size === 0) this.rootsChanged(false);
    if (owner.settled) return;
    owner.settled = true;
    task.handleFlags |= OBSERVED;
    if (task.outcome === OUTPUT) owner.resolve(task.result);
    else if (task.outcome === FAILED) owner.reject(task.result);
    else owner.reject(new Cancelled(`the root task ${taskLabel(task)} was cancelled`));
  }

  /** The task being polled now, or `null` between polls. */
  private runningTask(): Task | null {
    const task = this.cx.waker;
    return this.draining === true && task instanceof Task && (task.state & RUNNING) !== 0
      ? task
      : null;
  }

  /** @internal A cleanup error that could not be thrown (another error was being thrown). */
  reportCleanupError(error: unknown): void {
    const task = this.runningTask();
    this.reportError(
      error,
      task === null ? { id: 0, name: "cleanup", spawnSite: undefined } : infoOf(task),
    );
  }

  /** @internal HandleHost: report an error nobody will read. */
  reportUnobserved(task: Task): void {
    this.reportError(task.result, infoOf(task));
  }

  /** @internal HandleHost: report the error if the handle is garbage collected unread. */
  watchUnobserved(handle: JoinHandle<unknown>, task: Task): void {
    this.unobserved ??= new FinalizationRegistry((held) => {
      const { error, ...info } = held;
      this.reportError(error, info);
    });
    this.unobserved.register(handle, { ...infoOf(task), error: task.result }, handle);
  }

  /** @internal HandleHost */
  unwatchUnobserved(handle: JoinHandle<unknown>): void {
    this.unobserved?.unregister(handle);
  }

  private insertTask<T>(
    fut: Future<T>,
    name: string | undefined,
    owner: TaskOwner | null,
    state: number,
  ): Task<T> {
    const task = new Task<T>(this.nextId++, fut, this, name, state);
    task.owner = owner;
    if (this.asyncContext !== null) task.asyncScope = this.asyncContext.capture();
    if (debugMode) spawnSites.set(task, new Error("spawned here"));
    const first = this.firstTask;
    task.nextTask = first;
    if (first !== null) first.prevTask = task;
    this.firstTask = task;
    this.liveCount++;
    this.queue.push(task);
    if (this.armed === false && this.draining === false) {
      this.armed = true;
      this.platform.queueMicrotask(this.drainFn);
    }
    return task;
  }

  private drain(): void {
    this.armed = false;
    if (this.draining === true) return;
    this.draining = true;
    const previous = enterRuntime(this);
    const previousRandom = setRandomSource(this.random);
    try {
      this.pollReady(this.drainBudget, this.platform.now() + this.drainTimeMs, null);
    } finally {
      this.draining = false;
      resetBudget(Number.POSITIVE_INFINITY);
      enterRuntime(previous);
      setRandomSource(previousRandom);
    }
    const queue = this.queue;
    if (!queue.isEmpty()) {
      this.armed = true;
      this.platform.setImmediate(this.drainFn);
    } else if (this.idleDrivers()) {
      // A driver moved (virtual time jumped to a timer). If that woke no task (a timer whose
      // callback wakes nobody), look again on the next turn rather than stall.
      if (queue.isEmpty() && this.armed === false) {
        this.armed = true;
        this.platform.setImmediate(this.drainFn);
      }
    } else if (this.roots.size > 0) {
      this.checkDeadlock();
    }
  }

  /** Polls synchronously until `task` completes or nothing is ready (blockOn). */
  private drainUntil(task: Task): void {
    this.draining = true;
    const previous = enterRuntime(this);
    const previousRandom = setRandomSource(this.random);
    try {
      while ((task.state & COMPLETE) === 0) {
        this.pollReady(Number.POSITIVE_INFINITY, Number.POSITIVE_INFINITY, task);
        if ((task.state & COMPLETE) !== 0 || !this.idleDrivers()) break;
      }
    } finally {
      this.draining = false;
      resetBudget(Number.POSITIVE_INFINITY);
      enterRuntime(previous);
      setRandomSource(previousRandom);
    }
    if (!this.queue.isEmpty() && this.armed === false) {
      this.armed = true;
      this.platform.queueMicrotask(this.drainFn);
    }
  }

  /**
   * The executor's loop: polls ready tasks in turn until none is ready, `limit` polls ran, the
   * clock passed `deadline` (checked every 64 polls), or `until` completed.
   *
   * One task poll is written out here rather than called: V8 inlines a bounded amount of code
   * into one optimized function, and with the poll in a method of its own, the task's future and
   * the leaf futures under it did not fit; with it here, the whole hot path of a task switch
   * (dequeue, the block's poll, the leaf's poll and wake, requeue) compiles into this function.
   * Everything a plain Pending poll does not need (completion, errors, async-context scopes,
   * scheduling policies) stays in methods of its own.
   */
  private pollReady(limit: number, deadline: number, until: Task | null): void {
    const queue = this.queue;
    const policy = this.policy;
    const cx = this.cx;
    let polls = 0;
    for (;;) {
      const task = policy === null ? queue.shift() : policy.next(queue);
      if (task === undefined) return;
      const state = task.state;
      if ((state & COMPLETE) === 0) {
        task.state = (state & ~SCHEDULED) | RUNNING;
        task.polls++;
        resetBudget(TASK_BUDGET);
        setContextWaker(cx, task);
        let result: unknown;
        try {
          result =
            task.asyncScope !== null
              ? this.pollInScope(task)
              : (state & CANCELLED) === 0
                ? task.future!.poll(cx)
                : task.future!.pollDrop(cx);
        } catch (error) {
          result = Pending;
          this.complete(task, FAILED, error);
        }
        // Typed Pending test: see `Pending`.
        if (typeof result !== "symbol" || result !== Pending) {
          this.complete(task, (state & CANCELLED) === 0 ? OUTPUT : ABORTED, result);
        } else if ((task.state & RUNNING) !== 0) {
          const after = task.state & ~RUNNING;
          task.state = after;
          if ((after & SCHEDULED) !== 0) queue.push(task);
        }
        if (until !== null && (until.state & COMPLETE) !== 0) return;
      }
      if (++polls >= limit || ((polls & 63) === 0 && this.platform.now() >= deadline)) return;
    }
  }

  private complete(task: Task, outcome: number, result: unknown): void {
    resetBudget(Number.POSITIVE_INFINITY);
    task.state = (task.state & ~(RUNNING | SCHEDULED)) | COMPLETE;
    this.externalWakers -= task.wakers - task.internalWakers;
    task.future = null;
    task.asyncScope = null;
    task.outcome = outcome;
    task.result = outcome === OUTPUT || outcome === FAILED ? result : undefined;
    this.unlink(task);
    if (task.owner !== null || outcome !== FAILED) task.handle = null;
    const joinWaker = task.joinWaker;
    if (joinWaker !== null) {
      task.joinWaker = null;
      releasedByRuntime(joinWaker);
      joinWaker.wake();
      if ((task.handleFlags & MORE_WAITERS) !== 0) releaseMoreJoinWakers(task, true);
    }
    if (task.owner !== null) {
      task.owner.childCompleted(task);
    } else if (outcome === FAILED && (task.handleFlags & OBSERVED) === 0) {
      if ((task.handleFlags & DETACHED) !== 0) {
        task.handleFlags |= OBSERVED;
        this.reportUnobserved(task);
      } else if (joinWaker === null) {
        this.watchUnobservedTask(task);
      }
    }
    if (this.liveCount === 0 && this.shutdownWaiters.length > 0) {
      const waiters = this.shutdownWaiters;
      this.shutdownWaiters = [];
      for (const resolve of waiters) resolve();
    }
  }

  /** Nobody awaits the failed task yet: report its error if its handle is collected unread. */
  private watchUnobservedTask(task: Task): void {
    const handle = task.handle;
    if (handle !== null) this.watchUnobserved(handle as JoinHandle<unknown>, task);
  }

  private unlink(task: Task): void {
    const prev = task.prevTask;
    const next = task.nextTask;
    if (prev !== null) prev.nextTask = next;
    else this.firstTask = next;
    if (next !== null) next.prevTask = prev;
    task.prevTask = task.nextTask = null;
    this.liveCount--;
  }

  /** True when no task can ever be woken again: nothing queued, no source outside the runtime. */
  private nothingCanWake(): boolean {
    return this.queue.isEmpty() && this.externalWakers === 0 && this.wakeSources === 0;
  }

  private checkDeadlock(): void {
    if (this.roots.size === 0 || !this.nothingCanWake()) return;
    const dump = this.dump().toString();
    for (const root of [...this.roots]) {
      const owner = root.owner as RootOwner;
      if (owner.settled) continue;
      owner.settled = true;
      if (this.roots.delete(root) && this.roots.size === 0) this.rootsChanged(false);
      owner.reject(
        new DeadlockError(
          `deadlock: the root task ${taskLabel(root)} is pending and nothing can wake any task (no ready task, timer, driver or waker held outside the runtime); its finalizers run now`,
          dump,
        ),
      );
      this.abort(root);
    }
  }

  private reportError(error: unknown, info: TaskInfo): void {
    const handler = this.onUnhandledError;
    if (typeof handler === "function") {
      handler(error, info);
      return;
    }
    const site = info.spawnSite
      ? `\n  spawned at ${info.spawnSite}`
      : " (set WAKER_DEBUG=1 to record spawn sites)";
    this.platform.reportError(
      `waker: task ${info.name ? `${info.id} (${info.name})` : info.id} failed and nobody joined it${site}\n`,
      error,
    );
    if (handler === "shutdown") void this.shutdown();
  }
}

/** Where tasks were spawned, recorded in debug mode only. */
const spawnSites = new WeakMap<Task, Error>();

function infoOf(task: Task): TaskInfo {
  return { id: task.id, name: taskName(task), spawnSite: spawnSiteOf(task) };
}

/** The first stack frame outside the runtime's own files. */
export function spawnSiteOf(task: Task): string | undefined {
  const stack = spawnSites.get(task)?.stack;
  if (stack === undefined) return undefined;
  const frames = stack.split("\n").slice(1);
  const user = frames.find((f) => !/[\\/](runtime|future)[\\/][\w-]+\.[jt]s|<anonymous>/.test(f));
  return (user ?? frames[0])?.trim().replace(/^at /, "");
}

function checkFuture(fut: unknown, where: string): void {
  if (!(fut instanceof Future)) {
    const hint =
      typeof fut === "function"
        ? " (did you pass the async fn instead of calling it?)"
        : fut instanceof Promise
          ? " (wrap a Promise with fromPromise(() => promise))"
          : "";
    throw new InvalidArgumentError(`${where}: expected a Future, got ${describeValue(fut)}${hint}`);
  }
}

function schedulingPolicy(policy: RuntimeOptions["scheduling"]): SchedulingPolicy | null {
  if (policy === undefined || policy === "fifo") return null;
  if (policy !== null && typeof policy === "object") {
    if ("random" in policy && Number.isFinite(policy.random)) {
      const random = seededRandom(policy.random);
      return { next: (ready) => ready.takeRandom(random), woken: () => {} };
    }
    if (typeof (policy as SchedulingPolicy).next === "function") {
      return policy as SchedulingPolicy;
    }
  }
  throw new InvalidArgumentError(
    `Runtime: scheduling must be "fifo" or { random: seed }, got ${describeValue(policy)}`,
  );
}

function positive(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !(value > 0)) {
    throw new InvalidArgumentError(
      `Runtime: ${name} must be a positive number, got ${String(value)}`,
    );
  }
  return value;
}
