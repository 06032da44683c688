/**
 * Shared plumbing of the Runtime properties of the sync tests: scenarios made of tasks spawned on
 * a FIFO or seeded-random runtime, a controller task that aborts some of them at random points,
 * and the two ways to drive a scenario (synchronously to quiescence, or through `rt.run`).
 */
import fc from "fast-check";
import {
  type AsyncGenerator,
  Cancelled,
  type Future,
  future,
  type JoinHandle,
  type Receiver,
  type Runtime,
  yieldNow,
} from "../../src/index.js";
import {
  describeScheduling,
  expectFinished,
  fcParams,
  runtimeFor,
  runWatched,
  type Scheduling,
  schedulingArb,
  settle,
} from "./support.js";

/** How a scenario spawns its tasks. */
export type Spawn = <T>(f: Future<T>) => JoinHandle<T>;

/** Abort task `target` after `after` controller yields. */
export interface Abort {
  readonly after: number;
  readonly target: number;
}

/** What every Runtime scenario has: random aborts and a scheduling policy. */
export interface RuntimeScenario {
  readonly aborts: readonly Abort[];
  readonly scheduling: Scheduling;
}

/**
 * A scenario arbitrary: the record of `fields`, then `aborts` (at most `maxAborts`, each after
 * 0..`maxAfter` controller yields) and `scheduling`; each abort's target is reduced modulo
 * `targets(scenario)`, the number of tasks that may be aborted.
 */
export function scenarioArbitrary<F extends object>(
  fields: { [K in keyof F]: fc.Arbitrary<F[K]> },
  aborts: { readonly maxAfter: number; readonly maxAborts: number },
  targets: (s: F) => number,
): fc.Arbitrary<F & RuntimeScenario> {
  return fc
    .record({
      ...fields,
      aborts: fc.array(
        fc.record({ after: fc.integer({ min: 0, max: aborts.maxAfter }), target: fc.nat() }),
        { maxLength: aborts.maxAborts },
      ),
      scheduling: schedulingArb,
    } as { [K in keyof (F & RuntimeScenario)]: fc.Arbitrary<(F & RuntimeScenario)[K]> })
    .map((s) => ({
      ...s,
      aborts: s.aborts.map((a) => ({ after: a.after, target: a.target % targets(s) })),
    }));
}

/**
 * Spawns the controller: it aborts `tasks[a.target]` for each abort `a`, in the order of `after`
 * (read when the abort happens, so tasks pushed later may be targets too).
 */
export function spawnAborter(
  spawn: Spawn,
  aborts: readonly Abort[],
  tasks: readonly JoinHandle<unknown>[],
): JoinHandle<void> {
  const sorted = [...aborts].sort((a, b) => a.after - b.after);
  return spawn(
    future(function* () {
      let t = 0;
      for (const a of sorted) {
        for (; t < a.after; t++) yield* yieldNow();
        tasks[a.target]!.abort();
      }
    }),
  );
}

/** Inside a task: waits for every handle in turn; an aborted task (Cancelled) is fine. */
export function* joinAll(handles: readonly JoinHandle<unknown>[]): AsyncGenerator<void> {
  for (const h of handles) {
    yield* h.catch((e) => {
      if (!(e instanceof Cancelled)) throw e;
    });
  }
}

/** Takes what is buffered in `rx` until it is empty or ended. */
export function drain<V>(rx: Receiver<V>): V[] {
  const out: V[] = [];
  for (;;) {
    try {
      const v = rx.tryRecv();
      if (v === undefined) return out;
      out.push(v);
    } catch {
      return out;
    }
  }
}

/** A property over scenarios, each on its own runtime (`label` names the scheduling). */
export function runtimeProperty<S extends RuntimeScenario>(
  arb: fc.Arbitrary<S>,
  runs: number,
  body: (s: S, rt: Runtime, label: string) => void,
): void {
  fc.assert(
    fc.property(arb, (s) => {
      const label = describeScheduling(s.scheduling);
      body(s, runtimeFor(s.scheduling), label);
    }),
    fcParams(runs),
  );
}

/** {@link runtimeProperty} with an asynchronous body. */
export async function runtimeAsyncProperty<S extends RuntimeScenario>(
  arb: fc.Arbitrary<S>,
  runs: number,
  body: (s: S, rt: Runtime, label: string) => Promise<void>,
): Promise<void> {
  await fc.assert(
    fc.asyncProperty(arb, async (s) => {
      const label = describeScheduling(s.scheduling);
      await body(s, runtimeFor(s.scheduling), label);
    }),
    fcParams(runs),
  );
}

/** What a scenario started: the tasks to wait for, and whatever the check needs. */
export interface Started {
  readonly handles: readonly JoinHandle<unknown>[];
}

/**
 * Starts each scenario on a runtime, polls it to quiescence synchronously, asserts every task in
 * `handles` finished (no lost wakeup), then runs `check`.
 */
export function settledProperty<S extends RuntimeScenario, R extends Started>(
  arb: fc.Arbitrary<S>,
  runs: number,
  start: (s: S, spawn: Spawn) => R,
  check: (s: S, started: R, label: string, rt: Runtime) => void,
): void {
  runtimeProperty(arb, runs, (s, rt, label) => {
    const started = start(s, (f) => rt.spawn(f));
    settle(rt);
    expectFinished(rt, started.handles, label);
    check(s, started, label, rt);
  });
}

/**
 * The same scenarios through `rt.run` (with {@link runWatched} as the watchdog): a root task
 * starts the scenario and waits for every task in `handles`, then `check` runs.
 */
export function runProperty<S extends RuntimeScenario, R extends Started>(
  arb: fc.Arbitrary<S>,
  runs: number,
  start: (s: S, spawn: Spawn) => R,
  check: (s: S, started: R, label: string) => void,
): Promise<void> {
  return runtimeAsyncProperty(arb, runs, async (s, rt, label) => {
    let started: R | null = null;
    await runWatched(
      rt,
      future(function* () {
        const tasks = start(s, (f) => rt.spawn(f));
        started = tasks;
        yield* joinAll(tasks.handles);
      }),
      label,
    );
    check(s, started!, label);
  });
}
