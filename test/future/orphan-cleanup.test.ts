/**
 * Orphaned cleanup without a runtime: a future dropped synchronously (`drop()`, `using`) whose
 * cleanup waits is finished by a self-driving loop on microtasks, exactly once, re-polled only
 * when woken; errors that cannot be thrown go to the console, never swallowed. The runtime
 * normally installs its own handler: these tests remove it and install it again afterwards.
 */
import assert from "node:assert/strict";
import { after, before, beforeEach, describe, mock, test } from "node:test";
import { setOrphanCleanupHandler } from "../../src/future/orphan-cleanup.js";
import {
  type Context,
  Future,
  future,
  Pending,
  type Poll,
  Runtime,
  select,
  type Waker,
} from "../../src/index.js";
import { assertPending, MockTask } from "../../src/testing/index.js";
import { blockWithAsyncFinally, Leaf } from "./leaf.js";

/** Lets every queued microtask (and the ones they queue) run. */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** A future whose cleanup waits for `finish()`; counts its `pollDrop` calls and keeps the waker. */
class SlowCleanup extends Future<never> {
  pollDrops = 0;
  finished = false;
  waker: Waker | null = null;
  private canFinish = false;
  private failure: Error | null = null;

  poll(): Poll<never> {
    return Pending;
  }

  override pollDrop(cx: Context): Poll<void> {
    this.pollDrops++;
    if (this.finished) throw new Error("pollDrop after the cleanup finished");
    if (!this.canFinish) {
      this.waker?.drop();
      this.waker = cx.waker.clone();
      return Pending;
    }
    this.finished = true;
    if (this.failure !== null) throw this.failure;
    return undefined;
  }

  override drop(): void {
    throw new Error("a cleanup that waits must be driven by pollDrop");
  }

  finish(failure: Error | null = null): void {
    this.canFinish = true;
    this.failure = failure;
    this.waker?.wakeByRef();
  }
}

describe("orphaned cleanup without a runtime", () => {
  before(() => setOrphanCleanupHandler(null, null));
  // Constructing a runtime installs its handler again, as at the start of any other test.
  after(() => void new Runtime());
  beforeEach(() => mock.restoreAll());

  test("an async finally of a dropped block runs to its end on microtasks, once", async () => {
    const cleanup = new Leaf<void>("cleanup");
    const log: string[] = [];
    const block = blockWithAsyncFinally(cleanup, log);
    assertPending(new MockTask(block).poll());
    block.drop();
    assert.deepEqual(log, ["finally"]);
    block.drop(); // a second drop hands nothing over again
    await settle();
    assert.deepEqual(log, ["finally"], "waits for the cleanup's future");
    cleanup.resolve();
    await settle();
    assert.deepEqual(log, ["finally", "cleaned"]);
    assert.equal(cleanup.pollsAfterEnd, 0);
  });

  test("re-polls only when woken, merging wakes, and never after the cleanup finished", async () => {
    const slow = new SlowCleanup();
    const owner = select([slow, new Leaf<void>()], { biased: true });
    assertPending(new MockTask(owner).poll());
    owner.drop();
    assert.equal(slow.pollDrops, 1, "dropNow tries the cleanup at once");
    await settle();
    assert.equal(slow.pollDrops, 2, "then once with a waker of its own");
    await settle();
    assert.equal(slow.pollDrops, 2, "no busy loop while nothing wakes it");
    const waker = slow.waker!;
    waker.wakeByRef();
    waker.wakeByRef();
    await settle();
    assert.equal(slow.pollDrops, 3, "two wakes before the step merge into one poll");
    slow.finish();
    await settle();
    assert.equal(slow.pollDrops, 4);
    assert.ok(slow.finished);
    waker.wakeByRef(); // a stale wake after the end
    await settle();
    assert.equal(slow.pollDrops, 4);
  });

  test("an error of the finished cleanup goes to the console", async () => {
    const errors: unknown[][] = [];
    mock.method(console, "error", (...args: unknown[]) => void errors.push(args));
    const boom = new Error("cleanup failed");
    const slow = new SlowCleanup();
    const owner = select([slow, new Leaf<void>()], { biased: true });
    assertPending(new MockTask(owner).poll());
    owner.drop();
    await settle();
    slow.finish(boom);
    await settle();
    mock.restoreAll();
    assert.equal(errors.length, 1);
    assert.match(String(errors[0]![0]), /cleanup of a dropped future/);
    assert.equal(errors[0]![1], boom);
  });

  test("a loser's cleanup error behind the winner's error goes to the console", () => {
    const errors: unknown[][] = [];
    mock.method(console, "error", (...args: unknown[]) => void errors.push(args));
    const first = new Error("branch failed");
    const second = new Error("loser cleanup failed");
    const loser = future(function* () {
      try {
        yield* new Leaf<void>("loser");
      } finally {
        // biome-ignore lint/correctness/noUnsafeFinally: the cleanup error under test
        throw second;
      }
    });
    const failing = new Leaf<void>("failing");
    const task = new MockTask(select([failing, loser], { biased: true }));
    assertPending(task.poll());
    failing.reject(first);
    assert.throws(() => task.poll(), first);
    mock.restoreAll();
    assert.equal(errors.length, 1);
    assert.equal(errors[0]![1], second);
  });

  test("a future with nothing left to clean up is not handed over", async () => {
    const log: string[] = [];
    const block = future(function* () {
      try {
        yield* new Leaf<void>();
      } finally {
        log.push("finally");
      }
    });
    assertPending(new MockTask(block).poll());
    block.drop();
    assert.deepEqual(log, ["finally"]);
    block.drop();
    await settle();
    assert.deepEqual(log, ["finally"], "the finally ran exactly once");
  });
});
