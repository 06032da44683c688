/**
 * Model-based properties of the broadcast channel (tokio::sync::broadcast semantics).
 *
 * 1. By hand (MockTask): random sequences of send (also through a dropped sender, and with no
 *    receiver) / subscribe / receiver clone and drop / sender clone and drop / recv / pollNext /
 *    tryRecv / polling and dropping pending futures, checked step by step against a reference
 *    model: the exact outcome of every poll (the value, `Lagged(n)` with the right n, the end
 *    after the last sender, `Pending`), exactly the last `capacity` messages retained, every
 *    parked future whose receiver can go on has been woken (also by the last sender's drop), no
 *    waiter or waker left behind, a dropped pending recv consumed nothing, a failed send hands its
 *    value back. At the end, what each receiver got plus what it was told it lagged is exactly
 *    the sequence of messages sent while it was subscribed (from its clone point for a clone).
 *    Also: the end is final, a dropped sender cannot be cloned back to life.
 * 2. On a Runtime (FIFO and seeded random scheduling): producer tasks send, consumer tasks
 *    (subscribed up front or late) receive with recv / tryRecv / pollNext, clone their receiver
 *    into follower tasks and unsubscribe, while a controller aborts tasks at random points; every
 *    receiver's record is then checked against the send order (values in order, each `Lagged(n)`
 *    skipping exactly to the oldest message retained, nothing lost or duplicated, no value read
 *    from more than `capacity` behind), and the channel is left with no waiter.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import {
  type BroadcastReceiver,
  type BroadcastSender,
  broadcast,
  ChannelClosed,
  Done,
  future,
  type JoinHandle,
  Lagged,
  Notify,
  type Poll,
  pollFn,
  yieldNow,
} from "../../src/index.js";
import type { WaitList } from "../../src/sync/wait-list.js";
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
  cloneSenderCommand,
  expectError,
  expectPending,
  expectReady,
  fcParams,
  finishOp,
  hasLiveSender,
  liveSenders,
  type Outcome,
  onSomeOp,
  onSomeSender,
  pick,
  recent,
  runSteps,
  show,
  withArg,
} from "./support.js";

type V = number;

/** The shared state behind the handles (white-box checks of the ring, counts and waiters). */
interface StateView {
  readonly slots: readonly (V | undefined)[];
  readonly tail: number;
  readonly senders: number;
  readonly receivers: number;
  readonly waiters: WaitList;
}

function stateOf(tx: BroadcastSender<V>): StateView {
  return (tx as unknown as { state: StateView }).state;
}

/** The sequence number of the next message a receiver reads. */
function positionOf(rx: BroadcastReceiver<V>): number {
  return (rx as unknown as { next: number }).next;
}

// ---------------------------------------------------------------------------------------------
// 1. Step by step against a model
// ---------------------------------------------------------------------------------------------

/** What a receiver was told: a message, or that it lagged `lagged` messages. */
type Event = { readonly value: V } | { readonly lagged: number };

interface Rx {
  readonly id: number;
  readonly rx: BroadcastReceiver<V>;
  /** Sequence number of the first message it may see (the tail when it subscribed). */
  readonly start: number;
  alive: boolean;
  /** Model: sequence number of the next message it reads. */
  next: number;
  readonly events: Event[];
  /** Model: its stream waiter (pollNext) is in the wait list. */
  streamParked: boolean;
}

type OpKind = "recv" | "next";

interface Op {
  readonly id: number;
  readonly kind: OpKind;
  readonly r: Rx;
  readonly task: MockTask<unknown>;
  /** The last poll returned Pending. */
  parked: boolean;
  /** Model (recv): its waiter is in the wait list (parked, not woken since). */
  inList: boolean;
}

interface World {
  readonly cap: number;
  readonly state: StateView;
  readonly senders: BroadcastSender<V>[];
  readonly alive: boolean[];
  sendersAlive: number;
  readonly receivers: Rx[];
  ops: Op[];
  /** Every message sent, by sequence number. */
  readonly sent: V[];
  readonly handedBack: V[];
  nextValue: number;
  nextOp: number;
  log: string[];
}

function newRx(w: World, rx: BroadcastReceiver<V>, start: number): Rx {
  const r: Rx = {
    id: w.receivers.length,
    rx,
    start,
    alive: true,
    next: start,
    events: [],
    streamParked: false,
  };
  w.receivers.push(r);
  return r;
}

function newWorld(cap: number): World {
  const [tx, rx] = broadcast<V>(cap);
  const w: World = {
    cap,
    state: stateOf(tx),
    senders: [tx],
    alive: [true],
    sendersAlive: 1,
    receivers: [],
    ops: [],
    sent: [],
    handedBack: [],
    nextValue: 100,
    nextOp: 1,
    log: [],
  };
  newRx(w, rx, 0);
  return w;
}

const liveReceivers = (w: World) => w.receivers.filter((r) => r.alive);
const aliveSenders = (w: World) => w.senders.filter((_, i) => w.alive[i]);

function where(w: World): string {
  const rxs = liveReceivers(w).map((r) => `#${r.id}@${r.next}`);
  return `capacity ${w.cap}, sent [${w.sent}], senders ${w.sendersAlive}, receivers [${rxs}]\n  ${recent(w.log)}`;
}

/** Model: what receiving on `r` gives now. */
type Expected =
  | { readonly k: "lag"; readonly n: number }
  | { readonly k: "value"; readonly v: V }
  | { readonly k: "closed" }
  | { readonly k: "empty" };

function expectedFor(w: World, r: Rx): Expected {
  const tail = w.sent.length;
  const oldest = Math.max(0, tail - w.cap);
  if (r.next < oldest) return { k: "lag", n: oldest - r.next };
  if (r.next < tail) return { k: "value", v: w.sent[r.next]! };
  if (w.sendersAlive === 0) return { k: "closed" };
  return { k: "empty" };
}

/**
 * Checks one receive outcome on `r` against the model and advances it; `mode` is a recv future,
 * pollNext (the end is `Done`) or tryRecv (nothing yet is `undefined`). True when it is over
 * (not Pending).
 */
function receive(
  w: World,
  r: Rx,
  out: Outcome<unknown>,
  mode: "recv" | "next" | "try",
  what: string,
): boolean {
  const e = expectedFor(w, r);
  const ctx = `${what} on receiver #${r.id}; ${where(w)}`;
  switch (e.k) {
    case "lag": {
      const error = expectError(out, Lagged, ctx);
      assert.equal(error.code, "LAGGED");
      assert.equal(error.missed, e.n, `${ctx}: Lagged(${error.missed}), expected Lagged(${e.n})`);
      r.next += e.n;
      r.events.push({ lagged: e.n });
      return true;
    }
    case "value":
      assert.equal(expectReady(out, ctx), e.v, `${ctx}: expected ${e.v}`);
      r.next++;
      r.events.push({ value: e.v });
      return true;
    case "closed":
      if (mode === "next") assert.equal(expectReady(out, ctx), Done, `${ctx}: expected Done`);
      else assert.equal(expectError(out, ChannelClosed, ctx).code, "CHANNEL_CLOSED");
      return true;
    case "empty":
      if (mode === "try") {
        assert.equal(expectReady(out, ctx), undefined, `${ctx}: tryRecv with nothing new`);
        return true;
      }
      expectPending(out, ctx);
      return false;
  }
}

/**
 * Replays what `r` was told against the send order: each value is the message at its position,
 * each Lagged(n) skips n. Returns the position it leads to.
 */
function replay(w: World, r: Rx): number {
  let pos = r.start;
  for (const e of r.events) {
    if ("value" in e) {
      assert.equal(
        e.value,
        w.sent[pos],
        `receiver #${r.id} got ${e.value} as message #${pos}, which is ${w.sent[pos]}: lost, duplicated or out of order; ${where(w)}`,
      );
      pos++;
    } else {
      assert.ok(e.lagged >= 1, `receiver #${r.id}: Lagged(${e.lagged})`);
      pos += e.lagged;
    }
  }
  assert.ok(pos <= w.sent.length, `receiver #${r.id} is past the tail; ${where(w)}`);
  return pos;
}

function checkInvariants(w: World): void {
  const s = w.state;
  const tail = w.sent.length;
  const live = liveReceivers(w);
  const ctx = where(w);
  assert.equal(s.tail, tail, `messages sent; ${ctx}`);
  assert.equal(s.senders, w.sendersAlive, `sender count; ${ctx}`);
  assert.equal(s.receivers, live.length, `receiver count; ${ctx}`);
  for (const tx of aliveSenders(w)) assert.equal(tx.receiverCount, live.length, "receiverCount");
  // Never more than `capacity` messages retained: exactly the last `capacity` ones.
  assert.equal(s.slots.length, w.cap, `the ring grew beyond the capacity; ${ctx}`);
  for (let seq = Math.max(0, tail - w.cap); seq < tail; seq++) {
    assert.equal(s.slots[seq % w.cap], w.sent[seq], `message #${seq} is not retained; ${ctx}`);
  }
  for (const r of live) {
    assert.equal(positionOf(r.rx), r.next, `position of receiver #${r.id}; ${ctx}`);
    assert.equal(replay(w, r), r.next, `receiver #${r.id}: its events do not add up`);
  }
  const listed =
    w.ops.filter((o) => o.kind === "recv" && o.inList).length +
    live.filter((r) => r.streamParked).length;
  assert.equal(s.waiters.length, listed, `waiters in the list; ${ctx}`);
  for (const op of w.ops) {
    if (!op.parked) continue;
    if (expectedFor(w, op.r).k !== "empty") {
      assert.ok(op.task.isWoken(), `lost wakeup: op ${op.id} (${op.kind}); ${ctx}`);
    }
    const holds = op.kind === "recv" ? op.inList : op.r.streamParked;
    assert.equal(
      op.task.wakerRefCount,
      holds ? 1 : 0,
      `op ${op.id} (${op.kind}) holds ${op.task.wakerRefCount} wakers; ${ctx}`,
    );
  }
}

const step = checkedBy(checkInvariants);

function pollOp(w: World, op: Op): void {
  const out = attempt(() => op.task.poll());
  const what = `poll of op ${op.id} (${op.kind})`;
  w.log.push(`${what} on #${op.r.id} -> ${show(out)}`);
  if (receive(w, op.r, out, op.kind, what)) {
    // Over: a completed recv or pollNext holds no waker (it was woken, or never parked).
    finishOp(w, op, `op ${op.id} (${op.kind})`);
    return;
  }
  op.parked = true;
  if (op.kind === "recv") op.inList = true;
  else op.r.streamParked = true;
}

function newOp(w: World, kind: OpKind, r: Rx): Op {
  const fut = kind === "recv" ? r.rx.recv() : pollFn((cx) => r.rx.pollNext(cx) as Poll<unknown>);
  const op: Op = {
    id: w.nextOp++,
    kind,
    r,
    task: new MockTask(fut),
    parked: false,
    inList: false,
  };
  w.ops.push(op);
  w.log.push(`op ${op.id} = ${kind} on #${r.id}`);
  pollOp(w, op);
  return op;
}

function dropOp(w: World, op: Op): void {
  const before = positionOf(op.r.rx);
  op.task.drop();
  w.log.push(`drop op ${op.id}`);
  assert.equal(positionOf(op.r.rx), before, `dropping op ${op.id} (${op.kind}) consumed a message`);
  op.inList = false;
  // pollNext is the stream protocol: like Rust's poll_next, the waker it registered stays with the
  // receiver until the next poll or event (a pollFn has nothing to deregister it on drop).
  finishOp(w, op, `op ${op.id} (${op.kind})`, op.kind === "next");
}

/** Model of a successful send: the message is appended and every waiter is woken. */
function delivered(w: World, v: V): void {
  w.sent.push(v);
  for (const op of w.ops) op.inList = false;
  for (const r of w.receivers) r.streamParked = false;
}

function sendOne(w: World, i: number): void {
  const tx = w.senders[i]!;
  const v = w.nextValue++;
  const out = attempt(() => tx.send(v));
  w.log.push(`sender ${i} send ${v} -> ${show(out)}`);
  const receivers = liveReceivers(w).length;
  if (!w.alive[i] || receivers === 0) {
    const why = w.alive[i] ? "no receiver" : "a dropped sender";
    const e = expectError(out, ChannelClosed, `send ${v} with ${why}; ${where(w)}`);
    assert.equal(e.code, "CHANNEL_CLOSED");
    assert.equal(e.value, v, `send ${v} with ${why}: ChannelClosed must hand the value back`);
    w.handedBack.push(v);
    return;
  }
  assert.equal(expectReady(out, `send ${v}`), receivers, "send returns the number of receivers");
  delivered(w, v);
}

const hasLiveReceiver = (w: World) => w.receivers.some((r) => r.alive);

const send = withArg(
  "send",
  fc.record({ k: fc.nat(), n: fc.integer({ min: 1, max: 3 }) }),
  step((w, { k, n }: { k: number; n: number }) => {
    const i = pick(liveSenders(w), k);
    for (let j = 0; j < n; j++) sendOne(w, i);
  }),
  hasLiveSender,
);

const sendOnDroppedSender = withArg(
  "sendOnDroppedSender",
  fc.nat(),
  step((w, k: number) => {
    sendOne(
      w,
      pick(
        w.senders.map((_, i) => i).filter((i) => !w.alive[i]),
        k,
      ),
    );
  }),
  (w) => w.sendersAlive < w.senders.length,
);

const subscribe = onSomeSender(
  "subscribe",
  step((w: World, i: number) => {
    const r = newRx(w, w.senders[i]!.subscribe(), w.sent.length);
    w.log.push(`sender ${i} subscribe -> #${r.id} at ${r.start}`);
    // It starts at the tail: nothing sent before is for it.
    assert.equal(positionOf(r.rx), w.sent.length, "a new subscriber starts at the tail");
  }),
);

const cloneReceiver = withArg(
  "cloneReceiver",
  fc.nat(),
  step((w, k: number) => {
    const from = pick(liveReceivers(w), k);
    // The clone is at the same position (lagging as much, if the original lags).
    const r = newRx(w, from.rx.clone(), from.next);
    w.log.push(`clone #${from.id} -> #${r.id} at ${r.start}`);
  }),
  hasLiveReceiver,
);

const dropReceiver = withArg(
  "dropReceiver",
  fc.record({ k: fc.nat(), dispose: fc.boolean() }),
  step((w, { k, dispose }: { k: number; dispose: boolean }) => {
    const r = pick(liveReceivers(w), k);
    // Its futures borrow the receiver: they go first.
    for (const op of w.ops.filter((o) => o.r === r)) dropOp(w, op);
    if (dispose) r.rx[Symbol.dispose]();
    else r.rx.drop();
    r.rx.drop(); // idempotent
    r.alive = false;
    r.streamParked = false;
    w.log.push(`drop receiver #${r.id}`);
  }),
  hasLiveReceiver,
);

const cloneSender = cloneSenderCommand<World, BroadcastSender<V>>(checkInvariants);

const dropSender = withArg(
  "dropSender",
  fc.record({ k: fc.nat(), dispose: fc.boolean() }),
  step((w, { k, dispose }: { k: number; dispose: boolean }) => {
    const i = pick(liveSenders(w), k);
    const tx = w.senders[i]!;
    if (dispose) tx[Symbol.dispose]();
    else tx.drop();
    tx.drop(); // idempotent
    w.alive[i] = false;
    w.sendersAlive--;
    w.log.push(`drop sender ${i} (${w.sendersAlive} left)`);
    if (w.sendersAlive === 0) {
      // The end: every waiter is woken (checked by the invariants: no lost wakeup).
      for (const op of w.ops) op.inList = false;
      for (const r of w.receivers) r.streamParked = false;
    }
  }),
  hasLiveSender,
);

const recv = withArg(
  "recv",
  fc.nat(),
  step((w, k: number) => {
    newOp(w, "recv", pick(liveReceivers(w), k));
  }),
  hasLiveReceiver,
);

/** A stream has one consumer: at most one pollNext op per receiver. */
const streamFree = (w: World) =>
  liveReceivers(w).filter((r) => !w.ops.some((o) => o.kind === "next" && o.r === r));

const pollNext = withArg(
  "pollNext",
  fc.nat(),
  step((w, k: number) => {
    newOp(w, "next", pick(streamFree(w), k));
  }),
  (w) => streamFree(w).length > 0,
);

const tryRecv = withArg(
  "tryRecv",
  fc.nat(),
  step((w, k: number) => {
    const r = pick(liveReceivers(w), k);
    const out = attempt(() => r.rx.tryRecv() as Poll<V>);
    w.log.push(`tryRecv on #${r.id} -> ${show(out)}`);
    receive(w, r, out, "try", "tryRecv");
  }),
  hasLiveReceiver,
);

/** Parked recv ops that were woken with something to take. */
const wokenRecvs = (w: World) =>
  w.ops.filter(
    (o) => o.kind === "recv" && o.parked && o.task.isWoken() && expectedFor(w, o.r).k !== "empty",
  );

/** Cancel safety: a recv woken for a message, dropped before its poll, leaves it for the next. */
const dropWokenRecv = withArg(
  "dropWokenRecv",
  fc.nat(),
  step((w, k: number) => {
    const op = pick(wokenRecvs(w), k);
    // dropOp checks that the receiver's position did not move; the next recv gets what the
    // dropped one would have (checked against the model in pollOp).
    dropOp(w, op);
    const again = newOp(w, "recv", op.r);
    assert.ok(!w.ops.includes(again), `recv after dropping op ${op.id} is Pending`);
  }),
  (w) => wokenRecvs(w).length > 0,
);

const commands = [
  send,
  send,
  send,
  send,
  sendOnDroppedSender,
  subscribe,
  subscribe,
  cloneReceiver,
  dropReceiver,
  cloneSender,
  dropSender,
  recv,
  recv,
  recv,
  pollNext,
  tryRecv,
  tryRecv,
  onSomeOp("pollOp", step(pollOp)),
  onSomeOp("pollOp", step(pollOp)),
  onSomeOp("dropOp", step(dropOp)),
  dropWokenRecv,
];

/** After the commands: each live receiver reads to the end, then senders and receivers go. */
function finalCheck(w: World): void {
  for (const op of [...w.ops]) dropOp(w, op);
  checkInvariants(w);
  for (const r of liveReceivers(w)) {
    for (;;) {
      const e = expectedFor(w, r);
      receive(
        w,
        r,
        attempt(() => r.rx.tryRecv() as Poll<V>),
        "try",
        "final tryRecv",
      );
      if (e.k === "empty" || e.k === "closed") break;
    }
    // Exactly the messages sent while it was subscribed: got + lagged, in send order.
    assert.equal(replay(w, r), w.sent.length, `receiver #${r.id} missed messages`);
  }
  for (const tx of aliveSenders(w)) tx.drop();
  w.alive.fill(false);
  w.sendersAlive = 0;
  for (const r of liveReceivers(w)) {
    expectError(
      attempt(() => r.rx.tryRecv() as Poll<V>),
      ChannelClosed,
      `receiver #${r.id} once every sender is gone`,
    );
    const next = new MockTask(pollFn((cx) => r.rx.pollNext(cx) as Poll<unknown>));
    assert.equal(
      expectReady(
        attempt(() => next.poll()),
        "pollNext at the end",
      ),
      Done,
    );
    r.rx.drop();
    r.alive = false;
  }
  assert.equal(w.state.receivers, 0, "receivers left");
  assert.equal(w.state.senders, 0, "senders left");
  assert.equal(w.state.waiters.length, 0, "waiters left");
  assert.equal(w.sent.length + w.handedBack.length, w.nextValue - 100, "a send went missing");
}

test("broadcast: step-by-step model (MockTask), capacity 1..4, several senders and receivers", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 4 }),
      fc.commands(commands, { maxCommands: 80, size: "large" }),
      (cap, cmds) => {
        const w = newWorld(cap);
        runSteps(w, cmds);
        finalCheck(w);
      },
    ),
    fcParams(400),
  );
});

/**
 * The end is final (as in tokio, where a dropped sender cannot be used at all): once every sender
 * is dropped and a receiver was told ChannelClosed, cloning a dropped handle must not bring the
 * channel back. `Sender.clone` and `UnboundedSender.clone` throw ChannelClosed for a dropped
 * sender; a fix may also hand back a sender whose sends fail.
 */
test("broadcast: cloning a dropped sender does not reopen a channel whose receivers saw the end", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 4 }),
      fc.integer({ min: 1, max: 3 }),
      fc.integer({ min: 0, max: 6 }),
      fc.nat(),
      (cap, n, sends, k) => {
        const [tx, rx] = broadcast<V>(cap);
        const senders = [tx];
        for (let i = 1; i < n; i++) senders.push(tx.clone());
        for (let i = 0; i < sends; i++) senders[i % n]!.send(i);
        for (const s of senders) s.drop();
        // Read to the end: the last min(sends, cap) messages (after Lagged), then ChannelClosed.
        const got: V[] = [];
        for (;;) {
          const out = attempt(() => rx.tryRecv() as Poll<V>);
          if (out.kind === "ready") got.push(expectReady(out, "tryRecv before the end"));
          else if (!(out.kind === "error" && out.error instanceof Lagged)) {
            expectError(out, ChannelClosed, "tryRecv once every sender is gone");
            break;
          }
        }
        const kept = Array.from({ length: sends }, (_, i) => i).slice(-cap);
        assert.deepEqual(got, kept, "the messages left before the end");
        const state = stateOf(tx);
        const revived = attempt(() => pick(senders, k).clone() as unknown as Poll<unknown>);
        const again = revived.kind === "ready" ? (revived.value as BroadcastSender<V>) : null;
        const sent = again === null ? null : attempt(() => again.send(42));
        expectError(
          attempt(() => rx.tryRecv() as Poll<V>),
          ChannelClosed,
          `after the end, ${again === null ? "" : `a clone of a dropped sender sent 42 (${show(sent!)}) and `}tryRecv must stay ChannelClosed`,
        );
        assert.equal(state.senders, 0, "a clone of a dropped sender counts as a live sender");
        if (again === null) expectError(revived, ChannelClosed, "clone of a dropped sender");
        else {
          const e = expectError(sent!, ChannelClosed, "send through a clone of a dropped sender");
          assert.equal(e.value, 42, "the failed send hands the value back");
          again.drop();
        }
      },
    ),
    fcParams(100),
  );
});

// ---------------------------------------------------------------------------------------------
// 2. Tasks on a Runtime with random aborts
// ---------------------------------------------------------------------------------------------

type ProducerOp =
  | { readonly k: "send"; readonly n: number }
  | { readonly k: "yield"; readonly n: number };

type ConsumerOp =
  | { readonly k: "recv" }
  | { readonly k: "tryRecv" }
  | { readonly k: "next" }
  | { readonly k: "yield"; readonly n: number }
  | { readonly k: "clone" }
  | { readonly k: "unsubscribe" };

/** The closer's last message: readers stop when they get it. */
const STOP = -1;

interface ConsumerPlan {
  /** 0: subscribed before the tasks start; n > 0: subscribes after n yields. */
  readonly late: number;
  readonly ops: readonly ConsumerOp[];
}

/**
 * Abort targets: producers 0..p-1, then the consumers. With `stop`, a closer task (never aborted)
 * keeps a sender until every reader is done: once the producers are done and every consumer has
 * subscribed, it sends STOP, which ends the readers. The channel then never ends while a reader
 * waits, so a send that fails to wake a parked receiver leaves its task stuck (reported); without
 * `stop`, readers end on ChannelClosed, so a lost wakeup on the last sender's drop is reported.
 */
interface Scenario extends RuntimeScenario {
  readonly cap: number;
  readonly stop: boolean;
  readonly producers: readonly (readonly ProducerOp[])[];
  readonly consumers: readonly ConsumerPlan[];
}

const yields = fc.integer({ min: 1, max: 3 });

const producerOp: fc.Arbitrary<ProducerOp> = fc.oneof(
  { arbitrary: fc.record({ k: fc.constant("send" as const), n: yields }), weight: 3 },
  { arbitrary: fc.record({ k: fc.constant("yield" as const), n: yields }), weight: 2 },
);

const consumerOp: fc.Arbitrary<ConsumerOp> = fc.oneof(
  { arbitrary: fc.constant({ k: "recv" as const }), weight: 4 },
  { arbitrary: fc.constant({ k: "tryRecv" as const }), weight: 2 },
  { arbitrary: fc.constant({ k: "next" as const }), weight: 2 },
  { arbitrary: fc.record({ k: fc.constant("yield" as const), n: yields }), weight: 3 },
  { arbitrary: fc.constant({ k: "clone" as const }), weight: 1 },
  { arbitrary: fc.constant({ k: "unsubscribe" as const }), weight: 1 },
);

const scenarioArb: fc.Arbitrary<Scenario> = scenarioArbitrary(
  {
    cap: fc.integer({ min: 1, max: 4 }),
    stop: fc.boolean(),
    producers: fc.array(fc.array(producerOp, { maxLength: 10 }), { minLength: 1, maxLength: 3 }),
    consumers: fc.array(
      fc.record({
        late: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 6 })),
        ops: fc.array(consumerOp, { maxLength: 12 }),
      }),
      { minLength: 1, maxLength: 4 },
    ),
  },
  { maxAfter: 12, maxAborts: 3 },
  (s) => s.producers.length + s.consumers.length,
);

/** What one receiver was told, with the number of messages sent at that moment. */
interface Told {
  readonly value?: V;
  readonly lagged?: number;
  readonly tail: number;
}

interface Trace {
  readonly name: string;
  /** Sequence number of the first message it may see. */
  readonly start: number;
  readonly told: Told[];
  /** Where what it was told leads (the next message's sequence number). */
  pos: number;
  /** Messages sent when it was dropped (null while subscribed). */
  end: number | null;
  /** It read everything before it was dropped. */
  drained: boolean;
}

interface Ledger {
  /** Every message sent, in send order (= sequence number). */
  readonly sent: V[];
  readonly handedBack: V[];
  /** Receivers subscribed now, by our count. */
  live: number;
  /** Producers running, consumers not subscribed yet, readers not finished (for the closer). */
  producing: number;
  unsubscribed: number;
  reading: number;
  readonly traces: Trace[];
  readonly violations: string[];
}

function scenarioTasks(s: Scenario, ledger: Ledger, spawn: Spawn) {
  const [tx, rx0] = broadcast<V>(s.cap);
  const state = stateOf(tx);
  rx0.drop();
  const handles: JoinHandle<void>[] = [];

  const open = (name: string, start: number): Trace => {
    const t: Trace = { name, start, told: [], pos: start, end: null, drained: false };
    ledger.traces.push(t);
    ledger.live++;
    return t;
  };
  /** Records a message; true when it is STOP. */
  const got = (t: Trace, value: V): boolean => {
    t.told.push({ value, tail: ledger.sent.length });
    t.pos++;
    return value === STOP;
  };
  const changed = new Notify();
  const done = (counter: "producing" | "unsubscribed" | "reading") => {
    ledger[counter]--;
    changed.notifyOne();
  };
  /** Records Lagged; true at the end (ChannelClosed); rethrows anything else. */
  const failed = (t: Trace, e: unknown): boolean => {
    if (e instanceof Lagged) {
      t.told.push({ lagged: e.missed, tail: ledger.sent.length });
      t.pos += e.missed;
      return false;
    }
    if (e instanceof ChannelClosed) return true;
    throw e;
  };
  const drainInto = (rx: BroadcastReceiver<V>, t: Trace) => {
    for (;;) {
      try {
        const v = rx.tryRecv();
        if (v === undefined) return;
        got(t, v);
      } catch (e) {
        if (failed(t, e)) return;
      }
    }
  };
  const shut = (rx: BroadcastReceiver<V>, t: Trace, drained: boolean) => {
    rx.drop();
    ledger.live--;
    t.end = ledger.sent.length;
    t.drained = drained;
  };

  /** A follower task reading a clone of a consumer's receiver until the end. */
  const follow = (rx: BroadcastReceiver<V>, parent: Trace) => {
    const t = open(`clone of ${parent.name} at #${parent.pos}`, parent.pos);
    ledger.reading++;
    handles.push(
      spawn(
        future(function* () {
          for (;;) {
            try {
              if (got(t, yield* rx.recv())) return;
            } catch (e) {
              if (failed(t, e)) return;
            }
            yield* yieldNow();
          }
        }).finally(() => {
          drainInto(rx, t);
          shut(rx, t, true);
          done("reading");
        }),
      ),
    );
  };

  const sendOne = (sender: BroadcastSender<V>, v: V) => {
    try {
      const n = sender.send(v);
      if (n !== ledger.live) {
        ledger.violations.push(`send ${v} returned ${n}, ${ledger.live} subscribed`);
      }
      ledger.sent.push(v);
    } catch (e) {
      if (!(e instanceof ChannelClosed)) throw e;
      if (e.value !== v) ledger.violations.push(`send ${v} failed handing back ${e.value}`);
      if (ledger.live !== 0) {
        ledger.violations.push(`send ${v} failed with ${ledger.live} receivers`);
      }
      ledger.handedBack.push(v);
    }
  };

  const senders = s.producers.map(() => tx.clone());
  ledger.producing = s.producers.length;
  const producer = (p: number) =>
    future(function* () {
      let i = 0;
      for (const op of s.producers[p]!) {
        if (op.k === "yield") {
          for (let j = 0; j < op.n; j++) yield* yieldNow();
        } else {
          for (let j = 0; j < op.n; j++) sendOne(senders[p]!, p * 1000 + i++);
        }
      }
      // The sender is dropped with the future (also when aborted before its first poll).
    }).finally(() => {
      senders[p]!.drop();
      done("producing");
    });

  const closer = (closerTx: BroadcastSender<V>) =>
    future(function* () {
      while (ledger.producing > 0 || ledger.unsubscribed > 0) yield* changed.notified();
      sendOne(closerTx, STOP);
      while (ledger.reading > 0) yield* changed.notified();
    }).finally(() => closerTx.drop());

  const consumer = (c: number) => {
    const plan = s.consumers[c]!;
    let rx: BroadcastReceiver<V> | null = null;
    let t: Trace | null = null;
    // A late consumer holds a sender until it subscribes, so the channel cannot end before.
    let subTx: BroadcastSender<V> | null = null;
    if (plan.late === 0) {
      rx = tx.subscribe();
      t = open(`consumer ${c}`, 0);
    } else {
      subTx = tx.clone();
      ledger.unsubscribed++;
    }
    ledger.reading++;
    return future(function* () {
      if (subTx !== null) {
        for (let j = 0; j < plan.late; j++) yield* yieldNow();
        rx = subTx.subscribe();
        t = open(`consumer ${c} (subscribed late)`, ledger.sent.length);
        subTx.drop();
        subTx = null;
        done("unsubscribed");
      }
      const r = rx!;
      const tr = t!;
      let ended = false;
      for (const op of plan.ops) {
        if (ended) break;
        try {
          if (op.k === "recv") ended = got(tr, yield* r.recv());
          else if (op.k === "tryRecv") {
            const v = r.tryRecv();
            if (v !== undefined) ended = got(tr, v);
          } else if (op.k === "next") {
            const v = yield* pollFn((cx) => r.pollNext(cx));
            ended = v === Done || got(tr, v);
          } else if (op.k === "yield") {
            for (let j = 0; j < op.n; j++) yield* yieldNow();
          } else if (op.k === "clone") {
            follow(r.clone(), tr);
          } else {
            rx = null;
            shut(r, tr, false);
            return;
          }
        } catch (e) {
          ended = failed(tr, e);
        }
      }
      while (!ended) {
        try {
          ended = got(tr, yield* r.recv());
        } catch (e) {
          ended = failed(tr, e);
        }
      }
    }).finally(() => {
      // Done or aborted (maybe before it started): read what is left, then unsubscribe.
      if (subTx !== null) {
        subTx.drop();
        done("unsubscribed");
      }
      if (rx !== null && t !== null) {
        drainInto(rx, t);
        shut(rx, t, true);
      }
      done("reading");
    });
  };

  for (let p = 0; p < s.producers.length; p++) handles.push(spawn(producer(p)));
  for (let c = 0; c < s.consumers.length; c++) handles.push(spawn(consumer(c)));
  if (s.stop) handles.push(spawn(closer(tx.clone())));
  tx.drop();
  handles.push(spawnAborter(spawn, s.aborts, handles));
  return { handles, state, ledger };
}

function checkLedger(s: Scenario, ledger: Ledger, state: StateView, label: string): void {
  const fail = (msg: string) => assert.fail(`${label}: ${msg}; sent [${ledger.sent}]`);
  if (ledger.violations.length > 0) fail(ledger.violations.join("; "));
  for (const t of ledger.traces) {
    if (t.end === null) fail(`${t.name} was never dropped`);
    let pos = t.start;
    for (const e of t.told) {
      const oldest = Math.max(0, e.tail - s.cap);
      if (e.lagged !== undefined) {
        if (e.lagged < 1 || pos + e.lagged !== oldest) {
          fail(
            `${t.name}: Lagged(${e.lagged}) at #${pos} with ${e.tail} sent (capacity ${s.cap}), expected Lagged(${oldest - pos})`,
          );
        }
        pos += e.lagged;
      } else {
        if (pos < oldest) {
          fail(`${t.name}: got message #${pos} with ${e.tail} sent: more than capacity retained`);
        }
        if (e.value !== ledger.sent[pos]) {
          fail(
            `${t.name}: got ${e.value} as message #${pos}, which is ${ledger.sent[pos]}: lost, duplicated or out of order`,
          );
        }
        pos++;
      }
    }
    // What it got plus what it lagged: every message sent while it was subscribed.
    if (t.drained ? pos !== t.end : pos > t.end!) {
      fail(
        `${t.name}: read #${t.start}..#${pos}, messages #${t.start}..#${t.end} were sent while it was subscribed`,
      );
    }
  }
  if (ledger.live !== 0) fail(`${ledger.live} receivers left`);
  assert.equal(state.tail, ledger.sent.length, `${label}: messages sent`);
  assert.equal(state.receivers, 0, `${label}: receivers left`);
  assert.equal(state.senders, 0, `${label}: senders left`);
  assert.equal(state.waiters.length, 0, `${label}: waiters left`);
  assert.equal(state.slots.length, s.cap, `${label}: the ring grew beyond the capacity`);
}

const newLedger = (): Ledger => ({
  sent: [],
  handedBack: [],
  live: 0,
  producing: 0,
  unsubscribed: 0,
  reading: 0,
  traces: [],
  violations: [],
});
const start = (s: Scenario, spawn: Spawn) => scenarioTasks(s, newLedger(), spawn);
const check = (s: Scenario, { ledger, state }: ReturnType<typeof start>, label: string) =>
  checkLedger(s, ledger, state, label);

test("broadcast: producer, consumer and clone-follower tasks with random aborts (FIFO and random scheduling)", () => {
  settledProperty(scenarioArb, 300, start, check);
});

test("broadcast: the same scenarios through rt.run", async () => {
  await runProperty(scenarioArb, 60, start, check);
});
