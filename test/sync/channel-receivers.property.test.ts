/**
 * Model-based property of an mpsc receiver used by several receive futures at once: two tasks
 * (two wakers), each holding any number of receive futures and polling the receiver as a stream
 * (`pollNext`) or not, polled, dropped and fed at random.
 *
 * The rules checked against a model, step by step:
 * - a receive polled while a message is buffered takes the oldest one (FIFO), whatever else waits;
 * - at the end of the channel (closed, nothing buffered) it fails with `ChannelClosed`;
 * - otherwise it waits, unless a receive or the stream of the other task is waiting (registered
 *   since the last wake): then it fails with `ChannelReceiverBusy`, and the waiting one keeps its
 *   place. The stream's poll follows the same rules, with `Done` at the end; a stream has no
 *   future to drop, so a task that stops polling it keeps its registration until the next wake;
 * - no lost wakeup: once a message arrives or the channel closes, every task with a waiting
 *   receive has been woken, whichever receives of that task were dropped meanwhile;
 * - no leaked waker: once no receive waits, the channel holds no task's waker.
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
  Pending,
  type Poll,
  pollFn,
  type Receiver,
} from "../../src/index.js";
import { MockTask } from "../../src/testing/index.js";
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
  { arbitrary: fc.record({ k: fc.constant("stream" as const), task: fc.nat(1) }), weight: 1 },
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
  const liveElsewhere = (task: TaskModel) => tasks.some((t) => t !== task && holdsRegistration(t));
  /** A wake of the receiver: every live registration is used up, every waiting task woken. */
  const wakeEvent = () => {
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
      for (const op of task.ops) {
        if (op.finished) continue;
        if (buffer.length > 0) expected.set(op, `ready ${buffer.shift()}`);
        else if (closed) expected.set(op, "closed");
        else if (liveElsewhere(task)) expected.set(op, "busy");
        else {
          expected.set(op, "pending");
          op.live = true;
        }
      }
      let streamExpected: string | null = null;
      if (task.streaming) {
        if (buffer.length > 0) streamExpected = `ready ${buffer.shift()}`;
        else if (closed) streamExpected = "done";
        else if (liveElsewhere(task)) streamExpected = "busy";
        else {
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
      if (streamExpected !== null) {
        const got = task.results.get("stream");
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
