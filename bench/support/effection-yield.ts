/**
 * Effection 4 has no `yieldNow`: `sleep(0)` is a host timer (`setTimeout`, >= 1 ms when nested).
 * The closest true yield is an action that resolves synchronously: Effection's reducer puts the
 * resumed routine at the back of its run queue, so every other ready routine runs first — the same
 * "go to the back of the ready queue" that `yieldNow` (waker), `Effect.yieldNow` and `await null`
 * give. It never touches the host event loop.
 */
import { action, type Operation } from "effection";

function noop(): void {}

/**
 * A cooperative yield for Effection: `yield* effectionYield` puts the current routine behind the
 * other ready ones. Actions are stateless, so this one operation is shared by every task.
 */
export const effectionYield: Operation<void> = action<void>((resolve) => {
  resolve();
  return noop;
}, "yield");
