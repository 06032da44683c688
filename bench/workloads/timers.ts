/**
 * timers: N concurrent sleeps with durations uniform in 1..1000 ms (whole ms, the same fixed-seed
 * durations for every implementation), each in its own task; the parent waits for all of them.
 * A run lasts about one second of wall time and is mostly idle, so the process CPU time it
 * consumes (all threads, GC included) is the overhead of the timers and of the tasks that hold
 * them: the primary value is CPU ns per timer. Each task also records its lateness,
 * `performance.now()` at completion minus (its start + its duration); mean, median and p99
 * lateness, the CPU and wall ms of the run and the count of timers that completed before their
 * deadline are reported as extra values. The check is the number of completed timers.
 *
 * Starting N tasks takes a while (tens to hundreds of ms at N = 1e5), and a timer due while the
 * starting code holds the thread can only fire after it: that shows in the mean and p99 lateness,
 * the median shows the typical timer. Durations start at 1 ms because each runtime treats
 * `sleep(0)` differently (waker completes at once, Effect yields, Node arms a 1 ms timer).
 */
import { setTimeout as nativeSleep } from "node:timers/promises";
import { Duration, Effect, Fiber } from "effect";
import {
  run as effectionRun,
  sleep as effectionSleep,
  spawn as effectionSpawn,
  type Operation,
  type Task,
} from "effection";
import { type AsyncGenerator, asyncFn, future, type JoinHandle, sleep } from "../../src/index.js";
import { type Sample, timed, type Workload } from "../harness.js";
import { durationTable } from "../support/durations.js";
import { wakerRuntime } from "../support/residents.js";

/** The durations of a run of size `n`: uniform in 1..1000 ms, seed 1. */
const durationsFor = durationTable(1, 1000, 1);

// Every task body is defined once, at module scope, as its runtime's idiom for "async fn". Each
// reads the clock just before its sleep and just after it, and stores its lateness at index `i`.

const wakerSleeper = asyncFn(function* (
  i: number,
  ms: number,
  late: Float64Array,
): AsyncGenerator<number> {
  const start = performance.now();
  yield* sleep(ms);
  late[i] = performance.now() - (start + ms);
  return 1;
});

async function nativeSleeper(i: number, ms: number, late: Float64Array): Promise<number> {
  const start = performance.now();
  await nativeSleep(ms);
  late[i] = performance.now() - (start + ms);
  return 1;
}

const effectSleeper = Effect.fnUntraced(function* (i: number, ms: number, late: Float64Array) {
  const start = performance.now();
  yield* Effect.sleep(Duration.millis(ms));
  late[i] = performance.now() - (start + ms);
  return 1;
});

function* effectionSleeper(i: number, ms: number, late: Float64Array): Operation<number> {
  const start = performance.now();
  yield* effectionSleep(ms);
  late[i] = performance.now() - (start + ms);
  return 1;
}

/** The extra values each sample reports, in column order. */
const EXTRAS = [
  "CPU ms",
  "wall ms",
  "late mean ms",
  "late p50 ms",
  "late p99 ms",
  "early",
] as const;

/**
 * Runs `body` (which starts one timer per duration, writes each lateness into `late` and resolves
 * to the number of completed timers) under {@link timed}, then turns the measurement into a
 * sample: CPU ns per timer as the value, lateness statistics as extras. Statistics are computed
 * after the timed part.
 */
async function measureTimers(
  n: number,
  body: (durations: Int32Array, late: Float64Array) => Promise<number>,
): Promise<Sample> {
  const durations = durationsFor(n);
  const late = new Float64Array(n).fill(Number.NaN);
  const sample = await timed(n, () => body(durations, late));
  const cpuPerTimer = sample.cpu ?? Number.NaN;
  let sum = 0;
  let early = 0;
  for (let i = 0; i < n; i++) {
    const l = late[i]!;
    sum += l;
    if (l < 0) early++;
  }
  const sorted = late.slice().sort();
  const extra: Record<(typeof EXTRAS)[number], number> = {
    "CPU ms": (cpuPerTimer * n) / 1e6,
    "wall ms": (sample.value * n) / 1e6,
    "late mean ms": sum / n,
    "late p50 ms": percentile(sorted, 0.5),
    "late p99 ms": percentile(sorted, 0.99),
    early,
  };
  // A timer that never recorded its lateness (NaN) makes the mean NaN: count only real ones.
  const recorded = late.reduce((count, l) => (Number.isNaN(l) ? count : count + 1), 0);
  return { value: cpuPerTimer, check: Math.min(sample.check, recorded), extra };
}

/** The `q`-quantile (nearest rank) of ascending `sorted`. */
function percentile(sorted: Float64Array, q: number): number {
  const n = sorted.length;
  return sorted[Math.min(n - 1, Math.max(0, Math.ceil(n * q) - 1))]!;
}

/** Native: `n` async calls, each `await setTimeout(ms)` from `node:timers/promises`; `Promise.all`. */
export function timersNative(n: number): Promise<Sample> {
  return measureTimers(n, async (durations, late) => {
    const ps: Promise<number>[] = [];
    for (let i = 0; i < n; i++) ps.push(nativeSleeper(i, durations[i]!, late));
    const outputs = await Promise.all(ps);
    let sum = 0;
    for (const v of outputs) sum += v;
    return sum;
  });
}

/** waker: `rt.spawn` of `n` `asyncFn` tasks that each `yield* sleep(ms)`, then `yield*` each handle. */
export function timersWaker(n: number): Promise<Sample> {
  const rt = wakerRuntime;
  return measureTimers(n, (durations, late) =>
    rt.run(
      future(function* () {
        const hs: JoinHandle<number>[] = [];
        for (let i = 0; i < n; i++) hs.push(rt.spawn(wakerSleeper(i, durations[i]!, late)));
        let sum = 0;
        for (const h of hs) sum += yield* h;
        return sum;
      }),
    ),
  );
}

/** Effect: `Effect.forkChild` of `n` fibers doing `Effect.sleep(Duration.millis(ms))`, then `Fiber.join` each. */
export function timersEffect(n: number): Promise<Sample> {
  return measureTimers(n, (durations, late) =>
    Effect.runPromise(
      Effect.gen(function* () {
        const fibers: Fiber.Fiber<number>[] = [];
        for (let i = 0; i < n; i++)
          fibers.push(yield* Effect.forkChild(effectSleeper(i, durations[i]!, late)));
        let sum = 0;
        for (const f of fibers) sum += yield* Fiber.join(f);
        return sum;
      }),
    ),
  );
}

/** Effection: `spawn` of `n` tasks that each `yield* sleep(ms)`, then `yield*` each task. */
export function timersEffection(n: number): Promise<Sample> {
  return measureTimers(n, (durations, late) =>
    effectionRun(function* () {
      const tasks: Task<number>[] = [];
      for (let i = 0; i < n; i++) {
        const ms = durations[i]!;
        tasks.push(yield* effectionSpawn(() => effectionSleeper(i, ms, late)));
      }
      let sum = 0;
      for (const t of tasks) sum += yield* t;
      return sum;
    }),
  );
}

/** The timers workload: N concurrent sleeps of 1..1000 ms; CPU per timer and lateness. */
export const timers: Workload = {
  name: "timers",
  description:
    "N concurrent sleeps, durations uniform in 1..1000 ms (fixed seed), each in its own task, all joined; value: process CPU ns per timer over the ~1 s run (CPU ms / N); extras: CPU and wall ms of the run, lateness = completion - (start + duration) by performance.now() (mean, p50, p99), early = timers that completed before their deadline",
  unit: "CPU ns/timer",
  sizes: [100_000, 1_000_000],
  quickSizes: [100_000],
  expected: (n) => n,
  // Every run sleeps about 1 s whatever N: only the rest grows with N.
  fixedSeconds: 1,
  extras: EXTRAS,
  implementations: {
    native: timersNative,
    waker: timersWaker,
    effect: timersEffect,
    effection: timersEffection,
  },
  notes: {
    native: "async fn: `await setTimeout(ms)` (node:timers/promises), Promise.all",
    waker: "asyncFn: `yield* sleep(ms)` (one timer wheel, one host timer), rt.spawn, yield* handle",
    effect:
      "Effect.fnUntraced: `Effect.sleep(Duration.millis(ms))` (one setTimeout per sleep), Effect.forkChild, Fiber.join",
    effection: "generator: `yield* sleep(ms)` (one setTimeout per sleep), spawn, yield* task",
  },
};
