import { describeValue, InvalidArgumentError } from "../task/errors.js";

/**
 * Runs `fn(arg)` inside a host async context captured earlier and returns what it returns (or
 * throws what it throws). Node's `AsyncLocalStorage.snapshot()` returns such a function.
 *
 * @example
 * ```ts
 * const resource = new AsyncResource("my.Task");
 * const scope: AsyncContextScope = (fn, arg) => resource.runInAsyncScope(fn, undefined, arg);
 * scope((n) => n + 1, 41); // 42, run in the context `resource` was created in
 * ```
 */
export type AsyncContextScope = <A, R>(fn: (arg: A) => R, arg: A) => R;

/**
 * How a runtime carries the host's async context (Node's `AsyncLocalStorage` stores) into its
 * tasks: `capture()` is called once per spawned task, in the spawner's context, and every poll of
 * that task runs inside what it returned. A task spawned from inside another task inherits that
 * task's context; one spawned from outside gets its caller's.
 *
 * Without a carrier, the host context seen inside a poll is whatever context armed the runtime's
 * drain: unrelated to the task. On Node, pass `nodeAsyncContext` from `waker/node`.
 *
 * @example
 * ```ts
 * const rt = new Runtime({ asyncContext: nodeAsyncContext });
 * requestId.run("r-42", () => rt.spawn(handle(conn))); // handle's polls see "r-42"
 * ```
 */
export interface AsyncContextCarrier {
  /** Captures the current host async context; the result runs a function inside it. */
  capture(): AsyncContextScope;
}

/** @internal Checks a `RuntimeOptions.asyncContext` value. */
export function checkAsyncContextCarrier(value: unknown): AsyncContextCarrier | null {
  if (value === undefined) return null;
  if (
    value === null ||
    typeof value !== "object" ||
    typeof (value as { capture?: unknown }).capture !== "function"
  ) {
    throw new InvalidArgumentError(
      `Runtime: asyncContext must be an object with a capture() method (nodeAsyncContext from waker/node), got ${describeValue(value)}`,
    );
  }
  return value as AsyncContextCarrier;
}
