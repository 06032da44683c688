/**
 * Model-based properties of RwLock and Barrier: by hand (MockTask) against reference models (a
 * FIFO, writer-preferring queue of readers and writers served from its head, where a downgraded
 * write guard lets in the readers at the head and no writer; a barrier counting
 * the arrivals of its current generation, where a wait dropped before its group is released
 * withdraws its arrival), and as tasks on FIFO and seeded-random runtimes with random aborts.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import {
  Barrier,
  type BarrierWaitResult,
  type Future,
  future,
  type JoinHandle,
  RwLock,
  type RwLockGuard,
  type Semaphore,
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
  pick,
  plain,
  recent,
  runSteps,
  show,
  withArg,
} from "./support.js";

/** RwLock's semaphore size (src/sync/rw-lock.ts): a read takes one permit, a write all of them. */
const MAX_READERS = 2 ** 30;

type Kind = "read" | "write";

/** The semaphore waiter of a pending `read()`/`write()` (white-box). */
interface WaiterView {
  readonly next: WaiterView | null;
  readonly assigned: number;
  readonly needed: number;
}

/** The waiter behind `lock.read()`/`lock.write()` (a `map` over a semaphore acquire), or null. */
/**
 * The acquire's wait-list node (white-box): set once it queues. (A reused acquire keeps its node
 * while idle, but these futures are polled through MockTask or a Probe, never spent, so never
 * reused.)
 */
function waiterOf(fut: Future<unknown>): WaiterView | null {
  return (fut as unknown as { waiter: WaiterView | null }).waiter;
}

function semaphoreOf(lock: RwLock<unknown>): Semaphore {
  return (lock as unknown as { semaphore: Semaphore }).semaphore;
}

interface LockOp {
  readonly id: number;
  readonly kind: Kind;
  readonly fut: Future<RwLockGuard<number[]>>;
  readonly task: MockTask<RwLockGuard<number[]>>;
  parked: boolean;
  /** Model: polled once and queued. */
  entered: boolean;
  /** Model: the lock was handed to it while queued; its next poll completes. */
  granted: boolean;
}

interface Held {
  readonly id: number;
  readonly guard: RwLockGuard<number[]>;
}

interface LockWorld {
  readonly lock: RwLock<number[]>;
  ops: LockOp[];
  guards: Held[];
  released: RwLockGuard<number[]>[];
  nextOp: number;
  log: string[];
  // The model.
  /** Read guards alive plus read ops granted the lock. */
  readers: number;
  /** A write guard is alive or a write op was granted the lock. */
  writer: boolean;
  queue: LockOp[];
  /** The ids of the writers, in lock order: what the protected value must hold. */
  data: number[];
}

function lockWhere(w: LockWorld): string {
  return `readers ${w.readers}, writer ${w.writer}, queue [${w.queue.map((o) => `${o.kind[0]}${o.id}`)}]\n  ${recent(w.log)}`;
}

function mayTake(w: LockWorld, kind: Kind): boolean {
  return kind === "read" ? !w.writer : !w.writer && w.readers === 0;
}

function take(w: LockWorld, kind: Kind): void {
  if (kind === "read") w.readers++;
  else w.writer = true;
}

function giveBack(w: LockWorld, kind: Kind): void {
  if (kind === "read") w.readers--;
  else w.writer = false;
}

/**
 * Model: the lock is handed out from the queue head, in order, while the head may take it: all
 * the readers up to the first writer, or that writer alone once nobody holds the lock.
 */
function serve(w: LockWorld): void {
  for (;;) {
    const head = w.queue[0];
    if (head === undefined || !mayTake(w, head.kind)) return;
    w.queue.shift();
    head.granted = true;
    take(w, head.kind);
  }
}

/** A guard was handed out (to op `id`, 0 for a try-variant): check it and use it. */
function gotGuard(w: LockWorld, id: number, kind: Kind, guard: RwLockGuard<number[]>): void {
  assert.equal(guard.writable, kind === "write", `${kind} guard of op ${id}: writable`);
  assert.deepEqual(guard.value, w.data, `${kind} guard of op ${id} sees the last write`);
  if (kind === "write") {
    guard.value = [...guard.value, id];
    w.data.push(id);
  } else {
    assert.throws(
      () => {
        guard.value = [];
      },
      WakerContractError,
      "a read guard cannot assign",
    );
  }
  w.guards.push({ id, guard });
}

function pollLockOp(w: LockWorld, op: LockOp): void {
  const out = attempt(() => op.task.poll());
  const what = `poll of ${op.kind}() op ${op.id}`;
  w.log.push(`${what} -> ${show(out)}`);
  if (!op.entered) {
    if (w.queue.length === 0 && mayTake(w, op.kind)) {
      take(w, op.kind);
      gotGuard(w, op.id, op.kind, expectReady(out, `${what}; ${lockWhere(w)}`));
      finishOp(w, op);
      return;
    }
    expectQueued(w.queue, op, out, `${what}; ${lockWhere(w)}`);
    return;
  }
  if (op.granted) {
    op.granted = false; // the guard holds it now
    gotGuard(w, op.id, op.kind, expectReady(out, `${what}; ${lockWhere(w)}`));
    finishOp(w, op);
    return;
  }
  expectPending(out, `${what}; ${lockWhere(w)}`);
  op.parked = true;
}

function dropLockOp(w: LockWorld, op: LockOp): void {
  op.task.drop();
  w.log.push(`drop ${op.kind}() op ${op.id}${op.granted ? " (granted)" : ""}`);
  if (op.granted) {
    op.granted = false;
    giveBack(w, op.kind);
  } else {
    w.queue = w.queue.filter((o) => o !== op);
  }
  serve(w);
  finishOp(w, op);
}

function releaseHeld(w: LockWorld, held: Held, how: "release" | "dispose"): void {
  w.guards = w.guards.filter((h) => h !== held);
  const kind: Kind = held.guard.writable ? "write" : "read";
  if (how === "release") held.guard.release();
  else held.guard[Symbol.dispose]();
  held.guard.release(); // idempotent
  held.guard[Symbol.dispose]();
  w.released = [...w.released.slice(-3), held.guard];
  w.log.push(`${how} ${kind} guard of op ${held.id}`);
  giveBack(w, kind);
  serve(w);
}

function checkLock(w: LockWorld): void {
  const ctx = lockWhere(w);
  const sem = semaphoreOf(w.lock);
  // Exclusion, on the guards the lock handed out: a write guard is alone.
  const writeGuards = w.guards.filter((h) => h.guard.writable).length;
  if (writeGuards > 0) assert.equal(w.guards.length, 1, `a writer with others; ${ctx}`);
  // The holders the real side shows (guards alive, ops granted) are the model's.
  const grantedWrites = w.ops.filter((o) => o.granted && o.kind === "write").length;
  const grantedReads = w.ops.filter((o) => o.granted && o.kind === "read").length;
  assert.equal(writeGuards + grantedWrites, w.writer ? 1 : 0, `write holders; ${ctx}`);
  assert.equal(w.guards.length - writeGuards + grantedReads, w.readers, `read holders; ${ctx}`);
  // The real queue holds the model's ops in the model's order.
  const realQueue: number[] = [];
  for (let x = sem.waiters.front() as WaiterView | null; x !== null; x = x.next) {
    const op = w.ops.find((o) => waiterOf(o.fut) === x);
    realQueue.push(op === undefined ? -1 : op.id);
  }
  assert.deepEqual(
    realQueue,
    w.queue.map((o) => o.id),
    `queue order differs; ${ctx}`,
  );
  // Permits: a reader holds one, the writer all; only the queue head holds some on account (a
  // writer waiting for the readers to leave); none lies idle while someone waits.
  const head = sem.waiters.front();
  const onAccount = head === null ? 0 : head.assigned;
  assert.equal(
    sem.availablePermits + onAccount + w.readers + (w.writer ? MAX_READERS : 0),
    MAX_READERS,
    `permits not conserved (available ${sem.availablePermits}, head ${onAccount}); ${ctx}`,
  );
  if (w.queue.length > 0) assert.equal(sem.availablePermits, 0, `idle permits; ${ctx}`);
  for (const op of w.ops) {
    if (!op.parked) continue;
    if (op.granted) {
      assert.ok(op.task.isWoken(), `lost wakeup: ${op.kind}() op ${op.id} was granted; ${ctx}`);
    } else {
      assert.equal(op.task.wakerRefCount, 1, `waiting op ${op.id} must hold its waker; ${ctx}`);
    }
  }
  for (const g of w.released) {
    assert.throws(() => g.value, WakerContractError, "a released guard must not give access");
  }
}

const lockStep = checkedBy(checkLock);

function newLockOp(w: LockWorld, kind: Kind): LockOp {
  const fut = kind === "read" ? w.lock.read() : w.lock.write();
  const op: LockOp = {
    id: w.nextOp++,
    kind,
    fut,
    task: new MockTask(fut),
    parked: false,
    entered: false,
    granted: false,
  };
  w.ops.push(op);
  return op;
}

const kindArb = fc.constantFrom<Kind>("read", "write");

const lockNow = withArg(
  "lock",
  kindArb,
  lockStep((w: LockWorld, kind: Kind) => pollLockOp(w, newLockOp(w, kind))),
);

function tryLock(kind: Kind) {
  return plain(
    kind === "read" ? "tryRead" : "tryWrite",
    lockStep((w: LockWorld) => {
      const guard = kind === "read" ? w.lock.tryRead() : w.lock.tryWrite();
      w.log.push(`try ${kind} -> ${guard !== undefined}`);
      if (w.queue.length > 0 || !mayTake(w, kind)) {
        assert.equal(guard, undefined, `try ${kind} must fail; ${lockWhere(w)}`);
        return;
      }
      assert.ok(guard !== undefined, `try ${kind} must succeed; ${lockWhere(w)}`);
      take(w, kind);
      gotGuard(w, 0, kind, guard);
    }),
  );
}

function onSomeGuard(how: "release" | "dispose") {
  return withArg(
    how,
    fc.nat(),
    lockStep((w: LockWorld, k: number) => releaseHeld(w, pick(w.guards, k), how)),
    (w) => w.guards.length > 0,
  );
}

/** Model: the write guard turns into a read guard; the queue head may now get in (readers). */
function downgradeHeld(w: LockWorld, held: Held): void {
  const read = held.guard.downgrade();
  w.log.push(`downgrade the write guard of op ${held.id}`);
  w.guards = w.guards.filter((h) => h !== held);
  w.released = [...w.released.slice(-3), held.guard];
  giveBack(w, "write");
  take(w, "read");
  assert.equal(read.writable, false, "a downgraded guard reads");
  assert.deepEqual(read.value, w.data, "a downgraded guard sees its own write");
  w.guards.push({ id: held.id, guard: read });
  serve(w);
}

const downgrade = withArg(
  "downgrade",
  fc.nat(),
  lockStep((w: LockWorld, k: number) =>
    downgradeHeld(
      w,
      pick(
        w.guards.filter((h) => h.guard.writable),
        k,
      ),
    ),
  ),
  (w) => w.guards.some((h) => h.guard.writable),
);

const lockCommands = [
  downgrade,
  lockNow,
  lockNow,
  lockNow,
  withArg(
    "create",
    kindArb,
    lockStep((w: LockWorld, kind: Kind) => {
      const op = newLockOp(w, kind);
      w.log.push(`create ${kind}() op ${op.id} (not polled: lazy)`);
    }),
  ),
  tryLock("read"),
  tryLock("write"),
  onSomeOp("pollOp", lockStep(pollLockOp)),
  onSomeOp("pollOp", lockStep(pollLockOp)),
  onSomeOp("dropOp", lockStep(dropLockOp)),
  onSomeGuard("release"),
  onSomeGuard("release"),
  onSomeGuard("dispose"),
];

test("RwLock: step-by-step model (MockTask): FIFO writer-preferring order, exclusion, drops, no lost wakeup", () => {
  fc.assert(
    fc.property(fc.commands(lockCommands, { maxCommands: 80, size: "large" }), (cmds) => {
      const w: LockWorld = {
        lock: new RwLock<number[]>([]),
        ops: [],
        guards: [],
        released: [],
        nextOp: 1,
        log: [],
        readers: 0,
        writer: false,
        queue: [],
        data: [],
      };
      runSteps(w, cmds);
      // Drop every wait, release every guard: the lock is free, nobody waits.
      for (const op of [...w.ops]) dropLockOp(w, op);
      for (const held of [...w.guards]) releaseHeld(w, held, "release");
      checkLock(w);
      const sem = semaphoreOf(w.lock);
      assert.equal(sem.availablePermits, MAX_READERS, "every permit is back");
      assert.equal(sem.waiters.length, 0, "no waiter left");
      const guard = w.lock.tryWrite();
      assert.ok(guard !== undefined, "the lock is free at the end");
      assert.deepEqual(guard.value, w.data, "the value holds every writer, in lock order");
      guard.release();
    }),
    fcParams(400),
  );
});

// ---------------------------------------------------------------------------------------------

interface WaitOp {
  readonly id: number;
  readonly task: MockTask<BarrierWaitResult>;
  parked: boolean;
  entered: boolean;
  /** Model: the generation it arrived in (-1 before its first poll). */
  gen: number;
}

interface BarrierWorld {
  readonly barrier: Barrier;
  readonly n: number;
  ops: WaitOp[];
  nextOp: number;
  log: string[];
  // The model.
  generation: number;
  /** The arrivals of the current generation still counted (not withdrawn). */
  arrived: WaitOp[];
}

function barrierWhere(w: BarrierWorld): string {
  return `n ${w.n}, generation ${w.generation}, arrived [${w.arrived.map((o) => o.id)}]\n  ${recent(w.log)}`;
}

/** Barrier's private arrival count (white-box). */
function arrivedOf(barrier: Barrier): number {
  return (barrier as unknown as { arrived: number }).arrived;
}

function pollWaitOp(w: BarrierWorld, op: WaitOp): void {
  const out = attempt(() => op.task.poll());
  const what = `poll of wait op ${op.id}`;
  w.log.push(`${what} -> ${show(out)}`);
  if (!op.entered) {
    op.gen = w.generation;
    if (w.arrived.length + 1 === w.n) {
      // The n-th arrival releases the group and leads it.
      const r = expectReady(out, `${what} (n-th arrival); ${barrierWhere(w)}`);
      assert.equal(r.isLeader, true, `the n-th arrival leads; ${barrierWhere(w)}`);
      w.arrived = [];
      w.generation++;
      finishOp(w, op);
      return;
    }
    expectQueued(w.arrived, op, out, `${what}; ${barrierWhere(w)}`);
    return;
  }
  if (op.gen < w.generation) {
    const r = expectReady(out, `${what} (group released); ${barrierWhere(w)}`);
    assert.equal(r.isLeader, false, `only the n-th arrival leads; ${barrierWhere(w)}`);
    finishOp(w, op);
    return;
  }
  expectPending(out, `${what} (group not complete); ${barrierWhere(w)}`);
  op.parked = true;
}

/** Documented: a wait dropped before its group is released withdraws its arrival. */
function dropWaitOp(w: BarrierWorld, op: WaitOp): void {
  op.task.drop();
  w.log.push(`drop wait op ${op.id} (generation ${op.gen})`);
  if (op.entered && op.gen === w.generation) w.arrived = w.arrived.filter((o) => o !== op);
  finishOp(w, op);
}

function checkBarrier(w: BarrierWorld): void {
  const ctx = barrierWhere(w);
  assert.equal(w.barrier.currentGeneration, w.generation, `generation; ${ctx}`);
  assert.equal(arrivedOf(w.barrier), w.arrived.length, `arrivals counted; ${ctx}`);
  assert.equal(w.barrier.waiters.length, w.arrived.length, `parked waiters; ${ctx}`);
  for (const op of w.ops) {
    if (!op.parked) continue;
    if (op.gen < w.generation) {
      assert.ok(op.task.isWoken(), `lost wakeup: wait op ${op.id}'s group was released; ${ctx}`);
    } else {
      assert.equal(op.task.wakerRefCount, 1, `waiting op ${op.id} must hold its waker; ${ctx}`);
    }
  }
}

const barrierStep = checkedBy(checkBarrier);

function newWaitOp(w: BarrierWorld): WaitOp {
  const op: WaitOp = {
    id: w.nextOp++,
    task: new MockTask(w.barrier.wait()),
    parked: false,
    entered: false,
    gen: -1,
  };
  w.ops.push(op);
  return op;
}

const waitNow = plain(
  "wait",
  barrierStep((w: BarrierWorld) => pollWaitOp(w, newWaitOp(w))),
);

const barrierCommands = [
  waitNow,
  waitNow,
  waitNow,
  plain(
    "create",
    barrierStep((w: BarrierWorld) => {
      const op = newWaitOp(w);
      w.log.push(`create wait op ${op.id} (not polled: lazy)`);
    }),
  ),
  onSomeOp("pollOp", barrierStep(pollWaitOp)),
  onSomeOp("pollOp", barrierStep(pollWaitOp)),
  onSomeOp("dropOp", barrierStep(dropWaitOp)),
];

test("Barrier: step-by-step model (MockTask): release at n arrivals, one leader, dropped waits withdraw, no lost wakeup", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 4 }),
      fc.commands(barrierCommands, { maxCommands: 60, size: "large" }),
      (n, cmds) => {
        const w: BarrierWorld = {
          barrier: new Barrier(n),
          n,
          ops: [],
          nextOp: 1,
          log: [],
          generation: 0,
          arrived: [],
        };
        runSteps(w, cmds);
        // Drop every wait: every arrival is withdrawn or released, nobody is parked.
        for (const op of [...w.ops]) dropWaitOp(w, op);
        checkBarrier(w);
        assert.equal(arrivedOf(w.barrier), 0, "arrivals left after dropping every wait");
        assert.equal(w.barrier.waiters.length, 0, "waiters left after dropping every wait");
        // The barrier still works: a fresh group of n is released, its n-th arrival leading.
        const released = w.generation;
        const group = Array.from({ length: n }, () => newWaitOp(w));
        for (const op of group) pollWaitOp(w, op);
        checkBarrier(w);
        for (const op of [...w.ops]) pollWaitOp(w, op);
        checkBarrier(w);
        assert.equal(w.ops.length, 0, "the fresh group completed");
        assert.equal(w.barrier.currentGeneration, released + 1, "one more generation");
      },
    ),
    fcParams(400),
  );
});

// ---------------------------------------------------------------------------------------------

type LockTaskOp =
  | { readonly k: Kind; readonly hold: number }
  | { readonly k: "tryRead" | "tryWrite"; readonly hold: number }
  | { readonly k: "yield" };

interface LockScenario extends RuntimeScenario {
  readonly tasks: readonly (readonly LockTaskOp[])[];
  /**
   * Every other `read()`/`write()` is awaited directly (not through a Probe): a lock future spent
   * by its `yield*` is reused by a later one, so reused and new ones mix.
   */
  readonly direct: boolean;
}

const lockTaskOp: fc.Arbitrary<LockTaskOp> = fc.oneof(
  {
    arbitrary: fc.record({ k: kindArb, hold: fc.integer({ min: 0, max: 3 }) }),
    weight: 6,
  },
  {
    arbitrary: fc.record({
      k: fc.constantFrom("tryRead" as const, "tryWrite" as const),
      hold: fc.integer({ min: 0, max: 2 }),
    }),
    weight: 2,
  },
  { arbitrary: fc.constant({ k: "yield" as const }), weight: 1 },
);

const lockScenarioArb: fc.Arbitrary<LockScenario> = scenarioArbitrary(
  {
    tasks: fc.array(fc.array(lockTaskOp, { maxLength: 6 }), { minLength: 1, maxLength: 5 }),
    direct: fc.boolean(),
  },
  { maxAfter: 12, maxAborts: 3 },
  (s) => s.tasks.length,
);

interface QueueEntry {
  readonly what: string;
  done: boolean;
  readonly served: () => boolean;
}

interface LockStats {
  readers: number;
  writers: number;
  maxReaders: number;
  writes: number;
  /** Lock futures in the order they were queued (first Pending with a waiter in the queue). */
  readonly queued: QueueEntry[];
  violations: string[];
}

/**
 * FIFO: when a lock is taken (by a queued future, at once, or by a try-variant), every future
 * queued before it is served (the lock is handed to it) or gone; so a queued writer holds back
 * later readers, and nobody overtakes an earlier waiter.
 */
function checkNoOvertake(stats: LockStats, entry: QueueEntry | null, what: string): void {
  for (const other of stats.queued) {
    if (other === entry) break;
    if (!other.done && !other.served()) stats.violations.push(`${what} overtook ${other.what}`);
  }
}

function trackedLock(
  lock: RwLock<{ owner: number; count: number }>,
  kind: Kind,
  stats: LockStats,
  id: number,
) {
  const what = `${kind}() #${id}`;
  const inner = kind === "read" ? lock.read() : lock.write();
  let entry: QueueEntry | null = null;
  const done = () => {
    if (entry !== null) entry.done = true;
  };
  return new Probe(inner, {
    pending() {
      if (entry === null && waiterOf(inner) !== null) {
        entry = {
          what,
          done: false,
          served: () => {
            const waiter = waiterOf(inner);
            return waiter !== null && waiter.assigned === waiter.needed;
          },
        };
        stats.queued.push(entry);
      }
    },
    ready() {
      checkNoOvertake(stats, entry, what);
      done();
    },
    error: done,
    dropped: done,
  });
}

function lockScenarioTasks(s: LockScenario, stats: LockStats, spawn: Spawn) {
  const lock = new RwLock({ owner: 0, count: 0 });
  let nextId = 1;
  let nextLock = 1;
  const section = function* (guard: RwLockGuard<{ owner: number; count: number }>, ticks: number) {
    const me = nextId++;
    const writable = guard.writable;
    if (writable) stats.writers++;
    else stats.readers++;
    try {
      stats.maxReaders = Math.max(stats.maxReaders, stats.readers);
      if (stats.writers > 1 || (stats.writers === 1 && stats.readers > 0)) {
        stats.violations.push(`${stats.writers} writers and ${stats.readers} readers inside`);
      }
      if (writable) {
        guard.value = { owner: me, count: guard.value.count + 1 };
        stats.writes++;
      }
      const seen = guard.value;
      for (let j = 0; j < ticks; j++) {
        yield* yieldNow();
        if (guard.value !== seen) stats.violations.push("the value changed under the lock");
      }
    } finally {
      if (writable) stats.writers--;
      else stats.readers--;
      guard.release();
    }
  };
  const worker = (ops: readonly LockTaskOp[]) =>
    future(function* () {
      for (const op of ops) {
        if (op.k === "read" || op.k === "write") {
          const id = nextLock++;
          const direct = s.direct && id % 2 === 0;
          const acquire = direct
            ? op.k === "read"
              ? lock.read()
              : lock.write()
            : trackedLock(lock, op.k, stats, id);
          yield* section(yield* acquire, op.hold);
        } else if (op.k === "tryRead" || op.k === "tryWrite") {
          const guard = op.k === "tryRead" ? lock.tryRead() : lock.tryWrite();
          if (guard === undefined) {
            yield* yieldNow();
            continue;
          }
          checkNoOvertake(stats, null, op.k);
          yield* section(guard, op.hold);
        } else {
          yield* yieldNow();
        }
      }
    });
  const workers: JoinHandle<void>[] = s.tasks.map((ops) => spawn(worker(ops)));
  const handles: JoinHandle<void>[] = [...workers, spawnAborter(spawn, s.aborts, workers)];
  return { handles, lock, stats };
}

/** Runs whose readers held the lock together (to show the scenarios do exercise sharing). */
let sharedRuns = 0;

function checkLockStats(
  stats: LockStats,
  lock: RwLock<{ owner: number; count: number }>,
  label: string,
) {
  assert.deepEqual(stats.violations, [], label);
  assert.equal(stats.readers + stats.writers, 0, `${label}: still inside`);
  const sem = semaphoreOf(lock);
  assert.equal(sem.availablePermits, MAX_READERS, `${label}: the lock is not free at the end`);
  assert.equal(sem.waiters.length, 0, `${label}: waiters left in the queue`);
  const guard = lock.tryWrite();
  assert.ok(guard !== undefined, `${label}: tryWrite fails at the end`);
  assert.equal(guard.value.count, stats.writes, `${label}: every write counted once`);
  guard.release();
  if (stats.maxReaders > 1) sharedRuns++;
}

const newLockStats = (): LockStats => ({
  readers: 0,
  writers: 0,
  maxReaders: 0,
  writes: 0,
  queued: [],
  violations: [],
});
const startLock = (s: LockScenario, spawn: Spawn) => lockScenarioTasks(s, newLockStats(), spawn);
const checkLockRun = (
  _: LockScenario,
  { stats, lock }: ReturnType<typeof startLock>,
  label: string,
) => checkLockStats(stats, lock, label);

test("RwLock: reader and writer tasks with random aborts: exclusion, FIFO, free at the end (FIFO and random scheduling)", () => {
  sharedRuns = 0;
  const runs = fcParams(300).numRuns;
  settledProperty(lockScenarioArb, 300, startLock, checkLockRun);
  if (runs >= 100) assert.ok(sharedRuns > 0, "no scenario had two readers inside at once");
});

test("RwLock: the same scenarios through rt.run", async () => {
  await runProperty(lockScenarioArb, 60, startLock, checkLockRun);
});

// ---------------------------------------------------------------------------------------------

interface BarrierScenario extends RuntimeScenario {
  readonly n: number;
  /** Per task: its steps, true for a wait, false for a yield. */
  readonly tasks: readonly (readonly boolean[])[];
}

const barrierScenarioArb: fc.Arbitrary<BarrierScenario> = scenarioArbitrary(
  {
    n: fc.integer({ min: 1, max: 4 }),
    tasks: fc.array(fc.array(fc.boolean(), { maxLength: 6 }), { minLength: 1, maxLength: 5 }),
  },
  { maxAfter: 12, maxAborts: 3 },
  (s) => s.tasks.length,
);

interface BarrierStats {
  readonly n: number;
  /** Per generation: arrivals, withdrawals (dropped before the release), leaders, followers
   * that completed, and released waits dropped before they completed. */
  readonly arrivals: number[];
  readonly withdrawn: number[];
  readonly leaders: number[];
  readonly followers: number[];
  readonly lost: number[];
  violations: string[];
}

function bump(counts: number[], g: number): void {
  counts[g] = (counts[g] ?? 0) + 1;
}

/**
 * A wait that records its generation (at its first poll) and how it ended: a wait ready at its
 * first poll must lead and release a group of exactly n arrivals; a later one must not lead and
 * only completes once its generation is over.
 */
function trackedWait(barrier: Barrier, stats: BarrierStats, onArrival: () => void) {
  let gen = -1;
  let completed = false;
  return new Probe(barrier.wait(), {
    pending() {
      if (gen !== -1) return;
      gen = barrier.currentGeneration;
      bump(stats.arrivals, gen);
      onArrival();
    },
    ready(r) {
      completed = true;
      if (gen === -1) {
        gen = barrier.currentGeneration - 1;
        bump(stats.arrivals, gen);
        onArrival();
        if (!r.isLeader) stats.violations.push(`generation ${gen}: ready at once, not leader`);
        bump(stats.leaders, gen);
        const members = (stats.arrivals[gen] ?? 0) - (stats.withdrawn[gen] ?? 0);
        if (members !== stats.n) {
          stats.violations.push(`generation ${gen} released with ${members} of ${stats.n}`);
        }
        return;
      }
      if (r.isLeader) stats.violations.push(`generation ${gen}: a waiter that parked leads`);
      if (barrier.currentGeneration <= gen) {
        stats.violations.push(`generation ${gen}: a wait completed before its release`);
      }
      bump(stats.followers, gen);
    },
    dropped() {
      if (completed || gen === -1) return;
      completed = true;
      if (barrier.currentGeneration === gen) bump(stats.withdrawn, gen);
      else bump(stats.lost, gen);
    },
  });
}

const FILLER_YIELDS = 10_000;

function barrierScenarioTasks(s: BarrierScenario, stats: BarrierStats, spawn: Spawn) {
  const barrier = new Barrier(s.n);
  const worker = (steps: readonly boolean[]) =>
    future(function* () {
      for (const wait of steps) {
        if (wait) yield* trackedWait(barrier, stats, () => {});
        else yield* yieldNow();
      }
    });
  const workers: JoinHandle<void>[] = s.tasks.map((steps) => spawn(worker(steps)));
  const handles: JoinHandle<unknown>[] = [...workers, spawnAborter(spawn, s.aborts, workers)];
  // Aborted workers leave groups short: helper tasks fill the open group until every worker is
  // done, so that each run ends with every group released (else its waiters stay parked). The
  // filler gives up after FILLER_YIELDS yields (far more than a run needs), so that a lost wakeup
  // shows as a stuck task instead of a filler spinning forever.
  const filler = future(function* () {
    let yields = 0;
    while (!workers.every((h) => h.isFinished()) || arrivedOf(barrier) > 0) {
      if (yields++ > FILLER_YIELDS) return;
      if (arrivedOf(barrier) === 0) {
        yield* yieldNow();
        continue;
      }
      let arrived = false;
      handles.push(
        spawn(
          trackedWait(barrier, stats, () => {
            arrived = true;
          }),
        ),
      );
      while (!arrived && yields++ <= FILLER_YIELDS) yield* yieldNow();
    }
  });
  handles.push(spawn(filler));
  return { handles, barrier, stats };
}

function checkBarrierStats(stats: BarrierStats, barrier: Barrier, label: string) {
  assert.deepEqual(stats.violations, [], label);
  assert.equal(arrivedOf(barrier), 0, `${label}: arrivals left`);
  assert.equal(barrier.waiters.length, 0, `${label}: waiters left`);
  const generations = barrier.currentGeneration;
  assert.ok(stats.arrivals.length <= generations + 1, `${label}: arrivals in a later generation`);
  assert.equal(
    (stats.arrivals[generations] ?? 0) - (stats.withdrawn[generations] ?? 0),
    0,
    `${label}: the open generation still counts arrivals`,
  );
  for (let g = 0; g < generations; g++) {
    const at = `${label}: generation ${g}`;
    assert.equal(stats.leaders[g], 1, `${at}: one leader`);
    const members = (stats.arrivals[g] ?? 0) - (stats.withdrawn[g] ?? 0);
    assert.equal(members, stats.n, `${at}: released with n members`);
    assert.equal(
      (stats.followers[g] ?? 0) + (stats.lost[g] ?? 0),
      stats.n - 1,
      `${at}: every other member completed or was dropped after the release`,
    );
  }
}

const newBarrierStats = (s: BarrierScenario): BarrierStats => ({
  n: s.n,
  arrivals: [],
  withdrawn: [],
  leaders: [],
  followers: [],
  lost: [],
  violations: [],
});
const startBarrier = (s: BarrierScenario, spawn: Spawn) =>
  barrierScenarioTasks(s, newBarrierStats(s), spawn);
const checkBarrierRun = (
  _: BarrierScenario,
  { stats, barrier }: ReturnType<typeof startBarrier>,
  label: string,
) => checkBarrierStats(stats, barrier, label);

test("Barrier: waiting tasks with random aborts: n members and one leader per generation, nothing left parked (FIFO and random scheduling)", () => {
  settledProperty(barrierScenarioArb, 300, startBarrier, checkBarrierRun);
});

test("Barrier: the same scenarios through rt.run", async () => {
  await runProperty(barrierScenarioArb, 60, startBarrier, checkBarrierRun);
});
