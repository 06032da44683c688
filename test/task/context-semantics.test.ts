/**
 * Semantics of Context and Waker against Rust's std::task, where the tests of waker.test.ts did
 * not reach: a context lends its waker (Rust's `Context::from_waker(&Waker)` borrows it), so a
 * future's `cx.waker.wake()` behaves as `wakeByRef()` whoever polls it (the runtime, MockTask, a
 * hand-built context, the fallback driver of an orphaned cleanup) and never consumes the caller's
 * waker; and a vtable whose `clone` does not return a raw waker is reported at `clone()`, as a bad
 * vtable is at construction, not later as a TypeError inside `wake()`; likewise a `Wake` object
 * whose `wakeByRef` is not a function is rejected by `Waker.from`, not at its first `wakeByRef()`.
 */
import assert from "node:assert/strict";
import { afterEach, describe, test } from "node:test";
import {
  Context,
  future,
  InvalidArgumentError,
  Pending,
  pending,
  pollFn,
  RawWaker,
  RawWakerVTable,
  setDebugMode,
  Waker,
} from "../../src/index.js";
import { assertPending, countingWaker, noopContext } from "../../src/testing/index.js";

/** A leaf that asks to be polled again by waking `cx.waker` itself, `times` times, then is ready. */
function wakesItself(times: number) {
  const state = { polls: 0 };
  const fut = pollFn((cx): "done" | typeof Pending => {
    state.polls++;
    if (state.polls <= times) {
      cx.waker.wake();
      return Pending;
    }
    return "done";
  });
  return { fut, state };
}

describe("Context lends its waker", () => {
  afterEach(() => setDebugMode(false));

  test("cx.waker.wake() on a hand-built context wakes on every poll (no lost wakeup)", () => {
    let wakes = 0;
    const cx = Context.fromWaker(Waker.from(() => wakes++));
    const { fut } = wakesItself(3);
    for (let i = 1; i <= 3; i++) {
      assertPending(fut.poll(cx));
      assert.equal(wakes, i, `poll ${i} woke the caller`);
    }
    assert.equal(fut.poll(cx), "done");
  });

  test("in debug mode, cx.waker.wake() on every poll is not a contract error", () => {
    setDebugMode(true);
    const { waker, counts } = countingWaker();
    const cx = Context.fromWaker(waker);
    const { fut } = wakesItself(2);
    assertPending(fut.poll(cx));
    assertPending(fut.poll(cx));
    assert.equal(counts.wakes, 2);
  });

  test("the caller keeps its waker: cx.waker.wake() and drop() neither consume nor release it", () => {
    const { waker, counts } = countingWaker();
    const cx = Context.fromWaker(waker);
    cx.waker.wake();
    cx.waker.drop();
    assert.equal(counts.live, 1, "the caller's waker is still live");
    assert.equal(counts.drops, 0);
    waker.wake(); // still usable by its owner, even in debug mode
    assert.equal(counts.wakes, 2);
  });

  test("cx.waker wakes the same task as the waker it was built from; its clone is owned", () => {
    const { waker, counts } = countingWaker();
    const cx = Context.fromWaker(waker);
    assert.ok(cx.waker.willWake(waker));
    const clone = cx.waker.clone();
    assert.ok(clone.willWake(waker));
    assert.equal(counts.live, 2);
    clone.wake();
    assert.equal(counts.live, 1);
  });

  test("an orphaned cleanup (dropped outside a runtime) that wakes cx.waker itself runs to its end", async () => {
    const { fut: leaf, state } = wakesItself(4);
    let finished = false;
    const block = future(function* () {
      try {
        yield* pending();
      } finally {
        yield* leaf;
        finished = true;
      }
    });
    assertPending(block.poll(noopContext()));
    block.drop(); // no runtime: the fallback driver polls the cleanup on microtasks
    for (let i = 0; i < 20 && !finished; i++) await Promise.resolve();
    assert.equal(state.polls, 5);
    assert.ok(finished, "the finally block ran to its end");
  });
});

describe("Waker.clone checks what the vtable's clone returned", () => {
  for (const [label, bad] of [
    ["the data itself", (data: unknown) => data],
    ["undefined", () => undefined],
    ["a plain object", (data: unknown) => ({ data })],
  ] as const) {
    test(`a clone function returning ${label} throws InvalidArgumentError at clone()`, () => {
      const vtable = new RawWakerVTable(
        bad as unknown as (data: unknown) => RawWaker,
        () => {},
        () => {},
        () => {},
      );
      const waker = Waker.fromRaw(new RawWaker(1, vtable));
      assert.throws(
        () => waker.clone(),
        (e: unknown) =>
          e instanceof InvalidArgumentError &&
          /clone/.test(e.message) &&
          /RawWaker/.test(e.message),
      );
    });
  }

  test("a clone returning a proper RawWaker still works", () => {
    let woken = 0;
    const vtable: RawWakerVTable = new RawWakerVTable(
      (data) => new RawWaker(data, vtable),
      () => woken++,
      () => woken++,
      () => {},
    );
    const clone = Waker.fromRaw(new RawWaker(1, vtable)).clone();
    clone.wake();
    assert.equal(woken, 1);
  });
});

describe("Waker.from checks the optional wakeByRef", () => {
  test("a Wake object whose wakeByRef is present but not a function throws InvalidArgumentError", () => {
    for (const bad of [1, "wake", {}]) {
      assert.throws(
        () => Waker.from({ wake: () => {}, wakeByRef: bad } as never),
        (e: unknown) => e instanceof InvalidArgumentError && /wakeByRef/.test(e.message),
      );
    }
  });

  test("wakeByRef left undefined still falls back to wake", () => {
    let woken = 0;
    const waker = Waker.from({ wake: () => woken++, wakeByRef: undefined } as never);
    waker.wakeByRef();
    assert.equal(woken, 1);
  });
});
