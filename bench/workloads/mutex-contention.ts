/**
 * mutex-contention: 1,000 tasks each lock one mutex N / 1,000 times. Inside the lock a task reads
 * the protected counter, yields to the scheduler once, and writes the counter + 1: the yield
 * makes every other task find the lock taken, so each lock is contended (the waiter is queued,
 * the unlock hands the lock to the oldest waiter and wakes it). Without mutual exclusion,
 * increments would be lost: the check is the counter's final value, N.
 */
import { Effect, Fiber, Semaphore } from "effect";
import {
  type AsyncGenerator,
  asyncFn,
  future,
  type JoinHandle,
  Mutex,
  yieldNow,
} from "../../src/index.js";
import { type Sample, timed, type Workload } from "../harness.js";
import { contentionOps, contentionShape } from "../support/contention.js";
import { PromiseMutex } from "../support/promise-lock.js";
import { wakerRuntime } from "../support/residents.js";

/** The counter a native or Effect mutex protects (waker's `Mutex` holds its value itself). */
interface Counter {
  value: number;
}

const wakerLocker = asyncFn(function* (
  mutex: Mutex<number>,
  iterations: number,
): AsyncGenerator<void> {
  for (let i = 0; i < iterations; i++) {
    const guard = yield* mutex.lock();
    try {
      const value = guard.value;
      yield* yieldNow();
      guard.value = value + 1;
    } finally {
      guard.release();
    }
  }
});

async function nativeLocker(
  mutex: PromiseMutex,
  counter: Counter,
  iterations: number,
): Promise<void> {
  for (let i = 0; i < iterations; i++) {
    await mutex.lock();
    try {
      const value = counter.value;
      await null;
      counter.value = value + 1;
    } finally {
      mutex.unlock();
    }
  }
}

const effectIncrement = Effect.fnUntraced(function* (counter: Counter) {
  const value = counter.value;
  yield* Effect.yieldNow;
  counter.value = value + 1;
});

const effectLocker = Effect.fnUntraced(function* (
  mutex: Semaphore.Semaphore,
  counter: Counter,
  iterations: number,
) {
  for (let i = 0; i < iterations; i++) yield* mutex.withPermit(effectIncrement(counter));
});

/** Native: async fns around a {@link PromiseMutex}: `await lock()`, try/finally `unlock()`. */
export function mutexContentionNative(n: number): Promise<Sample> {
  const { tasks, iterations } = contentionShape(n);
  return timed(tasks * iterations, async () => {
    const mutex = new PromiseMutex();
    const counter: Counter = { value: 0 };
    const ps: Promise<void>[] = [];
    for (let t = 0; t < tasks; t++) ps.push(nativeLocker(mutex, counter, iterations));
    await Promise.all(ps);
    return counter.value;
  });
}

/** waker: `rt.spawn` of `asyncFn` tasks: `yield* mutex.lock()`, try/finally `guard.release()`. */
export function mutexContentionWaker(n: number): Promise<Sample> {
  const { tasks, iterations } = contentionShape(n);
  const rt = wakerRuntime;
  return timed(tasks * iterations, () =>
    rt.run(
      future(function* () {
        const mutex = new Mutex(0);
        const hs: JoinHandle<void>[] = [];
        for (let t = 0; t < tasks; t++) hs.push(rt.spawn(wakerLocker(mutex, iterations)));
        for (const h of hs) yield* h;
        const guard = yield* mutex.lock();
        const value = guard.value;
        guard.release();
        return value;
      }),
    ),
  );
}

/**
 * Effect: `Effect.forkChild` of fibers doing `mutex.withPermit(increment)` on a
 * `Semaphore.make(1)` (Effect 4 has no separate mutex), then `Fiber.join` each.
 */
export function mutexContentionEffect(n: number): Promise<Sample> {
  const { tasks, iterations } = contentionShape(n);
  const program = Effect.gen(function* () {
    const mutex = yield* Semaphore.make(1);
    const counter: Counter = { value: 0 };
    const fibers: Fiber.Fiber<void>[] = [];
    for (let t = 0; t < tasks; t++) {
      fibers.push(yield* Effect.forkChild(effectLocker(mutex, counter, iterations)));
    }
    for (const f of fibers) yield* Fiber.join(f);
    return counter.value;
  });
  return timed(tasks * iterations, () => Effect.runPromise(program));
}

/** The mutex-contention workload: 1,000 tasks locking one mutex, a yield inside each lock. */
export const mutexContention: Workload = {
  name: "mutex-contention",
  description:
    "1,000 tasks each lock a mutex N/1,000 times, yielding once while holding it (ns per lock/unlock)",
  unit: "ns/lock",
  sizes: [100_000, 1_000_000],
  quickSizes: [100_000],
  expected: contentionOps,
  implementations: {
    native: mutexContentionNative,
    waker: mutexContentionWaker,
    effect: mutexContentionEffect,
    effection: { omitted: "Effection 4 has no mutex or semaphore" },
  },
  notes: {
    native:
      "bench/support/promise-lock.ts PromiseMutex (FIFO): await lock(), `await null` inside, unlock() in finally",
    waker: "Mutex(0): yield* mutex.lock(), yield* yieldNow() inside, guard.release() in finally",
    effect:
      "Semaphore.make(1): mutex.withPermit(effect with Effect.yieldNow inside) (each release scans every queued waiter: Array.from of its waiter Set)",
  },
};
