/**
 * SelfAwaitingFuture: a leaf future that is its own `yield*` iterator (channel sends and
 * receives). The driver must treat it exactly as a future behind the shared awaiter: polled in
 * line once, never polled twice for one wake, dropped on cancellation, and a second `yield*` of a
 * finished one is a contract error, not a stale value. Both kinds run every test: one that is its
 * own completed result (`done`/`value` fields, as a semaphore's acquire), and one that completes
 * with the shared result object and is then spent (as a channel's `send` and `recv`).
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { SelfAwaitingFuture, yieldSteps } from "../../src/future/future.js";
import {
  type AsyncGenerator,
  type Context,
  type Future,
  future,
  Pending,
  type Poll,
  shield,
  type Waker,
} from "../../src/index.js";
import { assertPending, assertReady, MockTask } from "../../src/testing/index.js";
import { Leaf } from "./leaf.js";

const { FRESH, finishYield, settleSpent, settleYield, spendYield, startYield } = yieldSteps;

/** A self-awaiting leaf completed from outside, counting polls and drops. */
abstract class SelfLeaf<T> extends SelfAwaitingFuture<T> {
  polls = 0;
  drops = 0;
  pollsAfterEnd = 0;
  private result: { value: T } | null = null;
  private finished = false;
  private waker: Waker | null = null;

  poll(cx: Context): Poll<T> {
    this.polls++;
    if (this.finished || this.drops > 0) {
      this.pollsAfterEnd++;
      throw new Error("self leaf polled after it ended");
    }
    if (this.result !== null) {
      this.finished = true;
      return this.result.value;
    }
    this.waker = cx.waker.clone();
    return Pending;
  }

  override drop(): void {
    this.drops++;
    this.waker?.drop();
    this.waker = null;
  }

  resolve(value: T): void {
    this.result = { value };
    const waker = this.waker;
    this.waker = null;
    waker?.wake();
  }
}

/** Its own completed iterator result, as `Receiver.recv`. */
class OwnResultLeaf<T> extends SelfLeaf<T> {
  declare done: 0 | 1;
  declare value: unknown;

  constructor() {
    super();
    this.done = 0;
    this.value = this;
  }

  override next(sent?: unknown): this {
    if (this.stage !== FRESH) return finishYield(this, sent);
    const cx = startYield(this);
    return cx === null ? this : settleYield(this, this.poll(cx));
  }
}

/** Completes with the shared result object and is then spent, as `Sender.send`. */
class SharedResultLeaf<T> extends SelfLeaf<T> {
  override next(sent?: unknown): unknown {
    if (this.stage !== FRESH) return spendYield(this, sent);
    const cx = startYield(this);
    return cx === null ? { done: false, value: this } : settleSpent(this, this.poll(cx));
  }
}

const kinds: [string, new <T>() => SelfLeaf<T>][] = [
  ["its own result", OwnResultLeaf],
  ["a separate result", SharedResultLeaf],
];

for (const [kind, SelfLeafOf] of kinds)
  describe(`SelfAwaitingFuture (${kind}) under yield*`, () => {
    test("ready at once: completes in line, one poll, no suspension", () => {
      const leaf = new SelfLeafOf<number>();
      leaf.resolve(1);
      const task = new MockTask(
        future(function* () {
          return (yield* leaf) + 1;
        }),
      );
      assert.equal(assertReady(task.poll()), 2);
      assert.equal(leaf.polls, 1);
    });

    test("Pending, then woken: polled in line once, once more by the driver on the wake", () => {
      const leaf = new SelfLeafOf<string>();
      const task = new MockTask(
        future(function* () {
          return `got ${yield* leaf}`;
        }),
      );
      assertPending(task.poll());
      assert.equal(leaf.polls, 1);
      assertPending(task.poll()); // spurious: the driver polls it, the body stays put
      assert.equal(leaf.polls, 2);
      leaf.resolve("x");
      assert.equal(task.isWoken(), true);
      assert.equal(assertReady(task.poll()), "got x");
      assert.equal(leaf.polls, 3);
      assert.equal(leaf.pollsAfterEnd, 0);
    });

    test("alternating with ordinary futures in one block, each Pending once", () => {
      const selves = [new SelfLeafOf<number>(), new SelfLeafOf<number>(), new SelfLeafOf<number>()];
      const plain = [new Leaf<number>(), new Leaf<number>(), new Leaf<number>()];
      const task = new MockTask(
        future(function* () {
          let sum = 0;
          for (let i = 0; i < 3; i++) {
            sum += yield* selves[i]!;
            sum += yield* plain[i]!;
          }
          return sum;
        }),
      );
      for (let i = 0; i < 3; i++) {
        assertPending(task.poll());
        selves[i]!.resolve(1);
        assertPending(task.poll());
        plain[i]!.resolve(10);
      }
      assert.equal(assertReady(task.poll()), 33);
      for (const leaf of selves) assert.equal(leaf.polls, 2);
      for (const leaf of plain) assert.equal(leaf.polls, 2);
    });

    test("a second yield* of a finished future is a contract error, not its old value", () => {
      const leaf = new SelfLeafOf<number>();
      leaf.resolve(5);
      const task = new MockTask(
        future(function* () {
          const first = yield* leaf;
          const second = yield* leaf;
          return first + second;
        }),
      );
      assert.throws(() => task.poll(), /polled after it ended/);
      assert.equal(leaf.pollsAfterEnd, 1);
    });

    test("dropping the task while it waits drops the future once and runs the finally", () => {
      const leaf = new SelfLeafOf<number>();
      let cleaned = 0;
      const task = new MockTask(
        future(function* () {
          try {
            return yield* leaf;
          } finally {
            cleaned++;
          }
        }),
      );
      assertPending(task.poll());
      task.drop();
      assert.equal(leaf.drops, 1);
      assert.equal(cleaned, 1);
    });

    test("a plain `yield` (no star) of one is polled by the driver", () => {
      const leaf = new SelfLeafOf<number>();
      const gen = function* (): Generator<Future<unknown>, number, unknown> {
        return (yield leaf) as number;
      };
      const task = new MockTask(future(gen as () => AsyncGenerator<number>));
      assertPending(task.poll());
      assert.equal(leaf.polls, 1);
      leaf.resolve(9);
      assert.equal(assertReady(task.poll()), 9);
    });

    test("output undefined, then a value: each yield* gets its own", () => {
      const a = new SelfLeafOf<undefined>();
      const b = new SelfLeafOf<string>();
      a.resolve(undefined);
      b.resolve("b");
      const task = new MockTask(
        future(function* () {
          const first = yield* a;
          const second = yield* b;
          return [first, second];
        }),
      );
      assert.deepEqual(assertReady(task.poll()), [undefined, "b"]);
    });

    test("cancelled during a shield: the yield* after it is not polled, only dropped", () => {
      const shielded = new Leaf<number>();
      const leaf = new SelfLeafOf<number>();
      let cleaned = 0;
      const task = new MockTask(
        future(function* () {
          try {
            yield* shield(shielded);
            return yield* leaf;
          } finally {
            cleaned++;
          }
        }),
      );
      assertPending(task.poll());
      assertPending(task.pollDrop()); // the shielded future runs on
      shielded.resolve(1);
      assert.equal(task.pollDrop(), undefined);
      assert.equal(leaf.polls, 0);
      assert.equal(leaf.drops, 1);
      assert.equal(cleaned, 1);
    });
  });
