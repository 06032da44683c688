/**
 * Model-based properties of the unbounded channel: by hand (MockTask) against a reference model,
 * and as tasks on FIFO and seeded-random runtimes with random aborts. As for the bounded channel,
 * a stream poll dropped while it waited keeps the receiver until its task is woken: another
 * task's receive or stream poll meanwhile wakes it and takes its place.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import {
  ChannelClosed,
  Done,
  type Future,
  future,
  type JoinHandle,
  pollFn,
  type Receiver,
  type UnboundedSender,
  unboundedChannel,
  yieldNow,
} from "../../src/index.js";
import { MockTask } from "../../src/testing/index.js";
import {
  drain,
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
  cloneSenderCommand,
  expectError,
  expectPending,
  expectReady,
  fcParams,
  finishOp,
  onSomeOp,
  onSomeSender,
  pick,
  plain,
  recent,
  runSteps,
  show,
  withArg,
} from "./support.js";

type V = number;
type OpKind = "recv" | "recvMany" | "next" | "closed";

interface Op {
  readonly id: number;
  readonly kind: OpKind;
  readonly task: MockTask<unknown>;
  readonly limit: number;
  parked: boolean;
}

interface World {
  readonly senders: UnboundedSender<V>[];
  readonly alive: boolean[];
  readonly rx: Receiver<V>;
  ops: Op[];
  nextValue: number;
  nextOp: number;
  log: string[];
  // The model.
  buffer: V[];
  closed: boolean;
  rxDropped: boolean;
  sendersAlive: number;
  readonly sent: V[];
  readonly received: V[];
  readonly handedBack: V[];
  readonly discarded: V[];
  /**
   * The task of a stream poll (`pollNext`) dropped while it waited: it holds the receiver until
   * woken (a stream has no future to drop); another task's receive or stream poll meanwhile wakes
   * it and takes its place.
   */
  staleStream: MockTask<unknown> | null;
}

function newWorld(): World {
  const [tx, rx] = unboundedChannel<V>();
  return {
    senders: [tx],
    alive: [true],
    rx,
    ops: [],
    nextValue: 1,
    nextOp: 1,
    log: [],
    buffer: [],
    closed: false,
    rxDropped: false,
    sendersAlive: 1,
    sent: [],
    received: [],
    handedBack: [],
    discarded: [],
    staleStream: null,
  };
}

function where(w: World): string {
  return `buffer [${w.buffer}], closed ${w.closed}, rxDropped ${w.rxDropped}, senders ${w.sendersAlive}\n  ${recent(w.log)}`;
}

const exhausted = (w: World) => w.buffer.length === 0 && (w.closed || w.sendersAlive === 0);

function take(w: World, got: V, what: string): void {
  const expected = w.buffer.shift();
  assert.equal(got, expected, `${what}: FIFO broken; ${where(w)}`);
  assert.ok(!w.received.includes(got), `${what}: ${got} received twice`);
  w.received.push(got);
}

function finish(w: World, op: Op): void {
  // pollNext is the stream protocol: like Rust's poll_next, its waker stays registered until the
  // next poll or event (a pollFn has nothing to deregister it on drop). Every other op, completed
  // or dropped, holds no waker.
  finishOp(w, op, `op ${op.id} (${op.kind})`, op.kind === "next");
}

function pollOp(w: World, op: Op): void {
  // A stream's abandoned wait ends at the receiver's next wake.
  if (w.staleStream?.isWoken() === true) w.staleStream = null;
  const out = attempt(() => op.task.poll());
  const what = `poll of op ${op.id} (${op.kind})`;
  w.log.push(`${what} -> ${show(out)}`);
  if (op.kind === "closed") {
    if (w.closed) {
      expectReady(out, what);
      finish(w, op);
    } else {
      expectPending(out, what);
      op.parked = true;
    }
    return;
  }
  if (w.buffer.length > 0) {
    const value = expectReady(out, what);
    if (op.kind === "recvMany") {
      assert.ok(Array.isArray(value), `${what}: recvMany(${op.limit}) must complete with an array`);
      assert.equal(value.length, Math.min(op.limit, w.buffer.length), what);
      for (const v of value as V[]) take(w, v, what);
    } else {
      take(w, value as V, what);
    }
  } else if (exhausted(w)) {
    if (op.kind === "next") assert.equal(expectReady(out, what), Done, what);
    else expectError(out, ChannelClosed, what);
  } else {
    if (w.staleStream !== null) {
      assert.ok(w.staleStream.isWoken(), `${what}: the stream's wait it took over was not woken`);
      w.staleStream = null;
    }
    expectPending(out, what);
    op.parked = true;
    return;
  }
  finish(w, op);
}

function newOp(w: World, kind: OpKind, fut: Future<unknown>, limit = 1): Op {
  const op: Op = { id: w.nextOp++, kind, task: new MockTask(fut), limit, parked: false };
  w.ops.push(op);
  pollOp(w, op);
  return op;
}

function checkInvariants(w: World): void {
  assert.equal(w.rx.length, w.buffer.length, `buffered messages differ; ${where(w)}`);
  for (let i = 0; i < w.senders.length; i++) {
    assert.equal(w.senders[i]!.isClosed(), w.closed, `sender ${i}.isClosed()`);
  }
  for (const op of w.ops) {
    if (!op.parked) continue;
    const canProceed = op.kind === "closed" ? w.closed : w.buffer.length > 0 || exhausted(w);
    if (canProceed) {
      assert.ok(op.task.isWoken(), `lost wakeup: op ${op.id} (${op.kind}); ${where(w)}`);
    }
  }
  // Conservation: every value sent is received, buffered or was discarded by rx.drop().
  assert.equal(
    w.sent.length,
    w.received.length + w.buffer.length + w.discarded.length,
    `values lost; ${where(w)}`,
  );
}

const step = checkedBy(checkInvariants);

function dropOp(w: World, op: Op): void {
  if (op.kind === "next" && op.parked) w.staleStream = op.task;
  const length = w.rx.length;
  op.task.drop();
  w.log.push(`drop op ${op.id}`);
  assert.equal(w.rx.length, length, "a dropped op consumed a message");
  finish(w, op);
}

const noRecvOp = (w: World) => !w.ops.some((o) => o.kind !== "closed");

const send = withArg(
  "send",
  fc.nat(),
  step((w, k: number) => {
    const s = k % w.senders.length;
    const v = w.nextValue++;
    const out = attempt(() => w.senders[s]!.send(v));
    w.log.push(`sender ${s} send ${v} -> ${show(out)}`);
    if (w.closed || !w.alive[s]) {
      const e = expectError(out, ChannelClosed, `send ${v}`);
      assert.equal(e.value, v, "ChannelClosed must hand the value back");
      w.handedBack.push(v);
    } else {
      expectReady(out, `send ${v}`);
      w.sent.push(v);
      w.buffer.push(v);
    }
  }),
);

const commands = [
  send,
  send,
  send,
  withArg(
    "closedFuture",
    fc.nat(),
    step((w, k: number) => {
      newOp(w, "closed", pick(w.senders, k).closed());
    }),
  ),
  plain(
    "recv",
    step((w) => {
      newOp(w, "recv", w.rx.recv());
    }),
    noRecvOp,
  ),
  withArg(
    "recvMany",
    fc.integer({ min: 1, max: 4 }),
    step((w, n: number) => {
      newOp(w, "recvMany", w.rx.recvMany(n), n);
    }),
    noRecvOp,
  ),
  plain(
    "pollNext",
    step((w) => {
      newOp(
        w,
        "next",
        pollFn((cx) => w.rx.pollNext(cx)),
      );
    }),
    noRecvOp,
  ),
  plain(
    "tryRecv",
    step((w) => {
      const out = attempt(() => w.rx.tryRecv() as V);
      w.log.push(`tryRecv -> ${show(out)}`);
      if (w.buffer.length > 0) take(w, expectReady(out, "tryRecv"), "tryRecv");
      else if (exhausted(w)) expectError(out, ChannelClosed, "tryRecv at the end");
      else assert.equal(expectReady(out, "tryRecv"), undefined);
    }),
  ),
  onSomeOp("pollOp", step(pollOp)),
  onSomeOp("dropOp", step(dropOp)),
  cloneSenderCommand<World, UnboundedSender<V>>(checkInvariants),
  onSomeSender(
    "dropSender",
    step((w: World, s: number) => {
      w.senders[s]!.drop();
      w.senders[s]!.drop();
      w.alive[s] = false;
      w.sendersAlive--;
      w.log.push(`drop sender ${s}`);
    }),
  ),
  plain(
    "close",
    step((w) => {
      w.rx.close();
      w.log.push("rx.close");
      w.closed = true;
    }),
  ),
  plain(
    "dropReceiver",
    step((w) => {
      w.rx.drop();
      w.log.push("rx.drop");
      w.closed = true;
      w.rxDropped = true;
      w.discarded.push(...w.buffer);
      w.buffer = [];
    }),
  ),
];

test("unbounded channel: step-by-step model (MockTask)", () => {
  fc.assert(
    fc.property(fc.commands(commands, { maxCommands: 80, size: "large" }), (cmds) => {
      const w = newWorld();
      runSteps(w, cmds);
      for (const op of [...w.ops]) {
        op.task.drop();
        finish(w, op);
      }
      for (;;) {
        const out = attempt(() => w.rx.tryRecv() as V);
        if (out.kind !== "ready" || out.value === undefined) break;
        take(w, out.value, "final tryRecv");
      }
      checkInvariants(w);
      assert.equal(w.rx.length, 0);
      assert.deepEqual(
        [...w.received, ...w.discarded].sort((a, b) => a - b),
        w.sent,
        "every sent value is received or discarded, once",
      );
    }),
    fcParams(400),
  );
});

// ---------------------------------------------------------------------------------------------

interface Scenario extends RuntimeScenario {
  readonly producers: readonly (readonly number[])[];
  /** Consumer steps: 0 recv, 1 recvMany(3), 2 tryRecv, 3 yield, 4 close. */
  readonly consumer: readonly number[];
}

const scenarioArb: fc.Arbitrary<Scenario> = scenarioArbitrary(
  {
    // Producer steps: n > 0 sends n values, 0 yields.
    producers: fc.array(fc.array(fc.integer({ min: 0, max: 3 }), { maxLength: 10 }), {
      minLength: 1,
      maxLength: 4,
    }),
    consumer: fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 12 }),
  },
  { maxAfter: 10, maxAborts: 3 },
  (s) => s.producers.length + 1,
);

interface Ledger {
  readonly sent: V[];
  readonly handedBack: V[];
  readonly received: V[];
  readonly discarded: V[];
}

function scenarioTasks(s: Scenario, ledger: Ledger, spawn: Spawn) {
  const [tx, rx] = unboundedChannel<V>();
  const senders = s.producers.map(() => tx.clone());
  tx.drop();
  const producer = (p: number) =>
    future(function* () {
      let i = 0;
      for (const n of s.producers[p]!) {
        if (n === 0) yield* yieldNow();
        for (let j = 0; j < n; j++) {
          const v = p * 1000 + i++;
          try {
            senders[p]!.send(v);
            ledger.sent.push(v);
          } catch (e) {
            if (!(e instanceof ChannelClosed) || e.value !== v) throw e;
            ledger.handedBack.push(v);
          }
        }
      }
    }).finally(() => senders[p]!.drop());
  const consumer = future(function* () {
    for (const c of s.consumer) {
      try {
        if (c === 0) ledger.received.push(yield* rx.recv());
        else if (c === 1) ledger.received.push(...(yield* rx.recvMany(3)));
        else if (c === 2) {
          const v = rx.tryRecv();
          if (v !== undefined) ledger.received.push(v);
        } else if (c === 3) yield* yieldNow();
        else rx.close();
      } catch (e) {
        if (!(e instanceof ChannelClosed)) throw e;
      }
    }
    for (;;) {
      const v = yield* rx.recv().catch((e) => {
        if (e instanceof ChannelClosed) return null;
        throw e;
      });
      if (v === null) break;
      ledger.received.push(v);
    }
  }).finally(() => {
    ledger.discarded.push(...drain(rx));
    rx.drop();
  });
  const handles: JoinHandle<void>[] = s.producers.map((_, p) => spawn(producer(p)));
  handles.push(spawn(consumer));
  handles.push(spawnAborter(spawn, s.aborts, handles));
  return { handles, rx, ledger };
}

function checkLedger(ledger: Ledger, rx: Receiver<V>, label: string): void {
  const all = [...ledger.received, ...ledger.discarded];
  assert.equal(new Set(all).size, all.length, `${label}: a value was received twice`);
  assert.deepEqual(
    [...all].sort((a, b) => a - b),
    [...ledger.sent].sort((a, b) => a - b),
    `${label}: received values differ from sent values`,
  );
  const last = new Map<number, number>();
  for (const v of all) {
    const p = Math.floor(v / 1000);
    assert.ok((last.get(p) ?? -1) < v % 1000, `${label}: producer ${p} out of order`);
    last.set(p, v % 1000);
  }
  assert.equal(rx.length, 0, `${label}: values left behind`);
}

const newLedger = (): Ledger => ({ sent: [], handedBack: [], received: [], discarded: [] });
const start = (s: Scenario, spawn: Spawn) => scenarioTasks(s, newLedger(), spawn);
const check = (_: Scenario, { ledger, rx }: ReturnType<typeof start>, label: string) =>
  checkLedger(ledger, rx, label);

test("unbounded channel: producer and consumer tasks with random aborts (FIFO and random scheduling)", () => {
  settledProperty(scenarioArb, 300, start, check);
});

test("unbounded channel: the same scenarios through rt.run", async () => {
  await runProperty(scenarioArb, 60, start, check);
});
