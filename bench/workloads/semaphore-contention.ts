/**
 * semaphore-contention: 1,000 tasks each acquire a permit of one `Semaphore(10)` N / 1,000 times,
 * yield to the scheduler once while holding it, and release it: ten tasks hold a permit at any
 * time and the other 990 wait in the queue. Each task counts its acquisitions and tracks how many
 * holders there are at once: the check is the number of acquisitions (N) when the most holders
 * seen at once is exactly 10 (never more, and the permits were really shared), a wrong value
 * otherwise.
 */
import { Effect, Semaphore as EffectSemaphore, Fiber } from "effect";
import {
  type AsyncGenerator,
  asyncFn,
  future,
  type JoinHandle,
  Semaphore,
  yieldNow,
} from "../../src/index.js";
import { type Sample, timed, type Workload } from "../harness.js";
import { contentionOps, contentionShape } from "../support/contention.js";
import { PromiseSemaphore } from "../support/promise-lock.js";
import { wakerRuntime } from "../support/residents.js";

/** Permits of the semaphore. */
const PERMITS = 10;

/** What the tasks record while holding a permit. */
interface Occupancy {
  /** Tasks holding a permit now. */
  inside: number;
  /** The most tasks seen holding a permit at once. */
  most: number;
  /** Completed acquisitions. */
  acquisitions: number;
}

function newOccupancy(): Occupancy {
  return { inside: 0, most: 0, acquisitions: 0 };
}

/** The check: the acquisitions when exactly {@link PERMITS} were held at once, else `-most`. */
function checkOf(occupancy: Occupancy): number {
  return occupancy.most === PERMITS ? occupancy.acquisitions : -occupancy.most;
}

const wakerHolder = asyncFn(function* (
  semaphore: Semaphore,
  occupancy: Occupancy,
  iterations: number,
): AsyncGenerator<void> {
  for (let i = 0; i < iterations; i++) {
    const permit = yield* semaphore.acquire();
    try {
      if (++occupancy.inside > occupancy.most) occupancy.most = occupancy.inside;
      yield* yieldNow();
      occupancy.inside--;
      occupancy.acquisitions++;
    } finally {
      permit.release();
    }
  }
});

async function nativeHolder(
  semaphore: PromiseSemaphore,
  occupancy: Occupancy,
  iterations: number,
): Promise<void> {
  for (let i = 0; i < iterations; i++) {
    await semaphore.acquire();
    try {
      if (++occupancy.inside > occupancy.most) occupancy.most = occupancy.inside;
      await null;
      occupancy.inside--;
      occupancy.acquisitions++;
    } finally {
      semaphore.release();
    }
  }
}

const effectHold = Effect.fnUntraced(function* (occupancy: Occupancy) {
  if (++occupancy.inside > occupancy.most) occupancy.most = occupancy.inside;
  yield* Effect.yieldNow;
  occupancy.inside--;
  occupancy.acquisitions++;
});

const effectHolder = Effect.fnUntraced(function* (
  semaphore: EffectSemaphore.Semaphore,
  occupancy: Occupancy,
  iterations: number,
) {
  for (let i = 0; i < iterations; i++) yield* semaphore.withPermit(effectHold(occupancy));
});

/** Native: async fns around a {@link PromiseSemaphore}: `await acquire()`, try/finally `release()`. */
export function semaphoreContentionNative(n: number): Promise<Sample> {
  const { tasks, iterations } = contentionShape(n);
  return timed(tasks * iterations, async () => {
    const semaphore = new PromiseSemaphore(PERMITS);
    const occupancy = newOccupancy();
    const ps: Promise<void>[] = [];
    for (let t = 0; t < tasks; t++) ps.push(nativeHolder(semaphore, occupancy, iterations));
    await Promise.all(ps);
    return checkOf(occupancy);
  });
}

/** waker: `rt.spawn` of `asyncFn` tasks: `yield* sem.acquire()`, try/finally `permit.release()`. */
export function semaphoreContentionWaker(n: number): Promise<Sample> {
  const { tasks, iterations } = contentionShape(n);
  const rt = wakerRuntime;
  return timed(tasks * iterations, () =>
    rt.run(
      future(function* () {
        const semaphore = new Semaphore(PERMITS);
        const occupancy = newOccupancy();
        const hs: JoinHandle<void>[] = [];
        for (let t = 0; t < tasks; t++) {
          hs.push(rt.spawn(wakerHolder(semaphore, occupancy, iterations)));
        }
        for (const h of hs) yield* h;
        return checkOf(occupancy);
      }),
    ),
  );
}

/** Effect: `Effect.forkChild` of fibers doing `semaphore.withPermit(hold)`, then `Fiber.join` each. */
export function semaphoreContentionEffect(n: number): Promise<Sample> {
  const { tasks, iterations } = contentionShape(n);
  const program = Effect.gen(function* () {
    const semaphore = yield* EffectSemaphore.make(PERMITS);
    const occupancy = newOccupancy();
    const fibers: Fiber.Fiber<void>[] = [];
    for (let t = 0; t < tasks; t++) {
      fibers.push(yield* Effect.forkChild(effectHolder(semaphore, occupancy, iterations)));
    }
    for (const f of fibers) yield* Fiber.join(f);
    return checkOf(occupancy);
  });
  return timed(tasks * iterations, () => Effect.runPromise(program));
}

/** The semaphore-contention workload: 1,000 tasks sharing 10 permits, a yield inside each. */
export const semaphoreContention: Workload = {
  name: "semaphore-contention",
  description:
    "1,000 tasks each acquire a Semaphore(10) permit N/1,000 times, yielding once while holding it (ns per acquire/release)",
  unit: "ns/acquire",
  sizes: [100_000, 1_000_000],
  quickSizes: [100_000],
  expected: contentionOps,
  implementations: {
    native: semaphoreContentionNative,
    waker: semaphoreContentionWaker,
    effect: semaphoreContentionEffect,
    effection: { omitted: "Effection 4 has no mutex or semaphore" },
  },
  notes: {
    native:
      "bench/support/promise-lock.ts PromiseSemaphore(10) (FIFO): await acquire(), `await null` inside, release() in finally",
    waker:
      "Semaphore(10): yield* sem.acquire(), yield* yieldNow() inside, permit.release() in finally",
    effect:
      "Semaphore.make(10): semaphore.withPermit(effect with Effect.yieldNow inside) (each release scans every queued waiter: Array.from of its waiter Set)",
  },
};
