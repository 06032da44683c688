import type { Context } from "../task/context.js";

/** Operations a task may perform on leaf resources in one poll before it must yield (tokio's 128). */
export const TASK_BUDGET = 128;

/**
 * The polling task's remaining budget: fields of a const object, not module `let`s, which V8
 * (Node 20) checks for initialization on every read and write (see "Hot imports" on Future).
 * `remaining` only ever holds small integers, so V8 keeps it untagged; the unlimited budget of a
 * poll outside the runtime is the `unlimited` flag rather than `Infinity` in `remaining`, which
 * would make every decrement floating-point arithmetic on a boxed number.
 */
const budget = { remaining: 0, unlimited: true };

/**
 * Spends one unit of the polling task's cooperative budget. Leaf resources (channels, timers,
 * sockets) call this before doing work that is ready at once; when it returns `false` the budget is
 * spent, the task has been woken, and the resource must return `Pending` so the task yields to the
 * others. Outside a runtime poll the budget is unlimited.
 *
 * @example
 * ```ts
 * poll(cx: Context): Poll<T> {
 *   if (consumeBudget(cx) === false) return Pending;
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
  return budgetSpent(cx);
}

/** Out of line, so that the callers' hot paths inline only the test above. */
function budgetSpent(cx: Context): boolean {
  if (budget.unlimited === true) return true;
  cx.waker.wakeByRef();
  return false;
}

/**
 * @internal The scheduler resets the budget before each task poll (`units`, an integer) and
 * after it (`Number.POSITIVE_INFINITY`: unlimited).
 */
export function resetBudget(units: number): void {
  if (units === Number.POSITIVE_INFINITY) {
    budget.remaining = 0;
    budget.unlimited = true;
  } else {
    budget.remaining = units;
    budget.unlimited = false;
  }
}

/** What is left of the current task poll's budget (for tests and tracing). */
export function remainingBudget(): number {
  return budget.unlimited === true ? Number.POSITIVE_INFINITY : budget.remaining;
}
