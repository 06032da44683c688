/**
 * A simulation went past its step limit (`maxSteps`: task polls plus host callbacks) or its
 * virtual-time limit (`maxTime`) before the root future completed: a livelock, a program that
 * never ends (a server loop with no way out), or limits too low for the program. The message and
 * `dump` carry the task dump at that moment.
 *
 * @example
 * ```ts
 * try { simulate({ seed: 1, maxSteps: 10_000 }, () => spinForever()); }
 * catch (e) { if (e instanceof SimulationLimitError) console.error(e.dump); }
 * ```
 */
export class SimulationLimitError extends Error {
  /** Stable machine-readable code. */
  readonly code = "SIM_LIMIT" as const;
  override name = "SimulationLimitError";
  constructor(
    message: string,
    /** The task dump when the limit was reached. */
    readonly dump: string,
  ) {
    super(`${message}\n${dump}`);
  }
}

/**
 * A task of the simulation failed and nobody joined it (its handle was dropped), or a cleanup
 * error could not be thrown to anyone. In a simulation that is a failure of the run (option
 * `unhandledErrors: "ignore"` turns this off); the task's error is the `cause`.
 *
 * @example
 * ```ts
 * try { simulate({ seed: 1 }, () => program()); }
 * catch (e) { if (e instanceof UnhandledTaskError) console.error(e.cause); }
 * ```
 */
export class UnhandledTaskError extends Error {
  /** Stable machine-readable code. */
  readonly code = "SIM_UNHANDLED_TASK_ERROR" as const;
  override name = "UnhandledTaskError";
}

/**
 * What `explore` throws on the first failing seed: the message has the seed, the replay string
 * (for `WAKER_SEED=...` or `replay(...)`), the original error, the task dump and the last events
 * of the run. The original error is the `cause`.
 *
 * @example
 * ```ts
 * try { explore({ seeds: 100 }, program); }
 * catch (e) { if (e instanceof SimulationFailure) console.error(e.replay, e.cause); }
 * ```
 */
export class SimulationFailure extends Error {
  /** Stable machine-readable code. */
  readonly code = "SIM_FAILED" as const;
  override name = "SimulationFailure";
  constructor(
    message: string,
    /** The failing seed. */
    readonly seed: number,
    /** The replay string: `WAKER_SEED=<replay>` or `replay(<replay>, fn)` runs exactly this run. */
    readonly replay: string,
    /** The task dump at the failure ("" when there was none). */
    readonly dump: string,
    options: { cause: unknown },
  ) {
    super(message, options);
  }
}

/**
 * `explore` with `determinism: true` ran one seed twice and the two runs differed: something in
 * the program (or a library under it) depends on more than the seed — `Math.random` captured
 * before the run, `performance.now()`, a real socket or timer, garbage collection, shared state
 * left by an earlier run. The message shows the first diverging event with its context.
 *
 * @example
 * ```ts
 * try { explore({ seeds: 100, determinism: true }, program); }
 * catch (e) { if (e instanceof NondeterminismError) console.error(e.index, e.message); }
 * ```
 */
export class NondeterminismError extends Error {
  /** Stable machine-readable code. */
  readonly code = "SIM_NONDETERMINISM" as const;
  override name = "NondeterminismError";
  constructor(
    message: string,
    /** The seed whose two runs differed. */
    readonly seed: number,
    /** Index of the first differing event. */
    readonly index: number,
  ) {
    super(message);
  }
}
