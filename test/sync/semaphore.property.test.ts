/**
 * Model-based properties of Semaphore: by hand (MockTask) against a reference model of tokio's
 * FIFO semaphore (partial assignment to the queue head), and as tasks on FIFO and seeded-random
 * runtimes with random aborts.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import {
  type Future,
  future,
  type JoinHandle,
  Semaphore,
  SemaphoreClosed,
  type SemaphorePermit,
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
  expectError,
  expectPending,
  expectQueued,
  expectReady,
  fcParams,
  finishOp,
  onSomeOp,
  Probe,
  pick,
  plain,
  recent,
  runSteps,
  show,
  withArg,
} from "./support.js";

interface Op {
  readonly id: number;
  readonly n: number;
  readonly task: MockTask<SemaphorePermit>;
  parked: boolean;
  /** Model: queued (waiting for permits). */
  entered: boolean;
  /** Model: permits assigned so far. */
  assigned: number;
}

interface World {
  readonly sem: Semaphore;
  readonly initial: number;
  ops: Op[];
  permits: SemaphorePermit[];
  nextOp: number;
  log: string[];
  // The model.
  available: number;
  queue: Op[];
  closed: boolean;
  added: number;
  forgotten: number;
}

function where(w: World): string {
  return `available ${w.available}, queue [${w.queue.map((o) => `${o.id}:${o.assigned}/${o.n}`)}], closed ${w.closed}\n  ${recent(w.log)}`;
}

/** Model of `release(n)`: permits go to the queue head first, also partially. */
function release(w: World, n: number): void {
  w.available += n;
  for (;;) {
    const head = w.queue[0];
    if (head === undefined || w.available === 0) return;
    const give = Math.min(w.available, head.n - head.assigned);
    head.assigned += give;
    w.available -= give;
    if (head.assigned < head.n) return;
    w.queue.shift();
  }
}

function pollOp(w: World, op: Op): void {
  const out = attempt(() => op.task.poll());
  const what = `poll of acquire(${op.n}) op ${op.id}`;
  w.log.push(`${what} -> ${show(out)}`);
  if (!op.entered) {
    if (w.closed) {
      expectError(out, SemaphoreClosed, what);
      finishOp(w, op);
      return;
    }
    if (w.queue.length === 0 && w.available >= op.n) {
      w.available -= op.n;
      op.assigned = op.n;
      succeed(w, op, out, what);
      return;
    }
    expectQueued(w.queue, op, out, `${what}; ${where(w)}`);
    release(w, 0);
    return;
  }
  if (op.assigned === op.n) {
    succeed(w, op, out, what);
    return;
  }
  if (w.closed) {
    expectError(out, SemaphoreClosed, what);
    const back = op.assigned;
    op.assigned = 0;
    release(w, back);
    finishOp(w, op);
    return;
  }
  expectPending(out, `${what}; ${where(w)}`);
  op.parked = true;
}

function succeed(w: World, op: Op, out: ReturnType<typeof attempt>, what: string): void {
  const permit = expectReady(out, `${what}; ${where(w)}`) as SemaphorePermit;
  assert.equal(permit.permits, op.n);
  w.permits.push(permit);
  finishOp(w, op);
}

function dropOp(w: World, op: Op): void {
  op.task.drop();
  w.log.push(`drop op ${op.id} (assigned ${op.assigned}/${op.n})`);
  w.queue = w.queue.filter((o) => o !== op);
  const back = op.assigned;
  op.assigned = 0;
  release(w, back);
  finishOp(w, op);
}

function checkInvariants(w: World): void {
  const ctx = where(w);
  assert.equal(w.sem.availablePermits, w.available, `available permits differ; ${ctx}`);
  assert.equal(w.sem.waiters.length, w.queue.length, `queue length differs; ${ctx}`);
  assert.equal(w.sem.isClosed(), w.closed);
  // Conservation: available + held + assigned to waiters + forgotten = initial + added.
  const held = w.permits.reduce((sum, p) => sum + p.permits, 0);
  const assigned = w.ops.reduce((sum, o) => sum + o.assigned, 0);
  assert.equal(
    w.available + held + assigned + w.forgotten,
    w.initial + w.added,
    `permits not conserved; ${ctx}`,
  );
  // Waiters are only queued while the head cannot be served.
  if (w.queue.length > 0) assert.equal(w.available, 0, `permits idle while waiters wait; ${ctx}`);
  for (const op of w.ops) {
    if (!op.parked) continue;
    assert.ok(op.task.wakerRefCount <= 1);
    if (op.assigned === op.n || w.closed) {
      assert.ok(op.task.isWoken(), `lost wakeup: op ${op.id} (acquire ${op.n}); ${ctx}`);
    }
  }
}

const step = checkedBy(checkInvariants);

/** A command on one of the permits held (taken out of `w.permits`), when there is one. */
function onSomePermit(name: string, body: (w: World, p: SemaphorePermit) => void) {
  return withArg(
    name,
    fc.nat(),
    step((w: World, k: number) => {
      const p = pick(w.permits, k);
      w.permits = w.permits.filter((q) => q !== p);
      body(w, p);
    }),
    (w) => w.permits.length > 0,
  );
}

const pollAgain = onSomeOp("pollOp", step(pollOp));

const acquire = withArg(
  "acquire",
  fc.integer({ min: 1, max: 4 }),
  step((w, n: number) => {
    const op: Op = {
      id: w.nextOp++,
      n,
      task: new MockTask(w.sem.acquire(n)),
      parked: false,
      entered: false,
      assigned: 0,
    };
    w.ops.push(op);
    pollOp(w, op);
  }),
);

const commands = [
  acquire,
  acquire,
  acquire,
  withArg(
    "tryAcquire",
    fc.integer({ min: 1, max: 4 }),
    step((w, n: number) => {
      const out = attempt(() => w.sem.tryAcquire(n) as SemaphorePermit);
      w.log.push(`tryAcquire(${n}) -> ${show(out)}`);
      if (w.closed) {
        const e = expectError(out, SemaphoreClosed, "tryAcquire when closed");
        assert.equal(e.code, "SEMAPHORE_CLOSED");
      } else if (w.queue.length > 0 || w.available < n) {
        assert.equal(expectReady(out, "tryAcquire"), undefined, `tryAcquire(${n}); ${where(w)}`);
      } else {
        const p = expectReady(out, "tryAcquire");
        assert.ok(p !== undefined, `tryAcquire(${n}) should succeed; ${where(w)}`);
        assert.equal(p.permits, n);
        w.available -= n;
        w.permits.push(p);
      }
    }),
  ),
  pollAgain,
  pollAgain,
  onSomeOp("dropOp", step(dropOp)),
  onSomePermit("release", (w, p) => {
    p.release();
    p.release(); // idempotent
    w.log.push(`release ${p.permits}`);
    release(w, p.permits);
  }),
  onSomePermit("release", (w, p) => {
    p[Symbol.dispose]();
    w.log.push(`dispose ${p.permits}`);
    release(w, p.permits);
  }),
  onSomePermit("forget", (w, p) => {
    p.forget();
    p.release(); // no effect after forget
    w.log.push(`forget ${p.permits}`);
    w.forgotten += p.permits;
  }),
  withArg(
    "addPermits",
    fc.integer({ min: 0, max: 3 }),
    step((w, n: number) => {
      w.sem.addPermits(n);
      w.log.push(`addPermits(${n})`);
      w.added += n;
      release(w, n);
    }),
  ),
  plain(
    "close",
    step((w) => {
      w.sem.close();
      w.log.push("close");
      w.closed = true;
      w.queue = []; // every waiter is woken; those not fully served fail when polled
    }),
  ),
];

test("Semaphore: step-by-step model (MockTask)", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 4 }),
      fc.commands(commands, { maxCommands: 80, size: "large" }),
      (initial, cmds) => {
        const w: World = {
          sem: new Semaphore(initial),
          initial,
          ops: [],
          permits: [],
          nextOp: 1,
          log: [],
          available: initial,
          queue: [],
          closed: false,
          added: 0,
          forgotten: 0,
        };
        runSteps(w, cmds);
        // Drop every wait, release every permit: all permits are back.
        for (const op of [...w.ops]) dropOp(w, op);
        for (const p of w.permits) {
          p.release();
          release(w, p.permits);
        }
        w.permits = [];
        checkInvariants(w);
        assert.equal(w.sem.availablePermits, initial + w.added - w.forgotten);
        assert.equal(w.sem.waiters.length, 0);
      },
    ),
    fcParams(400),
  );
});

// ---------------------------------------------------------------------------------------------

type TaskOp =
  | { readonly k: "acquire"; readonly n: number; readonly hold: number }
  | { readonly k: "try"; readonly n: number; readonly hold: number }
  | { readonly k: "yield" }
  | { readonly k: "add"; readonly n: number }
  | { readonly k: "close" };

interface Scenario extends RuntimeScenario {
  readonly initial: number;
  readonly tasks: readonly (readonly TaskOp[])[];
  /**
   * Every other acquire is awaited directly (`yield* sem.acquire(n)`, not through a Probe): an
   * acquire spent by its `yield*` is reused by a later one, so reused and new ones mix.
   */
  readonly direct: boolean;
}

const taskOp: fc.Arbitrary<TaskOp> = fc.oneof(
  {
    arbitrary: fc.record({
      k: fc.constant("acquire" as const),
      n: fc.integer({ min: 1, max: 3 }),
      hold: fc.integer({ min: 0, max: 3 }),
    }),
    weight: 6,
  },
  {
    arbitrary: fc.record({
      k: fc.constant("try" as const),
      n: fc.integer({ min: 1, max: 3 }),
      hold: fc.integer({ min: 0, max: 2 }),
    }),
    weight: 2,
  },
  { arbitrary: fc.constant({ k: "yield" as const }), weight: 2 },
  {
    arbitrary: fc.record({ k: fc.constant("add" as const), n: fc.integer({ min: 0, max: 2 }) }),
    weight: 1,
  },
  { arbitrary: fc.constant({ k: "close" as const }), weight: 1 },
);

const scenarioArb: fc.Arbitrary<Scenario> = scenarioArbitrary(
  {
    initial: fc.integer({ min: 1, max: 4 }),
    tasks: fc.array(fc.array(taskOp, { maxLength: 8 }), { minLength: 1, maxLength: 5 }),
    direct: fc.boolean(),
  },
  { maxAfter: 10, maxAborts: 3 },
  (s) => s.tasks.length,
).map((s) => ({
  ...s,
  // A request larger than every permit there will ever be would wait forever: cap it.
  tasks: s.tasks.map((ops) =>
    ops.map((op) =>
      op.k === "acquire" || op.k === "try" ? { ...op, n: Math.min(op.n, s.initial) } : op,
    ),
  ),
}));

interface Stats {
  held: number;
  total: number;
  maxHeld: number;
  added: number;
  /** Acquire futures in the order they first returned Pending (queued). */
  readonly queued: QueueEntry[];
  violations: string[];
}

/** Acquire's internal waiter (white-box): served once every permit it asked for is assigned. */
function served(fut: Future<SemaphorePermit>): boolean {
  const waiter = (fut as unknown as { waiter: { assigned: number; needed: number } | null }).waiter;
  return waiter !== null && waiter.assigned === waiter.needed;
}

/**
 * An acquire that records when it queues and when it completes: when one completes, every
 * acquire queued before it must already be served (all its permits assigned) or gone — a later
 * waiter never overtakes an earlier one still waiting.
 */
function trackedAcquire(sem: Semaphore, n: number, stats: Stats, id: number) {
  const inner = sem.acquire(n);
  let entry: QueueEntry | null = null;
  const done = () => {
    if (entry !== null) entry.done = true;
  };
  return new Probe(inner, {
    pending() {
      if (entry === null) {
        entry = { id, done: false, served: () => served(inner) };
        stats.queued.push(entry);
      }
    },
    ready() {
      if (entry !== null) {
        for (const other of stats.queued) {
          if (other === entry) break;
          if (!other.done && !other.served()) {
            stats.violations.push(`acquire #${entry.id} overtook #${other.id}`);
          }
        }
      }
      done();
    },
    error: done,
    dropped: done,
  });
}

interface QueueEntry {
  readonly id: number;
  done: boolean;
  readonly served: () => boolean;
}

function scenarioTasks(s: Scenario, stats: Stats, spawn: Spawn) {
  const sem = new Semaphore(s.initial);
  let nextId = 1;
  const hold = function* (permit: SemaphorePermit, ticks: number) {
    stats.held += permit.permits;
    stats.maxHeld = Math.max(stats.maxHeld, stats.held);
    if (stats.held > stats.total) {
      stats.violations.push(`${stats.held} permits held, only ${stats.total} exist`);
    }
    try {
      for (let j = 0; j < ticks; j++) yield* yieldNow();
    } finally {
      stats.held -= permit.permits;
      permit.release();
    }
  };
  const worker = (ops: readonly TaskOp[]) =>
    future(function* () {
      for (const op of ops) {
        try {
          if (op.k === "acquire") {
            const id = nextId++;
            const acquire =
              s.direct && id % 2 === 0 ? sem.acquire(op.n) : trackedAcquire(sem, op.n, stats, id);
            yield* hold(yield* acquire, op.hold);
          } else if (op.k === "try") {
            const permit = sem.tryAcquire(op.n);
            if (permit !== undefined) yield* hold(permit, op.hold);
          } else if (op.k === "yield") {
            yield* yieldNow();
          } else if (op.k === "add") {
            sem.addPermits(op.n);
            stats.total += op.n;
            stats.added += op.n;
          } else {
            sem.close();
          }
        } catch (e) {
          if (!(e instanceof SemaphoreClosed)) throw e;
        }
      }
    });
  const handles: JoinHandle<void>[] = s.tasks.map((ops) => spawn(worker(ops)));
  handles.push(spawnAborter(spawn, s.aborts, handles));
  return { handles, sem, stats };
}

function checkStats(s: Scenario, stats: Stats, sem: Semaphore, label: string): void {
  assert.deepEqual(stats.violations, [], label);
  assert.equal(stats.held, 0, `${label}: permits still held`);
  assert.equal(
    sem.availablePermits,
    s.initial + stats.added,
    `${label}: permits leaked (available ${sem.availablePermits})`,
  );
  assert.equal(sem.waiters.length, 0, `${label}: waiters left in the queue`);
}

const newStats = (s: Scenario): Stats => ({
  held: 0,
  total: s.initial,
  maxHeld: 0,
  added: 0,
  queued: [],
  violations: [],
});
const start = (s: Scenario, spawn: Spawn) => scenarioTasks(s, newStats(s), spawn);
const check = (s: Scenario, { stats, sem }: ReturnType<typeof start>, label: string) =>
  checkStats(s, stats, sem, label);

test("Semaphore: tasks acquiring and holding permits with random aborts (FIFO and random scheduling)", () => {
  settledProperty(scenarioArb, 300, start, check);
});

test("Semaphore: the same scenarios through rt.run", async () => {
  await runProperty(scenarioArb, 60, start, check);
});
