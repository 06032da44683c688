/**
 * A duration or deadline that is negative, NaN or not finite. A `RangeError` carrying the value.
 *
 * @example
 * ```ts
 * try { sleep(-5); } catch (e) { if (e instanceof InvalidDurationError) console.error(e.value); }
 * ```
 */
export class InvalidDurationError extends RangeError {
  /** Stable machine-readable code. */
  readonly code = "INVALID_DURATION" as const;
  override name = "InvalidDurationError";
  constructor(
    where: string,
    /** The rejected value. */
    readonly value: unknown,
  ) {
    super(
      `${where}: expected a finite number of milliseconds >= 0, got ${typeof value === "number" ? value : `${typeof value} ${String(value)}`}`,
    );
  }
}

/** Throws {@link InvalidDurationError} unless `ms` is a finite number >= 0. */
export function checkDuration(ms: unknown, where: string): number {
  if (typeof ms !== "number" || !(ms >= 0) || ms === Number.POSITIVE_INFINITY) {
    throw new InvalidDurationError(where, ms);
  }
  return ms;
}

/**
 * What `timeout` throws when the deadline passed first. The inner future was dropped (its cleanup
 * ran) before this was thrown.
 *
 * @example
 * ```ts
 * try { yield* timeout(fetchPage(url), 5000); } catch (e) { if (e instanceof TimeoutError) retry(); }
 * ```
 */
export class TimeoutError extends Error {
  /** Stable machine-readable code. */
  readonly code = "TIMEOUT" as const;
  override name = "TimeoutError";
  constructor(
    /** The time limit that passed, in milliseconds. */
    readonly ms: number,
  ) {
    super(`timed out after ${ms} ms`);
  }
}
