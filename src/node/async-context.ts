import { AsyncResource } from "node:async_hooks";
import type { AsyncContextCarrier, AsyncContextScope } from "../runtime/async-context.js";

/**
 * Carries Node's async context (every `AsyncLocalStorage` store) into a runtime's tasks: pass it
 * as `RuntimeOptions.asyncContext`. Each task's polls then run in the context it was spawned in,
 * captured in an `AsyncResource`; a task spawned by another task inherits that
 * task's stores. `store.run(value, fn)` inside a poll scopes `value` to `fn`, as anywhere; a store
 * set with `enterWith` stays with that task (on Node 20 for the rest of the task, as it would for
 * the rest of an async function) and never reaches another task.
 *
 * Cost (`node dist/bench/async-context.js`: CPU ns per operation on this project's 2-core machine,
 * Node 20, medians of 3 runs of 5): a task switch (`yield* yieldNow()`) goes from ~81 to ~95 ns and
 * a spawn plus join from ~1.2 to ~1.6 µs. Native async/await pays more once any `AsyncLocalStorage`
 * is in use (Node 20 then installs promise hooks): `await null` goes from ~49 to ~137 ns and an
 * async call plus await from ~0.27 to ~1.0 µs.
 *
 * @example
 * ```ts
 * import { AsyncResource } from "node:async_hooks";
 * import { future, Runtime, yieldNow } from "waker";
 * import { nodeAsyncContext } from "waker/node";
 *
 * const requestId = new AsyncLocalStorage<string>();
 * const rt = new Runtime({ asyncContext: nodeAsyncContext });
 * const id = await requestId.run("r-42", () =>
 *   rt.run(
 *     future(function* () {
 *       yield* yieldNow();
 *       return requestId.getStore(); // "r-42", on every poll
 *     }),
 *   ),
 * );
 * ```
 */
export const nodeAsyncContext: AsyncContextCarrier = {
  // An AsyncResource per task (~0.1 µs; AsyncLocalStorage.snapshot() costs ~8 µs on Node 20).
  capture: (): AsyncContextScope => {
    const resource = new AsyncResource("waker.Task");
    return (fn, arg) => resource.runInAsyncScope(fn, undefined, arg);
  },
};
