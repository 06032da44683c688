import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  type Context,
  Future,
  future,
  InvalidArgumentError,
  isPending,
  isReady,
  lazy,
  Pending,
  pending,
  pollFn,
  Runtime,
  ready,
  select,
  type Waker,
  WakerContractError,
  yieldNow,
} from "../../src/index.js";
import { assertPending, assertReady, MockTask, noopContext } from "../../src/testing/index.js";
import { Leaf } from "./leaf.js";

function isInvalidArgument(error: unknown): boolean {
  return error instanceof InvalidArgumentError && error.code === "INVALID_ARGUMENT";
}

describe("ready", () => {
  test("is ready with its value on the first poll, without touching the waker", () => {
    const task = new MockTask(ready({ a: 1 }));
    assert.deepEqual(assertReady(task.poll()), { a: 1 });
    assert.equal(task.wakeCount, 0);
    assert.equal(task.wakerRefCount, 0);
  });

  test("yield* ready(x) evaluates to x; undefined and null are values too", () => {
    const fut = future(function* () {
      const a = yield* ready(undefined);
      const b = yield* ready(null);
      const c = yield* ready(0);
      return [a, b, c];
    });
    assert.deepEqual(assertReady(new MockTask(fut).poll()), [undefined, null, 0]);
  });

  test("is a Future; isReady/isPending classify poll results", () => {
    const f = ready(1);
    assert.ok(f instanceof Future);
    const r = f.poll(noopContext());
    assert.equal(isReady(r), true);
    assert.equal(isPending(r), false);
    assert.equal(isPending(Pending), true);
  });
});

describe("pending", () => {
  test("never completes and stores no waker", () => {
    const task = new MockTask(pending<number>());
    for (let i = 0; i < 5; i++) assertPending(task.poll());
    assert.equal(task.wakeCount, 0);
    assert.equal(task.wakerRefCount, 0);
    assert.equal(task.pollDrop(), undefined);
  });

  test("loses every select", () => {
    const task = new MockTask(select([pending<string>(), ready("x"), pending<string>()]));
    assert.deepEqual(assertReady(task.poll()), { index: 1, value: "x" });
  });

  test("awaited by the root of run, it is reported as a deadlock", async () => {
    const rt = new Runtime();
    await assert.rejects(rt.run(pending()), { name: "DeadlockError" });
  });
});

describe("pollFn", () => {
  test("calls fn on every poll with the context", () => {
    const contexts: Context[] = [];
    let n = 0;
    const task = new MockTask(
      pollFn((cx) => {
        contexts.push(cx);
        return ++n < 3 ? Pending : "done";
      }),
    );
    assertPending(task.poll());
    assertPending(task.poll());
    assert.equal(assertReady(task.poll()), "done");
    assert.equal(contexts.length, 3);
    assert.ok(contexts.every((cx) => cx.waker.willWake(task.waker)));
  });

  test("onDrop runs exactly once when dropped before completing", () => {
    let drops = 0;
    const fut = pollFn(() => Pending, {
      onDrop: () => {
        drops++;
      },
    });
    assertPending(new MockTask(fut).poll());
    fut.drop();
    fut.drop();
    assert.equal(new MockTask(fut).pollDrop(), undefined);
    assert.equal(drops, 1);
  });

  test("onDrop runs once when dropped by an owner (select loser)", () => {
    let drops = 0;
    const loser = pollFn(() => Pending, { onDrop: () => drops++ });
    const task = new MockTask(select([loser, ready(1)], { biased: true }));
    assert.deepEqual(assertReady(task.poll()), { index: 1, value: 1 });
    assert.equal(drops, 1);
  });

  test("onDrop does not run when dropped after completing (it runs only before completion)", () => {
    let drops = 0;
    const fut = pollFn(() => 1, { onDrop: () => drops++ });
    assert.equal(assertReady(new MockTask(fut).poll()), 1);
    fut.drop();
    assert.equal(drops, 0);
  });

  test("works without onDrop; errors thrown by fn are thrown by poll", () => {
    const boom = new Error("fn");
    const fut = pollFn(() => {
      throw boom;
    });
    assert.throws(
      () => fut.poll(noopContext()),
      (e) => e === boom,
    );
    fut.drop();
  });

  test("rejects a non-function with InvalidArgumentError", () => {
    assert.throws(() => pollFn(3 as never), isInvalidArgument);
    assert.throws(() => pollFn(undefined as never), isInvalidArgument);
  });

  test("a pollFn leaf that stores the waker is woken by a runtime", async () => {
    const slot: { waker: Waker | null; value: string | undefined } = {
      waker: null,
      value: undefined,
    };
    let polls = 0;
    const leaf = pollFn<string>((cx) => {
      polls++;
      if (slot.value !== undefined) return slot.value;
      slot.waker ??= cx.waker.clone();
      return Pending;
    });
    const rt = new Runtime();
    const result = rt.run(leaf);
    await rt.run(yieldNow());
    assert.equal(polls, 1);
    assert.ok(slot.waker !== null);
    slot.value = "woken";
    slot.waker.wake();
    assert.equal(await result, "woken");
    assert.equal(polls, 2);
  });
});

describe("lazy", () => {
  test("calls the factory on the first poll only", () => {
    let made = 0;
    const leaf = new Leaf<number>();
    const fut = lazy(() => {
      made++;
      return leaf;
    });
    assert.equal(made, 0);
    const task = new MockTask(fut);
    assertPending(task.poll());
    assertPending(task.poll());
    assert.equal(made, 1);
    leaf.resolve(9);
    assert.equal(assertReady(task.poll()), 9);
    assert.equal(made, 1);
  });

  test("the factory never runs when dropped before the first poll", () => {
    let made = 0;
    const fut = lazy(() => {
      made++;
      return ready(1);
    });
    fut.drop();
    fut.drop();
    assert.equal(new MockTask(fut).pollDrop(), undefined);
    assert.equal(made, 0);
  });

  test("polled after being dropped, it does not call the factory (WakerContractError)", () => {
    let made = 0;
    const fut = lazy(() => {
      made++;
      return ready(1);
    });
    fut.drop();
    assert.throws(
      () => fut.poll(noopContext()),
      (e) => e instanceof WakerContractError,
    );
    assert.equal(made, 0);
  });

  test("drop after the first poll drops the inner future (its finally runs once)", () => {
    let finallies = 0;
    const fut = lazy(() =>
      future(function* () {
        try {
          yield* pending();
        } finally {
          finallies++;
        }
      }),
    );
    assertPending(new MockTask(fut).poll());
    fut.drop();
    fut.drop();
    assert.equal(finallies, 1);
  });

  test("pollDrop drives the inner future's async cleanup", () => {
    const cleanup = new Leaf();
    let ends = 0;
    const task = new MockTask(
      lazy(() =>
        future(function* () {
          try {
            yield* pending();
          } finally {
            yield* cleanup;
            ends++;
          }
        }),
      ),
    );
    assertPending(task.poll());
    assertPending(task.pollDrop());
    cleanup.resolve();
    assert.equal(task.pollDrop(), undefined);
    assert.equal(ends, 1);
  });

  test("a factory returning a non-future throws InvalidArgumentError on poll", () => {
    const fut = lazy(() => 5 as never);
    assert.throws(() => fut.poll(noopContext()), isInvalidArgument);
  });

  test("rejects a non-function with InvalidArgumentError", () => {
    assert.throws(() => lazy({} as never), isInvalidArgument);
  });
});

describe("yieldNow", () => {
  test("is Pending once, having woken its own task, then ready", () => {
    const task = new MockTask(yieldNow());
    assertPending(task.poll());
    assert.equal(task.isWoken(), true);
    assert.equal(task.wakeCount, 1);
    assert.equal(task.wakerRefCount, 0, "wakes by reference, keeps no clone");
    assert.equal(assertReady(task.poll()), undefined);
    assert.equal(task.wakeCount, 1);
  });

  test("in a runtime, lets other ready tasks run in between (round-robin)", async () => {
    const rt = new Runtime();
    const log: string[] = [];
    const worker = (name: string) =>
      future(function* () {
        for (let i = 0; i < 3; i++) {
          log.push(`${name}${i}`);
          yield* yieldNow();
        }
      });
    const a = rt.spawn(worker("a"));
    const b = rt.spawn(worker("b"));
    await rt.run(
      future(function* () {
        yield* a;
        yield* b;
      }),
    );
    assert.deepEqual(log, ["a0", "b0", "a1", "b1", "a2", "b2"]);
  });

  test("a task that yields n times is polled n + 1 times", () => {
    let polls = 0;
    const n = 5;
    const body = future(function* () {
      for (let i = 0; i < n; i++) yield* yieldNow();
      return "done";
    });
    const counted = pollFn((cx) => {
      polls++;
      return body.poll(cx);
    });
    assert.equal(new Runtime().blockOn(counted), "done");
    assert.equal(polls, n + 1);
  });
});
