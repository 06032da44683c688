/**
 * The runtimes the workloads run on, each with a resident: a parked task awaiting a parked child,
 * alive for the whole benchmark, as every long-running program has.
 *
 * Why: the harness forces a full GC before every run. If at that moment a runtime has no live
 * object of its own classes (task, future, awaiter, fiber...), V8 collects the hidden classes
 * (maps) its optimized code was specialized for and discards that code ("weak objects" deopts), so
 * every round would re-optimize from scratch. Measured here before residents: waker spawn-join at
 * N = 1e4 swung between 0.3 and 10 µs per task and Effect's from 3 to 12 µs; with residents both
 * settle near their steady state. Native promises use built-in maps, which never die.
 *
 * waker runs every workload on one shared `Runtime`, as Effect does on its default runtime and
 * Effection on its global scope (a fresh `Runtime` per run also re-creates the platform closures
 * that optimized code inlines as call targets).
 */
import { Deferred, Effect, Fiber } from "effect";
import { run as effectionRun, spawn as effectionSpawn, suspend } from "effection";
import {
  type AsyncGenerator,
  asyncFn,
  type Future,
  type JoinHandle,
  pending,
  Runtime,
  yieldNow,
} from "../../src/index.js";

/** The one waker runtime every waker workload runs on. */
export const wakerRuntime: Runtime = new Runtime();

const parkedChild = asyncFn(function* (): AsyncGenerator<void> {
  yield* pending<void>();
});

const parkedParent = asyncFn(function* (rt: Runtime): AsyncGenerator<void> {
  const child = rt.spawn(parkedChild());
  yield* child;
});

/** Objects kept reachable for the whole run. */
const kept: unknown[] = [];

let started = false;

/**
 * Parks one resident in each runtime (idempotent): waker — a task awaiting a spawned child that
 * waits forever, and one unpolled `yieldNow()`; Effect — a fiber joining a forked child suspended
 * on a `Deferred`; Effection — a task awaiting a spawned child in `suspend()`. None holds a host
 * handle, so the process still exits when the benchmark is done.
 */
export function startResidents(): void {
  if (started) return;
  started = true;
  const wakerParent: JoinHandle<void> = wakerRuntime.spawn(parkedParent(wakerRuntime));
  const unpolledYield: Future<void> = yieldNow();
  kept.push(wakerParent, unpolledYield);

  const gate = Deferred.makeUnsafe<void>();
  kept.push(
    gate,
    Effect.runFork(
      Effect.gen(function* () {
        const child = yield* Effect.forkChild(Deferred.await(gate));
        yield* Fiber.join(child);
      }),
    ),
  );

  kept.push(
    effectionRun(function* () {
      const child = yield* effectionSpawn(suspend);
      yield* child;
    }),
  );
}
