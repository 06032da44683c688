/**
 * Thrown when a waker or a future is used against the std::task contract: waking a consumed or
 * dropped waker (checked in debug mode), polling a future after it completed or was dropped.
 *
 * @example
 * ```ts
 * try { consumed.wake(); } catch (e) { if (e instanceof WakerContractError) console.error(e.message); }
 * ```
 */
export class WakerContractError extends Error {
  /** Stable machine-readable code. */
  readonly code = "WAKER_CONTRACT" as const;
  override name = "WakerContractError";
}

/**
 * Thrown at an API boundary for input of the wrong type or shape (a vtable missing a function,
 * spawning something that is not a future, a generator yielding a non-future).
 *
 * @example
 * ```ts
 * try { spawn(42 as never); } catch (e) { if (e instanceof InvalidArgumentError) console.error(e.code); }
 * ```
 */
export class InvalidArgumentError extends TypeError {
  /** Stable machine-readable code. */
  readonly code = "INVALID_ARGUMENT" as const;
  override name = "InvalidArgumentError";
}

/**
 * Thrown at an API boundary for a number out of its allowed range: a channel capacity of 0, a
 * negative or fractional count, more semaphore permits than one can ever hold. A `RangeError`,
 * with a stable code.
 *
 * @example
 * ```ts
 * try { channel(0); } catch (e) { if (e instanceof OutOfRangeError) console.error(e.code); }
 * ```
 */
export class OutOfRangeError extends RangeError {
  /** Stable machine-readable code. */
  readonly code = "OUT_OF_RANGE" as const;
  override name = "OutOfRangeError";
}

/**
 * Returns `value` if it is an integer in `[min, max]`, else throws {@link OutOfRangeError}: for
 * the sizes and counts an API takes. `what` names the argument in the message ("Barrier: n").
 *
 * @example
 * ```ts
 * const size = expectIntegerIn(capacity, "BufReader: capacity", 1, 2 ** 30);
 * ```
 */
export function expectIntegerIn(value: unknown, what: string, min: number, max: number): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    throw new OutOfRangeError(
      `${what} must be an integer from ${min} to ${max}, got ${describeValue(value)}`,
    );
  }
  return value;
}

/**
 * Throws {@link InvalidArgumentError} unless `value` is a function: for the callbacks an API
 * takes, so that a wrong argument fails where it is passed rather than later, inside a poll.
 * `where` names the API and `expected` what it takes ("a function (item) => U").
 *
 * @example
 * ```ts
 * expectFunction(fn, "Stream.map", "a function (item) => U");
 * ```
 */
export function expectFunction(value: unknown, where: string, expected = "a function"): void {
  if (typeof value !== "function") {
    throw new InvalidArgumentError(`${where}: expected ${expected}, got ${describeValue(value)}`);
  }
}

/** Describes a value for an error message: its type and, for small values, the value itself. */
export function describeValue(value: unknown): string {
  if (value === null) return "null";
  if (value === undefined) return "undefined";
  const type = typeof value;
  if (type === "function") {
    const name = (value as { name?: string }).name;
    return name ? `function ${name}` : "an anonymous function";
  }
  if (type === "object") {
    const ctor = (value as object).constructor;
    if (ctor === Object || ctor === undefined) return "a plain object";
    if (ctor === Promise) return "a Promise";
    return `an instance of ${ctor.name || "an anonymous class"}`;
  }
  if (type === "string") {
    const s = value as string;
    return `the string ${JSON.stringify(s.length > 40 ? `${s.slice(0, 40)}…` : s)}`;
  }
  return `${type} ${String(value)}`;
}
