/**
 * Model-based properties of watch.
 *
 * 1. By hand (MockTask): random sequences of send / sendModify (in place, replacing, throwing) /
 *    subscribe / clone and drop of receivers / borrowAndUpdate / changed() and pollNext polls /
 *    dropping pending futures / dropping the sender, checked step by step against a reference
 *    model of tokio's watch: a receiver has seen a version; changed() completes (and marks it
 *    seen) when a newer one exists, a burst of sends being one change, and fails with
 *    ChannelClosed only once the sender is gone and nothing is unseen; borrow() reads the latest
 *    value without marking it seen; every parked future is woken by a change or the sender's
 *    drop, and by nothing else; a dropped future consumes nothing and leaves no waker behind.
 * 2. On a Runtime (FIFO and seeded random scheduling): a sender task (sends, sendModify, maybe
 *    dropping itself early) and receiver tasks that subscribe at random points and follow the
 *    changes (changed() or pollNext), a controller aborts tasks at random points (aborting the
 *    sender drops it there). Once every task is idle, each receiver still running has seen the
 *    latest value and waits exactly once; then the sender is dropped and every receiver must end
 *    after the last value. Each saw strictly newer values only, never a handed-back one, and no
 *    waiter or receiver count is left behind.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import {
  ChannelClosed,
  Done,
  future,
  type JoinHandle,
  pollFn,
  type WatchReceiver,
  type WatchSender,
  watch,
  yieldNow,
} from "../../src/index.js";
import type { WaitList } from "../../src/sync/wait-list.js";
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
  expectError,
  expectFinished,
  expectPending,
  expectReady,
  fcParams,
  finishOp,
  onSomeOp,
  pick,
  plain,
  recent,
  runSteps,
  runWatched,
  settle,
  show,
  withArg,
} from "./support.js";

/** A box, so that sendModify can change the value in place or replace it. */
interface V {
  n: number;
}

/** The shared state behind a watch channel (white-box: its wait list and receiver count). */
interface WatchState {
  readonly waiters: WaitList;
  readonly receivers: number;
}

function stateOf(tx: WatchSender<V>): WatchState {
  return (tx as unknown as { state: WatchState }).state;
}

// ---------------------------------------------------------------------------------------------
// 1. Step by step against a model
// ---------------------------------------------------------------------------------------------

interface Rx {
  readonly id: number;
  readonly rx: WatchReceiver<V>;
  /** Model: the version this receiver has seen. */
  seen: number;
  /** Its live pollNext op: the stream has one consumer, as Rust's `poll_next(&mut self)`. */
  next: Op | null;
}

interface Op {
  readonly id: number;
  readonly kind: "changed" | "next";
  readonly task: MockTask<unknown>;
  readonly rx: Rx;
  /** The last poll returned Pending. */
  parked: boolean;
  /** Model: a send or the sender's drop happened since it parked (so it must have been woken). */
  woken: boolean;
}

/** A dropped pollNext op whose waker the receiver keeps until the next event (see `dropOp`). */
interface Lingering {
  readonly rx: Rx;
  readonly task: MockTask<unknown>;
  readonly id: number;
}

interface World {
  readonly tx: WatchSender<V>;
  readonly state: WatchState;
  rxs: Rx[];
  ops: Op[];
  lingering: Lingering[];
  readonly tasks: MockTask<unknown>[];
  nextOp: number;
  nextRx: number;
  nextN: number;
  log: string[];
  // The model.
  /** Successful send / sendModify calls. */
  version: number;
  /** The current value (its identity) and what its `n` must be. */
  value: V;
  n: number;
  senderAlive: boolean;
}

function newWorld(): World {
  const initial: V = { n: 0 };
  const [tx, rx] = watch(initial);
  return {
    tx,
    state: stateOf(tx),
    rxs: [{ id: 0, rx, seen: 0, next: null }],
    ops: [],
    lingering: [],
    tasks: [],
    nextOp: 1,
    nextRx: 1,
    nextN: 1,
    log: [],
    version: 0,
    value: initial,
    n: 0,
    senderAlive: true,
  };
}

function where(w: World): string {
  const rxs = w.rxs.map((r) => `rx${r.id}@${r.seen}`).join(" ");
  const ops = w.ops.map((o) => `${o.id}:${o.kind}/rx${o.rx.id}${o.parked ? "P" : ""}`);
  return `version ${w.version}, value ${w.n}, senderAlive ${w.senderAlive}, receivers [${rxs}], ops [${ops}]\n  ${recent(w.log)}`;
}

function checkInvariants(w: World): void {
  const ctx = where(w);
  assert.equal(w.value.n, w.n, `the value's content differs from the model; ${ctx}`);
  if (w.senderAlive) {
    assert.equal(w.tx.receiverCount, w.rxs.length, `receiverCount; ${ctx}`);
    assert.equal(w.tx.borrow(), w.value, `tx.borrow() is not the latest value; ${ctx}`);
  }
  for (const r of w.rxs) {
    // Called after every step: borrow() must not mark the value seen (hasChanged would lie next).
    assert.equal(r.rx.borrow(), w.value, `rx${r.id}.borrow() is not the latest value; ${ctx}`);
    if (r.seen !== w.version || w.senderAlive) {
      assert.equal(r.rx.hasChanged(), r.seen !== w.version, `rx${r.id}.hasChanged(); ${ctx}`);
    } else {
      // Nothing unseen and no sender: no change can come (tokio's has_changed errs).
      assert.throws(() => r.rx.hasChanged(), ChannelClosed, `rx${r.id}.hasChanged(); ${ctx}`);
    }
  }
  let waiting = 0;
  for (const op of w.ops) {
    const what = `op ${op.id} (${op.kind} on rx${op.rx.id})`;
    if (!op.parked) {
      assert.equal(op.task.wakerRefCount, 0, `${what} holds a waker before its first poll`);
      continue;
    }
    const canComplete = op.rx.seen !== w.version || !w.senderAlive;
    if (op.woken) {
      assert.ok(op.task.isWoken(), `lost wakeup: ${what} was not woken; ${ctx}`);
      assert.equal(op.task.wakerRefCount, 0, `${what} was woken but its waker is still held`);
    } else {
      assert.ok(!canComplete, `model: ${what} can complete without an event; ${ctx}`);
      assert.ok(!op.task.isWoken(), `spurious wakeup of ${what}: nothing happened; ${ctx}`);
      assert.equal(op.task.wakerRefCount, 1, `${what} is parked: exactly one waker held; ${ctx}`);
      waiting++;
    }
  }
  for (const l of w.lingering) {
    assert.equal(l.task.wakerRefCount, 1, `dropped pollNext op ${l.id}: waker count; ${ctx}`);
  }
  assert.equal(
    w.state.waiters.length,
    waiting + w.lingering.length,
    `entries in the wait list; ${ctx}`,
  );
}

const step = checkedBy(checkInvariants);

/** A change or the sender's drop: every parked future (and a lingering stream waker) is woken. */
function event(w: World, what: string): void {
  for (const op of w.ops) if (op.parked) op.woken = true;
  for (const l of w.lingering) {
    assert.ok(l.task.isWoken(), `${what}: the stream waker left by pollNext op ${l.id} not woken`);
    assert.equal(l.task.wakerRefCount, 0, `${what}: pollNext op ${l.id}'s waker still held`);
  }
  w.lingering = [];
}

function newOp(w: World, r: Rx, kind: Op["kind"]): Op {
  const fut = kind === "changed" ? r.rx.changed() : pollFn((cx) => r.rx.pollNext(cx));
  const op: Op = {
    id: w.nextOp++,
    kind,
    task: new MockTask<unknown>(fut),
    rx: r,
    parked: false,
    woken: false,
  };
  w.tasks.push(op.task);
  w.ops.push(op);
  if (kind === "next") r.next = op;
  return op;
}

function endOp(w: World, op: Op, keepsWaker = false): void {
  finishOp(w, op, `op ${op.id} (${op.kind})`, keepsWaker);
  if (op.rx.next === op) op.rx.next = null;
}

function pollOp(w: World, op: Op): void {
  const out = attempt(() => op.task.poll());
  const what = `poll of op ${op.id} (${op.kind} on rx${op.rx.id})`;
  w.log.push(`${what} -> ${show(out)}`);
  const r = op.rx;
  if (r.seen !== w.version) {
    // An unseen value: it completes (even after the sender's drop) and marks the version seen.
    const value = expectReady(out, `${what} with an unseen value; ${where(w)}`);
    if (op.kind === "changed") assert.equal(value, undefined, `${what}: changed() completes empty`);
    else assert.equal(value, w.value, `${what}: pollNext yields the latest value`);
    r.seen = w.version;
    endOp(w, op);
  } else if (!w.senderAlive) {
    if (op.kind === "changed") {
      const e = expectError(out, ChannelClosed, `${what}, all seen and the sender gone`);
      assert.equal(e.code, "CHANNEL_CLOSED");
      assert.equal(e.value, undefined, `${what}: a failed wait carries no value`);
    } else {
      assert.equal(expectReady(out, what), Done, `${what}: the stream ends`);
    }
    endOp(w, op);
  } else {
    expectPending(out, `${what}: nothing new since rx${r.id} last saw; ${where(w)}`);
    op.parked = true;
    op.woken = false;
    if (op.kind === "next") {
      // The receiver's one stream waiter now holds this op's waker instead of a dropped one's.
      for (const l of w.lingering.filter((x) => x.rx === r)) {
        assert.equal(l.task.wakerRefCount, 0, `pollNext op ${l.id}'s replaced waker kept`);
      }
      w.lingering = w.lingering.filter((x) => x.rx !== r);
    }
  }
}

function dropOp(w: World, op: Op): void {
  const before = changedOrClosed(op.rx.rx);
  op.task.drop();
  w.log.push(`drop op ${op.id} (${op.kind})`);
  if (op.kind === "next" && op.parked && !op.woken) {
    // A pollFn cannot deregister: as Rust's poll_next, the stream keeps the last waker it was
    // given until the next change, the sender's drop, another poll or the receiver's drop.
    w.lingering.push({ rx: op.rx, task: op.task, id: op.id });
    endOp(w, op, true);
  } else {
    endOp(w, op);
  }
  assert.equal(changedOrClosed(op.rx.rx), before, `dropping op ${op.id} consumed a change`);
}

/** `hasChanged()`, or "closed" where it throws ChannelClosed (sender gone, nothing unseen). */
function changedOrClosed(rx: WatchReceiver<unknown>): boolean | "closed" {
  try {
    return rx.hasChanged();
  } catch (error) {
    if (error instanceof ChannelClosed) return "closed";
    throw error;
  }
}

function dropReceiver(w: World, r: Rx, how: "drop" | "dispose" | "twice"): void {
  // As in Rust, a receiver's pending futures (they borrow it) are dropped first.
  for (const op of w.ops.filter((o) => o.rx === r)) dropOp(w, op);
  if (how === "dispose") r.rx[Symbol.dispose]();
  else r.rx.drop();
  if (how === "twice") r.rx.drop();
  w.log.push(`${how} rx${r.id}`);
  w.rxs = w.rxs.filter((x) => x !== r);
  for (const l of w.lingering.filter((x) => x.rx === r)) {
    assert.equal(l.task.wakerRefCount, 0, `rx${r.id} dropped, pollNext op ${l.id}'s waker kept`);
  }
  w.lingering = w.lingering.filter((x) => x.rx !== r);
}

function dropSender(w: World, how: "drop" | "dispose" | "twice"): void {
  if (how === "dispose") w.tx[Symbol.dispose]();
  else w.tx.drop();
  w.log.push(`${how} tx`);
  w.senderAlive = false;
  event(w, "sender dropped");
  if (how === "twice") {
    // drop() is idempotent: nothing is woken again.
    const wakes = w.ops.map((op) => op.task.wakeCount);
    w.tx.drop();
    w.ops.forEach((op, i) => assert.equal(op.task.wakeCount, wakes[i], `op ${op.id} woken again`));
  }
}

class ModifyFailed extends Error {
  override name = "ModifyFailed";
}

type ModifyMode = "inPlace" | "returnSame" | "replace" | "throw";

const senderAlive = (w: World) => w.senderAlive;
const someReceiver = (w: World) => w.rxs.length > 0;
const dropHow = fc.constantFrom("drop" as const, "dispose" as const, "twice" as const);

const send = plain(
  "send",
  step((w) => {
    const v: V = { n: w.nextN++ };
    const out = attempt(() => w.tx.send(v));
    w.log.push(`send ${v.n} -> ${show(out)}`);
    if (w.rxs.length === 0) {
      const e = expectError(out, ChannelClosed, `send ${v.n} with every receiver dropped`);
      assert.equal(e.code, "CHANNEL_CLOSED");
      assert.equal(e.value, v, "ChannelClosed must hand the value back");
      return;
    }
    expectReady(out, `send ${v.n}`);
    w.value = v;
    w.n = v.n;
    w.version++;
    event(w, `send ${v.n}`);
  }),
  senderAlive,
);

const sendModify = withArg(
  "sendModify",
  fc.constantFrom<ModifyMode>("inPlace", "returnSame", "replace", "throw"),
  step((w, mode: ModifyMode) => {
    const n = w.nextN++;
    const current = w.value;
    const failure = new ModifyFailed("modify failed");
    const replacement: V = { n };
    let calls = 0;
    let got: V | null = null;
    const out = attempt(() => {
      w.tx.sendModify((v) => {
        calls++;
        got = v;
        if (mode === "replace") return replacement;
        v.n = n;
        if (mode === "throw") throw failure;
        return mode === "returnSame" ? v : undefined;
      });
      return undefined;
    });
    w.log.push(`sendModify ${mode} ${n} -> ${show(out)}`);
    assert.equal(calls, 1, `sendModify(${mode}) called its function ${calls} times`);
    assert.equal(got, current, "sendModify's function gets the current value");
    if (mode === "throw") {
      // tokio's send_modify: a panic notifies nobody, but what it changed in place stays.
      assert.equal(expectError(out, ModifyFailed, "sendModify(throw)"), failure);
      w.n = n;
      return;
    }
    // Succeeds and bumps the version even without receivers (a later subscriber has seen it).
    expectReady(out, `sendModify(${mode})`);
    if (mode === "replace") w.value = replacement;
    w.n = n;
    w.version++;
    event(w, `sendModify ${mode}`);
  }),
  senderAlive,
);

/** Several may wait on one receiver (Rust's `&mut self` forbids it): they share its seen version. */
const changed = withArg(
  "changed",
  fc.nat(),
  step((w, k: number) => pollOp(w, newOp(w, pick(w.rxs, k), "changed"))),
  someReceiver,
);

const commands = [
  send,
  send,
  sendModify,
  withArg("dropSender", dropHow, step(dropSender), senderAlive),
  plain(
    "subscribe",
    step((w) => {
      const rx = w.tx.subscribe();
      const r: Rx = { id: w.nextRx++, rx, seen: w.version, next: null };
      w.rxs.push(r);
      w.log.push(`subscribe -> rx${r.id}`);
      assert.equal(rx.hasChanged(), false, "a new subscriber has seen the current value");
    }),
    senderAlive,
  ),
  withArg(
    "clone",
    fc.nat(),
    step((w, k: number) => {
      const from = pick(w.rxs, k);
      const r: Rx = { id: w.nextRx++, rx: from.rx.clone(), seen: from.seen, next: null };
      w.rxs.push(r);
      w.log.push(`rx${from.id}.clone -> rx${r.id}`);
    }),
    someReceiver,
  ),
  withArg(
    "dropReceiver",
    fc.tuple(fc.nat(), dropHow),
    step((w, [k, how]: [number, "drop" | "dispose" | "twice"]) =>
      dropReceiver(w, pick(w.rxs, k), how),
    ),
    someReceiver,
  ),
  withArg(
    "borrowAndUpdate",
    fc.nat(),
    step((w, k: number) => {
      const r = pick(w.rxs, k);
      assert.equal(r.rx.borrowAndUpdate(), w.value, `rx${r.id}.borrowAndUpdate()`);
      w.log.push(`rx${r.id}.borrowAndUpdate`);
      r.seen = w.version;
    }),
    someReceiver,
  ),
  changed,
  changed,
  withArg(
    "changedLazy",
    fc.nat(),
    step((w, k: number) => {
      newOp(w, pick(w.rxs, k), "changed");
    }),
    someReceiver,
  ),
  withArg(
    "pollNext",
    fc.nat(),
    step((w, k: number) => {
      const free = w.rxs.filter((r) => r.next === null);
      pollOp(w, newOp(w, pick(free, k), "next"));
    }),
    (w) => w.rxs.some((r) => r.next === null),
  ),
  onSomeOp("pollOp", step(pollOp)),
  onSomeOp("pollOp", step(pollOp)),
  onSomeOp("dropOp", step(dropOp)),
];

test("watch: step-by-step model (MockTask): no missed or spurious change, no lost wakeup", () => {
  fc.assert(
    fc.property(fc.commands(commands, { maxCommands: 80, size: "large" }), (cmds) => {
      const w = newWorld();
      runSteps(w, cmds);
      // Whatever happened, a fresh changed() on each receiver completes at once exactly when
      // a value is unseen, and fails only once the sender is gone.
      for (const r of [...w.rxs]) {
        for (const op of w.ops.filter((o) => o.rx === r)) dropOp(w, op);
        pollOp(w, newOp(w, r, "changed"));
      }
      checkInvariants(w);
      // Then everything is dropped: no waiter, receiver or waker is left behind.
      for (const op of [...w.ops]) dropOp(w, op);
      for (const r of [...w.rxs]) dropReceiver(w, r, "drop");
      if (w.senderAlive) dropSender(w, "drop");
      checkInvariants(w);
      assert.equal(w.state.waiters.length, 0, "waiters left after every receiver was dropped");
      assert.equal(w.state.receivers, 0, "receivers counted after every one was dropped");
      for (const t of w.tasks) assert.equal(t.wakerRefCount, 0, "a waker leaked");
    }),
    fcParams(400),
  );
});

// ---------------------------------------------------------------------------------------------
// 2. Tasks on a Runtime, with random aborts
// ---------------------------------------------------------------------------------------------

interface ReceiverPlan {
  /** Yields before it subscribes (only while the sender is alive). */
  readonly startAfter: number;
  /** Wait with `changed()` + `borrowAndUpdate()`, or with the stream protocol (`pollNext`). */
  readonly mode: "changed" | "next";
  /** Yields after each change it saw. */
  readonly pause: number;
}

interface Scenario extends RuntimeScenario {
  readonly receivers: readonly ReceiverPlan[];
  /**
   * Sender steps: 0 send, 1 sendModify in place, 2 sendModify replacing, 3 yield, 4 drop the
   * sender and stop. Otherwise the sender stays alive after its program, until the check drops it.
   */
  readonly sender: readonly number[];
}

const scenarioArb: fc.Arbitrary<Scenario> = scenarioArbitrary(
  {
    receivers: fc.array(
      fc.record({
        startAfter: fc.integer({ min: 0, max: 3 }),
        mode: fc.constantFrom("changed" as const, "next" as const),
        pause: fc.integer({ min: 0, max: 2 }),
      }),
      { minLength: 1, maxLength: 5 },
    ),
    sender: fc.array(fc.constantFrom(0, 0, 0, 1, 2, 3, 3, 3, 4), { maxLength: 16 }),
  },
  { maxAfter: 12, maxAborts: 3 },
  // The receivers, then the sender (aborting it drops the sender at that point).
  (s) => s.receivers.length + 1,
);

interface SenderLedger {
  /** The value's `n` now. */
  current: number;
  /** `tx.borrow().n` just before the sender was dropped. */
  final: number;
  readonly sent: Set<number>;
  readonly handedBack: Set<number>;
  modifies: number;
  modifyCalls: number;
  steps: number;
  dropped: boolean;
}

interface ReceiverLedger {
  /** Subscribed; `start` is the value it had then seen. */
  started: boolean;
  start: number;
  /** The value after each change it saw. */
  readonly seen: number[];
  /** It was told the end (ChannelClosed or Done). */
  ended: boolean;
  /** The sender was gone before it could subscribe. */
  tooLate: boolean;
}

function scenarioTasks(s: Scenario, spawn: Spawn) {
  const [tx, rx0] = watch<V>({ n: 0 });
  // Only the receiver tasks subscribe: until one does, sends fail and hand the value back.
  rx0.drop();
  const sender: SenderLedger = {
    current: 0,
    final: -1,
    sent: new Set(),
    handedBack: new Set(),
    modifies: 0,
    modifyCalls: 0,
    steps: 0,
    dropped: false,
  };
  const dropSender = () => {
    if (sender.dropped) return;
    sender.final = tx.borrow().n;
    sender.dropped = true;
    tx.drop();
  };
  const receivers: ReceiverLedger[] = [];
  const receiverHandles: JoinHandle<void>[] = s.receivers.map((plan) => {
    const l: ReceiverLedger = { started: false, start: -1, seen: [], ended: false, tooLate: false };
    receivers.push(l);
    let rx: WatchReceiver<V> | null = null;
    return spawn(
      future(function* () {
        for (let j = 0; j < plan.startAfter; j++) yield* yieldNow();
        if (sender.dropped) {
          l.tooLate = true;
          return;
        }
        rx = tx.subscribe();
        l.started = true;
        l.start = rx.borrow().n;
        for (;;) {
          if (plan.mode === "changed") {
            try {
              yield* rx.changed();
            } catch (e) {
              if (!(e instanceof ChannelClosed)) throw e;
              l.ended = true;
              return;
            }
            l.seen.push(rx.borrowAndUpdate().n);
          } else {
            const r = rx;
            const v = yield* pollFn((cx) => r.pollNext(cx));
            if (v === Done) {
              l.ended = true;
              return;
            }
            l.seen.push(v.n);
          }
          // Each change is a new value: never more changes than values the sender set.
          assert.ok(l.seen.length <= s.sender.length, `more changes than sends: ${l.seen}`);
          for (let j = 0; j < plan.pause; j++) yield* yieldNow();
        }
        // Dropped when done or aborted (maybe before it subscribed).
      }).finally(() => rx?.drop()),
    );
  });
  let programDone = false;
  const senderHandle = spawn(
    future(function* () {
      let n = 0;
      for (const k of s.sender) {
        if (k === 3) {
          yield* yieldNow();
          continue;
        }
        if (k === 4) {
          dropSender();
          return;
        }
        const v = ++n;
        sender.steps++;
        if (k === 0) {
          const value: V = { n: v };
          try {
            tx.send(value);
          } catch (e) {
            if (!(e instanceof ChannelClosed) || e.value !== value) throw e;
            sender.handedBack.add(v);
            continue;
          }
        } else {
          sender.modifies++;
          tx.sendModify((value) => {
            sender.modifyCalls++;
            if (k === 2) return { n: v };
            value.n = v;
          });
        }
        sender.sent.add(v);
        sender.current = v;
      }
      programDone = true;
    }).finally(() => {
      // Aborted: the sender is dropped at that point.
      if (!programDone) dropSender();
    }),
  );
  const aborter = spawnAborter(spawn, s.aborts, [...receiverHandles, senderHandle]);
  return {
    handles: [senderHandle, aborter],
    receiverHandles,
    tx,
    sender,
    receivers,
    dropSender,
  };
}

type Started = ReturnType<typeof scenarioTasks>;

/**
 * With every task idle and the sender maybe alive: each receiver still running has seen the
 * latest value (no change missed) and waits in the wait list exactly once (no lost waiter); the
 * aborted ones left no waiter and no receiver count behind.
 */
function quiescentViolation({ tx, sender, receivers, receiverHandles }: Started): string | null {
  const state = stateOf(tx);
  let live = 0;
  for (const [i, h] of receiverHandles.entries()) {
    if (h.isFinished()) continue;
    live++;
    const l = receivers[i]!;
    if (!l.started) return `receiver ${i} has not subscribed yet`;
    const last = l.seen.at(-1) ?? l.start;
    if (last !== sender.current) {
      return `receiver ${i} waits, but saw ${last} and the value is ${sender.current} (missed change)`;
    }
  }
  if (sender.dropped && live > 0) return `${live} receivers still wait after the sender's drop`;
  if (state.waiters.length !== live) {
    return `${live} receivers wait but ${state.waiters.length} entries in the wait list`;
  }
  if (state.receivers !== live)
    return `${live} receivers subscribed but ${state.receivers} counted`;
  return null;
}

function checkLedgers(s: Scenario, started: Started, label: string): void {
  const { tx, sender, receivers } = started;
  const aborted = (i: number) => s.aborts.some((a) => a.target === i);
  const at = (i: number) => `${label}: receiver ${i} ${JSON.stringify(receivers[i])}`;
  assert.ok(sender.dropped, `${label}: the sender was not dropped`);
  assert.equal(sender.modifyCalls, sender.modifies, `${label}: sendModify's function calls`);
  if (!aborted(s.receivers.length)) {
    const end = s.sender.indexOf(4);
    const program = end === -1 ? s.sender : s.sender.slice(0, end);
    assert.equal(sender.steps, program.filter((k) => k !== 3).length, `${label}: sender steps`);
  }
  assert.equal(sender.sent.size + sender.handedBack.size, sender.steps, label);
  assert.equal(sender.final, sender.current, `${label}: the value when the sender was dropped`);
  receivers.forEach((l, i) => {
    if (!l.started) {
      assert.ok(l.tooLate || aborted(i), `${at(i)}: never subscribed`);
      return;
    }
    // No spurious change: each change it saw shows a strictly newer value that was sent.
    let last = l.start;
    for (const v of l.seen) {
      assert.ok(v > last, `${at(i)}: change to ${v} after ${last} (spurious or out of order)`);
      assert.ok(sender.sent.has(v), `${at(i)}: saw ${v}, which was never sent (handed back?)`);
      last = v;
    }
    if (l.ended) {
      // No missed change: it was told the end only after it saw the last value.
      assert.equal(last, sender.current, `${at(i)}: ended without seeing the last value`);
    } else {
      assert.ok(aborted(i), `${at(i)}: finished without being told the end`);
    }
  });
  const state = stateOf(tx);
  assert.equal(state.waiters.length, 0, `${label}: waiters left in the wait list`);
  assert.equal(state.receivers, 0, `${label}: receivers still counted`);
}

test("watch: sender and receiver tasks with random aborts: no missed change, no lost waiter", () => {
  settledProperty(scenarioArb, 300, scenarioTasks, (s, started, label, rt) => {
    // Every task is idle: the receivers wait for a change that has not come.
    const violation = quiescentViolation(started);
    assert.equal(violation, null, `${label}: ${violation}\n${rt.dump()}`);
    // The sender's drop wakes them all; each is told the end after the last value.
    started.dropSender();
    settle(rt);
    expectFinished(rt, started.receiverHandles, label);
    checkLedgers(s, started, label);
  });
});

test("watch: the same scenarios through rt.run", async () => {
  await runtimeAsyncProperty(scenarioArb, 60, async (s, rt, label) => {
    let started: Started | null = null;
    await runWatched(
      rt,
      future(function* () {
        const st = scenarioTasks(s, (f) => rt.spawn(f));
        started = st;
        yield* joinAll(st.handles);
        // Let the receivers run until each waits for a change (bounded, so a lost wakeup fails).
        for (let spins = 0; quiescentViolation(st) !== null; spins++) {
          assert.ok(spins < 500, `${label}: ${quiescentViolation(st)}\n${rt.dump()}`);
          yield* yieldNow();
        }
        st.dropSender();
        yield* joinAll(st.receiverHandles);
      }),
      label,
    );
    checkLedgers(s, started!, label);
  });
});
