/**
 * The seed's story as a test: a leaf "email client" future stores a clone of `cx.waker` and
 * returns Pending; a host callback (no timer) sets the reply and calls wake(); the executor polls
 * the task again and it completes. Exactly two polls.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  type Context,
  Future,
  future,
  Pending,
  type Poll,
  Runtime,
  setDebugMode,
  type Waker,
} from "../../src/index.js";

interface TaskView {
  wakers: number;
  polls: number;
}

type Scheduler = (fn: () => void) => void;

/** A stand-in for a socket: the reply arrives later, from a host callback (never a timer). */
class FakeSmtpSocket {
  reply: string | null = null;
  waker: Waker | null = null;
  sends: string[] = [];
  wakesSent = 0;

  constructor(private readonly later: Scheduler) {}

  send(command: string): void {
    this.sends.push(command);
    this.later(() => {
      this.reply = "250 OK: queued as 7F3A";
      const waker = this.waker;
      this.waker = null;
      this.wakesSent++;
      waker?.wake();
    });
  }
}

/** The leaf future: sends on first poll, then stores `cx.waker.clone()` until the reply is in. */
class SendEmail extends Future<string> {
  polls = 0;
  clonesTaken = 0;
  /** What `cx.waker.data` is (the runtime task), seen by each poll. */
  tasks: TaskView[] = [];
  private sent = false;

  constructor(private readonly socket: FakeSmtpSocket) {
    super();
  }

  poll(cx: Context): Poll<string> {
    this.polls++;
    this.tasks.push(cx.waker.data as TaskView);
    if (!this.sent) {
      this.sent = true;
      this.socket.send("DATA ... .");
    }
    if (this.socket.reply !== null) return this.socket.reply;
    if (this.socket.waker === null || !this.socket.waker.willWake(cx.waker)) {
      this.socket.waker?.drop();
      this.socket.waker = cx.waker.clone();
      this.clonesTaken++;
    }
    return Pending;
  }
}

const schedulers: [string, Scheduler][] = [
  ["setImmediate", (fn) => setImmediate(fn)],
  ["queueMicrotask", (fn) => queueMicrotask(fn)],
];

describe("seed example: an email client leaf future", () => {
  for (const [name, later] of schedulers) {
    test(`woken from ${name}: polled exactly twice, completes with the reply`, async () => {
      const rt = new Runtime();
      const socket = new FakeSmtpSocket(later);
      const send = new SendEmail(socket);
      let bodyRuns = 0;
      const main = future(function* emailClient() {
        bodyRuns++;
        const answer = yield* send;
        return `got ${answer}`;
      });
      assert.equal(send.polls, 0, "futures are lazy: nothing ran before run()");
      assert.equal(bodyRuns, 0);
      assert.deepEqual(socket.sends, []);

      const reply = await rt.run(main);

      assert.equal(reply, "got 250 OK: queued as 7F3A");
      assert.equal(send.polls, 2);
      assert.equal(bodyRuns, 1);
      assert.deepEqual(socket.sends, ["DATA ... ."]);
      assert.equal(send.clonesTaken, 1, "one waker clone stored");
      assert.equal(socket.wakesSent, 1);
      assert.equal(socket.waker, null);
      // Both polls were done by the same task, whose one clone was consumed by wake().
      const [t1, t2] = send.tasks;
      assert.equal(t1, t2);
      assert.equal(t1!.polls, 2);
      assert.equal(t1!.wakers, 0, "the stored clone was released by wake()");
      assert.equal(rt.externalWakers, 0);
      assert.equal(rt.dump().tasks.length, 0);
    });
  }

  test("the leaf run directly as the root task: also exactly two polls", async () => {
    const rt = new Runtime();
    const socket = new FakeSmtpSocket((fn) => setImmediate(fn));
    const send = new SendEmail(socket);
    assert.equal(await rt.run(send), "250 OK: queued as 7F3A");
    assert.equal(send.polls, 2);
    assert.equal(send.tasks[0]!.wakers, 0);
  });

  test("between the polls the task is idle, holding one live waker", async () => {
    const rt = new Runtime();
    let observed: { state: string; wakers: number; polls: number } | undefined;
    const socket = new FakeSmtpSocket((fn) =>
      setImmediate(() => {
        const [t] = rt.dump().tasks;
        observed = t && { state: t.state, wakers: t.wakers, polls: t.polls };
        fn();
      }),
    );
    const send = new SendEmail(socket);
    await rt.run(send);
    assert.deepEqual(observed, { state: "idle", wakers: 1, polls: 1 });
  });

  test("in debug mode the same story holds and no contract error is raised", async () => {
    setDebugMode(true);
    try {
      const rt = new Runtime({ debug: true });
      const send = new SendEmail(new FakeSmtpSocket((fn) => setImmediate(fn)));
      assert.equal(await rt.run(send), "250 OK: queued as 7F3A");
      assert.equal(send.polls, 2);
    } finally {
      setDebugMode(false);
    }
  });
});
