/**
 * Everything the runtime needs from its host, in one seam: the clock, the two ways to run code
 * later (a microtask, and a macrotask that lets I/O run first), randomness, and the process hooks
 * `main` uses. The Node and browser defaults live beside this file; the simulator replaces the
 * whole object to make runs deterministic.
 *
 * @example
 * ```ts
 * const rt = new Runtime({ platform: { ...nodePlatform(), random: seededRandom(42) } });
 * ```
 */
export interface Platform {
  /** Monotonic milliseconds (fractional), for drain budgets and, later, timers. */
  now(): number;
  /** Runs `fn` after the current synchronous code, before any I/O (the first drain after idle). */
  queueMicrotask(fn: () => void): void;
  /** Runs `fn` on a later turn of the host loop, after pending I/O callbacks (drain continuation). */
  setImmediate(fn: () => void): void;
  /**
   * Calls `fn` once after about `ms` milliseconds (the one host timer of the time driver). The
   * handle can cancel it and say whether it keeps the process alive (`ref`/`unref`).
   */
  setTimer(fn: () => void, ms: number): HostTimer;
  /** A number in [0, 1); the runtime's `select` start branches come from here. */
  random(): number;
  /** Prints a diagnostic (an error in a detached task, a cleanup error) where the user sees it. */
  reportError(message: string, error: unknown): void;
  /** Calls `fn` on an interrupt (SIGINT); returns the function that stops listening. */
  onInterrupt(fn: () => void): () => void;
  /** Sets the exit code the process ends with (`main`). */
  setExitCode(code: number): void;
  /** Ends the process now (a second SIGINT during `main`). */
  exit(code: number): void;
}

/** A host timer armed by {@link Platform.setTimer}. */
export interface HostTimer {
  /** Cancels it; idempotent. */
  clear(): void;
  /** Keeps the host process alive while armed. */
  ref(): void;
  /** Lets the host process exit even though it is armed. */
  unref(): void;
}
