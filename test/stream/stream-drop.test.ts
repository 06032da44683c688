/**
 * Cancellation by drop through stream adapters: dropping an adapter (a `collect` that lost a
 * `select`, an aborted task) drops every source it still holds, and the sleeps and futures it
 * owns, so nothing upstream keeps a permit, a waker or a timer.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { future, Runtime, type Stream, sleep } from "../../src/index.js";
import { noopContext } from "../../src/testing/index.js";
import { TimeDriver } from "../../src/time/time-driver.js";
import { Gate } from "../helpers.js";
import { ProbeStream } from "./support.js";

/** Polls `stream` `times` times with a waker that does nothing. */
function pollTimes<T>(stream: Stream<T>, times: number): void {
  const cx = noopContext();
  for (let i = 0; i < times; i++) stream.pollNext(cx);
}

interface AdapterCase {
  readonly name: string;
  /**
   * Builds the adapter over fresh probes. `held` lists, once the adapter has been polled, what it
   * holds and must drop with itself: its sources, and for `buffered` the futures in flight.
   */
  readonly build: () => { adapter: Stream<unknown>; held: () => { readonly drops: number }[] };
}

const one = <T>(items: readonly T[]) => new ProbeStream<T>(items);

/** An adapter over one probe of `[1, 2, 3]`. */
function unary(name: string, wrap: (s: Stream<number>) => Stream<unknown>): AdapterCase {
  return {
    name,
    build: () => {
      const source = one([1, 2, 3]);
      return { adapter: wrap(source), held: () => [source] };
    },
  };
}

/** `buffered`/`bufferUnordered` of futures that never complete (gates): they hold the gates. */
function inFlight(name: "buffered" | "bufferUnordered"): AdapterCase {
  return {
    name,
    build: () => {
      const source = one([1, 2, 3]);
      const gates: Gate<number>[] = [];
      const futures = source.map((n) => {
        const gate = new Gate<number>();
        gates.push(gate);
        return gate.map((v) => v + n);
      });
      const adapter = name === "buffered" ? futures.buffered(2) : futures.bufferUnordered(2);
      return { adapter, held: () => [source, ...gates] };
    },
  };
}

/** An adapter over several probes. */
function several(
  name: string,
  wrap: (s: Stream<number>[]) => Stream<unknown>,
  n: number,
): AdapterCase {
  return {
    name,
    build: () => {
      const sources = Array.from({ length: n }, (_, i) => one([i * 10, i * 10 + 1]));
      return { adapter: wrap(sources), held: () => sources };
    },
  };
}

const CASES: AdapterCase[] = [
  unary("map", (s) => s.map((n) => n + 1)),
  unary("filter", (s) => s.filter((n) => n > 1)),
  unary("filterMap", (s) => s.filterMap((n) => (n > 1 ? n : undefined))),
  unary("enumerate", (s) => s.enumerate()),
  unary("skip", (s) => s.skip(1)),
  unary("skipWhile", (s) => s.skipWhile((n) => n < 2)),
  unary("takeWhile", (s) => s.takeWhile((n) => n < 10)),
  unary("take", (s) => s.take(10)),
  unary("chunks", (s) => s.chunks(2)),
  unary("throttle", (s) => s.throttle(1000)),
  unary("flatMap", (s) => s.flatMap((n) => [n, n])),
  inFlight("buffered"),
  inFlight("bufferUnordered"),
  several("zip", ([a, b]) => (a as Stream<number>).zip(b as Stream<number>), 2),
  several("chain", ([a, b]) => (a as Stream<number>).chain(b as Stream<number>), 2),
  several("merge", ([a, ...rest]) => (a as Stream<number>).merge(...rest), 3),
];

for (const { name, build } of CASES) {
  test(`dropping ${name} drops what it holds, before its first poll and in mid-stream`, () => {
    for (const polls of [0, 1, 4]) {
      const { adapter, held } = build();
      pollTimes(adapter, polls);
      adapter.drop();
      for (const [i, item] of held().entries()) {
        assert.ok(item.drops >= 1, `${name}: held item ${i} not dropped after ${polls} polls`);
      }
    }
  });
}

test("takeUntil: a drop drops the source and the stop future once; an ended source drops the stop at once", () => {
  const source = one([1, 2]);
  const stop = new Gate();
  const adapter = source.takeUntil(stop);
  pollTimes(adapter, 1);
  adapter.drop();
  adapter.drop();
  assert.equal(source.drops, 1);
  assert.equal(stop.drops, 1, "dropped once, however often the adapter is");

  const ending = new ProbeStream([1], true);
  const stopOfEnding = new Gate();
  const untilEnd = ending.takeUntil(stopOfEnding);
  pollTimes(untilEnd, 2);
  assert.equal(stopOfEnding.drops, 1, "the stop future is dropped when the source ends");
  untilEnd.drop();
  assert.equal(stopOfEnding.drops, 1, "and not again by the adapter's drop");
});

test("dropping a throttle between items drops its gate sleep (no timer left) and its source", async () => {
  const rt = new Runtime({ clock: "virtual" });
  await rt.run(
    future(function* () {
      const driver = TimeDriver.of();
      const source = one([1, 2]);
      const seen: number[] = [];
      const handle = rt.spawn(source.throttle(1000).forEach((n) => void seen.push(n)));
      yield* sleep(1);
      assert.deepEqual(seen, [1], "the second item waits behind the gate");
      assert.equal(driver.pending, 1, "the gate's sleep is on the wheel");
      handle.abort();
      yield* handle.catch(() => undefined);
      assert.equal(driver.pending, 0, "the gate's sleep left the wheel");
      assert.equal(source.drops, 1);
    }),
  );
});
