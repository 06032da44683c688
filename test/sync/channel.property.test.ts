/**
 * Model-based properties of the bounded channel.
 *
 * 1. By hand (MockTask): random sequences of trySend / send / reserve / permit.send /
 *    permit.release / recv / recvMany / pollNext / tryRecv / close / drop of the receiver /
 *    clone and drop of senders / tx.closed() / polling and dropping pending futures, checked step
 *    by step against a reference model: exact buffer contents (FIFO), exact outcome of every
 *    poll, at most `capacity` slots used, FIFO grants among waiting senders, every parked future
 *    whose wait is over has been woken, no value lost or duplicated, every slot given back.
 *    As in tokio, a slot reserved before `close()` (a Permit, a granted waiting send) is still
 *    delivered, and the receiver sees the end only once nothing is buffered and nothing reserved;
 *    after the receiver is dropped, filling a reserved slot hands the value back instead.
 *    A stream poll dropped while it waited keeps the receiver until its task is woken (a stream
 *    has no future to drop): another task's receive or stream poll meanwhile wakes it and takes
 *    its place.
 * 2. On a Runtime (FIFO and seeded random scheduling): producer tasks and a consumer task run
 *    random programs, a controller aborts tasks at random points; at the end every value is
 *    accounted for exactly once, per-producer order is kept and no slot leaked.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import {
  ChannelClosed,
  ChannelFull,
  channel,
  Done,
  type Future,
  future,
  type JoinHandle,
  type Permit,
  pollFn,
  type Receiver,
  type Sender,
  yieldNow,
} from "../../src/index.js";
import type { Chan } from "../../src/sync/channel.js";
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
  expectQueued,
  expectReady,
  fcParams,
  finishOp,
  liveSenders,
  type Outcome,
  onSomeOp,
  onSomeSender,
  pick,
  plain,
  runSteps,
  show,
  withArg,
} from "./support.js";

// ---------------------------------------------------------------------------------------------
// 1. Step by step against a model
// ---------------------------------------------------------------------------------------------

type V = number;

/** Where a value is. Final states: received, handedBack, unsent, discardedByDrop. */
type Status = "inOp" | "buffered" | "received" | "handedBack" | "unsent" | "discardedByDrop";

type OpKind = "send" | "reserve" | "recv" | "recvMany" | "next" | "closed";

interface Op {
  readonly id: number;
  readonly kind: OpKind;
  readonly task: MockTask<unknown>;
  readonly value: V;
  readonly limit: number;
  /** The last poll returned Pending. */
  parked: boolean;
  /** Model: a send/reserve that joined the queue of waiting senders. */
  entered: boolean;
  /** Model: a slot was granted to it. */
  granted: boolean;
}

interface World {
  readonly cap: number;
  readonly senders: Sender<V>[];
  readonly alive: boolean[];
  readonly rx: Receiver<V>;
  readonly chan: Chan<V>;
  ops: Op[];
  permits: Permit<V>[];
  nextValue: number;
  nextOp: number;
  log: string[];
  // The model.
  buffer: V[];
  reserved: number;
  queue: Op[];
  closed: boolean;
  rxDropped: boolean;
  sendersAlive: number;
  endObserved: boolean;
  /**
   * The task of a stream poll (`pollNext`) dropped while it waited. A stream has no future to
   * drop, so its wait holds the receiver until that task is woken: another task's receive or
   * stream poll meanwhile wakes it and takes its place.
   */
  staleStream: MockTask<unknown> | null;
  readonly status: Map<V, Status>;
}

/** The channel state behind a receiver (white-box checks of slots and waiters). */
function chanOf(rx: Receiver<V>): Chan<V> {
  return (rx as unknown as { chan: Chan<V> }).chan;
}

function newWorld(cap: number): World {
  const [tx, rx] = channel<V>(cap);
  return {
    cap,
    senders: [tx],
    alive: [true],
    rx,
    chan: chanOf(rx),
    ops: [],
    permits: [],
    nextValue: 1,
    nextOp: 1,
    log: [],
    buffer: [],
    reserved: 0,
    queue: [],
    closed: false,
    rxDropped: false,
    sendersAlive: 1,
    endObserved: false,
    staleStream: null,
    status: new Map(),
  };
}

function where(w: World): string {
  return `capacity ${w.cap}; model buffer [${w.buffer}], reserved ${w.reserved}, queue [${w.queue.map((o) => o.id)}], closed ${w.closed}, rxDropped ${w.rxDropped}, senders ${w.sendersAlive}`;
}

function setStatus(w: World, v: V, next: Status, from: readonly (Status | undefined)[]): void {
  const current = w.status.get(v);
  assert.ok(
    from.includes(current),
    `value ${v}: ${String(current)} -> ${next} is not allowed (lost or duplicated); ${where(w)}`,
  );
  w.status.set(v, next);
}

function newValue(w: World): V {
  return w.nextValue++;
}

/** Model: a slot became free; the oldest waiting sender gets it. */
function freeSlot(w: World): void {
  const head = w.queue.shift();
  if (head === undefined) return;
  head.granted = true;
  w.reserved++;
}

function deliver(w: World, v: V, from: Status | undefined): void {
  assert.ok(
    !w.endObserved,
    `value ${v} entered the buffer after the receiver was told the channel had ended (ChannelClosed / Done): it will never be received; ${where(w)}`,
  );
  assert.ok(
    !w.rxDropped,
    `value ${v} was reported sent after the receiver was dropped: lost instead of handed back; ${where(w)}`,
  );
  setStatus(w, v, "buffered", [from]);
  w.buffer.push(v);
}

function take(w: World, got: V, what: string): void {
  const expected = w.buffer.shift();
  assert.equal(
    got,
    expected,
    `${what}: FIFO broken, got ${got}, expected ${expected}; ${where(w)}`,
  );
  setStatus(w, got, "received", ["buffered"]);
  freeSlot(w);
}

/** The end of the channel: closed (or every sender gone), nothing buffered, nothing reserved. */
function exhausted(w: World): boolean {
  return w.buffer.length === 0 && w.reserved === 0 && (w.closed || w.sendersAlive === 0);
}

function finish(w: World, op: Op): void {
  // pollNext is the stream protocol: like Rust's poll_next, the waker it registered stays with
  // the channel until the next poll or event (a pollFn has nothing to deregister it on drop).
  finishOp(w, op, `op ${op.id} (${op.kind})`, op.kind === "next");
}

function newOp(w: World, kind: OpKind, fut: Future<unknown>, value = 0, limit = 1): Op {
  const op: Op = {
    id: w.nextOp++,
    kind,
    task: new MockTask(fut),
    value,
    limit,
    parked: false,
    entered: false,
    granted: false,
  };
  w.ops.push(op);
  return op;
}

function pollOp(w: World, op: Op): void {
  // A stream's abandoned wait ends at the receiver's next wake.
  if (w.staleStream?.isWoken() === true) w.staleStream = null;
  const out = attempt(() => op.task.poll());
  w.log.push(`poll op ${op.id} (${op.kind}) -> ${show(out)}`);
  const what = `poll of op ${op.id} (${op.kind})`;
  switch (op.kind) {
    case "send":
    case "reserve":
      pollSendLike(w, op, out, what);
      return;
    case "recv":
    case "recvMany":
    case "next":
      pollRecvLike(w, op, out, what);
      return;
    case "closed":
      if (w.closed) {
        expectReady(out, what);
        finish(w, op);
      } else {
        expectPending(out, what);
        op.parked = true;
      }
  }
}

function sendSucceeded(w: World, op: Op, out: Outcome<unknown>, what: string): void {
  const value = expectReady(out, what);
  if (op.kind === "send") {
    assert.equal(value, undefined, `${what}: send completes with undefined`);
    w.reserved--;
    deliver(w, op.value, "inOp");
  } else {
    assert.ok(value !== null && typeof value === "object", `${what}: expected a Permit`);
    w.permits.push(value as Permit<V>);
  }
  finish(w, op);
}

function sendFailed(w: World, op: Op, out: Outcome<unknown>, what: string): void {
  const error = expectError(out, ChannelClosed, what);
  assert.equal(error.code, "CHANNEL_CLOSED");
  if (op.kind === "send") {
    assert.equal(error.value, op.value, `${what}: ChannelClosed must hand the value back`);
    setStatus(w, op.value, "handedBack", ["inOp"]);
  }
  finish(w, op);
}

function pollSendLike(w: World, op: Op, out: Outcome<unknown>, what: string): void {
  if (!op.entered) {
    if (w.closed) {
      sendFailed(w, op, out, what);
      return;
    }
    if (w.queue.length === 0 && w.buffer.length + w.reserved < w.cap) {
      w.reserved++;
      sendSucceeded(w, op, out, what);
      return;
    }
    expectQueued(w.queue, op, out, `${what} (no free slot, ${w.queue.length} queued)`);
    return;
  }
  if (op.granted) {
    // Granted (maybe before the channel closed): the slot is ours. After rx.close() it is still
    // delivered (as in tokio); a reserve completes with a Permit even after the receiver dropped
    // (its send hands the value back); a send after the receiver dropped hands its value back
    // and pushes nothing into the dropped buffer.
    if (op.kind === "send" && w.rxDropped) {
      w.reserved--;
      sendFailed(w, op, out, `${what} (granted, then the receiver dropped)`);
      return;
    }
    sendSucceeded(w, op, out, what);
    return;
  }
  if (w.closed) {
    sendFailed(w, op, out, what);
    return;
  }
  expectPending(out, what);
  op.parked = true;
}

function pollRecvLike(w: World, op: Op, out: Outcome<unknown>, what: string): void {
  if (w.buffer.length > 0) {
    const value = expectReady(out, what);
    if (op.kind === "recvMany") {
      assert.ok(Array.isArray(value), `${what}: expected an array`);
      const n = Math.min(op.limit, w.buffer.length);
      assert.equal(value.length, n, `${what}: expected ${n} values, got [${value}]`);
      for (const v of value as V[]) take(w, v, what);
    } else {
      take(w, value as V, what);
    }
    finish(w, op);
    return;
  }
  if (exhausted(w)) {
    if (op.kind === "next") {
      assert.equal(expectReady(out, what), Done, `${what}: expected Done at the end`);
    } else {
      const error = expectError(out, ChannelClosed, what);
      assert.equal(error.value, undefined);
    }
    w.endObserved = true;
    finish(w, op);
    return;
  }
  if (w.staleStream !== null) {
    assert.ok(w.staleStream.isWoken(), `${what}: the stream's wait it took over was not woken`);
    w.staleStream = null;
  }
  expectPending(out, what);
  op.parked = true;
}

function dropOp(w: World, op: Op): void {
  w.log.push(`drop op ${op.id} (${op.kind})`);
  if (op.kind === "next" && op.parked) w.staleStream = op.task;
  const length = w.rx.length;
  op.task.drop();
  if (op.kind === "send" || op.kind === "reserve") {
    if (op.granted) {
      w.reserved--;
      freeSlot(w);
    } else {
      w.queue = w.queue.filter((o) => o !== op);
    }
    if (op.kind === "send") setStatus(w, op.value, "unsent", ["inOp"]);
  } else {
    assert.equal(w.rx.length, length, `dropping op ${op.id} (${op.kind}) consumed a message`);
  }
  finish(w, op);
}

function isRecvLike(op: Op): boolean {
  return op.kind === "recv" || op.kind === "recvMany" || op.kind === "next";
}

/** Checks after every step: the real channel agrees with the model, no lost wakeup. */
function checkInvariants(w: World): void {
  const ctx = `${where(w)}\n  ${w.log.slice(-8).join("\n  ")}`;
  assert.equal(w.rx.length, w.buffer.length, `buffered messages differ; ${ctx}`);
  assert.ok(w.rx.length <= w.cap, `more than capacity buffered; ${ctx}`);
  assert.ok(w.chan.buffer.length + w.chan.reserved <= w.cap, `more slots used than capacity`);
  assert.equal(w.chan.reserved, w.reserved, `reserved slots differ; ${ctx}`);
  assert.equal(w.chan.sendWaiters.length, w.queue.length, `waiting senders differ; ${ctx}`);
  for (let i = 0; i < w.senders.length; i++) {
    assert.equal(w.senders[i]!.isClosed(), w.closed, `sender ${i}.isClosed(); ${ctx}`);
    const free = w.cap - w.buffer.length - w.reserved;
    assert.equal(w.senders[i]!.capacity, free, `sender ${i}.capacity; ${ctx}`);
  }
  if (!w.rxDropped) {
    assert.equal(w.rx.isClosed(), w.closed || w.sendersAlive === 0, `rx.isClosed(); ${ctx}`);
  }
  for (const op of w.ops) {
    if (!op.parked) continue;
    assert.ok(op.task.wakerRefCount <= 1, `op ${op.id} holds ${op.task.wakerRefCount} wakers`);
    let canProceed: boolean;
    if (op.kind === "send" || op.kind === "reserve") canProceed = op.granted || w.closed;
    else if (op.kind === "closed") canProceed = w.closed;
    else canProceed = w.buffer.length > 0 || exhausted(w);
    if (canProceed) {
      assert.ok(op.task.isWoken(), `lost wakeup: op ${op.id} (${op.kind}) can proceed; ${ctx}`);
    }
  }
}

type Cmd = fc.Arbitrary<fc.Command<World, World>>;

/**
 * One receive at a time (Rust's `recv(&mut self)`), and none on a dropped receiver: in Rust the
 * receive futures borrow the receiver, so they are gone before it is dropped.
 */
const noRecvOp = (w: World) => !w.rxDropped && !w.ops.some(isRecvLike);
const rxAlive = (w: World) => !w.rxDropped;

const step = checkedBy(checkInvariants);

const trySend = onSomeSender(
  "trySend",
  step((w: World, s: number) => {
    const v = newValue(w);
    const out = attempt(() => w.senders[s]!.trySend(v));
    w.log.push(`sender ${s} trySend ${v} -> ${show(out)}`);
    if (w.closed) {
      const e = expectError(out, ChannelClosed, "trySend on a closed channel");
      assert.equal(e.value, v);
      setStatus(w, v, "handedBack", [undefined]);
    } else if (w.queue.length > 0 || w.buffer.length + w.reserved >= w.cap) {
      const e = expectError(out, ChannelFull, `trySend without a free slot; ${where(w)}`);
      assert.equal(e.code, "CHANNEL_FULL");
      assert.equal(e.value, v);
      setStatus(w, v, "handedBack", [undefined]);
    } else {
      expectReady(out, `trySend with a free slot; ${where(w)}`);
      deliver(w, v, undefined);
    }
  }),
);

const tryReserve = onSomeSender(
  "tryReserve",
  step((w: World, s: number) => {
    const out = attempt(() => w.senders[s]!.tryReserve());
    w.log.push(`sender ${s} tryReserve -> ${show(out)}`);
    if (w.closed) {
      expectError(out, ChannelClosed, "tryReserve on a closed channel");
    } else if (w.queue.length > 0 || w.buffer.length + w.reserved >= w.cap) {
      expectError(out, ChannelFull, `tryReserve without a free slot; ${where(w)}`);
    } else {
      const permit = expectReady(out, `tryReserve with a free slot; ${where(w)}`);
      w.reserved++;
      w.permits.push(permit as Permit<V>);
    }
  }),
);

const send = onSomeSender(
  "send",
  step((w: World, s: number) => {
    const v = newValue(w);
    const op = newOp(w, "send", w.senders[s]!.send(v), v);
    setStatus(w, v, "inOp", [undefined]);
    w.log.push(`sender ${s} send ${v} = op ${op.id}`);
    pollOp(w, op);
  }),
);

const reserve = onSomeSender(
  "reserve",
  step((w: World, s: number) => {
    const op = newOp(w, "reserve", w.senders[s]!.reserve());
    w.log.push(`sender ${s} reserve = op ${op.id}`);
    pollOp(w, op);
  }),
);

const closedFuture = withArg(
  "closedFuture",
  fc.nat(),
  step((w, k: number) => pollOp(w, newOp(w, "closed", pick(w.senders, k).closed()))),
);

const recv = plain(
  "recv",
  step((w) => pollOp(w, newOp(w, "recv", w.rx.recv()))),
  noRecvOp,
);

const recvMany = withArg(
  "recvMany",
  fc.integer({ min: 1, max: 5 }),
  step((w, limit: number) => pollOp(w, newOp(w, "recvMany", w.rx.recvMany(limit), 0, limit))),
  noRecvOp,
);

const pollNext = plain(
  "pollNext",
  step((w) =>
    pollOp(
      w,
      newOp(
        w,
        "next",
        pollFn((cx) => w.rx.pollNext(cx)),
      ),
    ),
  ),
  noRecvOp,
);

const tryRecv = plain(
  "tryRecv",
  step((w) => {
    const out = attempt(() => w.rx.tryRecv() as V);
    w.log.push(`tryRecv -> ${show(out)}`);
    if (w.buffer.length > 0) take(w, expectReady(out, "tryRecv"), "tryRecv");
    else if (exhausted(w)) {
      expectError(out, ChannelClosed, "tryRecv at the end");
      w.endObserved = true;
    } else assert.equal(expectReady(out, "tryRecv"), undefined, "tryRecv on an empty channel");
  }),
  rxAlive,
);

const pollAgain = onSomeOp("pollOp", step(pollOp));

const cancel = onSomeOp("dropOp", step(dropOp));

const permitSend = withArg(
  "permitSend",
  fc.nat(),
  step((w, k: number) => {
    const permit = pick(w.permits, k);
    w.permits = w.permits.filter((p) => p !== permit);
    const v = newValue(w);
    const out = attempt(() => permit.send(v));
    w.log.push(`permit.send ${v} -> ${show(out)}`);
    w.reserved--;
    if (w.rxDropped) {
      const e = expectError(out, ChannelClosed, "permit.send after the receiver dropped");
      assert.equal(e.value, v, "permit.send after the receiver dropped must hand the value back");
      setStatus(w, v, "handedBack", [undefined]);
    } else {
      // Also after rx.close(): a reserved slot is still delivered.
      expectReady(out, `permit.send; ${where(w)}`);
      deliver(w, v, undefined);
    }
  }),
  (w) => w.permits.length > 0,
);

const permitRelease = withArg(
  "permitRelease",
  fc.nat(),
  step((w, k: number) => {
    const permit = pick(w.permits, k);
    w.permits = w.permits.filter((p) => p !== permit);
    permit.release();
    permit.release(); // idempotent
    w.log.push("permit.release");
    w.reserved--;
    freeSlot(w);
  }),
  (w) => w.permits.length > 0,
);

const cloneSender = cloneSenderCommand<World, Sender<V>>(checkInvariants);

const dropSender = onSomeSender(
  "dropSender",
  step((w: World, s: number) => {
    w.senders[s]!.drop();
    w.senders[s]!.drop(); // idempotent
    w.alive[s] = false;
    w.sendersAlive--;
    w.log.push(`drop sender ${s}`);
  }),
);

const close = plain(
  "close",
  step((w) => {
    w.rx.close();
    w.log.push("rx.close");
    w.closed = true;
    w.queue = []; // closing wakes every waiting sender; they fail when polled
  }),
);

const dropReceiver = plain(
  "dropReceiver",
  step((w) => {
    // The receive futures borrow the receiver: they go first.
    for (const op of w.ops.filter(isRecvLike)) dropOp(w, op);
    w.rx.drop();
    w.log.push("rx.drop");
    w.closed = true;
    w.queue = [];
    for (const v of w.buffer) setStatus(w, v, "discardedByDrop", ["buffered"]);
    w.buffer = [];
    w.rxDropped = true;
  }),
);

/** Weighted: sends, receives and polls are more frequent than closing. */
const weighted: Cmd[] = [
  trySend,
  trySend,
  tryReserve,
  send,
  send,
  send,
  reserve,
  reserve,
  closedFuture,
  recv,
  recv,
  recvMany,
  pollNext,
  tryRecv,
  tryRecv,
  pollAgain,
  pollAgain,
  pollAgain,
  cancel,
  cancel,
  permitSend,
  permitSend,
  permitRelease,
  cloneSender,
  dropSender,
  close,
  dropReceiver,
];

/** After the commands: cancel and release everything, drain, and account for every value. */
function finalCheck(w: World): void {
  for (const op of [...w.ops]) dropOp(w, op);
  for (const permit of [...w.permits]) {
    w.permits = w.permits.filter((p) => p !== permit);
    permit.release();
    w.reserved--;
    freeSlot(w);
  }
  checkInvariants(w);
  for (;;) {
    const out = attempt(() => w.rx.tryRecv() as V);
    if (out.kind === "ready" && out.value !== undefined) take(w, out.value, "final tryRecv");
    else break;
  }
  assert.equal(w.rx.length, 0);
  assert.equal(w.chan.reserved, 0, "a slot leaked");
  assert.equal(w.chan.sendWaiters.length, 0, "a waiter leaked");
  if (w.closed || w.sendersAlive === 0) {
    // Nothing buffered, nothing reserved: the receiver now sees the end.
    expectError(
      attempt(() => w.rx.tryRecv() as V),
      ChannelClosed,
      "tryRecv once closed, drained and nothing reserved",
    );
  }
  const final: Status[] = ["received", "handedBack", "unsent", "discardedByDrop"];
  for (const [v, s] of w.status) {
    assert.ok(final.includes(s), `value ${v} ends as ${s}`);
  }
  const alive = liveSenders(w);
  if (!w.closed && alive.length > 0) {
    // Every slot is free again: exactly `capacity` trySends fit.
    const tx = w.senders[alive[0]!]!;
    for (let i = 0; i < w.cap; i++) tx.trySend(-1);
    assert.throws(() => tx.trySend(-2), ChannelFull);
  }
}

test("bounded channel: step-by-step model (MockTask), capacity 1..4, several senders", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 4 }),
      fc.commands(weighted, { maxCommands: 80, size: "large" }),
      (cap, cmds) => {
        const w = newWorld(cap);
        runSteps(w, cmds);
        finalCheck(w);
      },
    ),
    fcParams(400),
  );
});

// ---------------------------------------------------------------------------------------------
// 2. Tasks on a Runtime with random aborts
// ---------------------------------------------------------------------------------------------

type ProducerOp =
  | { readonly k: "send" }
  | { readonly k: "trySend" }
  | { readonly k: "reserve"; readonly hold: number; readonly use: boolean }
  | { readonly k: "yield"; readonly n: number };

type ConsumerOp =
  | { readonly k: "recv" }
  | { readonly k: "recvMany"; readonly limit: number }
  | { readonly k: "tryRecv" }
  | { readonly k: "next" }
  | { readonly k: "yield"; readonly n: number }
  | { readonly k: "close" };

const producerOp: fc.Arbitrary<ProducerOp> = fc.oneof(
  { arbitrary: fc.constant({ k: "send" as const }), weight: 4 },
  { arbitrary: fc.constant({ k: "trySend" as const }), weight: 2 },
  {
    arbitrary: fc.record({
      k: fc.constant("reserve" as const),
      hold: fc.integer({ min: 0, max: 3 }),
      use: fc.boolean(),
    }),
    weight: 2,
  },
  {
    arbitrary: fc.record({ k: fc.constant("yield" as const), n: fc.integer({ min: 1, max: 3 }) }),
    weight: 1,
  },
);

const consumerOp: fc.Arbitrary<ConsumerOp> = fc.oneof(
  { arbitrary: fc.constant({ k: "recv" as const }), weight: 4 },
  {
    arbitrary: fc.record({
      k: fc.constant("recvMany" as const),
      limit: fc.integer({ min: 1, max: 4 }),
    }),
    weight: 2,
  },
  { arbitrary: fc.constant({ k: "tryRecv" as const }), weight: 2 },
  { arbitrary: fc.constant({ k: "next" as const }), weight: 1 },
  {
    arbitrary: fc.record({ k: fc.constant("yield" as const), n: fc.integer({ min: 1, max: 3 }) }),
    weight: 2,
  },
  { arbitrary: fc.constant({ k: "close" as const }), weight: 1 },
);

/** Abort targets: producers 0..n-1, the consumer is n. */
interface Scenario extends RuntimeScenario {
  readonly cap: number;
  readonly producers: readonly (readonly ProducerOp[])[];
  readonly consumer: readonly ConsumerOp[];
}

const scenarioArb: fc.Arbitrary<Scenario> = scenarioArbitrary(
  {
    cap: fc.integer({ min: 1, max: 4 }),
    producers: fc.array(fc.array(producerOp, { maxLength: 12 }), { minLength: 1, maxLength: 4 }),
    consumer: fc.array(consumerOp, { maxLength: 16 }),
  },
  { maxAfter: 12, maxAborts: 3 },
  (s) => s.producers.length + 1,
);

/** Producer p's i-th value. */
const encode = (p: number, i: number) => p * 1000 + i;

interface Ledger {
  /** Values whose send or permit.send returned (also after rx.close()): they must be received. */
  readonly sent: Set<V>;
  /** Values handed back by ChannelClosed / ChannelFull (permit.send after the receiver dropped). */
  readonly handedBack: Set<V>;
  /** Values of sends that were pending when their task was aborted: must never be received. */
  readonly inFlight: Map<number, V>;
  readonly received: V[];
  maxBuffered: number;
  violations: string[];
}

function scenarioTasks(s: Scenario, ledger: Ledger, spawn: Spawn) {
  const [tx, rx] = channel<V>(s.cap);
  const senders = s.producers.map(() => tx.clone());
  tx.drop();
  const observe = () => {
    ledger.maxBuffered = Math.max(ledger.maxBuffered, rx.length);
  };
  const handBack = (e: unknown, v: V) => {
    if (!(e instanceof ChannelClosed || e instanceof ChannelFull)) throw e;
    if (e.value !== v) ledger.violations.push(`${e.name} handed back ${e.value}, not ${v}`);
    ledger.handedBack.add(v);
  };
  const producer = (p: number) =>
    future(function* () {
      const sender = senders[p]!;
      let i = 0;
      for (const op of s.producers[p]!) {
        observe();
        if (op.k === "yield") {
          for (let j = 0; j < op.n; j++) yield* yieldNow();
        } else if (op.k === "trySend") {
          const v = encode(p, i++);
          try {
            sender.trySend(v);
            ledger.sent.add(v);
          } catch (e) {
            handBack(e, v);
          }
        } else if (op.k === "send") {
          const v = encode(p, i++);
          ledger.inFlight.set(p, v);
          try {
            yield* sender.send(v);
            ledger.sent.add(v);
          } catch (e) {
            handBack(e, v);
          }
          ledger.inFlight.delete(p);
        } else {
          let permit: Permit<V>;
          try {
            permit = yield* sender.reserve();
          } catch (e) {
            if (!(e instanceof ChannelClosed)) throw e;
            continue;
          }
          try {
            for (let j = 0; j < op.hold; j++) yield* yieldNow();
            if (op.use) {
              const v = encode(p, i++);
              try {
                permit.send(v);
                ledger.sent.add(v);
              } catch (e) {
                handBack(e, v);
              }
            }
          } finally {
            permit.release();
          }
        }
      }
      // The sender is dropped with the future (also when aborted before its first poll).
    }).finally(() => senders[p]!.drop());
  const consumer = future(function* () {
    const got = (v: V) => {
      ledger.received.push(v);
    };
    let ended = false;
    for (const op of s.consumer) {
      observe();
      if (ended) break;
      try {
        if (op.k === "recv") got(yield* rx.recv());
        else if (op.k === "recvMany") {
          const many: unknown = yield* rx.recvMany(op.limit);
          assert.ok(
            Array.isArray(many),
            `recvMany(${op.limit}) completed with ${many}, not an array`,
          );
          for (const v of many as V[]) got(v);
        } else if (op.k === "tryRecv") {
          const v = rx.tryRecv();
          if (v !== undefined) got(v);
        } else if (op.k === "next") {
          const v = yield* pollFn((cx) => rx.pollNext(cx));
          if (v === Done) ended = true;
          else got(v);
        } else if (op.k === "close") rx.close();
        else for (let j = 0; j < op.n; j++) yield* yieldNow();
      } catch (e) {
        if (!(e instanceof ChannelClosed)) throw e;
        ended = true;
      }
    }
    // Then receive until the end of the channel.
    for (;;) {
      observe();
      try {
        got(yield* rx.recv());
      } catch (e) {
        if (!(e instanceof ChannelClosed)) throw e;
        break;
      }
    }
  }).finally(() => {
    // Done or aborted (maybe before it started): keep what is buffered, then drop the receiver.
    ledger.received.push(...drain(rx));
    rx.drop();
  });
  const handles: JoinHandle<void>[] = s.producers.map((_, p) => spawn(producer(p)));
  handles.push(spawn(consumer));
  handles.push(spawnAborter(spawn, s.aborts, handles));
  return { handles, rx, chan: chanOf(rx), ledger };
}

function checkLedger(s: Scenario, ledger: Ledger, chan: Chan<V>, label: string): void {
  const fail = (msg: string) => assert.fail(`${label}: ${msg}`);
  if (ledger.violations.length > 0) fail(ledger.violations.join("; "));
  if (ledger.maxBuffered > s.cap) fail(`${ledger.maxBuffered} buffered, capacity ${s.cap}`);
  const seen = new Set<V>();
  for (const v of ledger.received) {
    if (seen.has(v)) fail(`value ${v} received twice`);
    seen.add(v);
    if (!ledger.sent.has(v)) {
      fail(
        ledger.handedBack.has(v)
          ? `value ${v} was handed back and also received`
          : `value ${v} was received but its send never completed (cancelled send delivered)`,
      );
    }
  }
  for (const v of ledger.sent) if (!seen.has(v)) fail(`value ${v} was sent but never received`);
  for (const v of ledger.inFlight.values()) {
    if (seen.has(v)) fail(`value ${v}: its send was cancelled, yet it was received`);
  }
  // FIFO per producer: a producer's values arrive in the order it sent them.
  const last = new Map<number, number>();
  for (const v of ledger.received) {
    const p = Math.floor(v / 1000);
    const i = v % 1000;
    if ((last.get(p) ?? -1) >= i) fail(`producer ${p}: ${i} arrived after ${last.get(p)}`);
    last.set(p, i);
  }
  if (chan.buffer.length !== 0) fail(`${chan.buffer.length} values left in a dropped channel`);
  if (chan.reserved !== 0) fail(`${chan.reserved} slots still reserved`);
  if (chan.sendWaiters.length !== 0) fail(`${chan.sendWaiters.length} waiters left`);
}

function newLedger(): Ledger {
  return {
    sent: new Set(),
    handedBack: new Set(),
    inFlight: new Map(),
    received: [],
    maxBuffered: 0,
    violations: [],
  };
}

const start = (s: Scenario, spawn: Spawn) => scenarioTasks(s, newLedger(), spawn);
const check = (s: Scenario, { ledger, chan }: ReturnType<typeof start>, label: string) =>
  checkLedger(s, ledger, chan, label);

test("bounded channel: producer and consumer tasks with random aborts (FIFO and random scheduling)", () => {
  settledProperty(scenarioArb, 300, start, check);
});

test("bounded channel: the same scenarios through rt.run", async () => {
  await runProperty(scenarioArb, 60, start, check);
});
