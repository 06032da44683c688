/**
 * Model-based property of an mpsc receiver used by several receive futures at once: two tasks
 * (two wakers), each holding any number of receive futures and polling the receiver as a stream
 * (`pollNext`) or not, polled, dropped and fed at random.
 *
 * The rules checked against a model, step by step:
 * - a receive polled while a message is buffered takes the oldest one (FIFO), whatever else waits;
 * - at the end of the channel (closed, nothing buffered) it fails with `ChannelClosed`;
 * - otherwise it waits, unless a receive of the other task is waiting (registered since the last
 *   wake): then it fails with `ChannelReceiverBusy`, and the waiting one keeps its place. A stream
 *   of the other task waiting is woken instead, and the receive takes its place (a stream has no
 *   future to drop: a task that stops polling one keeps its registration until the next wake);
 * - the stream's poll follows the same rules, with `Done` at the end: it takes the place of the
 *   other task's stream too, which then gets `ChannelReceiverBusy` from its own stream polls
 *   until the next wake (rather than take the place back, without end);
 * - no lost wakeup: once a message arrives or the channel closes, every task with a waiting
 *   receive has been woken, whichever receives of that task were dropped meanwhile;
 * - no leaked waker: once no receive waits, the channel holds no task's waker.
 *
 * Then the same rules on a runtime (FIFO and seeded-random ready queue, random aborts): two
 * consumer tasks share one receiver with receives, stream polls, joined receives and receives
 * raced against a yield (dropped when they lose), retrying after `ChannelReceiverBusy`. Every
 * task finishes (no lost wakeup), every value sent is received once or discarded with the
 * receiver, and each consumer sees the values in the order sent.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import {
  ChannelClosed,
  ChannelReceiverBusy,
  channel,
  Done,
  type Future,
  future,
  join,
  Pending,
  type Poll,
  pollFn,
  type Receiver,
  select,
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
import { fcParams } from "./support.js";

const CAPACITY = 4;

/** One receive future of a task, as the model sees it. */
interface Op {
  readonly fut: Future<number>;
  /** Waiting: polled to Pending and neither finished nor dropped since. */
  waiting: boolean;
  /** Registered since the channel's last wake of its receiver (the model's view of "live"). */
  live: boolean;
  finished: boolean;
}

/** A task whose poll polls each of its unfinished receives in order. */
interface TaskModel {
  readonly name: string;
  readonly ops: Op[];
  readonly mock: MockTask<never>;
  /** The task polls the receiver's stream (`pollNext`) after its receives, at each poll. */
  streaming: boolean;
  /** The stream's poll returned Pending at the task's last poll and the task still streams. */
  streamWaiting: boolean;
  /** The stream registered since the last wake (it has no drop: only a wake ends this). */
  streamLive: boolean;
  /** The outcome of each op (and of the stream, under the key "stream") at the current poll. */
  results: Map<Op | "stream", Outcome>;
}

type Outcome =
  | { kind: "ready"; value: number | typeof Done }
  | { kind: "pending" }
  | { kind: "error"; error: unknown };

type Command =
  | { readonly k: "recv"; readonly task: number }
  | { readonly k: "poll"; readonly task: number }
  | { readonly k: "drop"; readonly task: number; readonly pick: number }
  | { readonly k: "stream"; readonly task: number }
  | { readonly k: "send" }
  | { readonly k: "close" };

const commandArbitrary: fc.Arbitrary<Command> = fc.oneof(
  { arbitrary: fc.record({ k: fc.constant("recv" as const), task: fc.nat(1) }), weight: 3 },
  { arbitrary: fc.record({ k: fc.constant("poll" as const), task: fc.nat(1) }), weight: 4 },
  {
    arbitrary: fc.record({ k: fc.constant("drop" as const), task: fc.nat(1), pick: fc.nat(7) }),
    weight: 2,
  },
  { arbitrary: fc.record({ k: fc.constant("stream" as const), task: fc.nat(1) }), weight: 2 },
  { arbitrary: fc.constant({ k: "send" as const }), weight: 3 },
  { arbitrary: fc.constant({ k: "close" as const }), weight: 1 },
);

function outcomeOf(poll: () => Poll<number | typeof Done>): Outcome {
  try {
    const r = poll();
    return r === Pending ? { kind: "pending" } : { kind: "ready", value: r };
  } catch (error) {
    return { kind: "error", error };
  }
}

function makeTask(name: string, rx: Receiver<number>): TaskModel {
  const ops: Op[] = [];
  const model: TaskModel = {
    name,
    ops,
    streaming: false,
    streamWaiting: false,
    streamLive: false,
    results: new Map(),
    mock: new MockTask(
      pollFn<never>((cx): Poll<never> => {
        for (const op of ops) {
          if (!op.finished)
            model.results.set(
              op,
              outcomeOf(() => op.fut.poll(cx)),
            );
        }
        if (model.streaming)
          model.results.set(
            "stream",
            outcomeOf(() => rx.pollNext(cx)),
          );
        return Pending;
      }),
    ),
  };
  return model;
}

function describeOutcome(got: Outcome): string {
  if (got.kind === "ready") return got.value === Done ? "done" : `ready ${got.value}`;
  if (got.kind === "pending") return "pending";
  if (got.error instanceof ChannelReceiverBusy) return "busy";
  if (got.error instanceof ChannelClosed) return "closed";
  return `error ${String(got.error)}`;
}

function runProgram(commands: readonly Command[]): void {
  const [tx, rx] = channel<number>(CAPACITY);
  const tasks = [makeTask("A", rx), makeTask("B", rx)];
  const buffer: number[] = [];
  let closed = false;
  let next = 0;
  const log: string[] = [];

  const holdsRegistration = (t: TaskModel) =>
    t.streamLive || t.ops.some((op) => op.live && !op.finished);
  const receiveLiveElsewhere = (task: TaskModel) =>
    tasks.some((t) => t !== task && t.ops.some((op) => op.live && !op.finished));
  /** The task whose stream's place the other task's stream took, until the next wake. */
  let displaced: TaskModel | null = null;
  /** A wake of the receiver: every live registration is used up, every waiting task woken. */
  const wakeEvent = () => {
    displaced = null;
    for (const t of tasks) {
      const waits = t.streamWaiting || t.ops.some((op) => op.waiting && !op.finished);
      if (waits) assert.ok(t.mock.isWoken(), `task ${t.name} waits but was not woken`);
      for (const op of t.ops) op.live = false;
      t.streamLive = false;
    }
  };

  for (const command of commands) {
    log.push(JSON.stringify(command));
    const where = () => `\n${log.join("\n")}`;
    if (command.k === "recv") {
      tasks[command.task]!.ops.push({
        fut: rx.recv(),
        waiting: false,
        live: false,
        finished: false,
      });
    } else if (command.k === "poll") {
      const task = tasks[command.task]!;
      // The model's expectations, worked out op by op in the poll's order.
      const expected = new Map<Op, string>();
      /** Tasks whose stream's wait this task took over: they must be woken. */
      const woken: TaskModel[] = [];
      for (const op of task.ops) {
        if (op.finished) continue;
        if (buffer.length > 0) expected.set(op, `ready ${buffer.shift()}`);
        else if (closed) expected.set(op, "closed");
        else if (receiveLiveElsewhere(task)) expected.set(op, "busy");
        else {
          for (const t of tasks) {
            if (t !== task && t.streamLive) {
              t.streamLive = false;
              woken.push(t);
              displaced = null; // the takeover is a wake of the receiver
            }
          }
          expected.set(op, "pending");
          op.live = true;
        }
      }
      let streamExpected: string | null = null;
      if (task.streaming) {
        if (buffer.length > 0) streamExpected = `ready ${buffer.shift()}`;
        else if (closed) streamExpected = "done";
        else if (receiveLiveElsewhere(task) || displaced === task) streamExpected = "busy";
        else {
          for (const t of tasks) {
            if (t !== task && t.streamLive) {
              t.streamLive = false;
              woken.push(t);
              displaced = t;
            }
          }
          streamExpected = "pending";
          task.streamLive = true;
        }
      }
      task.results = new Map();
      task.mock.poll();
      for (const [op, want] of expected) {
        const got = task.results.get(op);
        assert.ok(got !== undefined, `op not polled${where()}`);
        assert.equal(describeOutcome(got), want, `task ${task.name}${where()}`);
        op.waiting = want === "pending";
        if (want !== "pending") {
          op.finished = true;
          op.live = false;
        }
      }
      for (const t of woken) {
        assert.ok(
          t.mock.isWoken(),
          `task ${t.name}'s stream was displaced but not woken${where()}`,
        );
      }
      if (streamExpected !== null) {
        const got: Outcome | undefined = task.results.get("stream");
        assert.ok(got !== undefined, `stream not polled${where()}`);
        assert.equal(describeOutcome(got), streamExpected, `task ${task.name} stream${where()}`);
        task.streamWaiting = streamExpected === "pending";
      }
    } else if (command.k === "stream") {
      // Start or stop polling the stream; stopping drops nothing (a stream has no such future).
      const task = tasks[command.task]!;
      task.streaming = !task.streaming;
      task.streamWaiting = false;
    } else if (command.k === "drop") {
      const task = tasks[command.task]!;
      const open = task.ops.filter((op) => !op.finished);
      if (open.length === 0) continue;
      const op = open[command.pick % open.length]!;
      op.fut.drop();
      op.finished = true;
      op.waiting = false;
      op.live = false;
    } else if (command.k === "send") {
      if (closed || buffer.length === CAPACITY) continue;
      tx.trySend(next);
      buffer.push(next++);
      wakeEvent();
    } else {
      if (closed) continue;
      closed = true;
      rx.close();
      tx.drop();
      wakeEvent();
    }
    // No leaked waker: a task none of whose receives (nor its stream) is live holds no registration.
    for (const t of tasks) {
      if (!holdsRegistration(t)) {
        assert.equal(t.mock.wakerRefCount, 0, `task ${t.name} holds a waker${where()}`);
      }
    }
  }
}

test("the model, by example: streams of two tasks take each other's place once per wake", () => {
  runProgram([
    { k: "stream", task: 0 },
    { k: "stream", task: 1 },
    { k: "poll", task: 0 },
    { k: "poll", task: 1 }, // takes A's place: A is woken
    { k: "poll", task: 0 }, // A may not take it back before the next wake: busy
    { k: "send" },
    { k: "poll", task: 1 },
    { k: "poll", task: 0 },
    { k: "recv", task: 1 },
    { k: "poll", task: 1 }, // a receive takes the place of A's stream
    { k: "poll", task: 0 }, // A's stream finds B's receive: busy
  ]);
});

test("an mpsc receiver under receive futures and stream polls of two tasks follows its model", () => {
  fc.assert(
    fc.property(
      fc.array(commandArbitrary, { minLength: 10, maxLength: 80, size: "max" }),
      (commands) => {
        runProgram(commands);
      },
    ),
    fcParams(300),
  );
});

/** A consumer's step: 0 recv, 1 stream poll, 2 two receives joined, 3 recv raced with a yield, 4 yield. */
type ConsumerStep = 0 | 1 | 2 | 3 | 4;

interface Consumers {
  readonly capacity: number;
  readonly messages: number;
  readonly programs: readonly (readonly ConsumerStep[])[];
}

const consumersArb = scenarioArbitrary<Consumers>(
  {
    capacity: fc.integer({ min: 1, max: 4 }),
    messages: fc.integer({ min: 0, max: 24 }),
    programs: fc.tuple(
      fc.array(fc.constantFrom<ConsumerStep>(0, 1, 2, 3, 4), { maxLength: 12 }),
      fc.array(fc.constantFrom<ConsumerStep>(0, 1, 2, 3, 4), { maxLength: 12 }),
    ),
  },
  { maxAfter: 12, maxAborts: 2 },
  () => 3, // the producer and the two consumers
);

/** The end of the channel, as a receive or a stream poll reports it. */
const END: unique symbol = Symbol("end");
/** `ChannelReceiverBusy`: the other consumer is waiting. */
const BUSY: unique symbol = Symbol("busy");
type Got = number | typeof END | typeof BUSY;

function classify(error: unknown): Got {
  if (error instanceof ChannelReceiverBusy) return BUSY;
  if (error instanceof ChannelClosed) return END;
  throw error;
}

function startConsumers(s: Consumers & RuntimeScenario, spawn: Spawn) {
  const [tx, rx] = channel<number>(s.capacity);
  const sent: number[] = [];
  const handedBack: number[] = [];
  const received: number[][] = [[], []];
  const discarded: number[] = [];
  let consumersLeft = 2;

  const producer = future(function* () {
    for (let v = 0; v < s.messages; v++) {
      const ok = yield* tx
        .send(v)
        .map(() => true)
        .catch((error: unknown) => {
          if (!(error instanceof ChannelClosed) || error.value !== v) throw error;
          return false;
        });
      (ok ? sent : handedBack).push(v);
      if (!ok) break;
    }
  }).finally(() => tx.drop());

  const consumer = (c: number) =>
    future(function* () {
      const mine = received[c]!;
      // Values are recorded when a receive completes, inside its poll: a joined receive that
      // completed before its task was aborted must not count as lost (join drops its output).
      const record = (v: number): Got => {
        mine.push(v);
        return v;
      };
      const recv = (): Future<Got> => rx.recv().map(record).catch(classify);
      const streamPoll = (): Future<Got> =>
        pollFn<number | typeof Done>((cx) => rx.pollNext(cx))
          .map((v): Got => (v === Done ? END : record(v)))
          .catch(classify);
      let ended = false;
      for (const step of s.programs[c]!) {
        if (step === 0) ended = (yield* recv()) === END;
        else if (step === 1) ended = (yield* streamPoll()) === END;
        else if (step === 2) {
          const [a, b] = yield* join(recv(), recv());
          ended = a === END || b === END;
        } else if (step === 3) {
          const raced = yield* select([recv(), yieldNow().map((): Got => BUSY)]);
          ended = raced.value === END;
        } else yield* yieldNow();
        if (ended) return;
      }
      // Then receive to the end, giving the other consumer its turn while it waits.
      for (;;) {
        const got = yield* recv();
        if (got === END) return;
        if (got === BUSY) yield* yieldNow();
      }
    }).finally(() => {
      if (--consumersLeft === 0) {
        discarded.push(...drain(rx));
        rx.drop();
      }
    });

  const handles = [spawn(producer), spawn(consumer(0)), spawn(consumer(1))];
  handles.push(spawnAborter(spawn, s.aborts, handles));
  return { handles, sent, handedBack, received, discarded };
}

function checkConsumers(_: Consumers, r: ReturnType<typeof startConsumers>, label: string): void {
  const all = [...r.received[0]!, ...r.received[1]!, ...r.discarded];
  assert.equal(new Set(all).size, all.length, `${label}: a value was received twice`);
  assert.deepEqual(
    [...all].sort((a, b) => a - b),
    r.sent,
    `${label}: values received (and discarded) differ from values sent`,
  );
  for (const mine of r.received) {
    assert.deepEqual(
      mine,
      [...mine].sort((a, b) => a - b),
      `${label}: out of order ${mine}`,
    );
  }
}

test("two consumer tasks sharing a receiver on a runtime: no lost wakeup, nothing lost or duplicated", () => {
  settledProperty(consumersArb, 150, startConsumers, checkConsumers);
});

test("the same consumers through rt.run", async () => {
  await runProperty(consumersArb, 60, startConsumers, checkConsumers);
});
