import type { Context } from "../task/context.js";
import { Pending, type Poll } from "../task/poll.js";
import type { Future } from "./future.js";

/** Collects the errors of several cleanups; more than one become an `AggregateError`. */
export class CleanupErrors {
  has = false;
  error: unknown = undefined;

  add(error: unknown): void {
    if (!this.has) {
      this.has = true;
      this.error = error;
    } else {
      const previous = this.error instanceof AggregateError ? this.error.errors : [this.error];
      this.error = new AggregateError([...previous, error], "several cleanups failed");
    }
  }

  /** Throws the collected error, if any, and forgets it. */
  throwIfAny(): void {
    if (!this.has) return;
    const error = this.error;
    this.has = false;
    this.error = undefined;
    throw error;
  }
}

/**
 * Drives `pollDrop` of every non-null entry of `children`, nulling out those whose cleanup is done.
 * `Pending` while any cleanup still waits. Cleanup errors go to `errors`.
 */
export function pollDropEach(
  children: (Future<unknown> | null)[],
  cx: Context,
  errors: CleanupErrors,
): Poll<void> {
  let waiting = false;
  for (let i = 0; i < children.length; i++) {
    const child = children[i];
    if (child == null) continue;
    let r: Poll<void>;
    try {
      r = child.pollDrop(cx);
    } catch (error) {
      errors.add(error);
      children[i] = null;
      continue;
    }
    if (r === Pending) waiting = true;
    else children[i] = null;
  }
  return waiting ? Pending : undefined;
}
