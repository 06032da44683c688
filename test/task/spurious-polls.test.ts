/**
 * Every leaf future of the library tolerates spurious polls: polled again without having been
 * woken, it returns the same outcome, keeps at most one waker clone, and does not re-poll children
 * nobody woke. Checked by hand with MockTask, and inside a runtime task that wakes itself.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  asyncFn,
  type Context,
  Future,
  FuturesUnordered,
  JoinSet,
  join,
  Pending,
  type Poll,
  pending,
  pollFn,
  Runtime,
  race,
  ready,
  select,
  type Waker,
  yieldNow,
} from "../../src/index.js";
import { assertPending, assertReady, MockTask } from "../../src/testing/index.js";

const SPURIOUS = 5;

/** Yields until no other task of `rt` is ready. */
const settle = asyncFn(function* settle(rt: Runtime) {
  do {
    yield* yieldNow();
  } while (rt.dump().readyQueueLength > 0);
});

/** A leaf completing when `open` is called; keeps one waker clone (replaced only if needed). */
class Gate<T> extends Future<T> {
  polls = 0;
  waker: Waker | null = null;
  private value: { v: T } | null = null;
  poll(cx: Context): Poll<T> {
    this.polls++;
    if (this.value !== null) return this.value.v;
    if (this.waker === null || !this.waker.willWake(cx.waker)) {
      this.waker?.drop();
      this.waker = cx.waker.clone();
    }
    return Pending;
  }
  open(v: T): void {
    this.value = { v };
    const w = this.waker;
    this.waker = null;
    w?.wake();
  }
  override drop(): void {
    this.waker?.drop();
    this.waker = null;
  }
}

describe("spurious polls by hand (MockTask)", () => {
  test("yieldNow: Pending once after waking its task, then ready", () => {
    const task = new MockTask(yieldNow());
    assertPending(task.poll());
    assert.equal(task.wakeCount, 1);
    assert.equal(task.wakerRefCount, 0);
    assert.equal(assertReady(task.poll()), undefined);
    assert.equal(task.wakeCount, 1, "the second poll does not wake again");
  });

  test("ready: every poll gives the same value, without waking or cloning", () => {
    const task = new MockTask(ready({ v: 1 }));
    const first = assertReady(task.poll());
    for (let i = 0; i < SPURIOUS; i++) assert.equal(task.poll(), first);
    assert.equal(task.wakeCount, 0);
    assert.equal(task.wakerRefCount, 0);
  });

  test("pending: Pending on every poll, never wakes, never keeps a waker", () => {
    const task = new MockTask(pending<number>());
    for (let i = 0; i < SPURIOUS + 1; i++) assertPending(task.poll());
    assert.equal(task.wakeCount, 0);
    assert.equal(task.wakerRefCount, 0);
  });

  test("pollFn: calls fn once per poll with the task's context and returns its result", () => {
    const gate = new Gate<string>();
    const seen: Context[] = [];
    const task = new MockTask(
      pollFn<string>((cx) => {
        seen.push(cx);
        return gate.poll(cx);
      }),
    );
    for (let i = 0; i < SPURIOUS + 1; i++) assertPending(task.poll());
    assert.equal(seen.length, SPURIOUS + 1);
    assert.ok(seen.every((cx) => cx.waker === task.waker));
    assert.equal(task.wakerRefCount, 1, "the leaf kept one clone across spurious polls");
    assert.equal(task.isWoken(), false);
    gate.open("x");
    assert.equal(task.isWoken(), true);
    assert.equal(assertReady(task.poll()), "x");
    assert.equal(task.wakerRefCount, 0);
  });

  test("JoinHandle: Pending while the task runs, one stored waker, then the output", () => {
    const rt = new Runtime();
    const gate = new Gate<number>();
    const handle = rt.spawn(gate);
    rt.blockOn(settle(rt));
    const task = new MockTask(handle);
    for (let i = 0; i < SPURIOUS + 1; i++) assertPending(task.poll());
    assert.equal(task.wakerRefCount, 1, "the handle keeps one clone, not one per poll");
    assert.equal(task.wakeCount, 0);
    assert.equal(gate.polls, 1, "polling the handle does not poll the task");
    gate.open(42);
    rt.blockOn(settle(rt));
    assert.equal(task.isWoken(), true);
    assert.equal(task.wakeCount, 1);
    assert.equal(task.wakerRefCount, 0);
    assert.equal(assertReady(task.poll()), 42);
  });

  test("JoinHandle polled from another task keeps the first task's waker too: both are woken", () => {
    const rt = new Runtime();
    const gate = new Gate<number>();
    const handle = rt.spawn(gate);
    rt.blockOn(settle(rt));
    const first = new MockTask(handle);
    const second = new MockTask(handle);
    assertPending(first.poll());
    assertPending(second.poll());
    assertPending(second.poll());
    assertPending(first.poll());
    assert.equal(first.wakerRefCount, 1, "replacing it would leave the first task parked");
    assert.equal(second.wakerRefCount, 1, "one clone each, not one per poll");
    gate.open(1);
    rt.blockOn(settle(rt));
    assert.equal(first.isWoken(), true);
    assert.equal(second.isWoken(), true);
    assert.equal(first.wakerRefCount, 0);
    assert.equal(second.wakerRefCount, 0);
    assert.equal(assertReady(first.poll()), 1);
    assert.equal(assertReady(second.poll()), 1);
  });

  test("JoinSet.joinNext: Pending while members run, one stored waker, then outputs", () => {
    const rt = new Runtime();
    const set = new JoinSet<string>();
    const a = new Gate<string>();
    const b = new Gate<string>();
    rt.blockOn(
      pollFn<void>(() => {
        set.spawn(a);
        set.spawn(b);
        return undefined;
      }),
    );
    rt.blockOn(settle(rt));
    const next = set.joinNext();
    const task = new MockTask(next);
    for (let i = 0; i < SPURIOUS; i++) assertPending(task.poll());
    // A fresh joinNext() future, polled by the same task, reuses the stored waker.
    assert.equal(task.wakerRefCount, 1);
    const other = new MockTask(set.joinNext());
    assertPending(other.poll());
    assertPending(other.poll());
    assert.equal(task.wakerRefCount, 1, "another task's wait is kept besides ours, not instead");
    assert.equal(other.wakerRefCount, 1);
    assertPending(task.poll());
    assert.equal(task.wakerRefCount, 1);
    assert.equal(a.polls + b.polls, 2, "members were polled once each, by the runtime");
    b.open("b");
    rt.blockOn(settle(rt));
    assert.equal(task.isWoken(), true);
    assert.equal(other.isWoken(), true, "every waiting task is woken; one of them takes it");
    assert.equal(other.wakerRefCount, 0);
    assert.equal(assertReady(task.poll()), "b");
    assert.equal(set.length, 1);
    const rest = new MockTask(set.joinNext());
    for (let i = 0; i < SPURIOUS; i++) assertPending(rest.poll());
    a.open("a");
    rt.blockOn(settle(rt));
    assert.equal(rest.isWoken(), true);
    assert.equal(assertReady(rest.poll()), "a");
    assert.equal(new MockTask(set.joinNext()).poll(), undefined, "empty set");
  });

  test("FuturesUnordered.next: spurious polls re-poll no child", () => {
    const fu = new FuturesUnordered<string>();
    const a = new Gate<string>();
    const b = new Gate<string>();
    fu.push(a);
    fu.push(b);
    const task = new MockTask(fu.next());
    assertPending(task.poll());
    assert.equal(a.polls, 1);
    assert.equal(b.polls, 1);
    for (let i = 0; i < SPURIOUS; i++) assertPending(task.poll());
    assert.equal(a.polls, 1, "a was not woken, so not re-polled");
    assert.equal(b.polls, 1);
    assert.equal(task.wakerRefCount, 1, "one clone of the task's waker, kept across polls");
    assert.equal(task.isWoken(), false);
    b.open("b");
    assert.equal(task.isWoken(), true);
    assert.equal(assertReady(task.poll()), "b");
    assert.equal(b.polls, 2);
    assert.equal(a.polls, 1);
    const again = new MockTask(fu.next());
    for (let i = 0; i < SPURIOUS; i++) assertPending(again.poll());
    assert.equal(a.polls, 1, "a's waker is the set's own: a new parent task needs no re-poll");
    assert.equal(task.wakerRefCount, 0, "the set released the old parent's waker");
    assert.equal(again.wakerRefCount, 1);
    a.open("a");
    assert.equal(assertReady(again.poll()), "a");
    assert.equal(new MockTask(fu.next()).poll(), undefined);
  });

  for (const biased of [true, false]) {
    test(`select (biased: ${biased}) with pending branches: Pending until the gate opens`, () => {
      const gate = new Gate<string>();
      const task = new MockTask(select([pending<number>(), gate, pending<boolean>()], { biased }));
      for (let i = 0; i < SPURIOUS + 1; i++) assertPending(task.poll());
      assert.equal(gate.polls, SPURIOUS + 1);
      assert.equal(task.wakerRefCount, 1);
      assert.equal(task.wakeCount, 0);
      gate.open("g");
      assert.equal(task.isWoken(), true);
      assert.deepEqual(assertReady(task.poll()), { index: 1, value: "g" });
      assert.equal(task.wakerRefCount, 0);
    });
  }

  test("race with a pending branch: Pending until the gate opens", () => {
    const gate = new Gate<string>();
    const task = new MockTask(race<string>([pending<string>(), gate]));
    for (let i = 0; i < SPURIOUS + 1; i++) assertPending(task.poll());
    gate.open("g");
    assert.equal(assertReady(task.poll()), "g");
  });

  test("join with pending branches: finished children are not re-polled", () => {
    let readyPolls = 0;
    const counted = pollFn<number>(() => {
      readyPolls++;
      return 1;
    });
    const gate = new Gate<string>();
    const task = new MockTask(join(counted, gate, yieldNow()));
    assertPending(task.poll());
    assert.equal(task.wakeCount, 1, "yieldNow woke the task");
    for (let i = 0; i < SPURIOUS; i++) assertPending(task.poll());
    assert.equal(readyPolls, 1);
    assert.equal(gate.polls, SPURIOUS + 1);
    assert.equal(task.wakerRefCount, 1);
    gate.open("g");
    assert.deepEqual(assertReady(task.poll()), [1, "g", undefined]);
  });
});

/** Wraps a future; each time it is Pending, wakes its own task (a spurious poll) `left` times. */
class Spurious<T> extends Future<T> {
  polls = 0;
  constructor(
    private readonly inner: Future<T>,
    private left: number,
  ) {
    super();
  }
  poll(cx: Context): Poll<T> {
    this.polls++;
    const r = this.inner.poll(cx);
    if (r === Pending && this.left > 0) {
      this.left--;
      cx.waker.wakeByRef();
    }
    return r;
  }
  override drop(): void {
    this.inner.drop();
  }
  override pollDrop(cx: Context): Poll<void> {
    return this.inner.pollDrop(cx);
  }
}

interface Case {
  name: string;
  /**
   * Extra polls that SPURIOUS self-wakes add: fewer than SPURIOUS when the future under test wakes
   * its task itself in the same poll (the two wakes merge into one re-poll).
   */
  extra: number;
  /** Polls of the task without spurious wakes. */
  base: number;
  /** Builds the future under test and what a host callback does to let it finish. */
  make(rt: Runtime): { fut: Future<unknown>; open: () => void; after?: () => void };
}

const cases: Case[] = [
  { name: "yieldNow", base: 2, extra: 0, make: () => ({ fut: yieldNow(), open: () => {} }) },
  { name: "ready", base: 1, extra: 0, make: () => ({ fut: ready(3), open: () => {} }) },
  {
    name: "pollFn",
    base: 2,
    extra: SPURIOUS,
    make: () => {
      const gate = new Gate<string>();
      return { fut: pollFn((cx) => gate.poll(cx)), open: () => gate.open("p") };
    },
  },
  {
    name: "JoinHandle",
    base: 2,
    extra: SPURIOUS,
    make: (rt) => {
      const gate = new Gate<string>();
      return { fut: rt.spawn(gate), open: () => gate.open("h") };
    },
  },
  {
    name: "JoinSet.joinNext",
    base: 2,
    extra: SPURIOUS,
    make: () => {
      const gate = new Gate<string>();
      const set = new JoinSet<string>();
      let next: Future<string | undefined> | null = null;
      // Spawned on the polling runtime at the first poll.
      const fut = pollFn<string | undefined>((cx) => {
        if (next === null) {
          set.spawn(gate);
          next = set.joinNext();
        }
        return next.poll(cx);
      });
      return { fut, open: () => gate.open("j") };
    },
  },
  {
    name: "FuturesUnordered.next",
    base: 2,
    extra: SPURIOUS,
    make: () => {
      const gate = new Gate<string>();
      const fu = new FuturesUnordered<string>();
      fu.push(gate);
      fu.push(pending<string>());
      // The set keeps a clone of its parent's waker until it is dropped.
      return { fut: fu.next(), open: () => gate.open("f"), after: () => fu.drop() };
    },
  },
  {
    name: "select",
    base: 2,
    extra: SPURIOUS,
    make: () => {
      const gate = new Gate<string>();
      return { fut: select([pending<string>(), gate]), open: () => gate.open("s") };
    },
  },
  {
    name: "join",
    // yieldNow wakes the task in the first poll: the first spurious wake merges with it.
    base: 3,
    extra: SPURIOUS - 1,
    make: () => {
      const gate = new Gate<string>();
      return { fut: join(ready(1), gate, yieldNow()), open: () => gate.open("j") };
    },
  },
];

async function runCase(c: Case, spurious: number) {
  const rt = new Runtime({ seed: 7 });
  const { fut, open, after } = c.make(rt);
  const wrapper = new Spurious(fut, spurious);
  let rootTask: { wakers: number } | null = null;
  const root = pollFn<unknown>((cx) => {
    rootTask ??= cx.waker.data as { wakers: number };
    return wrapper.poll(cx);
  });
  // A host callback, after the first drain (and all its spurious re-polls), lets it finish.
  setImmediate(open);
  const value = await rt.run(root);
  after?.();
  return { value, polls: wrapper.polls, wakers: rootTask!.wakers, dump: rt.dump().tasks.length };
}

describe("spurious polls inside a runtime task that wakes itself", () => {
  for (const c of cases) {
    test(`${c.name}: ${SPURIOUS} extra polls change nothing but the poll count`, async () => {
      const base = await runCase(c, 0);
      const noisy = await runCase(c, SPURIOUS);
      assert.deepEqual(noisy.value, base.value);
      assert.equal(base.polls, c.base);
      assert.equal(noisy.polls, c.base + c.extra);
      assert.equal(noisy.wakers, 0, "no waker clone leaked");
      assert.equal(base.wakers, 0);
      assert.equal(noisy.dump, 0);
    });
  }
});
