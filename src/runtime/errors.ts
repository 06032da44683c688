/**
 * What awaiting the handle of an aborted task throws (and what `run` rejects with when its root
 * was cancelled). A cancellation, not a failure: the task's finalizers ran.
 *
 * @example
 * ```ts
 * handle.abort();
 * try { yield* handle; } catch (e) { if (e instanceof Cancelled) console.log("stopped"); }
 * ```
 */
export class Cancelled extends Error {
  /** Stable machine-readable code. */
  readonly code = "CANCELLED" as const;
  override name = "Cancelled";
}

/**
 * What awaiting a task's handle throws when the task threw: the task's error is the `cause`.
 *
 * @example
 * ```ts
 * try { yield* handle; } catch (e) { if (e instanceof JoinError) console.error(e.cause); }
 * ```
 */
export class JoinError extends Error {
  /** Stable machine-readable code. */
  readonly code = "JOIN_FAILED" as const;
  override name = "JoinError";
  /** The id of the task that failed. */
  readonly taskId: number;
  constructor(message: string, taskId: number, options: { cause: unknown }) {
    super(message, options);
    this.taskId = taskId;
  }
}

/**
 * `run` or `blockOn` found its root future pending with nothing that could ever wake a task: no
 * ready task, no timer, no driver registration and no waker held outside the runtime. The message
 * carries the task dump; `dump` has it as text.
 *
 * @example
 * ```ts
 * try { await rt.run(pending()); } catch (e) { if (e instanceof DeadlockError) console.error(e.dump); }
 * ```
 */
export class DeadlockError extends Error {
  /** Stable machine-readable code. */
  readonly code = "DEADLOCK" as const;
  override name = "DeadlockError";
  /** The task dump at the moment the deadlock was found. */
  readonly dump: string;
  constructor(message: string, dump: string) {
    super(`${message}\n${dump}`);
    this.dump = dump;
  }
}

/**
 * `blockOn` was given a future that waits for the host (a timer, I/O, a host callback): that needs
 * the host's event loop, which a synchronous call cannot give. Use `run` instead. Also thrown when
 * `blockOn` is called from inside a task.
 *
 * @example
 * ```ts
 * try { rt.blockOn(sleep(10)); } catch (e) { if (e instanceof BlockOnError) await rt.run(sleep(10)); }
 * ```
 */
export class BlockOnError extends Error {
  /** Stable machine-readable code. */
  readonly code = "BLOCK_ON_WOULD_BLOCK" as const;
  override name = "BlockOnError";
}

/**
 * The runtime was shut down: it spawns nothing more.
 *
 * @example
 * ```ts
 * await rt.shutdown();
 * rt.spawn(work()); // throws RuntimeClosedError
 * ```
 */
export class RuntimeClosedError extends Error {
  /** Stable machine-readable code. */
  readonly code = "RUNTIME_CLOSED" as const;
  override name = "RuntimeClosedError";
}
