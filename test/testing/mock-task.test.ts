import assert from "node:assert/strict";
import { afterEach, describe, test } from "node:test";
import {
  Context,
  Future,
  future,
  Pending,
  type Poll,
  pending,
  pollFn,
  ready,
  setDebugMode,
  Waker,
  yieldNow,
} from "../../src/index.js";
import {
  assertPending,
  assertReady,
  countingWaker,
  MockTask,
  noopContext,
} from "../../src/testing/index.js";

afterEach(() => setDebugMode(false));

/** A leaf that keeps one waker clone (replaced only when it would wake someone else). */
class Gate<T> extends Future<T> {
  polls = 0;
  drops = 0;
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
    this.drops++;
    this.waker?.drop();
    this.waker = null;
  }
}

describe("countingWaker", () => {
  test("starts with one live waker and nothing counted", () => {
    const { counts } = countingWaker();
    assert.deepEqual(counts, { wakes: 0, clones: 0, drops: 0, live: 1 });
  });

  test("counts wakes, clones, drops and live wakers", () => {
    const { waker, counts } = countingWaker();
    waker.wakeByRef();
    assert.deepEqual(counts, { wakes: 1, clones: 0, drops: 0, live: 1 });
    const a = waker.clone();
    const b = a.clone();
    assert.deepEqual(counts, { wakes: 1, clones: 2, drops: 0, live: 3 });
    a.wake();
    assert.deepEqual(counts, { wakes: 2, clones: 2, drops: 0, live: 2 });
    b.drop();
    assert.deepEqual(counts, { wakes: 2, clones: 2, drops: 1, live: 1 });
    waker.wake();
    assert.deepEqual(counts, { wakes: 3, clones: 2, drops: 1, live: 0 });
  });

  test("clones share the counts and will wake the same", () => {
    const { waker, counts } = countingWaker();
    const c = waker.clone();
    assert.ok(c.willWake(waker));
    assert.equal(c.data, waker.data);
    c.wakeByRef();
    assert.equal(counts.wakes, 1);
    c.drop();
  });

  test("two counting wakers are independent", () => {
    const one = countingWaker();
    const two = countingWaker();
    assert.equal(one.waker.willWake(two.waker), false);
    one.waker.wakeByRef();
    assert.equal(one.counts.wakes, 1);
    assert.equal(two.counts.wakes, 0);
  });

  test("with debug mode, a consumed counting waker throws on reuse and counts nothing more", () => {
    setDebugMode(true);
    try {
      const { waker, counts } = countingWaker();
      const c = waker.clone();
      c.wake();
      assert.throws(() => c.wake(), { code: "WAKER_CONTRACT" });
      assert.deepEqual(counts, { wakes: 1, clones: 1, drops: 0, live: 1 });
    } finally {
      setDebugMode(false);
    }
  });
});

describe("MockTask", () => {
  test("polls the future with a context, counts nothing before a poll", () => {
    let polls = 0;
    let seen: Context | undefined;
    const task = new MockTask(
      pollFn<number>((cx) => {
        polls++;
        seen = cx;
        return Pending;
      }),
    );
    assert.equal(polls, 0);
    assert.equal(task.isWoken(), false);
    assert.equal(task.wakeCount, 0);
    assert.equal(task.wakerRefCount, 0);
    assert.equal(task.poll(), Pending);
    assert.equal(polls, 1);
    assert.ok(seen instanceof Context);
    assert.equal(seen.waker, task.waker);
    assert.equal(task.poll(), Pending);
    assert.equal(polls, 2);
  });

  test("returns the future's output", () => {
    const task = new MockTask(ready("v"));
    assert.equal(task.poll(), "v");
  });

  test("isWoken: woken since the last poll; a poll clears it", () => {
    const gate = new Gate<number>();
    const task = new MockTask(gate);
    assertPending(task.poll());
    assert.equal(task.isWoken(), false);
    assert.equal(task.wakerRefCount, 1, "the gate holds one clone");
    gate.open(9);
    assert.equal(task.isWoken(), true);
    assert.equal(task.wakeCount, 1);
    assert.equal(task.wakerRefCount, 0, "wake() consumed the clone");
    assert.equal(assertReady(task.poll()), 9);
    assert.equal(task.isWoken(), false, "the poll cleared the flag");
    assert.equal(gate.polls, 2);
  });

  test("isWoken stays true across several wakes until the next poll; wakeCount keeps counting", () => {
    const task = new MockTask(pending<void>());
    task.poll();
    task.waker.wakeByRef();
    task.waker.wakeByRef();
    assert.equal(task.isWoken(), true);
    assert.equal(task.wakeCount, 2);
    task.poll();
    assert.equal(task.isWoken(), false);
    assert.equal(task.wakeCount, 2);
    task.waker.wakeByRef();
    assert.equal(task.isWoken(), true);
    assert.equal(task.wakeCount, 3);
  });

  test("a wake during the poll itself counts as woken after that poll", () => {
    const task = new MockTask(yieldNow());
    assertPending(task.poll());
    assert.equal(task.isWoken(), true);
    assert.equal(task.wakeCount, 1);
    assert.equal(task.wakerRefCount, 0);
    assert.equal(assertReady(task.poll()), undefined);
    assert.equal(task.isWoken(), false);
  });

  test("wakerRefCount counts the clones a future keeps, not the task's own", () => {
    const kept: Waker[] = [];
    const task = new MockTask(
      pollFn<void>((cx) => {
        kept.push(cx.waker.clone());
        return Pending;
      }),
    );
    task.poll();
    task.poll();
    task.poll();
    assert.equal(task.wakerRefCount, 3);
    kept.pop()!.drop();
    assert.equal(task.wakerRefCount, 2);
    kept.pop()!.wake();
    assert.equal(task.wakerRefCount, 1);
    assert.equal(task.wakeCount, 1);
  });

  test("the task's waker as lent through cx.waker is borrowed: wake() on it does not release it", () => {
    // Waker docs: the waker a task is polled with is borrowed; wake() on it behaves as
    // wakeByRef() and drop() is a no-op. MockTask polls "as a task would".
    const task = new MockTask(
      pollFn<void>((cx) => {
        cx.waker.wake();
        cx.waker.drop();
        return Pending;
      }),
    );
    task.poll();
    assert.equal(task.isWoken(), true);
    assert.equal(task.wakeCount, 1);
    assert.equal(task.wakerRefCount, 0, "no clone was taken, so none is alive");
  });

  test("in debug mode, a future may wake cx.waker on every poll (as under the runtime)", () => {
    setDebugMode(true);
    try {
      const task = new MockTask(
        pollFn<void>((cx) => {
          cx.waker.wake();
          return Pending;
        }),
      );
      task.poll();
      task.poll();
      task.poll();
      assert.equal(task.wakeCount, 3);
    } finally {
      setDebugMode(false);
    }
  });

  test("drop() drops the future synchronously", () => {
    const gate = new Gate<number>();
    const task = new MockTask(gate);
    task.poll();
    assert.equal(task.wakerRefCount, 1);
    task.drop();
    assert.equal(gate.drops, 1);
    assert.equal(task.wakerRefCount, 0, "the gate released its clone");
  });

  test("pollDrop drives asynchronous cleanup to its end", () => {
    const body = new Gate<void>();
    const cleanup = new Gate<void>();
    const log: string[] = [];
    const task = new MockTask(
      future(function* () {
        try {
          yield* body;
        } finally {
          log.push("finally start");
          yield* cleanup;
          log.push("finally end");
        }
      }),
    );
    assertPending(task.poll());
    assert.equal(task.wakerRefCount, 1);
    assertPending(task.pollDrop());
    assert.equal(body.drops, 1);
    assert.deepEqual(log, ["finally start"]);
    assert.equal(task.wakerRefCount, 1, "the cleanup's gate holds a clone");
    assertPending(task.pollDrop(), "a spurious pollDrop changes nothing");
    assert.equal(cleanup.polls, 2);
    cleanup.open();
    assert.equal(task.isWoken(), true);
    assert.equal(task.pollDrop(), undefined);
    assert.equal(task.isWoken(), false);
    assert.deepEqual(log, ["finally start", "finally end"]);
    assert.equal(task.pollDrop(), undefined, "pollDrop is idempotent once done");
    assert.deepEqual(log, ["finally start", "finally end"]);
    assert.equal(task.wakerRefCount, 0);
  });

  test("pollDrop of a future without async cleanup is done at once", () => {
    const gate = new Gate<number>();
    const task = new MockTask(gate);
    task.poll();
    assert.equal(task.pollDrop(), undefined);
    assert.equal(gate.drops, 1);
    assert.equal(task.wakerRefCount, 0);
  });

  test("a poll that throws propagates out of MockTask.poll", () => {
    const task = new MockTask(
      pollFn<void>(() => {
        throw new Error("boom");
      }),
    );
    assert.throws(() => task.poll(), /boom/);
  });
});

describe("assertReady / assertPending", () => {
  test("assertReady returns the value, including falsy ones", () => {
    assert.equal(assertReady(5), 5);
    assert.equal(assertReady(0), 0);
    assert.equal(assertReady(undefined), undefined);
    assert.equal(assertReady(null), null);
    assert.equal(assertReady(""), "");
    const o = {};
    assert.equal(assertReady(o), o);
  });

  test("assertReady throws on Pending, with a default or the given message", () => {
    assert.throws(() => assertReady(Pending), {
      message: "expected the future to be ready, it was Pending",
    });
    assert.throws(() => assertReady(Pending, "custom"), { message: "custom" });
    assert.throws(() => assertReady(Pending), Error);
  });

  test("assertPending accepts Pending and returns nothing", () => {
    assert.equal(assertPending(Pending), undefined);
  });

  test("assertPending throws on a ready value, naming it, or with the given message", () => {
    assert.throws(() => assertPending(7), {
      message: "expected Pending, the future was ready with number 7",
    });
    assert.throws(() => assertPending(undefined), /ready with undefined/);
    assert.throws(() => assertPending(0), /ready with number 0/);
    assert.throws(() => assertPending("x", "custom"), { message: "custom" });
  });

  test("assertPending reports a ready null-prototype object with its own message", () => {
    // String(Object.create(null)) throws a TypeError; the assertion must still say what failed.
    assert.throws(() => assertPending(Object.create(null)), /expected Pending/);
  });
});

describe("noopContext", () => {
  test("its waker is a noop waker: any use does nothing and nothing throws", () => {
    const cx = noopContext();
    assert.ok(cx instanceof Context);
    assert.ok(cx.waker.willWake(Waker.noop()));
    cx.waker.wakeByRef();
    const c = cx.waker.clone();
    c.wake();
    cx.waker.clone().drop();
  });

  test("polls futures by hand", () => {
    const cx = noopContext();
    assert.equal(ready(3).poll(cx), 3);
    assert.equal(pending<number>().poll(cx), Pending);
    const y = yieldNow();
    assert.equal(y.poll(cx), Pending);
    assert.equal(y.poll(cx), undefined);
  });

  test("each call returns a fresh context", () => {
    assert.notEqual(noopContext(), noopContext());
  });
});
