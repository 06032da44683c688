/**
 * Model-based properties of Notify: by hand (MockTask) against a reference model of tokio's Notify
 * (one stored permit, FIFO notifyOne, notifyWaiters for futures created before the call, a dropped
 * future passes on a notifyOne it did not report), and as waiter tasks on FIFO and seeded-random
 * runtimes with random aborts.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { future, type JoinHandle, Notify, type Runtime, yieldNow } from "../../src/index.js";
import { MockTask } from "../../src/testing/index.js";
import {
  joinAll,
  type RuntimeScenario,
  runtimeAsyncProperty,
  type Spawn,
  scenarioArbitrary,
  settledProperty,
  spawnAborter,
} from "./scenario.js";
import {
  attempt,
  checkedBy,
  expectFinished,
  expectPending,
  expectQueued,
  expectReady,
  fcParams,
  finishOp,
  onSomeOp,
  plain,
  recent,
  runSteps,
  runWatched,
  settle,
  show,
} from "./support.js";

interface Op {
  readonly id: number;
  readonly task: MockTask<void>;
  /** Model: the notifyWaiters epoch when the future was created. */
  readonly epoch: number;
  parked: boolean;
  entered: boolean;
  /** Model: notified while waiting (by notifyOne if `byOne`). */
  notified: boolean;
  byOne: boolean;
}

interface World {
  readonly notify: Notify;
  ops: Op[];
  nextOp: number;
  log: string[];
  // The model.
  permit: boolean;
  epoch: number;
  queue: Op[];
  notifyOnes: number;
  /** notifyOne calls that found the permit already stored (they coalesce, by design). */
  coalesced: number;
  completedByOne: number;
  completedOther: number;
}

function where(w: World): string {
  return `permit ${w.permit}, epoch ${w.epoch}, queue [${w.queue.map((o) => o.id)}]\n  ${recent(w.log)}`;
}

function notifyOne(w: World): void {
  const head = w.queue.shift();
  if (head === undefined) {
    if (w.permit) w.coalesced++;
    w.permit = true;
    return;
  }
  head.notified = true;
  head.byOne = true;
}

function pollOp(w: World, op: Op): void {
  const out = attempt(() => op.task.poll());
  const what = `poll of notified op ${op.id}`;
  w.log.push(`${what} -> ${show(out)}`);
  if (!op.entered) {
    // The stored permit first (tokio's Notified), even for a future created before notifyWaiters.
    if (w.permit) {
      expectReady(out, `${what} (permit stored)`);
      w.permit = false;
      w.completedByOne++;
      finishOp(w, op);
      return;
    }
    if (op.epoch !== w.epoch) {
      expectReady(out, `${what} (created before notifyWaiters)`);
      w.completedOther++;
      finishOp(w, op);
      return;
    }
    expectQueued(w.queue, op, out, what);
    return;
  }
  if (op.notified) {
    expectReady(out, `${what}; ${where(w)}`);
    if (op.byOne) w.completedByOne++;
    else w.completedOther++;
    finishOp(w, op);
    return;
  }
  expectPending(out, `${what}; ${where(w)}`);
  op.parked = true;
}

function checkInvariants(w: World): void {
  const ctx = where(w);
  assert.equal(w.notify.waiters.length, w.queue.length, `waiting futures differ; ${ctx}`);
  assert.ok(!(w.permit && w.queue.length > 0), `a permit is stored while futures wait; ${ctx}`);
  for (const op of w.ops) {
    if (op.parked && op.notified) {
      assert.ok(op.task.isWoken(), `lost wakeup: op ${op.id} was notified; ${ctx}`);
    }
  }
  // Every notifyOne is accounted for: reported by a future, held by a notified future not yet
  // polled, stored as the permit, or coalesced with a stored permit.
  const held = w.ops.filter((o) => o.notified && o.byOne).length;
  assert.equal(
    w.completedByOne + held + (w.permit ? 1 : 0) + w.coalesced,
    w.notifyOnes,
    `a notifyOne was lost; ${ctx}`,
  );
}

const step = checkedBy(checkInvariants);

function create(w: World): Op {
  const op: Op = {
    id: w.nextOp++,
    task: new MockTask(w.notify.notified()),
    epoch: w.epoch,
    parked: false,
    entered: false,
    notified: false,
    byOne: false,
  };
  w.ops.push(op);
  return op;
}

function dropOp(w: World, op: Op): void {
  op.task.drop();
  w.log.push(`drop op ${op.id}`);
  w.queue = w.queue.filter((o) => o !== op);
  finishOp(w, op);
  if (op.notified && op.byOne) {
    // Not reported: passed on to the next waiter (or stored).
    notifyOne(w);
  }
}

const notified = plain(
  "notified",
  step((w) => pollOp(w, create(w))),
);

const callNotifyOne = plain(
  "notifyOne",
  step((w) => {
    w.notify.notifyOne();
    w.log.push("notifyOne");
    w.notifyOnes++;
    notifyOne(w);
  }),
);

const commands = [
  notified,
  notified,
  plain(
    "notifiedLazy",
    step((w) => {
      create(w);
    }),
  ),
  onSomeOp("pollOp", step(pollOp)),
  onSomeOp("dropOp", step(dropOp)),
  callNotifyOne,
  callNotifyOne,
  plain(
    "notifyWaiters",
    step((w) => {
      w.notify.notifyWaiters();
      w.log.push("notifyWaiters");
      w.epoch++;
      for (const op of w.queue) op.notified = true;
      w.queue = [];
    }),
  ),
];

test("Notify: step-by-step model (MockTask)", () => {
  fc.assert(
    fc.property(fc.commands(commands, { maxCommands: 80, size: "large" }), (cmds) => {
      const w: World = {
        notify: new Notify(),
        ops: [],
        nextOp: 1,
        log: [],
        permit: false,
        epoch: 0,
        queue: [],
        notifyOnes: 0,
        coalesced: 0,
        completedByOne: 0,
        completedOther: 0,
      };
      runSteps(w, cmds);
      // Dropping every future passes every unreported notifyOne on to the permit.
      for (const op of [...w.ops]) dropOp(w, op);
      checkInvariants(w);
      assert.equal(w.notify.waiters.length, 0);
      // The permit, if stored, completes the next future at once.
      const t = new MockTask(w.notify.notified());
      if (w.permit)
        expectReady(
          attempt(() => t.poll()),
          "notified() with a stored permit",
        );
      else
        expectPending(
          attempt(() => t.poll()),
          "notified() without a permit",
        );
      t.drop();
    }),
    fcParams(400),
  );
});

// ---------------------------------------------------------------------------------------------

interface Scenario extends RuntimeScenario {
  readonly waiters: readonly number[];
  /** Notifier steps: 0 notifyOne, 1 yield, 2 notifyWaiters. */
  readonly notifier: readonly number[];
}

const scenarioArb: fc.Arbitrary<Scenario> = scenarioArbitrary(
  {
    // Per waiter: yields between two waits.
    waiters: fc.array(fc.integer({ min: 0, max: 2 }), { minLength: 1, maxLength: 5 }),
    notifier: fc.array(fc.constantFrom(0, 0, 0, 1, 1, 2), { maxLength: 16 }),
  },
  { maxAfter: 12, maxAborts: 3 },
  (s) => s.waiters.length,
);

interface Stats {
  notifyOnes: number;
  coalesced: number;
  completions: number;
  broadcasts: number;
}

/** The permit flag behind a Notify (white-box). */
const permitOf = (n: Notify) => (n as unknown as { permit: boolean }).permit;

function scenarioTasks(s: Scenario, stats: Stats, spawn: Spawn) {
  const notify = new Notify();
  // Count the notifyOne calls that coalesce with a stored permit, including the ones a dropped
  // future makes to pass its notification on.
  const original = notify.notifyOne.bind(notify);
  notify.notifyOne = () => {
    if (permitOf(notify) && notify.waiters.length === 0) stats.coalesced++;
    original();
  };
  const waiters = s.waiters.map((pause) =>
    spawn(
      future(function* () {
        for (;;) {
          yield* notify.notified();
          stats.completions++;
          for (let j = 0; j < pause; j++) yield* yieldNow();
        }
      }),
    ),
  );
  const notifier = spawn(
    future(function* () {
      for (const k of s.notifier) {
        if (k === 0) {
          stats.notifyOnes++;
          notify.notifyOne();
        } else if (k === 2) {
          stats.broadcasts++;
          notify.notifyWaiters();
        } else yield* yieldNow();
      }
    }),
  );
  const aborter = spawnAborter(spawn, s.aborts, waiters);
  return { notify, waiters, others: [notifier, aborter], stats };
}

/**
 * At quiescence (no task ready): every live waiter is parked in the wait list (a waiter that was
 * notified has run and waits again), no permit is stored while someone waits, and without
 * notifyWaiters every notifyOne is accounted for.
 */
function quiescentViolation(
  stats: Stats,
  notify: Notify,
  waiters: readonly JoinHandle<void>[],
): string | null {
  const live = waiters.filter((h) => !h.isFinished()).length;
  if (notify.waiters.length !== live) {
    return `${live} live waiters but ${notify.waiters.length} in the wait list`;
  }
  if (permitOf(notify) && live > 0) return "a permit is stored while waiters wait";
  if (stats.broadcasts === 0) {
    const accounted = stats.completions + stats.coalesced + (permitOf(notify) ? 1 : 0);
    if (accounted !== stats.notifyOnes) {
      return `${stats.notifyOnes} notifyOne calls, ${accounted} accounted for`;
    }
  }
  return null;
}

function stop(rt: Runtime | null, waiters: readonly JoinHandle<void>[]): void {
  for (const h of waiters) h.abort();
  if (rt !== null) settle(rt);
}

const newStats = (): Stats => ({ notifyOnes: 0, coalesced: 0, completions: 0, broadcasts: 0 });

test("Notify: waiter tasks with random aborts (FIFO and random scheduling)", () => {
  settledProperty(
    scenarioArb,
    300,
    (s, spawn) => {
      const started = scenarioTasks(s, newStats(), spawn);
      // The waiters loop forever: only the notifier and the controller finish by themselves.
      return { ...started, handles: started.others };
    },
    (_, { stats, notify, waiters }, label, rt) => {
      const violation = quiescentViolation(stats, notify, waiters);
      assert.equal(violation, null, `${label}: ${violation}\n${rt.dump()}`);
      stop(rt, waiters);
      expectFinished(rt, waiters, label);
      assert.equal(notify.waiters.length, 0, `${label}: dropped waiters left in the list`);
      if (stats.broadcasts === 0) {
        assert.equal(
          stats.completions + stats.coalesced + (permitOf(notify) ? 1 : 0),
          stats.notifyOnes,
          `${label}: a notification was lost when waiters were aborted`,
        );
      }
    },
  );
});

test("Notify: the same scenarios through rt.run", async () => {
  await runtimeAsyncProperty(scenarioArb, 60, async (s, rt, label) => {
    const stats = newStats();
    await runWatched(
      rt,
      future(function* () {
        const { notify, waiters, others } = scenarioTasks(s, stats, (f) => rt.spawn(f));
        for (const h of others) yield* h;
        // Let the waiters run until nothing is left to do (bounded, so a lost wakeup fails).
        let spins = 0;
        for (; quiescentViolation(stats, notify, waiters) !== null; spins++) {
          assert.ok(
            spins < 500,
            `${label}: ${quiescentViolation(stats, notify, waiters)}\n${rt.dump()}`,
          );
          yield* yieldNow();
        }
        stop(null, waiters);
        yield* joinAll(waiters);
        assert.equal(notify.waiters.length, 0, label);
      }),
      label,
    );
  });
});
