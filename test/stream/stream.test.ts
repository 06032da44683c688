import assert from "node:assert/strict";
import { test } from "node:test";
import {
  asyncFn,
  ChannelReceiverBusy,
  channel,
  type Future,
  fromAsyncIterable,
  fromIterable,
  future,
  InvalidArgumentError,
  OutOfRangeError,
  pending,
  Runtime,
  Stream,
  sleep,
  TASK_BUDGET,
  toAsyncIterable,
  yieldNow,
} from "../../src/index.js";
import { Gate } from "../helpers.js";

const rt = () => new Runtime({ clock: "virtual" });

/** Completes with `n * 2` after `5 - n % 5` yields, so later items can finish first. */
const slowDouble = asyncFn(function* (n: number) {
  for (let i = 0; i < 5 - (n % 5); i++) yield* yieldNow();
  return n * 2;
});

/**
 * An iterator over `values` that counts how often it was closed early or ran out (`returned`):
 * the check that a stream adapter dropped its source.
 */
function tracked<T>(values: readonly T[]): { items: Iterable<T>; closes: () => number } {
  let returned = 0;
  function* items() {
    try {
      yield* values;
    } finally {
      returned++;
    }
  }
  return { items: items(), closes: () => returned };
}

test("map, filter, take and collect", async () => {
  const out = await rt().run(
    fromIterable([1, 2, 3, 4, 5, 6, 7])
      .map((n) => n * 10)
      .filter((n) => n > 20)
      .take(3)
      .collect(),
  );
  assert.deepEqual(out, [30, 40, 50]);
});

test("take drops the source once it has its items", async () => {
  const source = tracked([1, 2, 3]);
  assert.deepEqual(await rt().run(fromIterable(source.items).take(2).collect()), [1, 2]);
  assert.equal(source.closes(), 1);
});

test("filterMap, enumerate, skip, skipWhile and takeWhile", async () => {
  const runtime = rt();
  const words = ["port=25", "x", "port=587", "", "port=2525"];
  assert.deepEqual(
    await runtime.run(
      fromIterable(words)
        .filterMap((w) => /^port=(\d+)$/.exec(w)?.[1])
        .map(Number)
        .collect(),
    ),
    [25, 587, 2525],
  );
  assert.deepEqual(await runtime.run(fromIterable(["a", "b"]).enumerate().collect()), [
    [0, "a"],
    [1, "b"],
  ]);
  const numbers = [1, 2, 3, 4, 1, 2];
  assert.deepEqual(await runtime.run(fromIterable(numbers).skip(4).collect()), [1, 2]);
  assert.deepEqual(await runtime.run(fromIterable(numbers).skip(9).collect()), []);
  assert.deepEqual(
    await runtime.run(
      fromIterable(numbers)
        .skipWhile((n) => n < 3)
        .collect(),
    ),
    [3, 4, 1, 2],
    "skipWhile stops skipping for good at the first false",
  );
  assert.deepEqual(
    await runtime.run(
      fromIterable(numbers)
        .takeWhile((n) => n < 3)
        .collect(),
    ),
    [1, 2],
  );
  assert.throws(() => fromIterable(numbers).skip(-1), OutOfRangeError);
  assert.throws(() => fromIterable(numbers).skip(0.5), OutOfRangeError);
});

test("takeWhile drops the source at the first item that fails", async () => {
  const source = tracked([1, 2, 3, 4]);
  const out = await rt().run(
    fromIterable(source.items)
      .takeWhile((n) => n < 3)
      .collect(),
  );
  assert.deepEqual(out, [1, 2]);
  assert.equal(source.closes(), 1);
});

test("zip pairs items as both sides produce them and ends with the shorter side", async () => {
  const runtime = rt();
  const [tx, rx] = channel<number>(4);
  const zipped = runtime.spawn(fromIterable(["a", "b", "c"]).zip(rx).collect());
  // The channel side waits: nothing pairs until a message comes.
  await runtime.run(yieldNow());
  assert.equal(zipped.isFinished(), false);
  tx.trySend(1);
  tx.trySend(2);
  tx.drop();
  assert.deepEqual(await runtime.run(zipped), [
    ["a", 1],
    ["b", 2],
  ]);
  const long = tracked([1, 2, 3]);
  assert.deepEqual(
    await runtime.run(
      fromIterable(long.items)
        .zip(fromIterable(["x"]))
        .collect(),
    ),
    [[1, "x"]],
  );
  assert.equal(long.closes(), 1, "the longer side is dropped at the end");
});

test("chain yields one stream, then the other; fold accumulates", async () => {
  const runtime = rt();
  const [tx, rx] = channel<number>(2);
  tx.trySend(3);
  tx.drop();
  assert.deepEqual(await runtime.run(fromIterable([1, 2]).chain(rx).collect()), [1, 2, 3]);
  assert.equal(await runtime.run(fromIterable([1, 2, 3, 4]).fold(10, (sum, n) => sum + n)), 20);
  assert.equal(await runtime.run(fromIterable<number>([]).fold("empty", (s) => s)), "empty");
});

test("flatMap yields each inner stream or iterable in turn, and drops both on the way out", async () => {
  const runtime = rt();
  assert.deepEqual(
    await runtime.run(
      fromIterable(["a b", "", "c"])
        .flatMap((line) => line.split(" ").filter((w) => w !== ""))
        .collect(),
    ),
    ["a", "b", "c"],
  );
  const [tx, rx] = channel<number>(2);
  const flat = runtime.spawn(
    fromIterable([1, 2])
      .flatMap((n) => (n === 1 ? Stream.from(rx) : [20, 21]))
      .collect(),
  );
  await runtime.run(yieldNow());
  assert.equal(flat.isFinished(), false, "the inner channel stream waits");
  tx.trySend(10);
  tx.drop();
  assert.deepEqual(await runtime.run(flat), [10, 20, 21]);
  const outer = tracked([1, 2]);
  const inner = tracked([1, 2, 3]);
  assert.deepEqual(
    await runtime.run(
      fromIterable(outer.items)
        .flatMap(() => inner.items)
        .take(2)
        .collect(),
    ),
    [1, 2],
  );
  assert.deepEqual([inner.closes(), outer.closes()], [1, 1]);
  await assert.rejects(
    runtime.run(
      fromIterable([1])
        .flatMap(() => 42 as never)
        .collect(),
    ),
    InvalidArgumentError,
  );
});

test("a long iterable spends the task's budget: draining it lets other tasks run", async () => {
  const runtime = new Runtime();
  let collectedWhenOtherRan = -1;
  let collected = 0;
  await runtime.run(
    future(function* () {
      const other = runtime.spawn(
        future(function* () {
          collectedWhenOtherRan = collected;
        }),
      );
      const items = Array.from({ length: 1000 }, (_, i) => i);
      yield* fromIterable(items).forEach(() => {
        collected++;
      });
      yield* other;
    }),
  );
  assert.equal(collected, 1000);
  assert.ok(
    collectedWhenOtherRan >= 0 && collectedWhenOtherRan <= TASK_BUDGET,
    `the other task ran after ${collectedWhenOtherRan} items`,
  );
});

test("chunks groups items, the last chunk may be short", async () => {
  assert.deepEqual(await rt().run(fromIterable([1, 2, 3, 4, 5]).chunks(2).collect()), [
    [1, 2],
    [3, 4],
    [5],
  ]);
});

test("buffered keeps order; bufferUnordered yields in completion order; both bound concurrency", async () => {
  let running = 0;
  let maxRunning = 0;
  const tracked = asyncFn(function* (n: number) {
    running++;
    maxRunning = Math.max(maxRunning, running);
    try {
      return yield* slowDouble(n);
    } finally {
      running--;
    }
  });
  const runtime = rt();
  const ordered = await runtime.run(
    fromIterable([0, 1, 2, 3, 4, 5, 6])
      .map((n) => tracked(n))
      .buffered(3)
      .collect(),
  );
  assert.deepEqual(ordered, [0, 2, 4, 6, 8, 10, 12]);
  assert.equal(maxRunning, 3);
  maxRunning = 0;
  const unordered = await runtime.run(
    fromIterable([0, 1, 2, 3, 4])
      .map((n) => tracked(n))
      .bufferUnordered(2)
      .collect(),
  );
  assert.deepEqual(
    [...unordered].sort((a, b) => a - b),
    [0, 2, 4, 6, 8],
  );
  assert.notDeepEqual(unordered, [0, 2, 4, 6, 8], "completion order, not source order");
  assert.equal(maxRunning, 2);
});

test("merge interleaves fairly and ends when every source ends", async () => {
  assert.deepEqual(
    await rt().run(
      fromIterable([1, 2, 3])
        .merge(fromIterable([10, 20]))
        .collect(),
    ),
    [1, 10, 2, 20, 3],
  );
});

test("takeUntil ends the stream when the stop future completes", async () => {
  const runtime = rt();
  const out = await runtime.run(
    future(function* () {
      const [tx, rx] = channel<number>(8);
      runtime.spawn(
        future(function* () {
          for (let i = 0; ; i++) {
            yield* tx.send(i);
            yield* sleep(10);
          }
        }),
      );
      return yield* Stream.from(rx).takeUntil(sleep(35)).collect();
    }),
  );
  assert.deepEqual(out, [0, 1, 2, 3]);
});

test("throttle spaces items by the interval (virtual time)", async () => {
  const runtime = rt();
  const t0 = runtime.time.now();
  const times: number[] = [];
  await runtime.run(
    fromIterable([1, 2, 3])
      .throttle(100)
      .forEach(() => {
        times.push(runtime.time.now() - t0);
      }),
  );
  assert.deepEqual(times, [0, 100, 200]);
});

test("forEach waits for the future its callback returns", async () => {
  const log: string[] = [];
  await rt().run(
    fromIterable(["a", "b"]).forEach(
      (x): Future<void> =>
        future(function* () {
          log.push(`${x} start`);
          yield* sleep(5);
          log.push(`${x} end`);
        }),
    ),
  );
  assert.deepEqual(log, ["a start", "a end", "b start", "b end"]);
});

test("a channel receiver is a stream; next() gives iterator results", async () => {
  const runtime = rt();
  await runtime.run(
    future(function* () {
      const [tx, rx] = channel<number>(1);
      runtime.spawn(
        future(function* () {
          yield* tx.send(1);
          yield* tx.send(2);
          tx.drop();
        }),
      );
      const s = Stream.from(rx);
      assert.deepEqual(yield* s.next(), { done: false, value: 1 });
      assert.deepEqual(yield* s.next(), { done: false, value: 2 });
      assert.deepEqual(yield* s.next(), { done: true, value: undefined });
    }),
  );
});

test("fromAsyncIterable pulls lazily and returns the iterator when dropped", async () => {
  let pulled = 0;
  let returned = 0;
  async function* numbers() {
    try {
      for (let i = 0; ; i++) {
        pulled++;
        yield i;
      }
    } finally {
      returned++;
    }
  }
  const out = await new Runtime().run(fromAsyncIterable(numbers()).take(3).collect());
  assert.deepEqual(out, [0, 1, 2]);
  assert.equal(pulled, 3);
  await new Promise<void>((resolve) => setImmediate(resolve));
  assert.equal(returned, 1);
});

test("fromAsyncIterable propagates the iterator's error", async () => {
  async function* failing() {
    yield 1;
    throw new Error("broken source");
  }
  await assert.rejects(new Runtime().run(fromAsyncIterable(failing()).collect()), /broken source/);
});

test("toAsyncIterable and for await over a receiver", async () => {
  const runtime = new Runtime();
  const [tx, rx] = channel<number>(2);
  runtime.spawn(
    future(function* () {
      for (let i = 0; i < 4; i++) yield* tx.send(i);
      tx.drop();
    }),
  );
  const seen: number[] = [];
  for await (const v of rx) seen.push(v);
  assert.deepEqual(seen, [0, 1, 2, 3]);
  const doubled: number[] = [];
  for await (const v of toAsyncIterable(fromIterable([1, 2]).map((n) => n * 2))) doubled.push(v);
  assert.deepEqual(doubled, [2, 4]);
});

test("a for-await step left behind (its promise raced away) does not hold up the next step", async () => {
  const [tx, rx] = channel<number>(2);
  const it = rx[Symbol.asyncIterator]();
  const hostTurn = () => new Promise<void>((resolve) => setImmediate(resolve));
  // As after `Promise.race([it.next(), timeout])`: the step's task still waits on the receiver.
  const abandoned = it.next().then(
    () => "value",
    (e: unknown) => (e instanceof ChannelReceiverBusy ? "busy" : `other: ${String(e)}`),
  );
  await hostTurn();
  const next = it.next();
  await hostTurn();
  tx.trySend(7);
  assert.deepEqual(await next, { done: false, value: 7 }, "the new step took the place");
  assert.equal(await abandoned, "busy", "the step left behind was woken and gave up");
});

test("dropping a collect drops its stream", async () => {
  const gate = new Gate<number>();
  const runtime = new Runtime();
  const handle = runtime.spawn(
    fromIterable([1])
      .map(() => gate)
      .buffered(1)
      .collect(),
  );
  await runtime.run(yieldNow());
  handle.abort();
  await assert.rejects(runtime.run(handle));
  assert.equal(gate.drops, 1);
});

test("bad input: counts and sources", () => {
  const s = fromIterable([1]);
  assert.throws(() => s.take(-1), OutOfRangeError);
  assert.throws(() => s.chunks(0), OutOfRangeError);
  assert.throws(() => s.map((n) => ready(n)).buffered(1.5), OutOfRangeError);
  assert.throws(() => s.throttle(Number.NaN), RangeError);
  assert.throws(() => Stream.from(42 as never), InvalidArgumentError);
  assert.throws(() => s.takeUntil(pending as never), InvalidArgumentError);
});

function ready<T>(v: T): Future<T> {
  return future(function* () {
    return v;
  });
}
