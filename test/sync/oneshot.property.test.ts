/**
 * Model-based properties of oneshot: by hand (MockTask) against a reference model, and as pairs of
 * tasks on FIFO and seeded-random runtimes with random aborts.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import {
  ChannelClosed,
  ChannelReceiverBusy,
  future,
  type JoinHandle,
  type OneshotReceiver,
  type OneshotSender,
  oneshot,
  select,
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
  expectReady,
  fcParams,
  type Outcome,
  pick,
  plain,
  recent,
  runSteps,
  show,
  withArg,
} from "./support.js";

type V = number;

interface ClosedOp {
  readonly id: number;
  readonly task: MockTask<void>;
  parked: boolean;
}

interface World {
  readonly tx: OneshotSender<V>;
  readonly rx: OneshotReceiver<V>;
  readonly rxTask: MockTask<V>;
  /** A `rx.recv()` wait (its own task), which does not own the receiver; at most one at a time. */
  wait: { readonly task: MockTask<V>; parked: boolean } | null;
  closedOps: ClosedOp[];
  nextValue: number;
  nextOp: number;
  log: string[];
  // The model.
  /** The value sent and not yet received. */
  stored: V | null;
  /** The sender sent or was dropped. */
  senderGone: boolean;
  /** close() or drop() was called on the receiver. */
  receiverClosed: boolean;
  /** The receiver future completed (value or error) or was dropped. */
  rxDone: boolean;
  rxParked: boolean;
  sent: V | null;
  received: V | null;
  discarded: V | null;
}

function newWorld(): World {
  const [tx, rx] = oneshot<V>();
  return {
    tx,
    rx,
    rxTask: new MockTask(rx),
    wait: null,
    closedOps: [],
    nextValue: 1,
    nextOp: 1,
    log: [],
    stored: null,
    senderGone: false,
    receiverClosed: false,
    rxDone: false,
    rxParked: false,
    sent: null,
    received: null,
    discarded: null,
  };
}

function where(w: World): string {
  return `stored ${w.stored}, senderGone ${w.senderGone}, receiverClosed ${w.receiverClosed}, rxDone ${w.rxDone}\n  ${recent(w.log)}`;
}

function checkInvariants(w: World): void {
  assert.equal(w.tx.isClosed(), w.receiverClosed, `tx.isClosed(); ${where(w)}`);
  if (w.rxParked && (w.stored !== null || w.senderGone)) {
    assert.ok(w.rxTask.isWoken(), `lost wakeup: the receiver can complete; ${where(w)}`);
  }
  if (w.wait?.parked && (w.stored !== null || w.senderGone || w.receiverClosed)) {
    assert.ok(w.wait.task.isWoken(), `lost wakeup: the recv() wait can complete; ${where(w)}`);
  }
  if (w.wait?.parked) assert.ok(w.wait.task.wakerRefCount <= 1);
  if (w.rxParked) assert.ok(w.rxTask.wakerRefCount <= 1);
  for (const op of w.closedOps) {
    if (op.parked && w.receiverClosed) {
      assert.ok(op.task.isWoken(), `lost wakeup: closed() op ${op.id}; ${where(w)}`);
    }
  }
  // Conservation: a value sent is stored, received or discarded — exactly one of them.
  if (w.sent !== null) {
    const places = [w.stored, w.received, w.discarded].filter((v) => v === w.sent).length;
    assert.equal(places, 1, `value ${w.sent} is in ${places} places; ${where(w)}`);
  }
}

const step = checkedBy(checkInvariants);

/** A wait of another task holds the receiver's waker (parked, not woken since): busy. */
const otherWaits = (task: MockTask<V> | undefined, parked: boolean | undefined) =>
  parked === true && task !== undefined && !task.isWoken();

/**
 * The model's rule for a receive, by the receiver itself or by a `recv()` wait: the value if one
 * is stored, the end if none can come (the sender gone, or the receiver closed: tokio reports the
 * end at once), else Pending. True when the receive completed.
 */
function modelReceive(w: World, out: Outcome<V>, what: string): boolean {
  if (w.stored !== null) {
    assert.equal(expectReady(out, what), w.stored);
    w.received = w.stored;
    w.stored = null;
    w.rxDone = true;
    return true;
  }
  if (w.senderGone || w.receiverClosed) {
    expectError(out, ChannelClosed, `${what} with no value to come; ${where(w)}`);
    w.rxDone = true;
    return true;
  }
  expectPending(out, what);
  return false;
}

function pollRx(w: World): void {
  const out = attempt(() => w.rxTask.poll());
  w.log.push(`poll rx -> ${show(out)}`);
  if (!w.rxParked && otherWaits(w.wait?.task, w.wait?.parked)) {
    expectError(out, ChannelReceiverBusy, `poll rx while a recv() of another task waits`);
    return;
  }
  w.rxParked = !modelReceive(w, out, "poll rx");
  if (!w.rxParked) {
    assert.equal(w.rxTask.wakerRefCount, 0, "the receiver completed holding a waker");
  }
}

function pollWait(w: World): void {
  const wait = w.wait as NonNullable<World["wait"]>;
  const out = attempt(() => wait.task.poll());
  w.log.push(`poll recv() -> ${show(out)}`);
  if (!wait.parked && otherWaits(w.rxTask, w.rxParked)) {
    expectError(out, ChannelReceiverBusy, `recv() while the receiver is awaited by another task`);
    w.wait = null;
    return;
  }
  wait.parked = !modelReceive(w, out, "poll recv()");
  if (!wait.parked) {
    assert.equal(wait.task.wakerRefCount, 0, "recv() completed holding a waker");
    w.wait = null;
  }
}

function pollClosed(w: World, op: ClosedOp): void {
  const out = attempt(() => op.task.poll());
  w.log.push(`poll closed op ${op.id} -> ${show(out)}`);
  if (w.receiverClosed) {
    expectReady(out, "closed()");
    w.closedOps = w.closedOps.filter((o) => o !== op);
    assert.equal(op.task.wakerRefCount, 0, "closed() completed holding a waker");
  } else {
    expectPending(out, "closed()");
    op.parked = true;
  }
}

const commands = [
  plain(
    "send",
    step((w) => {
      const v = w.nextValue++;
      const out = attempt(() => w.tx.send(v));
      w.log.push(`send ${v} -> ${show(out)}`);
      if (w.receiverClosed || w.senderGone) {
        const e = expectError(out, ChannelClosed, `send; ${where(w)}`);
        assert.equal(e.value, v, "ChannelClosed must hand the value back");
        assert.equal(e.code, "CHANNEL_CLOSED");
      } else {
        expectReady(out, "send");
        w.stored = v;
        w.sent = v;
        w.senderGone = true;
      }
    }),
  ),
  plain(
    "dropSender",
    step((w) => {
      w.tx.drop();
      w.log.push("tx.drop");
      w.senderGone = true;
    }),
  ),
  plain(
    "pollRx",
    step((w) => pollRx(w)),
    (w) => !w.rxDone,
  ),
  plain(
    "recvWait",
    step((w) => {
      w.wait = { task: new MockTask(w.rx.recv()), parked: false };
      pollWait(w);
    }),
    (w) => w.wait === null && !w.rxDone,
  ),
  plain(
    "pollWait",
    step((w) => pollWait(w)),
    (w) => w.wait !== null && !w.rxDone,
  ),
  plain(
    "dropWait",
    step((w) => {
      const wait = w.wait as NonNullable<World["wait"]>;
      wait.task.drop();
      w.log.push("recv() dropped");
      w.wait = null;
      // Nothing consumed, nothing closed: the model is unchanged.
      assert.equal(wait.task.wakerRefCount, 0, "a dropped recv() kept a waker");
    }),
    (w) => w.wait !== null,
  ),
  plain(
    "tryRecv",
    step((w) => {
      const out = attempt(() => w.rx.tryRecv() as V);
      w.log.push(`tryRecv -> ${show(out)}`);
      if (w.stored !== null) {
        assert.equal(expectReady(out, "tryRecv"), w.stored);
        w.received = w.stored;
        w.stored = null;
        w.rxDone = true;
        w.rxParked = false;
      } else if (w.rxDone) {
        expectError(out, ChannelClosed, "tryRecv after the receiver completed");
      } else if (w.senderGone) {
        expectError(out, ChannelClosed, "tryRecv with the sender gone");
      } else if (out.kind === "error") {
        // After close() with nothing sent, reporting the end is also sound.
        assert.ok(w.receiverClosed && out.error instanceof ChannelClosed, show(out));
      } else {
        assert.equal(expectReady(out, "tryRecv"), undefined);
      }
    }),
  ),
  plain(
    "closeRx",
    step((w) => {
      w.rx.close();
      w.log.push("rx.close");
      w.receiverClosed = true;
    }),
  ),
  plain(
    "dropRx",
    step((w) => {
      w.rxTask.drop();
      w.log.push("rx.drop");
      w.receiverClosed = true;
      if (w.stored !== null) w.discarded = w.stored;
      w.stored = null;
      w.rxDone = true;
      w.rxParked = false;
      assert.equal(w.rxTask.wakerRefCount, 0, "a dropped receiver kept a waker");
    }),
  ),
  plain(
    "closedFuture",
    step((w) => {
      const op: ClosedOp = { id: w.nextOp++, task: new MockTask(w.tx.closed()), parked: false };
      w.closedOps.push(op);
      pollClosed(w, op);
    }),
    // One at a time, as Rust's `closed(&mut self)`: the sender keeps one waker for it.
    (w) => w.closedOps.length === 0,
  ),
  withArg(
    "pollClosed",
    fc.nat(),
    step((w, k: number) => pollClosed(w, pick(w.closedOps, k))),
    (w) => w.closedOps.length > 0,
  ),
  withArg(
    "dropClosed",
    fc.nat(),
    step((w, k: number) => {
      const op = pick(w.closedOps, k);
      op.task.drop();
      w.closedOps = w.closedOps.filter((o) => o !== op);
      assert.equal(op.task.wakerRefCount, 0, "a dropped closed() kept a waker");
    }),
    (w) => w.closedOps.length > 0,
  ),
];

test("oneshot: step-by-step model (MockTask)", () => {
  fc.assert(
    fc.property(fc.commands(commands, { maxCommands: 30, size: "large" }), (cmds) => {
      const w = newWorld();
      runSteps(w, cmds);
      // A value sent and not discarded can still be taken.
      if (w.stored !== null) {
        assert.equal(w.rx.tryRecv(), w.stored);
        w.received = w.stored;
        w.stored = null;
      }
      checkInvariants(w);
      if (w.sent !== null) assert.ok(w.received === w.sent || w.discarded === w.sent);
    }),
    fcParams(500),
  );
});

// ---------------------------------------------------------------------------------------------

interface Pair {
  readonly sendAfter: number;
  /** Send, or drop the sender without sending. */
  readonly send: boolean;
  readonly recvAfter: number;
  /**
   * "await": `yield* rx`; "try": tryRecv with yields in between; "close": close, then await;
   * "race": `rx.recv()` raced against a yield until it wins (each lost wait is dropped).
   */
  readonly recvMode: "await" | "try" | "close" | "race";
}

interface Scenario extends RuntimeScenario {
  readonly pairs: readonly Pair[];
}

const scenarioArb: fc.Arbitrary<Scenario> = scenarioArbitrary(
  {
    pairs: fc.array(
      fc.record({
        sendAfter: fc.integer({ min: 0, max: 4 }),
        send: fc.boolean(),
        recvAfter: fc.integer({ min: 0, max: 4 }),
        recvMode: fc.constantFrom(
          "await" as const,
          "try" as const,
          "close" as const,
          "race" as const,
        ),
      }),
      { minLength: 1, maxLength: 6 },
    ),
  },
  { maxAfter: 8, maxAborts: 4 },
  (s) => 2 * s.pairs.length,
);

interface PairLedger {
  sent: boolean;
  handedBack: boolean;
  received: V | null;
  closedSeen: boolean;
}

function scenarioTasks(s: Scenario, spawn: Spawn) {
  const ledgers: PairLedger[] = [];
  const handles: JoinHandle<void>[] = [];
  s.pairs.forEach((pair, i) => {
    const [tx, rx] = oneshot<V>();
    const ledger: PairLedger = {
      sent: false,
      handedBack: false,
      received: null,
      closedSeen: false,
    };
    ledgers.push(ledger);
    const sender = future(function* () {
      for (let j = 0; j < pair.sendAfter; j++) yield* yieldNow();
      if (!pair.send) return;
      try {
        tx.send(i);
        ledger.sent = true;
      } catch (e) {
        if (!(e instanceof ChannelClosed) || e.value !== i) throw e;
        ledger.handedBack = true;
      }
    }).finally(() => tx.drop());
    const receiver = future(function* () {
      for (let j = 0; j < pair.recvAfter; j++) yield* yieldNow();
      try {
        if (pair.recvMode === "try") {
          for (;;) {
            const v = rx.tryRecv();
            if (v !== undefined) {
              ledger.received = v;
              return;
            }
            yield* yieldNow();
          }
        }
        if (pair.recvMode === "race") {
          for (;;) {
            const first = yield* select([rx.recv(), yieldNow()]);
            if (first.index === 0) {
              ledger.received = first.value as V;
              return;
            }
          }
        }
        if (pair.recvMode === "close") rx.close();
        ledger.received = yield* rx;
      } catch (e) {
        if (!(e instanceof ChannelClosed)) throw e;
        ledger.closedSeen = true;
      }
    }).finally(() => rx.drop());
    handles.push(spawn(sender), spawn(receiver));
  });
  handles.push(spawnAborter(spawn, s.aborts, handles));
  return { handles, ledgers };
}

function checkLedgers(ledgers: readonly PairLedger[], label: string): void {
  ledgers.forEach((l, i) => {
    const at = `${label}: pair ${i} ${JSON.stringify(l)}`;
    if (l.received !== null) {
      assert.equal(l.received, i, `${at}: wrong value`);
      assert.ok(l.sent, `${at}: received a value that was never sent`);
    }
    assert.ok(!(l.sent && l.handedBack), at);
    if (l.closedSeen) assert.ok(l.received === null, at);
    if (l.handedBack) assert.equal(l.received, null, `${at}: handed back and received`);
  });
}

test("oneshot: sender and receiver tasks with random aborts (FIFO and random scheduling)", () => {
  settledProperty(scenarioArb, 300, scenarioTasks, (s, { ledgers }, label) => {
    checkLedgers(ledgers, label);
    // A receiver that was not aborted got the value if it was sent (a send succeeds only
    // before close(), and a value sent before close() is still received).
    s.pairs.forEach((_, i) => {
      const l = ledgers[i]!;
      const receiverAborted = s.aborts.some((a) => a.target === 2 * i + 1);
      if (l.sent && !receiverAborted) {
        assert.equal(l.received, i, `${label}: pair ${i}: value sent but not received`);
      }
    });
  });
});

test("oneshot: the same scenarios through rt.run", async () => {
  await runProperty(scenarioArb, 60, scenarioTasks, (_, { ledgers }, label) =>
    checkLedgers(ledgers, label),
  );
});
