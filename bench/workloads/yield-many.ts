/**
 * yield-many: one task yields N times to its scheduler, then returns N (the check). Cost per
 * yield: leave the ready queue and come back, with nothing else to run.
 */
import { Effect } from "effect";
import { run as effectionRun, type Operation } from "effection";
import { type AsyncGenerator, asyncFn, yieldNow } from "../../src/index.js";
import { type Sample, timed, type Workload } from "../harness.js";
import { effectionYield } from "../support/effection-yield.js";
import { wakerRuntime } from "../support/residents.js";

const wakerYielder = asyncFn(function* (n: number): AsyncGenerator<number> {
  let count = 0;
  for (let i = 0; i < n; i++) {
    yield* yieldNow();
    count++;
  }
  return count;
});

async function nativeYielder(n: number): Promise<number> {
  let count = 0;
  for (let i = 0; i < n; i++) {
    await null;
    count++;
  }
  return count;
}

const effectYielder = Effect.fnUntraced(function* (n: number) {
  let count = 0;
  for (let i = 0; i < n; i++) {
    yield* Effect.yieldNow;
    count++;
  }
  return count;
});

function* effectionYielder(n: number): Operation<number> {
  let count = 0;
  for (let i = 0; i < n; i++) {
    yield* effectionYield;
    count++;
  }
  return count;
}

/** Native: `await null` N times. */
export function yieldManyNative(n: number): Promise<Sample> {
  return timed(n, () => nativeYielder(n));
}

/** waker: `yield* yieldNow()` N times in one `asyncFn` task. */
export function yieldManyWaker(n: number): Promise<Sample> {
  const rt = wakerRuntime;
  return timed(n, () => rt.run(wakerYielder(n)));
}

/** Effect: `yield* Effect.yieldNow` N times (each is a trip through Effect's scheduler). */
export function yieldManyEffect(n: number): Promise<Sample> {
  return timed(n, () => Effect.runPromise(effectYielder(n)));
}

/** Effection: N cooperative yields (see `support/effection-yield.ts`). */
export function yieldManyEffection(n: number): Promise<Sample> {
  return timed(n, () => effectionRun(() => effectionYielder(n)));
}

/** The yield-many workload: one task yielding N times. */
export const yieldMany: Workload = {
  name: "yield-many",
  description: "one task yields N times (ns per yield)",
  unit: "ns/yield",
  sizes: [1_000_000],
  quickSizes: [100_000],
  expected: (n) => n,
  implementations: {
    native: yieldManyNative,
    waker: yieldManyWaker,
    effect: yieldManyEffect,
    effection: yieldManyEffection,
  },
  notes: {
    native: "`await null` (one microtask)",
    waker: "yield* yieldNow() (back of the ready queue; a setImmediate every 1024 polls or 4 ms)",
    effect: "yield* Effect.yieldNow (Effect's scheduler: a setImmediate per batch of ready fibers)",
    effection: "synchronously resolved action (back of Effection's reducer queue, never the host)",
  },
};
