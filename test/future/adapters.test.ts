import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  type Future,
  future,
  InvalidArgumentError,
  JoinError,
  pending,
  Runtime,
  ready,
  yieldNow,
} from "../../src/index.js";
import { assertPending, assertReady, MockTask } from "../../src/testing/index.js";
import { Leaf } from "./leaf.js";

/** A generator future awaiting `leaf` whose finally counts its runs. */
function guarded<T>(leaf: Future<T>, counter: { finallies: number }): Future<T> {
  return future(function* () {
    try {
      return yield* leaf;
    } finally {
      counter.finallies++;
    }
  });
}

describe("map", () => {
  test("maps the output, once, when the inner future completes", () => {
    const leaf = new Leaf<number>();
    let calls = 0;
    const task = new MockTask(
      leaf.map((n) => {
        calls++;
        return `n=${n}`;
      }),
    );
    assertPending(task.poll());
    assert.equal(calls, 0);
    leaf.resolve(3);
    assert.equal(task.isWoken(), true);
    assert.equal(assertReady(task.poll()), "n=3");
    assert.equal(calls, 1);
  });

  test("an error of the inner future passes through without calling fn", () => {
    const boom = new Error("inner");
    let calls = 0;
    const fut = future<number>(function* () {
      throw boom;
    }).map(() => calls++);
    assert.throws(
      () => new MockTask(fut).poll(),
      (e) => e === boom,
    );
    assert.equal(calls, 0);
  });

  test("an error thrown by fn is thrown by poll", () => {
    const boom = new Error("in map");
    const fut = ready(1).map(() => {
      throw boom;
    });
    assert.throws(
      () => new MockTask(fut).poll(),
      (e) => e === boom,
    );
  });

  test("drop drops the inner future (its finally runs once)", () => {
    const counter = { finallies: 0 };
    const leaf = new Leaf<number>();
    const fut = guarded(leaf, counter).map((n) => n + 1);
    const task = new MockTask(fut);
    assertPending(task.poll());
    fut.drop();
    fut.drop();
    assert.equal(counter.finallies, 1);
    assert.equal(leaf.drops, 1);
  });

  test("chains of map compose in order", () => {
    const fut = ready(2)
      .map((n) => n * 10)
      .map((n) => n + 1)
      .map(String);
    assert.equal(assertReady(new MockTask(fut).poll()), "21");
  });
});

describe("andThen", () => {
  test("waits for the first future, then for the one fn returns", () => {
    const first = new Leaf<number>();
    const second = new Leaf<string>();
    const seen: number[] = [];
    const task = new MockTask(
      first.andThen((n) => {
        seen.push(n);
        return second;
      }),
    );
    assertPending(task.poll());
    first.resolve(5);
    assertPending(task.poll());
    assert.deepEqual(seen, [5]);
    assert.equal(second.polls, 1);
    second.resolve("five");
    assert.equal(task.isWoken(), true);
    assert.equal(assertReady(task.poll()), "five");
    assert.deepEqual(seen, [5], "fn ran exactly once");
    assert.equal(first.pollsAfterEnd + second.pollsAfterEnd, 0);
  });

  test("an error of the first future skips fn", () => {
    const boom = new Error("first");
    let calls = 0;
    const fut = future<number>(function* () {
      throw boom;
    }).andThen(() => {
      calls++;
      return ready(1);
    });
    assert.throws(
      () => new MockTask(fut).poll(),
      (e) => e === boom,
    );
    assert.equal(calls, 0);
  });

  test("an error of the second future is thrown", () => {
    const boom = new Error("second");
    const fut = ready(1).andThen(() =>
      future(function* () {
        throw boom;
      }),
    );
    assert.throws(
      () => new MockTask(fut).poll(),
      (e) => e === boom,
    );
  });

  test("fn returning a non-future throws InvalidArgumentError", () => {
    const fut = ready(1).andThen(() => 2 as never);
    assert.throws(
      () => new MockTask(fut).poll(),
      (e) => e instanceof InvalidArgumentError && e.code === "INVALID_ARGUMENT",
    );
  });

  test("drop before the first completes drops the first only; fn never runs", () => {
    const c1 = { finallies: 0 };
    let calls = 0;
    const first = new Leaf<number>();
    const fut = guarded(first, c1).andThen(() => {
      calls++;
      return ready(0);
    });
    assertPending(new MockTask(fut).poll());
    fut.drop();
    fut.drop();
    assert.equal(c1.finallies, 1);
    assert.equal(first.drops, 1);
    assert.equal(calls, 0);
  });

  test("drop after the second started drops the second (its finally runs once)", () => {
    const c2 = { finallies: 0 };
    const second = new Leaf<number>();
    const fut = ready(1).andThen(() => guarded(second, c2));
    assertPending(new MockTask(fut).poll());
    fut.drop();
    fut.drop();
    assert.equal(c2.finallies, 1);
    assert.equal(second.drops, 1);
  });
});

describe("catch", () => {
  test("passes the output through when there is no error", () => {
    let calls = 0;
    const fut = ready(7).catch(() => {
      calls++;
      return 0;
    });
    assert.equal(assertReady(new MockTask(fut).poll()), 7);
    assert.equal(calls, 0);
  });

  test("recovers from an error with a value; fn sees the error", () => {
    const boom = new Error("x");
    const seen: unknown[] = [];
    const leaf = new Leaf<number>();
    const task = new MockTask(
      leaf.catch((error) => {
        seen.push(error);
        return -1;
      }),
    );
    assertPending(task.poll());
    leaf.reject(boom);
    assert.equal(assertReady(task.poll()), -1);
    assert.deepEqual(seen, [boom]);
  });

  test("recovers with a future, which is awaited", () => {
    const recovery = new Leaf<string>();
    let calls = 0;
    const fut = future<string>(function* () {
      throw new Error("x");
    }).catch(() => {
      calls++;
      return recovery;
    });
    const task = new MockTask(fut);
    assertPending(task.poll());
    assertPending(task.poll());
    recovery.resolve("recovered");
    assert.equal(task.isWoken(), true);
    assert.equal(assertReady(task.poll()), "recovered");
    assert.equal(calls, 1);
  });

  test("an error thrown by fn is thrown", () => {
    const second = new Error("second");
    const fut = future(function* () {
      throw new Error("first");
    }).catch(() => {
      throw second;
    });
    assert.throws(
      () => new MockTask(fut).poll(),
      (e) => e === second,
    );
  });

  test("drop drops the inner future, or the recovery future once it started", () => {
    const c1 = { finallies: 0 };
    const inner = new Leaf<number>();
    const f1 = guarded(inner, c1).catch(() => 0);
    assertPending(new MockTask(f1).poll());
    f1.drop();
    f1.drop();
    assert.equal(c1.finallies, 1);

    const c2 = { finallies: 0 };
    const recovery = new Leaf<number>();
    const f2 = future<number>(function* () {
      throw new Error("x");
    }).catch(() => guarded(recovery, c2));
    assertPending(new MockTask(f2).poll());
    f2.drop();
    f2.drop();
    assert.equal(c2.finallies, 1);
    assert.equal(recovery.drops, 1);
  });
});

describe("finally", () => {
  test("runs fn exactly once after a value, then completes with the value", () => {
    const leaf = new Leaf<number>();
    let runs = 0;
    const fut = leaf.finally(() => {
      runs++;
    });
    const task = new MockTask(fut);
    assertPending(task.poll());
    assert.equal(runs, 0);
    leaf.resolve(4);
    assert.equal(assertReady(task.poll()), 4);
    assert.equal(runs, 1);
    fut.drop();
    assert.equal(task.pollDrop(), undefined);
    assert.equal(runs, 1, "not again on a drop after completion");
  });

  test("runs fn exactly once after an error, then rethrows the error", () => {
    const boom = new Error("x");
    let runs = 0;
    const fut = future(function* () {
      yield* ready(0);
      throw boom;
    }).finally(() => {
      runs++;
    });
    const task = new MockTask(fut);
    assert.throws(
      () => task.poll(),
      (e) => e === boom,
    );
    assert.equal(runs, 1);
    fut.drop();
    assert.equal(runs, 1);
  });

  test("runs fn exactly once when dropped (drop twice)", () => {
    const leaf = new Leaf();
    const inner = { finallies: 0 };
    let runs = 0;
    const order: string[] = [];
    const fut = future(function* () {
      try {
        yield* leaf;
      } finally {
        inner.finallies++;
        order.push("inner finally");
      }
    }).finally(() => {
      runs++;
      order.push("fn");
    });
    assertPending(new MockTask(fut).poll());
    fut.drop();
    fut.drop();
    assert.equal(runs, 1);
    assert.equal(inner.finallies, 1);
    assert.deepEqual(order, ["inner finally", "fn"], "the inner future is dropped first");
  });

  test("runs fn when dropped through pollDrop", () => {
    let runs = 0;
    const task = new MockTask(
      pending().finally(() => {
        runs++;
      }),
    );
    assertPending(task.poll());
    assert.equal(task.pollDrop(), undefined);
    assert.equal(task.pollDrop(), undefined);
    assert.equal(runs, 1);
  });

  test("an async fn (returning a future) is awaited before the value is returned", () => {
    const cleanup = new Leaf();
    let runs = 0;
    const fut = ready("v").finally(() => {
      runs++;
      return cleanup;
    });
    const task = new MockTask(fut);
    assertPending(task.poll());
    assertPending(task.poll());
    assert.equal(runs, 1);
    cleanup.resolve();
    assert.equal(task.isWoken(), true);
    assert.equal(assertReady(task.poll()), "v");
    assert.equal(runs, 1);
    assert.equal(cleanup.pollsAfterEnd, 0);
  });

  test("an async fn is awaited before the error is rethrown", () => {
    const cleanup = new Leaf();
    const boom = new Error("x");
    const log: string[] = [];
    const fut = future(function* () {
      throw boom;
    }).finally(() => {
      log.push("fn");
      return cleanup;
    });
    const task = new MockTask(fut);
    assertPending(task.poll());
    cleanup.resolve();
    assert.throws(
      () => task.poll(),
      (e) => e === boom,
    );
    assert.deepEqual(log, ["fn"]);
  });

  test("on drop, an async fn is driven to its end by pollDrop", () => {
    const leaf = new Leaf();
    const cleanup = new Leaf();
    const log: string[] = [];
    const fut = leaf.finally(() => {
      log.push("fn");
      return future(function* () {
        yield* cleanup;
        log.push("cleanup done");
      });
    });
    const task = new MockTask(fut);
    assertPending(task.poll());
    assertPending(task.pollDrop());
    assert.equal(leaf.drops, 1);
    assert.deepEqual(log, ["fn"]);
    assertPending(task.pollDrop());
    cleanup.resolve();
    assert.equal(task.isWoken(), true);
    assert.equal(task.pollDrop(), undefined);
    assert.deepEqual(log, ["fn", "cleanup done"]);
    assert.equal(task.pollDrop(), undefined);
    assert.deepEqual(log, ["fn", "cleanup done"]);
  });

  test("on a synchronous drop() inside a runtime, an async fn still runs to its end once", async () => {
    const rt = new Runtime();
    const log: string[] = [];
    await rt.run(
      future(function* () {
        const fut = pending().finally(() => {
          log.push("fn");
          return future(function* () {
            yield* yieldNow();
            yield* yieldNow();
            log.push("cleanup done");
          });
        });
        fut.drop();
        fut.drop();
        for (let i = 0; i < 10 && log.length < 2; i++) yield* yieldNow();
      }),
    );
    assert.deepEqual(log, ["fn", "cleanup done"]);
  });

  test("an error of fn (sync) replaces nothing silently: it is thrown", () => {
    const boom = new Error("fn failed");
    const fut = ready(1).finally(() => {
      throw boom;
    });
    assert.throws(
      () => new MockTask(fut).poll(),
      (e) => e === boom,
    );
  });

  test("an async cleanup error during pollDrop is rethrown", () => {
    const cleanup = new Leaf();
    const boom = new Error("async cleanup failed");
    const task = new MockTask(pending().finally(() => cleanup));
    assertPending(task.poll());
    assertPending(task.pollDrop());
    cleanup.reject(boom);
    assert.throws(
      () => task.pollDrop(),
      (e) => e === boom,
    );
  });

  test("the inner future's async cleanup finishes before fn runs", () => {
    const innerCleanup = new Leaf();
    const log: string[] = [];
    const fut = future(function* () {
      try {
        yield* pending();
      } finally {
        yield* innerCleanup;
        log.push("inner cleaned");
      }
    }).finally(() => {
      log.push("fn");
    });
    const task = new MockTask(fut);
    assertPending(task.poll());
    assertPending(task.pollDrop());
    assert.deepEqual(log, []);
    innerCleanup.resolve();
    assert.equal(task.pollDrop(), undefined);
    assert.deepEqual(log, ["inner cleaned", "fn"]);
  });

  test("the inner future's cleanup throws when dropped: fn still runs once, then that error is thrown", () => {
    const boom = new Error("inner cleanup failed");
    const log: string[] = [];
    const fut = future(function* () {
      try {
        yield* pending();
      } finally {
        log.push("inner finally");
        // biome-ignore lint/correctness/noUnsafeFinally: the cleanup error under test
        throw boom;
      }
    }).finally(() => {
      log.push("fn");
    });
    const task = new MockTask(fut);
    assertPending(task.poll());
    assert.throws(
      () => task.pollDrop(),
      (e) => e === boom,
    );
    assert.deepEqual(log, ["inner finally", "fn"], "as a JavaScript finally after a throw");
    assert.equal(task.pollDrop(), undefined, "done: idempotent, the error is thrown once");
    assert.deepEqual(log, ["inner finally", "fn"]);
  });

  test("the inner future's async cleanup fails: an async fn runs to its end, then the error", () => {
    const innerCleanup = new Leaf();
    const fnCleanup = new Leaf();
    const boom = new Error("inner async cleanup failed");
    const log: string[] = [];
    const fut = future(function* () {
      try {
        yield* pending();
      } finally {
        yield* innerCleanup;
      }
    }).finally(() => {
      log.push("fn");
      return fnCleanup;
    });
    const task = new MockTask(fut);
    assertPending(task.poll());
    assertPending(task.pollDrop());
    innerCleanup.reject(boom);
    assertPending(task.pollDrop(), "fn's future is waited for first");
    assert.deepEqual(log, ["fn"]);
    fnCleanup.resolve();
    assert.throws(
      () => task.pollDrop(),
      (e) => e === boom,
    );
  });

  test("an aborted task: fn runs although the inner cleanup throws; the handle has that error", async () => {
    const boom = new Error("inner cleanup failed");
    let runs = 0;
    const rt = new Runtime();
    const outcome = await rt.run(
      future(function* () {
        const handle = rt.spawn(
          future(function* () {
            try {
              yield* pending();
            } finally {
              // biome-ignore lint/correctness/noUnsafeFinally: the cleanup error under test
              throw boom;
            }
          }).finally(() => {
            runs++;
          }),
        );
        yield* yieldNow();
        handle.abort();
        try {
          yield* handle;
          return "no error";
        } catch (error) {
          return error;
        }
      }),
    );
    assert.equal(runs, 1);
    assert.ok(outcome instanceof JoinError);
    assert.equal(outcome.cause, boom);
  });

  test("dropped before the first poll: fn runs once", () => {
    let runs = 0;
    const fut = pending().finally(() => {
      runs++;
    });
    fut.drop();
    fut.drop();
    assert.equal(runs, 1);
  });
});

describe("adapters in generators", () => {
  test("yield* works through map/andThen/catch/finally", async () => {
    const log: string[] = [];
    const value = await new Runtime().run(
      future(function* () {
        const a = yield* ready(1).map((n) => n + 1);
        const b = yield* ready(a).andThen((n) =>
          future(function* () {
            yield* yieldNow();
            return n * 10;
          }),
        );
        const c = yield* future<number>(function* () {
          throw new Error("x");
        }).catch(() => b + 1);
        const d = yield* ready(c).finally(() => {
          log.push("finally");
        });
        return d;
      }),
    );
    assert.equal(value, 21);
    assert.deepEqual(log, ["finally"]);
  });
});
