import type { Future } from "../future/future.js";
import { currentRuntimeOrNull } from "./current.js";
import type { JoinHandle } from "./join-handle.js";
import { Runtime, type SpawnOptions } from "./runtime.js";

let defaultRuntime: Runtime | null = null;

/** @internal The runtime polling now, or the default runtime. */
export function currentOrDefaultRuntime(): Runtime {
  return currentRuntimeOrNull() ?? getDefaultRuntime();
}

/**
 * The process-wide runtime that `spawn`, `run` and `main` use outside of any other runtime,
 * created on first use with default options.
 *
 * @example
 * ```ts
 * console.log(getDefaultRuntime().dump().toString());
 * ```
 */
export function getDefaultRuntime(): Runtime {
  defaultRuntime ??= new Runtime();
  return defaultRuntime;
}

/**
 * Spawns `fut` on the runtime polling now (inside a task), else on the default runtime.
 *
 * @example
 * ```ts
 * const handle = spawn(fetchUser(7));
 * const user = yield* handle;
 * ```
 * @throws {InvalidArgumentError} when `fut` is not a future.
 */
export function spawn<T>(fut: Future<T>, options?: SpawnOptions): JoinHandle<T> {
  return currentOrDefaultRuntime().spawn(fut, options);
}

/**
 * Runs `fut` as a root task of the default runtime: see {@link Runtime.run}.
 *
 * @example
 * ```ts
 * const n = await run(countLines("README.md"));
 * ```
 * @throws {DeadlockError} (as a rejection) when the root can never complete.
 */
export function run<T>(fut: Future<T>): Promise<T> {
  return getDefaultRuntime().run(fut);
}
