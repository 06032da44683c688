import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  type Future,
  future,
  InvalidArgumentError,
  join,
  joinAll,
  pending,
  Runtime,
  ready,
  tryJoin,
  yieldNow,
} from "../../src/index.js";
import { assertPending, assertReady, MockTask } from "../../src/testing/index.js";
import { Countdown, Leaf } from "./leaf.js";

function isInvalidArgument(error: unknown): boolean {
  return error instanceof InvalidArgumentError && error.code === "INVALID_ARGUMENT";
}

/** Awaits `leaf`, logging the outcome, with a finally that counts its runs. */
function watched<T>(
  name: string,
  leaf: Future<T>,
  log: string[],
  counts: Map<string, number>,
): Future<T> {
  return future(function* () {
    try {
      const v = yield* leaf;
      log.push(`${name} done`);
      return v;
    } finally {
      counts.set(name, (counts.get(name) ?? 0) + 1);
    }
  });
}

describe("join", () => {
  test("completes with a tuple of outputs in argument order", () => {
    const a = new Leaf<number>();
    const b = new Leaf<string>();
    const task = new MockTask(join(a, b, ready(true)));
    assertPending(task.poll());
    b.resolve("b");
    assert.equal(task.isWoken(), true);
    assertPending(task.poll());
    a.resolve(1);
    const out: [number, string, boolean] = assertReady(task.poll());
    assert.deepEqual(out, [1, "b", true]);
  });

  test("does not poll a finished child again", () => {
    const a = new Leaf<number>();
    const b = new Leaf<number>();
    const task = new MockTask(join(a, b));
    assertPending(task.poll());
    a.resolve(1);
    assertPending(task.poll());
    assertPending(task.poll()); // spurious
    b.resolve(2);
    assert.deepEqual(assertReady(task.poll()), [1, 2]);
    assert.equal(a.polls, 2);
    assert.equal(b.polls, 4);
    assert.equal(a.pollsAfterEnd + b.pollsAfterEnd, 0);
  });

  test("join() with no futures is ready with []", () => {
    assert.deepEqual(assertReady(new MockTask(join()).poll()), []);
  });

  test("runs the children concurrently in a runtime", async () => {
    const log: string[] = [];
    const worker = (name: string, n: number) =>
      future(function* () {
        for (let i = 0; i < n; i++) {
          log.push(`${name}${i}`);
          yield* yieldNow();
        }
        return name;
      });
    const out = await new Runtime().run(join(worker("a", 2), worker("b", 2)));
    assert.deepEqual(out, ["a", "b"]);
    assert.deepEqual(log, ["a0", "b0", "a1", "b1"]);
  });

  test("settles all: when one throws, the others still run to completion, then the first error is rethrown", () => {
    const log: string[] = [];
    const counts = new Map<string, number>();
    const a = new Leaf<number>();
    const b = new Leaf<number>();
    const c = new Leaf<number>();
    const first = new Error("first");
    const second = new Error("second");
    const task = new MockTask(
      join(
        watched("a", a, log, counts),
        watched("b", b, log, counts),
        watched("c", c, log, counts),
      ),
    );
    assertPending(task.poll());
    b.reject(first);
    assertPending(task.poll(), "the others are still running");
    c.reject(second);
    assertPending(task.poll());
    assert.equal(a.drops, 0, "a is not cancelled");
    a.resolve(1);
    assert.throws(
      () => task.poll(),
      (e) => e === first,
    );
    assert.deepEqual(log, ["a done"]);
    assert.deepEqual(Object.fromEntries(counts), { a: 1, b: 1, c: 1 });
    assert.equal(a.drops + b.drops + c.drops, 0);
  });

  test("the first error is the first in time, not in argument order", () => {
    const a = new Leaf();
    const b = new Leaf();
    const task = new MockTask(join(a, b));
    assertPending(task.poll());
    b.reject(new Error("b"));
    assertPending(task.poll());
    a.reject(new Error("a"));
    assert.throws(() => task.poll(), /^Error: b$/);
  });

  test("drop drops every unfinished child, their finally running once", () => {
    const log: string[] = [];
    const counts = new Map<string, number>();
    const a = new Leaf<number>();
    const b = new Leaf<number>();
    const fut = join(watched("a", a, log, counts), watched("b", b, log, counts));
    const task = new MockTask(fut);
    assertPending(task.poll());
    a.resolve(1);
    assertPending(task.poll());
    fut.drop();
    fut.drop();
    assert.deepEqual(Object.fromEntries(counts), { a: 1, b: 1 });
    assert.equal(a.drops, 0, "a finished before the drop");
    assert.equal(b.drops, 1);
  });

  test("pollDrop drives async cleanup of the children to its end", () => {
    const cleanup = new Leaf();
    let ends = 0;
    const child = future(function* () {
      try {
        yield* pending();
      } finally {
        yield* cleanup;
        ends++;
      }
    });
    const task = new MockTask(join(child, pending()));
    assertPending(task.poll());
    assertPending(task.pollDrop());
    cleanup.resolve();
    assert.equal(task.isWoken(), true);
    assert.equal(task.pollDrop(), undefined);
    assert.equal(ends, 1);
  });

  test("rejects non-futures with InvalidArgumentError naming the element", () => {
    assert.throws(
      () => join(ready(1), 5 as never),
      (e) => isInvalidArgument(e) && /element 1/.test((e as Error).message),
    );
    assert.throws(
      () => join(Promise.resolve(1) as never),
      (e) => isInvalidArgument(e) && /fromPromise/.test((e as Error).message),
    );
  });
});

describe("joinAll", () => {
  for (const n of [5, 32, 33, 100]) {
    test(`preserves input order whatever the completion order (${n} futures)`, () => {
      const leaves = Array.from({ length: n }, () => new Leaf<number>());
      const task = new MockTask(joinAll(leaves));
      assertPending(task.poll());
      for (let i = n - 1; i >= 0; i--) {
        leaves[i]!.resolve(i * 10);
        if (i > 0) assertPending(task.poll());
      }
      const out = assertReady(task.poll());
      assert.deepEqual(
        out,
        Array.from({ length: n }, (_, i) => i * 10),
      );
      for (const leaf of leaves) assert.equal(leaf.pollsAfterEnd, 0);
    });
  }

  test("accepts any iterable (a generator, a Set)", () => {
    function* gen() {
      yield ready(1);
      yield ready(2);
    }
    assert.deepEqual(assertReady(new MockTask(joinAll(gen())).poll()), [1, 2]);
    assert.deepEqual(assertReady(new MockTask(joinAll(new Set([ready("x")]))).poll()), ["x"]);
  });

  test("an empty iterable gives []", () => {
    assert.deepEqual(assertReady(new MockTask(joinAll([])).poll()), []);
  });

  for (const n of [4, 40]) {
    test(`settles all and rethrows the first error (${n} futures)`, () => {
      const leaves = Array.from({ length: n }, () => new Leaf<number>());
      const finished: number[] = [];
      const futs = leaves.map((leaf, i) =>
        future(function* () {
          const v = yield* leaf;
          finished.push(i);
          return v;
        }),
      );
      const task = new MockTask(joinAll(futs));
      assertPending(task.poll());
      const first = new Error("first");
      leaves[1]!.reject(first);
      assertPending(task.poll());
      leaves[2]!.reject(new Error("second"));
      assertPending(task.poll());
      for (let i = 0; i < n; i++) if (i !== 1 && i !== 2) leaves[i]!.resolve(i);
      assert.throws(
        () => task.poll(),
        (e) => e === first,
      );
      assert.equal(finished.length, n - 2, "every other child ran to completion");
      for (const leaf of leaves) assert.equal(leaf.drops, 0);
    });
  }

  test("over 32 children, a wake re-polls only the woken child", () => {
    const n = 200;
    const leaves = Array.from({ length: n }, () => new Leaf<number>());
    const task = new MockTask(joinAll(leaves));
    assertPending(task.poll());
    for (const leaf of leaves) assert.equal(leaf.polls, 1);
    leaves[17]!.wakeSpuriously();
    assert.equal(task.isWoken(), true);
    assertPending(task.poll());
    const polls = leaves.map((l) => l.polls);
    assert.equal(polls[17], 2);
    assert.equal(
      polls.reduce((a, b) => a + b, 0),
      n + 1,
    );
  });

  for (const n of [3, 50]) {
    test(`drop drops every unfinished child exactly once (${n} futures)`, () => {
      const counts = new Map<string, number>();
      const log: string[] = [];
      const leaves = Array.from({ length: n }, () => new Leaf<number>());
      const fut = joinAll(leaves.map((leaf, i) => watched(String(i), leaf, log, counts)));
      const task = new MockTask(fut);
      assertPending(task.poll());
      leaves[0]!.resolve(0);
      assertPending(task.poll());
      fut.drop();
      fut.drop();
      assert.equal(counts.size, n);
      for (const c of counts.values()) assert.equal(c, 1);
      assert.equal(leaves[0]!.drops, 0);
      for (const leaf of leaves.slice(1)) assert.equal(leaf.drops, 1);
    });
  }

  test("over 32 children, pollDrop drives async cleanups to their end", () => {
    const cleanups = Array.from({ length: 40 }, () => new Leaf());
    let ends = 0;
    const task = new MockTask(
      joinAll(
        cleanups.map((cleanup) =>
          future(function* () {
            try {
              yield* pending();
            } finally {
              yield* cleanup;
              ends++;
            }
          }),
        ),
      ),
    );
    assertPending(task.poll());
    assertPending(task.pollDrop());
    for (const c of cleanups.slice(0, 39)) c.resolve();
    assertPending(task.pollDrop());
    assert.equal(ends, 39);
    cleanups[39]!.resolve();
    assert.equal(task.pollDrop(), undefined);
    assert.equal(ends, 40);
  });

  test("in a runtime, > 32 children with different lengths all complete, in order", async () => {
    const n = 64;
    const out = await new Runtime().run(
      joinAll(Array.from({ length: n }, (_, i) => Countdown.ok(i % 7, i))),
    );
    assert.deepEqual(
      out,
      Array.from({ length: n }, (_, i) => i),
    );
  });

  test("rejects a non-iterable and non-future elements with InvalidArgumentError", () => {
    assert.throws(() => joinAll(5 as never), isInvalidArgument);
    assert.throws(() => joinAll(null as never), isInvalidArgument);
    assert.throws(
      () => joinAll([ready(1), {} as never]),
      (e) => isInvalidArgument(e) && /element 1/.test((e as Error).message),
    );
  });
});

describe("tryJoin", () => {
  test("completes with a tuple when every child succeeds", () => {
    const a = new Leaf<number>();
    const task = new MockTask(tryJoin(a, ready("b")));
    assertPending(task.poll());
    a.resolve(1);
    const out: [number, string] = assertReady(task.poll());
    assert.deepEqual(out, [1, "b"]);
  });

  test("the first error drops the others (finally once each), then is rethrown", () => {
    const log: string[] = [];
    const counts = new Map<string, number>();
    const a = new Leaf<number>();
    const b = new Leaf<number>();
    const c = new Leaf<number>();
    const boom = new Error("boom");
    const task = new MockTask(
      tryJoin(
        watched("a", a, log, counts),
        watched("b", b, log, counts),
        watched("c", c, log, counts),
      ),
    );
    assertPending(task.poll());
    b.reject(boom);
    assert.throws(
      () => task.poll(),
      (e) => e === boom,
    );
    assert.deepEqual(Object.fromEntries(counts), { a: 1, b: 1, c: 1 });
    assert.equal(a.drops, 1);
    assert.equal(c.drops, 1);
    assert.deepEqual(log, []);
  });

  test("async finalizers of the dropped children run to their end, exactly once, before the error", () => {
    const log: string[] = [];
    const cleanupA = new Leaf();
    const cleanupB = new Leaf();
    let startsA = 0;
    let startsB = 0;
    const boom = new Error("boom");
    const failing = new Leaf();
    const task = new MockTask(
      tryJoin(
        future(function* () {
          try {
            yield* pending();
          } finally {
            startsA++;
            yield* cleanupA;
            log.push("a cleaned");
          }
        }),
        future(function* () {
          yield* failing;
          log.push("failed child resumed");
        }),
        future(function* () {
          try {
            yield* pending();
          } finally {
            startsB++;
            yield* cleanupB;
            log.push("b cleaned");
          }
        }),
      ),
    );
    assertPending(task.poll());
    failing.reject(boom);
    assertPending(task.poll(), "waits for the async cleanups");
    assert.equal(startsA + startsB, 2);
    cleanupB.resolve();
    assert.equal(task.isWoken(), true);
    assertPending(task.poll());
    cleanupA.resolve();
    assert.throws(
      () => task.poll(),
      (e) => e === boom,
    );
    assert.deepEqual(log, ["b cleaned", "a cleaned"]);
    assert.equal(startsA, 1);
    assert.equal(startsB, 1);
    assert.equal(cleanupA.pollsAfterEnd + cleanupB.pollsAfterEnd, 0);
  });

  test("in a runtime: a failure drops the sibling and finishes its async cleanup first", async () => {
    const log: string[] = [];
    const err = await new Runtime()
      .run(
        future(function* () {
          try {
            yield* tryJoin(
              future(function* () {
                try {
                  yield* pending();
                } finally {
                  yield* yieldNow();
                  yield* yieldNow();
                  log.push("sibling cleaned");
                }
              }),
              future(function* () {
                yield* yieldNow();
                throw new Error("x");
              }),
            );
          } catch (error) {
            log.push("caught");
            throw error;
          }
        }),
      )
      .catch((e: unknown) => e);
    assert.equal((err as Error).message, "x");
    assert.deepEqual(log, ["sibling cleaned", "caught"]);
  });

  test("a sibling's cleanup error is not swallowed when a child fails", async () => {
    const reported: unknown[] = [];
    const rt = new Runtime({ onUnhandledError: (e) => reported.push(e) });
    const childError = new Error("child failed");
    const cleanupError = new Error("sibling cleanup failed");
    const err = await rt
      .run(
        tryJoin(
          future(function* () {
            try {
              yield* pending();
            } finally {
              // biome-ignore lint/correctness/noUnsafeFinally: the point of the test
              throw cleanupError;
            }
          }),
          future(function* () {
            yield* yieldNow();
            throw childError;
          }),
        ),
      )
      .catch((e: unknown) => e);
    const seen = [err, ...reported].flatMap((e) =>
      e instanceof AggregateError ? [e, ...e.errors] : [e, (e as Error).cause],
    );
    assert.ok(seen.includes(childError), "the child's error is reported");
    assert.ok(seen.includes(cleanupError), "the sibling's cleanup error is reported too");
  });

  test("rejects non-futures with InvalidArgumentError", () => {
    assert.throws(() => tryJoin(ready(1), "x" as never), isInvalidArgument);
  });
});
