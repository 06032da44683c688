import { availableParallelism } from "node:os";
import { Piscina } from "piscina";
import type { Future } from "../future/future.js";
import { fromPromise } from "../future/promise.js";
import { describeValue, InvalidArgumentError } from "../task/errors.js";

let pool: Piscina | null = null;

function workerPool(): Piscina {
  pool ??= new Piscina({
    filename: new URL("./blocking-worker.js", import.meta.url).href,
    // At least two threads, so a short job is not stuck behind a long one on a small machine.
    maxThreads: Math.max(2, availableParallelism()),
    idleTimeout: 1000,
  });
  return pool;
}

/**
 * Runs CPU-heavy work on a pool of worker threads (piscina: a maintained pool with queueing,
 * cancellation and thread recycling) and returns its result as a future, so the event loop and
 * every other task keep running meanwhile.
 *
 * `fn` runs in another thread: it must be self-contained (no variables captured from outside,
 * its source is sent), and `args` and the result must be structured-cloneable.
 *
 * @example
 * ```ts
 * const primes = yield* spawnBlocking((n: number) => {
 *   let count = 0;
 *   for (let i = 2; i < n; i++) { let p = true; for (let d = 2; d * d <= i; d++) if (i % d === 0) { p = false; break; } if (p) count++; }
 *   return count;
 * }, 5_000_000);
 * ```
 * @throws the error `fn` threw (re-created in this thread), or an abort error when dropped.
 * @throws {InvalidArgumentError} when `fn` is not a function.
 *
 * Cancel safety: dropping the future aborts the job: a queued job never starts, and a running
 * one's worker thread is terminated.
 */
export function spawnBlocking<A extends unknown[], T>(
  fn: (...args: A) => T,
  ...args: A
): Future<Awaited<T>> {
  if (typeof fn !== "function") {
    throw new InvalidArgumentError(`spawnBlocking: expected a function, got ${describeValue(fn)}`);
  }
  const source = fn.toString();
  return fromPromise(
    (signal) => workerPool().run({ source, args }, { signal }) as Promise<Awaited<T>>,
  );
}
