/**
 * Model-based properties of Mutex: by hand (MockTask) against a reference model (one holder, FIFO
 * queue, a dropped waiter passes a granted lock on), and as tasks on FIFO and seeded-random
 * runtimes with random aborts (mutual exclusion, FIFO order, unlocked at the end).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import {
  future,
  type JoinHandle,
  Mutex,
  type MutexGuard,
  WakerContractError,
  yieldNow,
} from "../../src/index.js";
import { MockTask } from "../../src/testing/index.js";
import {
  type RuntimeScenario,
  runProperty,
  type Spawn,
  scenarioArbitrary,
  settledProperty,
  spawnAborter,
} from "./scenario.js";
import {
  attempt,
  checkedBy,
  expectPending,
  expectQueued,
  expectReady,
  fcParams,
  finishOp,
  onSomeOp,
  Probe,
  plain,
  recent,
  runSteps,
  show,
} from "./support.js";

interface Op {
  readonly id: number;
  readonly task: MockTask<MutexGuard<number[]>>;
  parked: boolean;
  entered: boolean;
  granted: boolean;
}

interface World {
  readonly mutex: Mutex<number[]>;
  ops: Op[];
  guard: MutexGuard<number[]> | null;
  released: MutexGuard<number[]>[];
  nextOp: number;
  log: string[];
  // The model.
  /** A guard is alive or a waiter was granted the lock. */
  locked: boolean;
  queue: Op[];
  /** Ids of the ops that got the guard, in order. */
  readonly order: number[];
}

function where(w: World): string {
  return `locked ${w.locked}, guard ${w.guard !== null}, queue [${w.queue.map((o) => o.id)}]\n  ${recent(w.log)}`;
}

/** Model: the lock became free; the oldest waiter gets it. */
function unlock(w: World): void {
  const head = w.queue.shift();
  if (head === undefined) {
    w.locked = false;
    return;
  }
  head.granted = true;
}

function gotGuard(w: World, op: Op, guard: MutexGuard<number[]>): void {
  assert.equal(w.guard, null, `two guards at once; ${where(w)}`);
  w.guard = guard;
  guard.value.push(op.id);
  w.order.push(op.id);
  finishOp(w, op);
}

function pollOp(w: World, op: Op): void {
  const out = attempt(() => op.task.poll());
  const what = `poll of lock op ${op.id}`;
  w.log.push(`${what} -> ${show(out)}`);
  if (!op.entered) {
    if (!w.locked) {
      w.locked = true;
      gotGuard(w, op, expectReady(out, `${what}; ${where(w)}`));
      return;
    }
    expectQueued(w.queue, op, out, what);
    return;
  }
  if (op.granted) {
    gotGuard(w, op, expectReady(out, `${what}; ${where(w)}`));
    return;
  }
  expectPending(out, `${what}; ${where(w)}`);
  op.parked = true;
}

function checkInvariants(w: World): void {
  assert.equal(w.mutex.isLocked(), w.locked, `isLocked(); ${where(w)}`);
  const granted = w.ops.filter((o) => o.granted).length;
  assert.equal(
    (w.guard !== null ? 1 : 0) + granted,
    w.locked ? 1 : 0,
    `exactly one holder while locked; ${where(w)}`,
  );
  for (const op of w.ops) {
    if (op.parked && op.granted) {
      assert.ok(op.task.isWoken(), `lost wakeup: op ${op.id} was granted the lock; ${where(w)}`);
    }
  }
  for (const g of w.released) {
    assert.throws(() => g.value, WakerContractError, "a released guard must not give access");
  }
}

const step = checkedBy(checkInvariants);

function dropOp(w: World, op: Op): void {
  op.task.drop();
  w.log.push(`drop op ${op.id}`);
  if (op.granted) unlock(w);
  else w.queue = w.queue.filter((o) => o !== op);
  finishOp(w, op);
}

function releaseGuard(w: World, how: "release" | "dispose"): void {
  const guard = w.guard!;
  w.guard = null;
  if (how === "release") guard.release();
  else guard[Symbol.dispose]();
  guard.release(); // idempotent
  w.released = [guard];
  w.log.push(`guard.${how}`);
  unlock(w);
}

const lock = plain(
  "lock",
  step((w) => {
    const op: Op = {
      id: w.nextOp++,
      task: new MockTask(w.mutex.lock()),
      parked: false,
      entered: false,
      granted: false,
    };
    w.ops.push(op);
    pollOp(w, op);
  }),
);

const commands = [
  lock,
  lock,
  plain(
    "tryLock",
    step((w) => {
      const guard = w.mutex.tryLock();
      w.log.push(`tryLock -> ${guard !== undefined}`);
      if (w.locked) {
        assert.equal(guard, undefined, `tryLock while locked; ${where(w)}`);
        return;
      }
      assert.ok(guard !== undefined, `tryLock on a free mutex; ${where(w)}`);
      w.locked = true;
      w.guard = guard;
      guard.value.push(0);
    }),
  ),
  onSomeOp("pollOp", step(pollOp)),
  onSomeOp("dropOp", step(dropOp)),
  plain(
    "release",
    step((w) => releaseGuard(w, "release")),
    (w) => w.guard !== null,
  ),
  plain(
    "dispose",
    step((w) => releaseGuard(w, "dispose")),
    (w) => w.guard !== null,
  ),
];

test("Mutex: step-by-step model (MockTask)", () => {
  fc.assert(
    fc.property(fc.commands(commands, { maxCommands: 60, size: "large" }), (cmds) => {
      const w: World = {
        mutex: new Mutex<number[]>([]),
        ops: [],
        guard: null,
        released: [],
        nextOp: 1,
        log: [],
        locked: false,
        queue: [],
        order: [],
      };
      runSteps(w, cmds);
      for (const op of [...w.ops]) dropOp(w, op);
      if (w.guard !== null) {
        const guard = w.guard;
        // Every holder appended its id: the value saw the holders in lock order.
        assert.deepEqual(
          guard.value.filter((id) => id !== 0),
          w.order,
        );
        releaseGuard(w, "release");
      }
      checkInvariants(w);
      assert.equal(w.mutex.isLocked(), false);
      assert.ok(w.mutex.tryLock() !== undefined, "the mutex is free at the end");
    }),
    fcParams(400),
  );
});

// ---------------------------------------------------------------------------------------------

interface Scenario extends RuntimeScenario {
  /** Per task: the critical sections it enters, each held for that many yields (negative: tryLock). */
  readonly tasks: readonly (readonly number[])[];
  /**
   * Every other lock is awaited directly (`yield* mutex.lock()`, not through a Probe): a lock
   * future spent by its `yield*` is reused by a later lock, so reused and new ones mix.
   */
  readonly direct: boolean;
}

const scenarioArb: fc.Arbitrary<Scenario> = scenarioArbitrary(
  {
    tasks: fc.array(fc.array(fc.integer({ min: -2, max: 3 }), { maxLength: 6 }), {
      minLength: 1,
      maxLength: 5,
    }),
    direct: fc.boolean(),
  },
  { maxAfter: 12, maxAborts: 3 },
  (s) => s.tasks.length,
);

interface Stats {
  inside: number;
  entries: number;
  readonly queued: { id: number; done: boolean }[];
  violations: string[];
}

function scenarioTasks(s: Scenario, stats: Stats, spawn: Spawn) {
  const mutex = new Mutex({ owner: 0, count: 0 });
  let nextId = 1;
  const lock = (id: number) => {
    let entry: { id: number; done: boolean } | null = null;
    const done = () => {
      if (entry !== null) entry.done = true;
    };
    return new Probe(mutex.lock(), {
      pending() {
        if (entry === null) stats.queued.push((entry = { id, done: false }));
      },
      ready() {
        // With one holder at a time, a waiter queued earlier and still waiting cannot have been
        // granted: so nobody queued before this one may still be waiting.
        if (entry !== null) {
          for (const other of stats.queued) {
            if (other === entry) break;
            if (!other.done) stats.violations.push(`lock #${id} overtook #${other.id}`);
          }
        }
        done();
      },
      error: done,
      dropped: done,
    });
  };
  const critical = function* (guard: MutexGuard<{ owner: number; count: number }>, ticks: number) {
    const me = nextId++;
    try {
      stats.inside++;
      stats.entries++;
      if (stats.inside > 1) stats.violations.push(`${stats.inside} tasks inside`);
      guard.value = { owner: me, count: guard.value.count + 1 };
      for (let j = 0; j < ticks; j++) {
        yield* yieldNow();
        if (guard.value.owner !== me) stats.violations.push("the value changed under the lock");
      }
    } finally {
      stats.inside--;
      guard.release();
    }
  };
  const worker = (sections: readonly number[]) =>
    future(function* () {
      for (const ticks of sections) {
        if (ticks < 0) {
          const guard = mutex.tryLock();
          if (guard !== undefined) yield* critical(guard, -ticks - 1);
          else yield* yieldNow();
        } else if (s.direct && nextId % 2 === 0) {
          yield* critical(yield* mutex.lock(), ticks);
        } else {
          yield* critical(yield* lock(nextId), ticks);
        }
      }
    });
  const handles: JoinHandle<void>[] = s.tasks.map((t) => spawn(worker(t)));
  handles.push(spawnAborter(spawn, s.aborts, handles));
  return { handles, mutex, stats };
}

function checkStats(stats: Stats, mutex: Mutex<{ owner: number; count: number }>, label: string) {
  assert.deepEqual(stats.violations, [], label);
  assert.equal(stats.inside, 0, label);
  assert.equal(mutex.isLocked(), false, `${label}: still locked at the end`);
  const guard = mutex.tryLock();
  assert.ok(guard !== undefined, label);
  assert.equal(guard.value.count, stats.entries, `${label}: every critical section counted once`);
  guard.release();
}

const newStats = (): Stats => ({ inside: 0, entries: 0, queued: [], violations: [] });
const start = (s: Scenario, spawn: Spawn) => scenarioTasks(s, newStats(), spawn);
const check = (_: Scenario, { stats, mutex }: ReturnType<typeof start>, label: string) =>
  checkStats(stats, mutex, label);

test("Mutex: tasks in critical sections with random aborts (FIFO and random scheduling)", () => {
  settledProperty(scenarioArb, 300, start, check);
});

test("Mutex: the same scenarios through rt.run", async () => {
  await runProperty(scenarioArb, 60, start, check);
});
