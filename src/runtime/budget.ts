import type { Context } from "../task/context.js";

/** Operations a task may perform on leaf resources in one poll before it must yield (tokio's 128). */
export const TASK_BUDGET = 128;

/**
 * The polling task's remaining budget: a field of a const object, not a module `let`, which V8
 * (Node 20) checks for initialization on every read and write (see "Hot imports" on Future).
 */
const budget = { remaining: Number.POSITIVE_INFINITY };

/**
 * Spends one unit of the polling task's cooperative budget. Leaf resources (channels, timers,
 * sockets) call this before doing work that is ready at once; when it returns `false` the budget is
 * spent, the task has been woken, and the resource must return `Pending` so the task yields to the
 * others. Outside a runtime poll the budget is unlimited.
 *
 * @example
 * ```ts
 * poll(cx: Context): Poll<T> {
 *   if (!consumeBudget(cx)) return Pending;
 *   const item = this.queue.shift();
 *   ...
 * }
 * ```
 */
export function consumeBudget(cx: Context): boolean {
  if (budget.remaining > 0) {
    budget.remaining--;
    return true;
  }
  cx.waker.wakeByRef();
  return false;
}

/** @internal The scheduler resets the budget before each task poll. */
export function resetBudget(units: number): void {
  budget.remaining = units;
}

/** What is left of the current task poll's budget (for tests and tracing). */
export function remainingBudget(): number {
  return budget.remaining;
}
