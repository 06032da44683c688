/**
 * timer-churn: with K long sleeps already pending (each in its own task, 10 to 20 minutes, fixed
 * seed), one task inserts and cancels 100,000 more sleeps (10 to 20 minutes, fixed seed), one at a
 * time: create the sleep, poll it once so that it registers in the timer wheel, drop it. The value
 * is ns per insert + cancel; the size n is K. An O(1) timer structure shows about the same cost at
 * every K. This is the pattern of a server whose every request arms a timeout that it cancels when
 * the reply comes first.
 *
 * The check counts operations verified to have added exactly one entry to the runtime's wheel and
 * removed it again (`TimeDriver.pending`), so a sleep that did not register cannot pass as cheap.
 * After the timed part the K pending tasks are aborted (and waited for), and the wheel must be
 * back to where it started. The heap in use with the K sleeps pending is reported too: a larger
 * heap makes every allocation dearer (slower scavenges), timers or not.
 */
import {
  type AsyncGenerator,
  asyncFn,
  future,
  type JoinHandle,
  remainingBudget,
  sleep,
  yieldNow,
} from "../../src/index.js";
import { TimeDriver } from "../../src/time/time-driver.js";
import { TimerEntry, TimerWheel } from "../../src/time/timer-wheel.js";
import { collectGarbage, heapUsed, type Sample, timed, type Workload } from "../harness.js";
import { durationTable } from "../support/durations.js";
import { pollOnce } from "../support/poll-once.js";
import { wakerRuntime } from "../support/residents.js";

/** Insert + cancel operations per run, whatever K. */
const CHURN_OPS = 100_000;

const TEN_MINUTES = 600_000;
const TWENTY_MINUTES = 1_200_000;

/** Durations of the K pending sleeps. */
const pendingDurationsFor = durationTable(TEN_MINUTES, TWENTY_MINUTES, 2);
/** Durations of the inserted-and-cancelled sleeps (the same for every K and implementation). */
const churnDurations = durationTable(TEN_MINUTES, TWENTY_MINUTES, 3);

/** The extra value each sample reports: the V8 heap in use (MB) with the K sleeps pending. */
const HEAP_MB = "heap MB with K pending";

/**
 * waker only: ns per insert + remove on a bare `TimerWheel` holding K entries (no tasks, so no
 * heap of parked tasks): the cost of the wheel itself, which should not grow with K.
 */
const WHEEL_ONLY = "wheel alone ns/op";

/** Times CHURN_OPS insert + remove pairs on a bare wheel that already holds `k` entries. */
function wheelAloneNs(k: number): number {
  const wheel = new TimerWheel();
  const owner = { expire: () => {} };
  const long = pendingDurationsFor(k);
  for (let i = 0; i < k; i++) wheel.insert(new TimerEntry(owner), long[i]!);
  const durations = churnDurations(CHURN_OPS);
  const entry = new TimerEntry(owner);
  const start = process.hrtime.bigint();
  for (let i = 0; i < durations.length; i++) {
    wheel.insert(entry, durations[i]!);
    wheel.remove(entry);
  }
  const ns = Number(process.hrtime.bigint() - start) / CHURN_OPS;
  if (wheel.count !== k) throw new Error(`wheel alone: ${wheel.count} entries, expected ${k}`);
  return ns;
}

/**
 * Runs the churn under {@link timed} after a full GC (steady state: the setup's garbage is not
 * charged to the churn), and adds the heap in use after that GC as an extra value: with a large
 * heap every allocation costs more (V8's scavenges get slower), timers or not.
 */
async function measureChurn(body: () => Promise<number>): Promise<Sample> {
  collectGarbage();
  const heapMb = heapUsed() / 1e6;
  const sample = await timed(CHURN_OPS, body);
  return { ...sample, extra: { [HEAP_MB]: heapMb } };
}

// --- waker

/** How many of the K pending tasks have ended (they end only when aborted). */
interface Ended {
  count: number;
}

const wakerPendingSleeper = asyncFn(function* (ms: number, ended: Ended): AsyncGenerator<void> {
  try {
    yield* sleep(ms);
  } finally {
    ended.count++;
  }
});

/**
 * Inserts and cancels one sleep per duration; returns how many were verified to add exactly one
 * wheel entry and remove it. Yields when the task's cooperative budget is spent (a sleep polled
 * with no budget left returns `Pending` without registering, so the task must yield first).
 */
const wakerChurn = asyncFn(function* (
  durations: Int32Array,
  driver: TimeDriver,
): AsyncGenerator<number> {
  let verified = 0;
  for (let i = 0; i < durations.length; i++) {
    if (remainingBudget() === 0) yield* yieldNow();
    const before = driver.pending;
    const s = sleep(durations[i]!);
    const registered = (yield* pollOnce(s)) && driver.pending === before + 1;
    s.drop();
    if (registered && driver.pending === before) verified++;
  }
  return verified;
});

/**
 * Aborts every task of `handles` and waits until all have ended (their `finally` counts them).
 * Not joined: a join of an aborted task throws a `Cancelled` error, whose stack trace would make
 * the teardown of a million tasks take seconds.
 */
const abortAll = asyncFn(function* (
  handles: readonly JoinHandle<void>[],
  ended: Ended,
): AsyncGenerator<void> {
  for (const h of handles) h.abort();
  // The aborted tasks are ahead of this one in the FIFO ready queue: one yield is enough.
  for (let turns = 0; ended.count < handles.length; turns++) {
    if (turns === 100) throw new Error(`teardown: ${ended.count} of ${handles.length} tasks ended`);
    yield* yieldNow();
  }
});

/**
 * waker: `k` spawned tasks each pending on a long `sleep`; then one task creates 100,000 sleeps,
 * polls each once (it registers in the wheel) and drops it (it leaves the wheel).
 */
export async function timerChurnWaker(k: number): Promise<Sample> {
  const rt = wakerRuntime;
  const driver = TimeDriver.of(rt);
  const baseline = driver.pending;
  const long = pendingDurationsFor(k);
  const ended: Ended = { count: 0 };
  const handles = await rt.run(
    future(function* () {
      const hs: JoinHandle<void>[] = [];
      for (let i = 0; i < k; i++) hs.push(rt.spawn(wakerPendingSleeper(long[i]!, ended)));
      // The spawned tasks are ahead in the FIFO ready queue: each registers its sleep before the
      // root runs again.
      yield* yieldNow();
      return hs;
    }),
  );
  // Measure, then always tear down (abort the K tasks, wait for them) before reporting either
  // outcome.
  const outcome = await settle(async () => {
    if (driver.pending !== baseline + k) {
      throw new Error(`setup: ${driver.pending - baseline} of ${k} pending sleeps registered`);
    }
    const durations = churnDurations(CHURN_OPS);
    return measureChurn(() => rt.run(wakerChurn(durations, driver)));
  });
  await rt.run(abortAll(handles, ended));
  if (!outcome.ok) throw outcome.error;
  if (driver.pending !== baseline) {
    throw new Error(`teardown: ${driver.pending - baseline} timers left in the wheel`);
  }
  const sample = outcome.value;
  return { ...sample, extra: { ...sample.extra, [WHEEL_ONLY]: wheelAloneNs(k) } };
}

/** The outcome of `body`, error included, so that teardown can run before it is reported. */
async function settle<T>(
  body: () => Promise<T>,
): Promise<{ ok: true; value: T } | { ok: false; error: unknown }> {
  try {
    return { ok: true, value: await body() };
  } catch (error) {
    return { ok: false, error };
  }
}

// --- native

let nativeFired = 0;

function onNativeTimer(): void {
  nativeFired++;
}

/**
 * Native: `k` pending `setTimeout`s; then 100,000 times `clearTimeout(setTimeout(fn, ms))`. The
 * check fails if any timer fired.
 */
export async function timerChurnNative(k: number): Promise<Sample> {
  const long = pendingDurationsFor(k);
  const pending: NodeJS.Timeout[] = new Array(k);
  for (let i = 0; i < k; i++) pending[i] = setTimeout(onNativeTimer, long[i]!);
  const firedBefore = nativeFired;
  let sample: Sample;
  try {
    const durations = churnDurations(CHURN_OPS);
    sample = await measureChurn(async () => {
      let done = 0;
      for (let i = 0; i < durations.length; i++) {
        clearTimeout(setTimeout(onNativeTimer, durations[i]!));
        done++;
      }
      return done;
    });
  } finally {
    for (const t of pending) clearTimeout(t);
  }
  return nativeFired === firedBefore ? sample : { ...sample, check: -1 };
}

/** The timer-churn workload: insert + cancel cost of a sleep with K sleeps already pending. */
export const timerChurn: Workload = {
  name: "timer-churn",
  description:
    "with n = K long sleeps pending (10-20 min, one task each), insert + cancel 100,000 more sleeps (10-20 min) one at a time (ns per insert + cancel)",
  unit: "ns/op",
  sizes: [10_000, 100_000, 1_000_000],
  quickSizes: [10_000, 100_000],
  expected: () => CHURN_OPS,
  extras: [HEAP_MB, WHEEL_ONLY],
  implementations: {
    native: timerChurnNative,
    waker: timerChurnWaker,
    effect: {
      omitted:
        "Effect.sleep is one Node setTimeout per sleep (ClockImpl.sleepMillis in effect/dist/internal/effect.js): the native row is its timer cost",
    },
    effection: {
      omitted:
        "Effection's sleep is one Node setTimeout per sleep (effection/esm/lib/sleep.js): the native row is its timer cost",
    },
  },
  notes: {
    native: "K pending setTimeout handles; clearTimeout(setTimeout(fn, ms)) in a loop",
    waker:
      "K spawned tasks in `yield* sleep(ms)`; one task: sleep(ms), poll it once (bench/support/poll-once.ts), drop()",
  },
};
