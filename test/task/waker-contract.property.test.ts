/**
 * The waker contract, checked over random programs on a real Runtime: hand-written leaf futures
 * record every poll, and a random script wakes them (by clone, by reference, from inside their own
 * poll, a thousand times while queued), clones and drops their wakers, completes and aborts them.
 *
 * The script runs inside a driver task (so a "host" operation happens between two polls, never
 * during one); `settle()` yields until no other task is ready. A model predicts, for each settle,
 * exactly how many polls each task gets; the runtime's task object (`cx.waker.data`) is checked
 * for its SCHEDULED/COMPLETE bits and its live waker count after every operation.
 */
import assert from "node:assert/strict";
import { afterEach, describe, test } from "node:test";
import fc from "fast-check";
import {
  asyncFn,
  Cancelled,
  type Context,
  Future,
  future,
  type JoinHandle,
  Pending,
  type Poll,
  pollFn,
  Runtime,
  setDebugMode,
  type Waker,
  WakerContractError,
  yieldNow,
} from "../../src/index.js";
import { countingWaker, noopContext } from "../../src/testing/index.js";

/** The fields of a runtime task (`cx.waker.data`) this test reads; see src/runtime/task.ts. */
interface TaskView {
  state: number;
  wakers: number;
  internalWakers: number;
  polls: number;
}
/** Task state bits, as documented in src/runtime/task-state.ts. */
const SCHEDULED = 1;
const RUNNING = 2;
const COMPLETE = 4;

afterEach(() => setDebugMode(false));

/** Yields until no other task of `rt` is ready: every woken task has been polled. */
const settle = asyncFn(function* settle(rt: Runtime) {
  do {
    yield* yieldNow();
  } while (rt.dump().readyQueueLength > 0);
});

type SelfWake = "wake" | "wakeByRef" | "cloneWake";

/** Everything the script and the model share. */
class World {
  readonly probes: Probe[] = [];
  /** Waker clones held by the "host" for each probe (the probe hands one over on every poll). */
  readonly held: Waker[][] = [];
  /** Model: the task is in the ready queue. */
  readonly queued: boolean[] = [];
  /** Model: abort() was requested. */
  readonly cancelRequested: boolean[] = [];
  /** A wake happened that no later poll has answered yet. */
  readonly owed: boolean[] = [];
  readonly violations: string[] = [];
  wakesDuringOwnPoll = 0;
  manyWakeChecks = 0;
  staleWakes = 0;
}

/** A leaf future that records its polls and does what the script tells it to. */
class Probe extends Future<number> {
  polls = 0;
  pollDrops = 0;
  syncDrops = 0;
  outcome: "running" | "done" | "dropped" = "running";
  task: TaskView | null = null;
  /** When set, the next poll completes. */
  completeFlag = false;
  /** When set, the next poll wakes its own task `times` times, then returns. */
  arm: { how: SelfWake; times: number } | null = null;
  private inPoll = false;

  constructor(
    readonly id: number,
    private readonly world: World,
  ) {
    super();
  }

  private seeTask(cx: Context): void {
    const task = cx.waker.data as TaskView;
    if (this.task === null) this.task = task;
    else if (this.task !== task) this.world.violations.push(`probe ${this.id}: another task`);
  }

  poll(cx: Context): Poll<number> {
    const w = this.world;
    if (this.outcome !== "running")
      w.violations.push(`probe ${this.id}: poll after ${this.outcome}`);
    if (this.inPoll) w.violations.push(`probe ${this.id}: re-entrant poll`);
    this.inPoll = true;
    try {
      this.seeTask(cx);
      this.polls++;
      w.owed[this.id] = false;
      if ((this.task!.state & RUNNING) === 0) {
        w.violations.push(`probe ${this.id}: polled without RUNNING`);
      }
      // Hand a clone to the host, as a leaf registering with a driver would.
      w.held[this.id]!.push(cx.waker.clone());
      const arm = this.arm;
      this.arm = null;
      if (arm !== null) {
        for (let i = 0; i < arm.times; i++) {
          w.owed[this.id] = true;
          w.wakesDuringOwnPoll++;
          if (arm.how === "wake") cx.waker.wake();
          else if (arm.how === "wakeByRef") cx.waker.wakeByRef();
          else cx.waker.clone().wake();
        }
      }
      if (this.completeFlag) {
        this.outcome = "done";
        w.owed[this.id] = false;
        return this.id * 10 + 1;
      }
      return Pending;
    } finally {
      this.inPoll = false;
    }
  }

  override pollDrop(cx: Context): Poll<void> {
    const w = this.world;
    if (this.outcome !== "running") {
      w.violations.push(`probe ${this.id}: pollDrop after ${this.outcome}`);
    }
    this.seeTask(cx);
    this.pollDrops++;
    this.outcome = "dropped";
    w.owed[this.id] = false;
    return undefined;
  }

  override drop(): void {
    this.syncDrops++;
  }
}

type Op =
  | { kind: "settle" }
  | { kind: "wake"; t: number; i: number }
  | { kind: "wakeByRef"; t: number; i: number }
  | { kind: "wakeClone"; t: number; i: number }
  | { kind: "clone"; t: number; i: number }
  | { kind: "drop"; t: number; i: number }
  | { kind: "wakeMany"; t: number; i: number; n: number }
  | { kind: "armSelfWake"; t: number; how: SelfWake; times: number }
  | { kind: "complete"; t: number }
  | { kind: "abort"; t: number };

function opArb(tasks: number): fc.Arbitrary<Op> {
  const t = fc.nat({ max: tasks - 1 });
  const i = fc.nat({ max: 7 });
  return fc.oneof(
    { weight: 3, arbitrary: fc.constant<Op>({ kind: "settle" }) },
    { weight: 3, arbitrary: fc.record({ kind: fc.constant("wake" as const), t, i }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant("wakeByRef" as const), t, i }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant("wakeClone" as const), t, i }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant("clone" as const), t, i }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant("drop" as const), t, i }) },
    {
      weight: 1,
      arbitrary: fc.record({
        kind: fc.constant("wakeMany" as const),
        t,
        i,
        n: fc.constantFrom(2, 17, 1000),
      }),
    },
    {
      weight: 2,
      arbitrary: fc.record({
        kind: fc.constant("armSelfWake" as const),
        t,
        how: fc.constantFrom<SelfWake>("wake", "wakeByRef", "cloneWake"),
        times: fc.integer({ min: 1, max: 3 }),
      }),
    },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant("complete" as const), t }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant("abort" as const), t }) },
  );
}

const programArb = fc.integer({ min: 1, max: 4 }).chain((tasks) =>
  fc.record({
    tasks: fc.constant(tasks),
    ops: fc.array(opArb(tasks), { maxLength: 40 }),
    debug: fc.boolean(),
  }),
);

function unfinished(p: Probe): boolean {
  return p.outcome === "running";
}

/** Runs one program inside a driver task; all assertions happen inside. */
function driver(rt: Runtime, world: World, tasks: number, ops: readonly Op[]): Future<void> {
  const handles: JoinHandle<number>[] = [];

  /** Model bookkeeping for a wake from outside any poll. */
  function hostWoke(t: number): void {
    const p = world.probes[t]!;
    if (unfinished(p)) {
      world.queued[t] = true;
      world.owed[t] = true;
    } else {
      world.staleWakes++;
    }
  }

  function checkInvariants(where: string): void {
    assert.deepEqual(world.violations, [], where);
    let queued = 0;
    let external = 0;
    for (const p of world.probes) {
      const held = world.held[p.id]!;
      if (world.queued[p.id]) queued++;
      if (unfinished(p)) external += held.length;
      const task = p.task;
      if (task === null) {
        assert.equal(held.length, 0, where);
        continue;
      }
      assert.equal(task.wakers, held.length, `${where}: live wakers of probe ${p.id}`);
      assert.equal(task.internalWakers, 0, where);
      assert.equal((task.state & COMPLETE) !== 0, !unfinished(p), `${where}: COMPLETE ${p.id}`);
      if (unfinished(p)) {
        assert.equal(
          (task.state & SCHEDULED) !== 0,
          world.queued[p.id],
          `${where}: SCHEDULED ${p.id}`,
        );
      }
      assert.equal(task.state & RUNNING, 0, `${where}: not running between polls`);
    }
    assert.equal(rt.dump().readyQueueLength, queued, `${where}: ready queue`);
    assert.equal(rt.externalWakers, external, `${where}: external wakers`);
  }

  /** Settles the runtime and checks that each task got exactly the polls the model predicts. */
  function* settleChecked(where: string) {
    const expected = world.probes.map((p) => {
      if (!world.queued[p.id] || !unfinished(p)) return { polls: 0, pollDrops: 0 };
      if (world.cancelRequested[p.id]) return { polls: 0, pollDrops: 1 };
      const repoll = !p.completeFlag && p.arm !== null;
      return { polls: repoll ? 2 : 1, pollDrops: 0 };
    });
    const before = world.probes.map((p) => ({ polls: p.polls, pollDrops: p.pollDrops }));
    yield* settle(rt);
    world.probes.forEach((p, k) => {
      const got = {
        polls: p.polls - before[k]!.polls,
        pollDrops: p.pollDrops - before[k]!.pollDrops,
      };
      assert.deepEqual(got, expected[k], `${where}: polls of probe ${p.id}`);
      world.queued[p.id] = false;
      // Every wake of an unfinished task was followed by a poll.
      assert.equal(world.owed[p.id], false, `${where}: wake of probe ${p.id} not answered`);
    });
    checkInvariants(where);
  }

  function pick(t: number, i: number): Waker | undefined {
    const held = world.held[t]!;
    return held.length === 0 ? undefined : held[i % held.length];
  }

  function take(t: number, i: number): Waker | undefined {
    const held = world.held[t]!;
    if (held.length === 0) return undefined;
    return held.splice(i % held.length, 1)[0];
  }

  return future(function* driverBody() {
    for (let t = 0; t < tasks; t++) {
      world.probes.push(new Probe(t, world));
      world.held.push([]);
      world.queued.push(true);
      world.cancelRequested.push(false);
      world.owed.push(true);
      handles.push(rt.spawn(world.probes[t]!));
    }
    checkInvariants("after spawn");

    for (const [n, op] of ops.entries()) {
      const where = `op ${n} ${JSON.stringify(op)}`;
      switch (op.kind) {
        case "settle":
          yield* settleChecked(where);
          break;
        case "wake": {
          const w = take(op.t, op.i);
          if (w === undefined) break;
          w.wake();
          hostWoke(op.t);
          break;
        }
        case "wakeByRef": {
          const w = pick(op.t, op.i);
          if (w === undefined) break;
          w.wakeByRef();
          hostWoke(op.t);
          break;
        }
        case "wakeClone": {
          const w = pick(op.t, op.i);
          if (w === undefined) break;
          const c = w.clone();
          assert.ok(c.willWake(w));
          c.wake();
          hostWoke(op.t);
          break;
        }
        case "clone": {
          const w = pick(op.t, op.i);
          if (w === undefined) break;
          world.held[op.t]!.push(w.clone());
          break;
        }
        case "drop": {
          take(op.t, op.i)?.drop();
          break;
        }
        case "wakeMany": {
          yield* settleChecked(`${where} (before)`);
          const w = pick(op.t, op.i);
          if (w === undefined) break;
          const p = world.probes[op.t]!;
          for (let k = 0; k < op.n; k++) {
            if (k % 2 === 0) w.wakeByRef();
            else w.clone().wake();
            hostWoke(op.t);
          }
          // Merged: the task is queued once (or not at all once finished).
          assert.equal(rt.dump().readyQueueLength, unfinished(p) ? 1 : 0, where);
          const before = p.polls;
          const expectRepoll = unfinished(p) && !p.completeFlag && p.arm !== null;
          yield* settleChecked(`${where} (after)`);
          if (world.cancelRequested[op.t] === false && before !== p.polls) {
            assert.equal(p.polls - before, expectRepoll ? 2 : 1, `${where}: merged wakes`);
            world.manyWakeChecks++;
          }
          break;
        }
        case "armSelfWake": {
          const p = world.probes[op.t]!;
          if (unfinished(p)) p.arm = { how: op.how, times: op.times };
          break;
        }
        case "complete": {
          const p = world.probes[op.t]!;
          p.completeFlag = true;
          const w = pick(op.t, 0);
          if (w !== undefined) {
            w.wakeByRef();
            hostWoke(op.t);
          }
          break;
        }
        case "abort": {
          const p = world.probes[op.t]!;
          handles[op.t]!.abort();
          if (unfinished(p) && !world.cancelRequested[op.t]) {
            world.cancelRequested[op.t] = true;
            world.queued[op.t] = true;
          }
          break;
        }
      }
      checkInvariants(where);
    }

    yield* settleChecked("final settle");
    // Abort what is left; every task ends, dropped exactly once.
    for (const [t, h] of handles.entries()) {
      h.abort();
      const p = world.probes[t]!;
      if (unfinished(p) && !world.cancelRequested[t]) {
        world.cancelRequested[t] = true;
        world.queued[t] = true;
      }
    }
    yield* settleChecked("after abort all");

    // Stale wakes after completion are no-ops.
    for (const p of world.probes) {
      const polls = p.polls;
      for (const w of world.held[p.id]!) w.wakeByRef();
      const w = pick(p.id, 0);
      w?.clone().wake();
      assert.equal(rt.dump().readyQueueLength, 0, "stale wakes queue nothing");
      yield* yieldNow();
      assert.equal(p.polls, polls, "no poll after completion");
    }

    // Release every clone: each task's count returns to zero.
    for (const p of world.probes) {
      for (const w of world.held[p.id]!.splice(0)) w.drop();
      assert.equal(p.task!.wakers, 0, `probe ${p.id}: wakers after release`);
    }
    checkInvariants("after release");
    for (const [t, h] of handles.entries()) {
      const p = world.probes[t]!;
      assert.ok(h.isFinished());
      assert.notEqual(p.outcome, "running");
      assert.equal(p.pollDrops, p.outcome === "dropped" ? 1 : 0);
      assert.equal(p.syncDrops, 0, "the runtime drives pollDrop, never a synchronous drop");
      if (p.outcome === "done") assert.equal(h.poll(noopContext()), t * 10 + 1);
      else assert.throws(() => h.poll(noopContext()), Cancelled);
    }
    assert.equal(rt.externalWakers, 0);
  });
}

describe("waker contract on a real Runtime (property)", () => {
  test("random programs, driven synchronously by rt.blockOn", () => {
    let selfWakes = 0;
    let manyChecks = 0;
    let stale = 0;
    fc.assert(
      fc.property(programArb, ({ tasks, ops, debug }) => {
        setDebugMode(debug);
        try {
          const rt = new Runtime({ debug });
          const world = new World();
          rt.blockOn(driver(rt, world, tasks, ops));
          selfWakes += world.wakesDuringOwnPoll;
          manyChecks += world.manyWakeChecks;
          stale += world.staleWakes;
        } finally {
          setDebugMode(false);
        }
      }),
      { numRuns: 300 },
    );
    // The generator did exercise the interesting cases.
    assert.ok(selfWakes > 0, "some wakes happened during the task's own poll");
    assert.ok(manyChecks > 0, "some merged-wake checks ran");
    assert.ok(stale > 0, "some stale wakes happened");
  });

  test("random programs, driven by await rt.run", async () => {
    await fc.assert(
      fc.asyncProperty(programArb, async ({ tasks, ops, debug }) => {
        setDebugMode(debug);
        try {
          const rt = new Runtime({ debug });
          await rt.run(driver(rt, new World(), tasks, ops));
        } finally {
          setDebugMode(false);
        }
      }),
      { numRuns: 100 },
    );
  });
});

/** A leaf counting its polls, holding one clone, completing when `open` is called. */
class Leaf extends Future<string> {
  polls = 0;
  pollsAfterDone = 0;
  finished = false;
  waker: Waker | null = null;
  value: string | null = null;
  log: string[] | null = null;
  constructor(readonly name = "leaf") {
    super();
  }
  poll(cx: Context): Poll<string> {
    this.polls++;
    this.log?.push(this.name);
    if (this.finished) this.pollsAfterDone++;
    if (this.value !== null) {
      this.finished = true;
      return this.value;
    }
    if (this.waker === null || !this.waker.willWake(cx.waker)) {
      this.waker?.drop();
      this.waker = cx.waker.clone();
    }
    return Pending;
  }
  override drop(): void {
    this.finished = true;
    this.waker?.drop();
    this.waker = null;
  }
}

describe("waker contract on a real Runtime (examples)", () => {
  test("1000 wakes of a queued task give exactly one poll", () => {
    const rt = new Runtime();
    const leaf = new Leaf();
    rt.spawn(leaf);
    rt.blockOn(settle(rt));
    assert.equal(leaf.polls, 1);
    const w = leaf.waker!;
    for (let i = 0; i < 1000; i++) w.wakeByRef();
    assert.equal(rt.dump().readyQueueLength, 1);
    assert.equal(rt.dump().tasks[0]!.state, "ready");
    rt.blockOn(settle(rt));
    assert.equal(leaf.polls, 2);
    rt.blockOn(settle(rt));
    assert.equal(leaf.polls, 2, "and no more without a new wake");
  });

  test("1000 wakes through 1000 clones also give one poll and release every clone", () => {
    const rt = new Runtime();
    const leaf = new Leaf();
    rt.spawn(leaf);
    rt.blockOn(settle(rt));
    const task = leaf.waker!.data as TaskView;
    const clones = Array.from({ length: 1000 }, () => leaf.waker!.clone());
    assert.equal(task.wakers, 1001);
    for (const c of clones) c.wake();
    assert.equal(task.wakers, 1);
    rt.blockOn(settle(rt));
    assert.equal(leaf.polls, 2);
  });

  test("a wake during the task's own poll re-polls it after the poll, behind other ready tasks", () => {
    const rt = new Runtime();
    const log: string[] = [];
    let selfPolls = 0;
    const selfWaker = pollFn<void>((cx) => {
      selfPolls++;
      log.push(`self#${selfPolls} start`);
      if (selfPolls === 3) return undefined;
      cx.waker.wake();
      cx.waker.wake();
      log.push(`self#${selfPolls} end`);
      return Pending;
    });
    const other = new Leaf("other");
    other.log = log;
    rt.spawn(selfWaker);
    rt.spawn(other);
    rt.blockOn(settle(rt));
    assert.deepEqual(log, [
      "self#1 start",
      "self#1 end",
      "other",
      "self#2 start",
      "self#2 end",
      "self#3 start",
    ]);
    assert.equal(selfPolls, 3);
  });

  test("no poll after completion; stale wakes of a completed task are no-ops", () => {
    const rt = new Runtime();
    const leaf = new Leaf();
    const h = rt.spawn(leaf);
    rt.blockOn(settle(rt));
    const stale = leaf.waker!.clone();
    const task = stale.data as TaskView;
    leaf.value = "done";
    leaf.waker!.wake();
    leaf.waker = null;
    rt.blockOn(settle(rt));
    assert.equal(leaf.polls, 2);
    assert.ok(h.isFinished());
    assert.equal(task.state & COMPLETE, COMPLETE);
    stale.wakeByRef();
    stale.clone().wake();
    assert.equal(rt.dump().readyQueueLength, 0);
    assert.equal(task.state & SCHEDULED, 0);
    rt.blockOn(settle(rt));
    stale.wake();
    assert.equal(leaf.polls, 2);
    assert.equal(leaf.pollsAfterDone, 0);
    assert.equal(task.wakers, 0);
    assert.equal(rt.blockOn(h), "done");
  });

  test("no poll after cancellation; the leaf is dropped once and its clone released", () => {
    const rt = new Runtime();
    const leaf = new Leaf();
    const h = rt.spawn(leaf);
    rt.blockOn(settle(rt));
    const task = leaf.waker!.data as TaskView;
    const extra = leaf.waker!.clone();
    h.abort();
    h.abort();
    extra.wakeByRef();
    rt.blockOn(settle(rt));
    assert.ok(h.isFinished());
    assert.equal(leaf.polls, 1, "cancelled before a second poll");
    assert.equal(task.wakers, 1, "only the extra clone is left");
    extra.wake();
    rt.blockOn(settle(rt));
    assert.equal(leaf.polls, 1);
    assert.equal(task.wakers, 0);
    assert.throws(() => h.poll(noopContext()), Cancelled);
  });

  test("with debug mode, the runtime's task waker clones obey the contract", () => {
    setDebugMode(true);
    try {
      const rt = new Runtime({ debug: true });
      const leaf = new Leaf();
      rt.spawn(leaf);
      rt.blockOn(settle(rt));
      const c = leaf.waker!.clone();
      c.wake();
      assert.throws(() => c.wake(), WakerContractError);
      assert.throws(() => c.clone(), WakerContractError);
      const d = leaf.waker!.clone();
      d.drop();
      d.drop();
      assert.throws(() => d.wakeByRef(), WakerContractError);
      assert.equal((leaf.waker!.data as TaskView).wakers, 1);
    } finally {
      setDebugMode(false);
    }
  });
});

describe("clone/drop balance with a counting waker (property)", () => {
  type WOp = { kind: "clone" | "drop" | "wake" | "wakeByRef"; i: number };
  test("live = held clones + the original; wakes and drops are counted", () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            kind: fc.constantFrom<WOp["kind"]>("clone", "drop", "wake", "wakeByRef"),
            i: fc.nat({ max: 15 }),
          }),
          { maxLength: 60 },
        ),
        fc.boolean(),
        (ops, debug) => {
          setDebugMode(debug);
          try {
            const { waker, counts } = countingWaker();
            const held: Waker[] = [];
            let wakes = 0;
            let clones = 0;
            let drops = 0;
            for (const op of ops) {
              const all = [waker, ...held];
              if (op.kind === "clone") {
                held.push(all[op.i % all.length]!.clone());
                clones++;
              } else if (op.kind === "wakeByRef") {
                all[op.i % all.length]!.wakeByRef();
                wakes++;
              } else if (held.length > 0) {
                const [w] = held.splice(op.i % held.length, 1);
                if (op.kind === "wake") {
                  w!.wake();
                  wakes++;
                } else {
                  w!.drop();
                  drops++;
                }
              }
              assert.deepEqual(counts, { wakes, clones, drops, live: held.length + 1 });
            }
            for (const w of held) w.drop();
            assert.equal(counts.live, 1);
          } finally {
            setDebugMode(false);
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});
