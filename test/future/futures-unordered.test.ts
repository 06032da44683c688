import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  type Context,
  Done,
  Future,
  FuturesUnordered,
  future,
  InvalidArgumentError,
  Pending,
  type Poll,
  pending,
  Runtime,
  ready,
  type Waker,
  yieldNow,
} from "../../src/index.js";
import { assertPending, assertReady, MockTask, noopContext } from "../../src/testing/index.js";
import { Countdown, Leaf } from "./leaf.js";

/** A child that wakes itself on every poll and never completes (a busy future). */
class Spinner extends Future<number> {
  polls = 0;
  poll(cx: Context): Poll<number> {
    this.polls++;
    cx.waker.wakeByRef();
    return Pending;
  }
}

/** Completes on its second poll, keeping the waker clone it took on the first (a stale waker). */
class Sticky extends Future<number> {
  polls = 0;
  waker: Waker | null = null;
  constructor(private readonly value: number) {
    super();
  }
  poll(cx: Context): Poll<number> {
    this.polls++;
    if (this.waker === null) {
      this.waker = cx.waker.clone();
      return Pending;
    }
    return this.value;
  }
}

describe("FuturesUnordered", () => {
  test("yields outputs in completion order", () => {
    const set = new FuturesUnordered<string>();
    const leaves = [new Leaf<string>(), new Leaf<string>(), new Leaf<string>()];
    for (const leaf of leaves) set.push(leaf);
    const task = new MockTask(set);
    assertPending(task.poll());
    leaves[2]!.resolve("c");
    leaves[0]!.resolve("a");
    assert.equal(assertReady(task.poll()), "c");
    assert.equal(assertReady(task.poll()), "a");
    assertPending(task.poll());
    leaves[1]!.resolve("b");
    assert.equal(task.isWoken(), true);
    assert.equal(assertReady(task.poll()), "b");
    assert.equal(assertReady(task.poll()), undefined, "empty: undefined");
    for (const leaf of leaves) assert.equal(leaf.pollsAfterEnd, 0);
  });

  test("length and isEmpty follow push and completion", () => {
    const set = new FuturesUnordered<number>();
    assert.equal(set.length, 0);
    assert.equal(set.isEmpty(), true);
    set.push(ready(1));
    set.push(ready(2));
    assert.equal(set.length, 2);
    assert.equal(set.isEmpty(), false);
    const task = new MockTask(set);
    const first = assertReady(task.poll());
    assert.equal(set.length, 1);
    const second = assertReady(task.poll());
    assert.deepEqual([first, second].sort(), [1, 2]);
    assert.equal(set.length, 0);
    assert.equal(set.isEmpty(), true);
  });

  test("pollNext returns Done when empty; next() completes with undefined", () => {
    const set = new FuturesUnordered<number>();
    assert.equal(set.pollNext(noopContext()), Done);
    assert.equal(assertReady(new MockTask(set.next()).poll()), undefined);
  });

  test("next() in a generator loop drains the set in completion order", async () => {
    const set = new FuturesUnordered<string>();
    set.push(Countdown.ok(3, "slow"));
    set.push(Countdown.ok(0, "fast"));
    set.push(Countdown.ok(1, "medium"));
    const out = await new Runtime().run(
      future(function* () {
        const seen: string[] = [];
        let v: string | undefined;
        while ((v = yield* set.next()) !== undefined) seen.push(v);
        return seen;
      }),
    );
    assert.deepEqual(out, ["fast", "medium", "slow"]);
  });

  test("a push while the owner waits wakes the owner; the new child is polled next time", () => {
    const set = new FuturesUnordered<number>();
    const a = new Leaf<number>();
    set.push(a);
    const task = new MockTask(set);
    assertPending(task.poll());
    assert.equal(task.isWoken(), false);
    set.push(ready(5));
    assert.equal(task.isWoken(), true);
    assert.equal(assertReady(task.poll()), 5);
    assert.equal(a.polls, 1, "the pending child was not re-polled");
  });

  test("push rejects a non-future with InvalidArgumentError", () => {
    const set = new FuturesUnordered<number>();
    assert.throws(
      () => set.push(1 as never),
      (e) => e instanceof InvalidArgumentError && e.code === "INVALID_ARGUMENT",
    );
    assert.equal(set.length, 0);
  });

  test("each child has its own waker: a wake re-polls only that child (1000 children)", () => {
    const n = 1000;
    const set = new FuturesUnordered<number>();
    const leaves = Array.from({ length: n }, () => new Leaf<number>());
    for (const leaf of leaves) set.push(leaf);
    const task = new MockTask(set);
    assertPending(task.poll());
    assert.ok(leaves.every((l) => l.polls === 1));
    assert.equal(task.wakeCount, 0);

    leaves[500]!.wakeSpuriously();
    assert.equal(task.wakeCount, 1, "the owner is woken once");
    leaves[500]!.wakeSpuriously();
    assert.equal(leaves[500]!.polls, 1);
    assertPending(task.poll());
    assert.equal(leaves[500]!.polls, 2, "two wakes before a poll merge into one poll");
    const total = () => leaves.reduce((s, l) => s + l.polls, 0);
    assert.equal(total(), n + 1);

    leaves[3]!.wakeSpuriously();
    leaves[997]!.wakeSpuriously();
    assertPending(task.poll());
    assert.equal(total(), n + 3);
    assert.equal(leaves[3]!.polls, 2);
    assert.equal(leaves[997]!.polls, 2);

    assertPending(task.poll()); // spurious poll of the set: no child was woken
    assert.equal(total(), n + 3);

    leaves[42]!.resolve(42);
    assert.equal(assertReady(task.poll()), 42);
    assert.equal(total(), n + 4);
    assert.equal(set.length, n - 1);
  });

  test("a child that keeps waking itself: yields after a full pass and wakes the owner", () => {
    const set = new FuturesUnordered<number>();
    const spinner = new Spinner();
    const others = [new Leaf<number>(), new Leaf<number>()];
    set.push(spinner);
    for (const o of others) set.push(o);
    const task = new MockTask(set);
    assertPending(task.poll());
    assert.equal(task.isWoken(), true, "the set woke its owner to come back");
    assert.equal(spinner.polls, 1, "the spinner was polled once in this pass");
    assert.equal(others[0]!.polls + others[1]!.polls, 2);
    // Only the spinner is ready now: the call polls it, but at most as many times as the set
    // holds children, then yields again.
    for (let pass = 2; pass <= 4; pass++) {
      const before = spinner.polls;
      assertPending(task.poll());
      assert.equal(task.isWoken(), true);
      const polled = spinner.polls - before;
      assert.ok(polled >= 1 && polled <= set.length, `polled ${polled} times in one call`);
    }
    assert.equal(others[0]!.polls + others[1]!.polls, 2, "the idle children were not polled");
  });

  test("with only spinning children, each pass polls each child at most once", () => {
    const set = new FuturesUnordered<number>();
    const spinners = Array.from({ length: 5 }, () => new Spinner());
    for (const s of spinners) set.push(s);
    const task = new MockTask(set);
    for (let pass = 1; pass <= 3; pass++) {
      assertPending(task.poll());
      assert.equal(task.isWoken(), true);
      for (const s of spinners) assert.equal(s.polls, pass);
    }
  });

  test("a spinning child does not starve the other tasks of a runtime", async () => {
    const rt = new Runtime();
    const set = new FuturesUnordered<number>();
    set.push(new Spinner());
    const spinning = rt.spawn(set.next());
    const log: string[] = [];
    await rt.run(
      future(function* () {
        for (let i = 0; i < 3; i++) {
          log.push(`other ${i}`);
          yield* yieldNow();
        }
      }),
    );
    assert.deepEqual(log, ["other 0", "other 1", "other 2"]);
    spinning.abort();
  });

  test("a child's error is thrown; that child leaves the set, the others remain", () => {
    const set = new FuturesUnordered<number>();
    const a = new Leaf<number>();
    const b = new Leaf<number>();
    const c = new Leaf<number>();
    set.push(a);
    set.push(b);
    set.push(c);
    const task = new MockTask(set);
    assertPending(task.poll());
    const boom = new Error("b failed");
    b.reject(boom);
    assert.throws(
      () => task.poll(),
      (e) => e === boom,
    );
    assert.equal(set.length, 2);
    assert.equal(a.drops + c.drops, 0);
    c.resolve(3);
    a.resolve(1);
    assert.equal(assertReady(task.poll()), 3);
    assert.equal(assertReady(task.poll()), 1);
    assert.equal(assertReady(task.poll()), undefined);
    assert.equal(b.pollsAfterEnd, 0);
  });

  test("drop drops every child; each finally runs once", () => {
    const set = new FuturesUnordered<number>();
    const finallies: number[] = [0, 0, 0, 0];
    const leaves = finallies.map(() => new Leaf<number>());
    leaves.forEach((leaf, i) => {
      set.push(
        future(function* () {
          try {
            return yield* leaf;
          } finally {
            finallies[i]!++;
          }
        }),
      );
    });
    const task = new MockTask(set);
    assertPending(task.poll());
    leaves[1]!.resolve(1);
    assert.equal(assertReady(task.poll()), 1);
    set.drop();
    set.drop();
    assert.deepEqual(finallies, [1, 1, 1, 1]);
    assert.equal(set.length, 0);
    assert.equal(leaves[1]!.drops, 0);
    for (const i of [0, 2, 3]) assert.equal(leaves[i]!.drops, 1);
    assert.equal(task.wakerRefCount, 0, "no waker clone is left behind");
  });

  test("pollDrop drives every child's async cleanup; Pending until all are done", () => {
    const set = new FuturesUnordered<void>();
    const cleanups = [new Leaf(), new Leaf(), new Leaf()];
    let starts = 0;
    let ends = 0;
    for (const cleanup of cleanups) {
      set.push(
        future(function* () {
          try {
            yield* pending();
          } finally {
            starts++;
            yield* cleanup;
            ends++;
          }
        }),
      );
    }
    const task = new MockTask(set);
    assertPending(task.poll());
    assertPending(task.pollDrop());
    assert.equal(starts, 3);
    cleanups[0]!.resolve();
    cleanups[2]!.resolve();
    assert.equal(task.isWoken(), true);
    assertPending(task.pollDrop());
    assert.equal(ends, 2);
    assert.equal(set.length, 1);
    cleanups[1]!.resolve();
    assert.equal(task.pollDrop(), undefined);
    assert.equal(task.pollDrop(), undefined);
    assert.equal(starts, 3);
    assert.equal(ends, 3);
    assert.equal(set.length, 0);
    for (const c of cleanups) assert.equal(c.pollsAfterEnd, 0);
  });

  test("pollDrop: a child's failing cleanup does not stop the others'; the error is thrown after", () => {
    const set = new FuturesUnordered<void>();
    const boom = new Error("cleanup failed");
    const slow = new Leaf();
    let slowEnded = 0;
    let failing = 0;
    set.push(
      future(function* () {
        try {
          yield* pending();
        } finally {
          failing++;
          // biome-ignore lint/correctness/noUnsafeFinally: the cleanup error under test
          throw boom;
        }
      }),
    );
    set.push(
      future(function* () {
        try {
          yield* pending();
        } finally {
          yield* slow;
          slowEnded++;
        }
      }),
    );
    const task = new MockTask(set);
    assertPending(task.poll());
    assertPending(task.pollDrop(), "the error waits for the other cleanup");
    assert.equal(failing, 1);
    assert.equal(set.length, 1, "the failed child left the set");
    slow.resolve();
    assert.throws(() => task.pollDrop(), boom);
    assert.equal(slowEnded, 1);
    assert.equal(failing, 1, "its finally ran once");
    assert.equal(set.length, 0);
    assert.equal(task.pollDrop(), undefined, "done: nothing is thrown again");
  });

  test("drop(): a child's cleanup error is reported by the runtime once the others' cleanup ends", async () => {
    const reported: unknown[] = [];
    const rt = new Runtime({ onUnhandledError: (error) => reported.push(error) });
    const boom = new Error("cleanup failed");
    const slow = new Leaf();
    const set = new FuturesUnordered<void>();
    set.push(
      future(function* () {
        try {
          yield* pending();
        } finally {
          // biome-ignore lint/correctness/noUnsafeFinally: the cleanup error under test
          throw boom;
        }
      }),
    );
    set.push(
      future(function* () {
        try {
          yield* pending();
        } finally {
          yield* slow;
        }
      }),
    );
    await rt.run(
      future(function* () {
        assertPending(new MockTask(set).poll());
        set.drop(); // the slow cleanup is handed to the runtime
        yield* yieldNow();
      }),
    );
    assert.deepEqual(reported, []);
    slow.resolve();
    await rt.run(yieldNow());
    assert.deepEqual(reported, [boom]);
  });

  test("pollDrop: several failing cleanups are thrown together as an AggregateError", () => {
    const set = new FuturesUnordered<void>();
    const errors = [new Error("a"), new Error("b")];
    for (const error of errors) {
      set.push(
        future(function* () {
          try {
            yield* pending();
          } finally {
            // biome-ignore lint/correctness/noUnsafeFinally: the cleanup error under test
            throw error;
          }
        }),
      );
    }
    const task = new MockTask(set);
    assertPending(task.poll());
    assert.throws(
      () => task.pollDrop(),
      (e: unknown) =>
        e instanceof AggregateError &&
        e.errors.length === 2 &&
        errors.every((x) => e.errors.includes(x)),
    );
  });

  test("dropping a next() future loses nothing: the children stay in the set", () => {
    const set = new FuturesUnordered<number>();
    const a = new Leaf<number>();
    set.push(a);
    const n1 = set.next();
    assertPending(new MockTask(n1).poll());
    n1.drop();
    assert.equal(a.drops, 0);
    assert.equal(set.length, 1);
    a.resolve(1);
    assert.equal(assertReady(new MockTask(set.next()).poll()), 1);
  });

  test("a stale wake of a finished child is ignored", () => {
    const set = new FuturesUnordered<number>();
    const a = new Sticky(1);
    const b = new Leaf<number>();
    set.push(a);
    set.push(b);
    const task = new MockTask(set);
    assertPending(task.poll());
    a.waker!.wakeByRef();
    assert.equal(assertReady(task.poll()), 1);
    const wakes = task.wakeCount;
    a.waker!.wake(); // the child is gone: nothing to wake
    assert.equal(task.wakeCount, wakes);
    assertPending(task.poll());
    assert.equal(a.polls, 2);
    assert.equal(b.polls, 1);
  });
});
