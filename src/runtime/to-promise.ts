import type { Future } from "../future/future.js";
import { currentOrDefaultRuntime } from "./default-runtime.js";

/**
 * Runs `fut` as a root task of the runtime polling now (or of the default runtime) and returns a
 * promise of its outcome: the bridge from futures to `await`.
 *
 * @example
 * ```ts
 * app.get("/user/:id", async (req, res) => {
 *   res.json(await toPromise(loadUser(req.params.id)));
 * });
 * ```
 * @throws (as a rejection) the future's error, or `DeadlockError` when it can never complete.
 */
export function toPromise<T>(fut: Future<T>): Promise<T> {
  return currentOrDefaultRuntime().run(fut);
}
