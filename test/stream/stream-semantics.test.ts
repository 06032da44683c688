/**
 * Stream semantics against futures-rs's `StreamExt` (and tokio-stream): a `forEach`, `fold` or
 * `collect` that fails drops its stream (as Rust drops a failed `try_for_each` with its stream),
 * except when another task's stream took a receiver's place; `takeUntil` whose stop future
 * throws ends after that error without polling the stop again; `buffered` puts a failed future's
 * error in its place in the order and goes on (futures-rs yields an `Err` item there); strings
 * are iterables, futures are not streams; an async iterator's failing `return()` is reported
 * rather than left unhandled; and adapters keep returning `Done` after the end, wake when a
 * later source becomes ready, and lose no item across `Pending`.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  asyncFn,
  ChannelReceiverBusy,
  channel,
  Done,
  Future,
  fromAsyncIterable,
  fromIterable,
  future,
  InvalidArgumentError,
  type Poll,
  pending,
  Runtime,
  ready,
  Stream,
  sleep,
  yieldNow,
} from "../../src/index.js";
import { assertPending, MockTask, noopContext } from "../../src/testing/index.js";
import { Gate } from "../helpers.js";
import { ProbeStream } from "./support.js";

const rt = () => new Runtime({ clock: "virtual" });

/** A future whose poll throws `error`; counts its polls. */
class Throwing extends Future<never> {
  polls = 0;
  constructor(private readonly error: Error) {
    super();
  }
  poll(): Poll<never> {
    this.polls++;
    throw this.error;
  }
}

test("a collect whose map callback throws drops the receiver: the senders see it closed", async () => {
  const [tx, rx] = channel<number>(4);
  tx.trySend(1);
  await assert.rejects(
    rt().run(
      Stream.from(rx)
        .map(() => {
          throw new Error("bad item");
        })
        .collect(),
    ),
    /bad item/,
  );
  assert.ok(tx.isClosed(), "the receiver was dropped with the failed collect");
});

test("bufferUnordered: a future that throws drops the others still in flight", async () => {
  const gate = new Gate<number>();
  const failing = future(function* () {
    yield* yieldNow();
    throw new Error("request failed");
  });
  await assert.rejects(
    rt().run(
      fromIterable([gate, failing])
        .map((f) => f as Future<number>)
        .bufferUnordered(2)
        .collect(),
    ),
    /request failed/,
  );
  assert.equal(gate.drops, 1, "the future still running was dropped");
});

/** Reads `s` to the end with `next()`, recording each error thrown in place and going on. */
const drain = asyncFn(function* (s: Stream<unknown>) {
  const seen: unknown[] = [];
  for (;;) {
    try {
      const r = yield* s.next();
      if (r.done === true) return seen;
      seen.push(r.value);
    } catch (error) {
      seen.push(error instanceof Error ? error.message : error);
    }
  }
});

test("buffered: a future that throws has its error in its place, and the outputs after it come", async () => {
  const runtime = rt();
  const job = (n: number): Future<number> =>
    future(function* () {
      for (let i = 0; i < 4 - n; i++) yield* yieldNow(); // later items finish first
      if (n === 1) throw new Error("job 1 failed");
      return n;
    });
  assert.deepEqual(await runtime.run(drain(fromIterable([0, 1, 2, 3]).map(job).buffered(2))), [
    0,
    "job 1 failed",
    2,
    3,
  ]);
  const unordered = await runtime.run(
    drain(fromIterable([0, 1, 2, 3]).map(job).bufferUnordered(2)),
  );
  assert.deepEqual([...unordered].sort(), [0, 2, 3, "job 1 failed"]);
  // An item that is not a future: its error, then the items after it.
  const mixed = fromIterable<unknown>([job(0), 42, job(2)]) as Stream<Future<number>>;
  const out = await runtime.run(drain(mixed.buffered(1)));
  assert.equal(out.length, 3);
  assert.deepEqual([out[0], out[2]], [0, 2]);
  assert.match(String(out[1]), /expected a Future/);
});

test("forEach whose callback throws returns the async iterator (its finally runs)", async () => {
  let returned = 0;
  async function* numbers() {
    try {
      for (let i = 0; ; i++) yield i;
    } finally {
      returned++;
    }
  }
  await assert.rejects(
    new Runtime().run(
      fromAsyncIterable(numbers()).forEach(() => {
        throw new Error("callback failed");
      }),
    ),
    /callback failed/,
  );
  await new Promise<void>((resolve) => setImmediate(resolve));
  assert.equal(returned, 1);
});

test("forEach whose callback's future throws drops the stream; fold whose callback throws too", async () => {
  const runtime = rt();
  const source = new ProbeStream([1, 2, 3]);
  await assert.rejects(
    runtime.run(
      source.forEach(() =>
        future(function* () {
          yield* sleep(1);
          throw new Error("step failed");
        }),
      ),
    ),
    /step failed/,
  );
  assert.equal(source.drops, 1);
  const folded = new ProbeStream([1, 2, 3]);
  await assert.rejects(
    runtime.run(
      folded.fold(0, (sum, n) => {
        if (n === 2) throw new Error("fold failed");
        return sum + n;
      }),
    ),
    /fold failed/,
  );
  assert.equal(folded.drops, 1);
});

test("a collect displaced by another task's stream fails without closing the channel", async () => {
  const runtime = rt();
  const [tx, rx] = channel<number>(2);
  const first = runtime.spawn(Stream.from(rx).collect());
  await runtime.run(yieldNow());
  // Another task's stream poll takes the receiver's place: the parked collect is woken and fails.
  const second = runtime.spawn(Stream.from(rx).next());
  await assert.rejects(runtime.run(first), (e: unknown) => {
    assert.ok((e as { cause?: unknown }).cause instanceof ChannelReceiverBusy, String(e));
    return true;
  });
  assert.equal(tx.isClosed(), false, "the receiver still serves the task that took its place");
  tx.trySend(5);
  assert.deepEqual(await runtime.run(second), { done: false, value: 5 });
});

test("takeUntil whose stop future throws: that error once, then the end, the source dropped", () => {
  const stop = new Throwing(new Error("stop failed"));
  const source = new ProbeStream([1, 2]);
  const s = source.takeUntil(stop);
  const cx = noopContext();
  assert.throws(() => s.pollNext(cx), /stop failed/);
  assert.equal(s.pollNext(cx), Done, "ended, not a poll of the stop future after it threw");
  assert.equal(stop.polls, 1);
  assert.equal(source.drops, 1);
});

test("strings are iterables: fromIterable, flatMap, zip and chain take them", async () => {
  const runtime = rt();
  assert.deepEqual(await runtime.run(fromIterable("abc").collect()), ["a", "b", "c"]);
  assert.deepEqual(
    await runtime.run(
      fromIterable(["ab", "c"])
        .flatMap((word) => word.toUpperCase())
        .collect(),
    ),
    ["A", "B", "C"],
  );
  assert.deepEqual(await runtime.run(fromIterable([1, 2]).zip("xy").collect()), [
    [1, "x"],
    [2, "y"],
  ]);
  assert.deepEqual(await runtime.run(fromIterable(["a"]).chain("bc").collect()), ["a", "b", "c"]);
});

test("a future is not a stream: Stream.from, flatMap and zip refuse it", async () => {
  assert.throws(() => Stream.from(sleep(5) as never), InvalidArgumentError);
  assert.throws(() => fromIterable([1]).zip(sleep(5) as never), InvalidArgumentError);
  // Inside an async block, where iterating the future as an iterable would upset its `yield*`.
  await assert.rejects(
    rt().run(
      future(function* () {
        const out = yield* fromIterable([1, 2])
          .flatMap((n) => ready([n]))
          .collect();
        yield* yieldNow();
        return out;
      }),
    ),
    InvalidArgumentError,
  );
});

test("fromAsyncIterable: a return() that rejects is reported, not an unhandled rejection", async (t) => {
  const logged: unknown[] = [];
  t.mock.method(console, "error", (...args: unknown[]) => {
    logged.push(...args);
  });
  async function* failingCleanup() {
    try {
      yield 1;
      yield 2;
    } finally {
      // biome-ignore lint/correctness/noUnsafeFinally: the cleanup error under test
      throw new Error("cleanup failed");
    }
  }
  assert.deepEqual(
    await new Runtime().run(fromAsyncIterable(failingCleanup()).take(1).collect()),
    [1],
  );
  await new Promise<void>((resolve) => setImmediate(resolve));
  assert.ok(
    logged.some((x) => x instanceof Error && x.message === "cleanup failed"),
    "the cleanup error went to the runtime's error report",
  );
});

test("every adapter keeps returning Done after the end", () => {
  const cx = noopContext();
  const src = () => new ProbeStream([1, 2, 3], true);
  const adapters: [string, Stream<unknown>][] = [
    ["map", src().map((n) => n)],
    ["filter", src().filter((n) => n > 1)],
    ["filterMap", src().filterMap((n) => n)],
    ["enumerate", src().enumerate()],
    ["skip", src().skip(1)],
    ["skipWhile", src().skipWhile((n) => n < 2)],
    ["takeWhile", src().takeWhile((n) => n < 9)],
    ["take", src().take(9)],
    ["takeUntil", src().takeUntil(pending())],
    ["zip", src().zip(src())],
    ["flatMap", src().flatMap((n) => [n, n])],
    ["chain", src().chain(src())],
    ["chunks", src().chunks(2)],
    ["merge", src().merge(src())],
    [
      "buffered",
      src()
        .map((n) =>
          future(function* () {
            return n;
          }),
        )
        .buffered(2),
    ],
    [
      "bufferUnordered",
      src()
        .map((n) =>
          future(function* () {
            return n;
          }),
        )
        .bufferUnordered(2),
    ],
    ["fromIterable", fromIterable([1])],
  ];
  for (const [name, s] of adapters) {
    let items = 0;
    while (s.pollNext(cx) !== Done) {
      if (++items > 100) assert.fail(`${name} never ended`);
    }
    for (let i = 0; i < 3; i++) assert.equal(s.pollNext(cx), Done, `${name} after the end`);
  }
});

test("merge, zip, chunks and buffered wake when a source becomes ready, losing nothing", async () => {
  const [tx1, rx1] = channel<number>(4);
  const [tx2, rx2] = channel<number>(4);
  const merged = new MockTask(Stream.from(rx1).merge(rx2).next());
  assertPending(merged.poll());
  tx2.trySend(7);
  assert.ok(merged.isWoken(), "the second source's item wakes the merge");
  assert.deepEqual(merged.poll(), { done: false, value: 7 });

  const [ltx, lrx] = channel<string>(4);
  const [rtx, rrx] = channel<number>(4);
  const zipped = Stream.from(lrx).zip(rrx);
  ltx.trySend("a");
  const step = new MockTask(zipped.next());
  assertPending(step.poll());
  assertPending(step.poll(), "the left item is kept while the right side waits");
  rtx.trySend(1);
  assert.ok(step.isWoken());
  assert.deepEqual(step.poll(), { done: false, value: ["a", 1] });

  const [ctx, crx] = channel<number>(4);
  const chunked = Stream.from(crx).chunks(3);
  ctx.trySend(1);
  const chunk = new MockTask(chunked.next());
  assertPending(chunk.poll());
  ctx.trySend(2);
  ctx.trySend(3);
  assert.ok(chunk.isWoken());
  assert.deepEqual(chunk.poll(), { done: false, value: [1, 2, 3] });
  ctx.trySend(4);
  ctx.drop();
  assert.deepEqual(new MockTask(chunked.next()).poll(), { done: false, value: [4] });

  const [btx, brx] = channel<Future<number>>(4);
  const gate = new Gate<number>();
  const buffered = new MockTask(Stream.from(brx).buffered(2).next());
  assertPending(buffered.poll());
  btx.trySend(gate);
  assert.ok(buffered.isWoken(), "a future arriving wakes the buffered stream");
  assertPending(buffered.poll());
  gate.open(3);
  assert.ok(buffered.isWoken(), "the future completing wakes it");
  assert.deepEqual(buffered.poll(), { done: false, value: 3 });
  tx1.drop();
  tx2.drop();
  rtx.drop();
  ltx.drop();
  btx.drop();
});
