/**
 * spawn-join: the parent spawns N tasks that each yield once and return 1, then joins them all and
 * sums what they returned (the sum is the check). Cost per task: spawn, two polls (or resumptions),
 * completion and join.
 */
import { Effect, Fiber } from "effect";
import { run as effectionRun, spawn as effectionSpawn, type Operation, type Task } from "effection";
import {
  type AsyncGenerator,
  asyncFn,
  future,
  type JoinHandle,
  yieldNow,
} from "../../src/index.js";
import { type Sample, timed, type Workload } from "../harness.js";
import { effectionYield } from "../support/effection-yield.js";
import { wakerRuntime } from "../support/residents.js";

// Every task body is defined once, at module scope, as its runtime's idiom for "async fn".

const wakerTask = asyncFn(function* (): AsyncGenerator<number> {
  yield* yieldNow();
  return 1;
});

async function nativeTask(): Promise<number> {
  await null;
  return 1;
}

const effectTask = Effect.fnUntraced(function* () {
  yield* Effect.yieldNow;
  return 1;
});

function* effectionTask(): Operation<number> {
  yield* effectionYield;
  return 1;
}

/** Native: `n` async calls, each awaiting once, joined with `Promise.all`. */
export function spawnJoinNative(n: number): Promise<Sample> {
  return timed(n, async () => {
    const ps: Promise<number>[] = [];
    for (let i = 0; i < n; i++) ps.push(nativeTask());
    const outputs = await Promise.all(ps);
    let sum = 0;
    for (const v of outputs) sum += v;
    return sum;
  });
}

/** waker: `rt.spawn` of an `asyncFn` task that does one `yieldNow`, then `yield*` each handle. */
export function spawnJoinWaker(n: number): Promise<Sample> {
  const rt = wakerRuntime;
  return timed(n, () =>
    rt.run(
      future(function* () {
        const hs: JoinHandle<number>[] = [];
        for (let i = 0; i < n; i++) hs.push(rt.spawn(wakerTask()));
        let sum = 0;
        for (const h of hs) sum += yield* h;
        return sum;
      }),
    ),
  );
}

/** Effect: `Effect.forkChild` of an `Effect.fnUntraced` task doing `Effect.yieldNow`, then `Fiber.join` each. */
export function spawnJoinEffect(n: number): Promise<Sample> {
  const program = Effect.gen(function* () {
    const fibers: Fiber.Fiber<number>[] = [];
    for (let i = 0; i < n; i++) fibers.push(yield* Effect.forkChild(effectTask()));
    let sum = 0;
    for (const f of fibers) sum += yield* Fiber.join(f);
    return sum;
  });
  return timed(n, () => Effect.runPromise(program));
}

/** Effection: `spawn` of a generator task doing one cooperative yield, then `yield*` each task. */
export function spawnJoinEffection(n: number): Promise<Sample> {
  return timed(n, () =>
    effectionRun(function* () {
      const tasks: Task<number>[] = [];
      for (let i = 0; i < n; i++) tasks.push(yield* effectionSpawn(effectionTask));
      let sum = 0;
      for (const t of tasks) sum += yield* t;
      return sum;
    }),
  );
}

/** The spawn-join workload: N tasks that yield once, joined by their parent. */
export const spawnJoin: Workload = {
  name: "spawn-join",
  description: "parent spawns N tasks that each yield once, then joins them all (ns per task)",
  unit: "ns/task",
  sizes: [10_000, 100_000, 1_000_000],
  quickSizes: [10_000, 100_000],
  expected: (n) => n,
  implementations: {
    native: spawnJoinNative,
    waker: spawnJoinWaker,
    effect: spawnJoinEffect,
    effection: spawnJoinEffection,
  },
  notes: {
    native: "async fn with `await null`, Promise.all",
    waker: "asyncFn + yieldNow, rt.spawn, yield* handle",
    effect: "Effect.fnUntraced + Effect.yieldNow, Effect.forkChild, Fiber.join",
    effection: "spawn + synchronously resolved action as yield, yield* task",
  },
};
