import {
  expectFuture,
  Future,
  type InheritedFuture,
  inheritFrom,
  pollAfterCompletion,
} from "../future/future.js";
import { FuturesUnordered } from "../future/futures-unordered.js";
import { reportCleanupError } from "../future/orphan-cleanup.js";
import { asyncIteratorOf, nextItem, type PollNext } from "../runtime/async-iterate.js";
import { consumeBudget } from "../runtime/budget.js";
import { ChannelReceiverBusy } from "../sync/errors.js";
import type { Context } from "../task/context.js";
import {
  describeValue,
  expectFunction,
  InvalidArgumentError,
  OutOfRangeError,
} from "../task/errors.js";
import { Done, Pending, type Poll } from "../task/poll.js";
import type { Waker } from "../task/waker.js";
import { checkDuration } from "../time/errors.js";
import { type Sleep, sleep } from "../time/sleep.js";

function checkCount(n: unknown, where: string): number {
  if (typeof n !== "number" || !Number.isInteger(n) || n < 1) {
    throw new OutOfRangeError(`${where}: expected an integer >= 1, got ${describeValue(n)}`);
  }
  return n;
}

/**
 * An asynchronous sequence, polled (futures-rs's `Stream`): `pollNext(cx)` returns the next item,
 * `Done` at the end, or `Pending` after registering `cx.waker`. Adapters (`map`, `filter`,
 * `take`, `chunks`, `merge`, `buffered`, `bufferUnordered`, `throttle`...) are lazy like futures;
 * `forEach`, `collect` and `next` turn a stream into a future. Channel receivers implement the
 * protocol: `Stream.from(rx)` gives them the adapters. An adapter given a callback that is not a
 * function throws {@link InvalidArgumentError} at once, and one given a count that is not a
 * positive integer {@link OutOfRangeError}.
 *
 * @example
 * ```ts
 * const sizes = yield* Stream.from(urls)
 *   .map((url) => fetchSize(url))   // a stream of futures...
 *   .bufferUnordered(8)             // ...run 8 at a time
 *   .filter((size) => size > 0)
 *   .collect();
 * ```
 */
export abstract class Stream<T> implements PollNext<T> {
  abstract pollNext(cx: Context): Poll<T | typeof Done>;

  /** Cancels the stream (releases what it holds). Idempotent. */
  drop(): void {}

  [Symbol.dispose](): void {
    this.drop();
  }

  /**
   * A stream over a poll-based source (a channel receiver), an iterable, or an async iterable.
   *
   * @throws {InvalidArgumentError} for anything else, a future included (iterable only for
   *   `yield*`).
   */
  static from<T>(source: PollNext<T> | Iterable<T> | AsyncIterable<T>): Stream<T> {
    if (source instanceof Stream) return source;
    if (typeof source === "string") {
      return new FromIterable((source as Iterable<T>)[Symbol.iterator]());
    }
    if (source !== null && typeof source === "object") {
      if (typeof (source as PollNext<T>).pollNext === "function") {
        return new FromPollNext(source as PollNext<T>);
      }
      // A future is iterable only for `yield*`: taken as an iterable, it would be driven outside
      // its task (futures-rs's `flat_map` and `zip` take streams, not futures).
      if (source instanceof Future) {
        throw new InvalidArgumentError(
          `Stream.from: expected a stream, an iterable or an async iterable, got ${describeValue(source)} (a future is not a stream: map items to futures and buffer them)`,
        );
      }
      if (typeof (source as Iterable<T>)[Symbol.iterator] === "function") {
        return new FromIterable((source as Iterable<T>)[Symbol.iterator]());
      }
      if (typeof (source as AsyncIterable<T>)[Symbol.asyncIterator] === "function") {
        return new FromAsyncIterable((source as AsyncIterable<T>)[Symbol.asyncIterator]());
      }
    }
    throw new InvalidArgumentError(
      `Stream.from: expected a stream, an iterable or an async iterable, got ${describeValue(source)}`,
    );
  }

  /**
   * A future of the next item as an iterator result (`{ done: true }` at the end).
   *
   * Cancel safety: as cancel-safe as the source's `pollNext` (channel receivers: nothing lost).
   */
  next(): Future<IteratorResult<T, undefined>> {
    return nextItem(this);
  }

  /** Each item transformed by `fn`. */
  map<U>(fn: (item: T) => U): Stream<U> {
    expectFunction(fn, "Stream.map", "a function (item) => U");
    return new MapStream(this, fn);
  }

  /** Only the items for which `predicate` is true. */
  filter(predicate: (item: T) => boolean): Stream<T> {
    expectFunction(predicate, "Stream.filter", "a predicate (item) => boolean");
    return new FilterStream(this, predicate);
  }

  /**
   * Each item transformed by `fn`, skipping those it maps to `undefined` (futures-rs's
   * `filter_map`).
   *
   * @example
   * ```ts
   * const ports = lines.filterMap((line) => /^port=(\d+)$/.exec(line)?.[1]);
   * ```
   */
  filterMap<U>(fn: (item: T) => U | undefined): Stream<U> {
    expectFunction(fn, "Stream.filterMap", "a function (item) => U | undefined");
    return new FilterMapStream(this, fn);
  }

  /**
   * Each item with its index, from 0: `[index, item]`.
   *
   * @example
   * ```ts
   * for await (const [i, line] of lines.enumerate()) console.log(i + 1, line);
   * ```
   */
  enumerate(): Stream<[number, T]> {
    let index = 0;
    return new MapStream(this, (item: T): [number, T] => [index++, item]);
  }

  /**
   * The items after the first `n`.
   *
   * @example
   * ```ts
   * const rows = csvLines.skip(1); // without the header
   * ```
   * @throws {OutOfRangeError} (a `RangeError`) when `n` is not an integer >= 0.
   */
  skip(n: number): Stream<T> {
    if (!Number.isInteger(n) || n < 0) {
      throw new OutOfRangeError(`skip: expected an integer >= 0, got ${describeValue(n)}`);
    }
    let left = n;
    return new FilterStream(this, () => {
      if (left === 0) return true;
      left--;
      return false;
    });
  }

  /**
   * The items from the first for which `predicate` is false on (that one included).
   *
   * @example
   * ```ts
   * const body = lines.skipWhile((line) => line !== ""); // from the blank line after headers
   * ```
   */
  skipWhile(predicate: (item: T) => boolean): Stream<T> {
    expectFunction(predicate, "Stream.skipWhile", "a predicate (item) => boolean");
    let skipping = true;
    return new FilterStream(this, (item: T) => {
      if (skipping && predicate(item)) return false;
      skipping = false;
      return true;
    });
  }

  /**
   * The items while `predicate` is true, then the end: the first item for which it is false is
   * not yielded, and the source is dropped.
   *
   * @example
   * ```ts
   * const headers = lines.takeWhile((line) => line !== "");
   * ```
   */
  takeWhile(predicate: (item: T) => boolean): Stream<T> {
    expectFunction(predicate, "Stream.takeWhile", "a predicate (item) => boolean");
    return new TakeWhileStream(this, predicate);
  }

  /**
   * Pairs of this stream's items and `other`'s (a stream, a receiver or an iterable), in order;
   * ends (dropping both) when either does.
   *
   * @example
   * ```ts
   * const labelled = fromIterable(["a", "b"]).zip(rx); // ["a", first message], ...
   * ```
   */
  zip<U>(other: PollNext<U> | Iterable<U> | AsyncIterable<U>): Stream<[T, U]> {
    return new ZipStream(this, Stream.from(other));
  }

  /**
   * Each item mapped by `fn` to a stream or an iterable, whose items are yielded in turn
   * (futures-rs's `flat_map`): one inner stream at a time, in order.
   *
   * @example
   * ```ts
   * const words = lines.flatMap((line) => line.split(" "));
   * ```
   * @throws {InvalidArgumentError} (from the stream) when `fn` returns something that is not a
   *   stream, an iterable or an async iterable (a future, for one).
   */
  flatMap<U>(fn: (item: T) => Stream<U> | PollNext<U> | Iterable<U> | AsyncIterable<U>): Stream<U> {
    expectFunction(fn, "Stream.flatMap", "a function (item) => a stream or an iterable");
    return new FlatMapStream(this, fn);
  }

  /**
   * The items of this stream, then those of `other` (a stream, a receiver or an iterable; polled
   * only once this one ends).
   *
   * @example
   * ```ts
   * const all = cached.chain(fetched);
   * ```
   */
  chain(other: PollNext<T> | Iterable<T> | AsyncIterable<T>): Stream<T> {
    return new ChainStream(this, Stream.from(other));
  }

  /**
   * The first `n` items, then the end (the source is dropped).
   *
   * @throws {OutOfRangeError} (a `RangeError`) when `n` is not an integer >= 0.
   */
  take(n: number): Stream<T> {
    if (!Number.isInteger(n) || n < 0) {
      throw new OutOfRangeError(`take: expected an integer >= 0, got ${describeValue(n)}`);
    }
    return new TakeStream(this, n);
  }

  /**
   * The items until `stop` completes, then the end (both are dropped). If `stop` throws, the
   * stream throws that error once, then ends.
   */
  takeUntil(stop: Future<unknown>): Stream<T> {
    return new TakeUntilStream(this, expectFuture(stop, "takeUntil"));
  }

  /**
   * The items in arrays of `size` (the last one may be shorter).
   *
   * @throws {OutOfRangeError} (a `RangeError`) when `size` is not an integer >= 1.
   */
  chunks(size: number): Stream<T[]> {
    return new ChunksStream(this, checkCount(size, "chunks"));
  }

  /**
   * The items of this stream and of `others` (streams, receivers or iterables), as they come
   * (polled fairly, in turn).
   */
  merge(...others: (PollNext<T> | Iterable<T> | AsyncIterable<T>)[]): Stream<T> {
    return new MergeStream([this, ...others.map((s) => Stream.from(s))]);
  }

  /**
   * For a stream of futures: runs up to `n` at once and yields their outputs in the stream's
   * order (futures-rs's `buffered`). A future that throws has its error thrown in its place in
   * that order; polling again goes on with the next output.
   *
   * @throws {OutOfRangeError} (a `RangeError`) when `n` is not an integer >= 1.
   */
  buffered<U>(this: Stream<Future<U>>, n: number): Stream<U> {
    return new BufferedStream<U>(this, checkCount(n, "buffered"), true);
  }

  /**
   * For a stream of futures: runs up to `n` at once and yields their outputs as they complete.
   * The stream is only pulled while fewer than `n` run: this is the backpressure primitive for
   * bounded concurrency.
   *
   * @throws {OutOfRangeError} (a `RangeError`) when `n` is not an integer >= 1.
   */
  bufferUnordered<U>(this: Stream<Future<U>>, n: number): Stream<U> {
    return new BufferedStream<U>(this, checkCount(n, "bufferUnordered"), false);
  }

  /**
   * At most one item per `ms` milliseconds: each item is yielded, then the stream waits `ms`
   * before pulling the next (items are delayed, not dropped).
   *
   * @throws {InvalidDurationError} (a `RangeError`) for a negative, NaN or non-finite `ms`.
   */
  throttle(ms: number): Stream<T> {
    return new ThrottleStream(this, checkDuration(ms, "throttle"));
  }

  /**
   * A future that calls `fn` on each item (waiting for the future `fn` returns, if any) until the
   * end.
   *
   * If the stream, `fn` or its future throws, the future throws that error and drops the stream.
   *
   * Cancel safety: dropping it drops the stream; items already pulled were handed to `fn`.
   */
  forEach(fn: (item: T) => void | Future<unknown>): Future<void> {
    expectFunction(fn, "Stream.forEach", "a function (item) => void | Future");
    return new ForEach(this, fn) as unknown as Future<void>;
  }

  /**
   * A future of every item, in order, once the stream ends.
   *
   * If the stream throws, the future throws that error and drops the stream.
   *
   * Cancel safety: dropping it drops the stream and the items collected so far.
   */
  collect(): Future<T[]> {
    const into = (items: T[], item: T): T[] => {
      items.push(item);
      return items;
    };
    return new Fold<T, T[]>(this, [], into, "collect") as unknown as Future<T[]>;
  }

  /**
   * A future of `fn` applied to each item in turn, from `init`, once the stream ends.
   *
   * @example
   * ```ts
   * const total = yield* sizes.fold(0, (sum, size) => sum + size);
   * ```
   *
   * If the stream or `fn` throws, the future throws that error and drops the stream.
   *
   * Cancel safety: dropping it drops the stream and what was accumulated so far.
   */
  fold<A>(init: A, fn: (acc: A, item: T) => A): Future<A> {
    expectFunction(fn, "Stream.fold", "a function (acc, item) => A");
    return new Fold(this, init, fn, "fold") as unknown as Future<A>;
  }

  /** `for await (const item of stream)` from ordinary async code (driven by the runtime). */
  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    return asyncIteratorOf(this);
  }
}

class FromPollNext<T> extends Stream<T> {
  constructor(private readonly source: PollNext<T>) {
    super();
  }
  pollNext(cx: Context): Poll<T | typeof Done> {
    return this.source.pollNext(cx);
  }
  override drop(): void {
    this.source.drop?.();
  }
}

/**
 * Spends one unit of the task's cooperative budget per item (as tokio-stream's `iter` yields
 * every 32): a long iterable drained by `forEach` or `collect` lets other tasks run.
 */
class FromIterable<T> extends Stream<T> {
  private done = false;
  constructor(private readonly iterator: Iterator<T>) {
    super();
  }
  pollNext(cx: Context): Poll<T | typeof Done> {
    if (this.done) return Done;
    if (consumeBudget(cx) === false) return Pending;
    const r = this.iterator.next();
    if (r.done) {
      this.done = true;
      return Done;
    }
    return r.value;
  }
  override drop(): void {
    if (this.done) return;
    this.done = true;
    this.iterator.return?.();
  }
}

class FromAsyncIterable<T> extends Stream<T> {
  private pending: { result: IteratorResult<T> | null; error: unknown; failed: boolean } | null =
    null;
  private done = false;
  private waker: Waker | null = null;

  constructor(private readonly iterator: AsyncIterator<T>) {
    super();
  }

  pollNext(cx: Context): Poll<T | typeof Done> {
    if (this.done) return Done;
    let pending = this.pending;
    if (pending === null) {
      const slot: { result: IteratorResult<T> | null; error: unknown; failed: boolean } = {
        result: null,
        error: undefined,
        failed: false,
      };
      pending = slot;
      this.pending = slot;
      this.iterator.next().then(
        (result) => {
          slot.result = result;
          this.wake();
        },
        (error: unknown) => {
          slot.failed = true;
          slot.error = error;
          this.wake();
        },
      );
    }
    if (pending.failed) {
      this.pending = null;
      this.done = true;
      throw pending.error;
    }
    const result = pending.result;
    if (result === null) {
      // Held by a promise callback: a host wake, so this clone is not marked as runtime-held.
      if (this.waker === null || !this.waker.willWake(cx.waker)) {
        this.waker?.drop();
        this.waker = cx.waker.clone();
      }
      return Pending;
    }
    this.pending = null;
    if (result.done) {
      this.done = true;
      return Done;
    }
    return result.value;
  }

  override drop(): void {
    this.waker?.drop();
    this.waker = null;
    if (this.done) return;
    this.done = true;
    // A `return()` that rejects (a `finally` that threw) is a cleanup error: reported, not left
    // as an unhandled rejection (which ends a Node process).
    const returned = this.iterator.return?.();
    if (returned !== undefined) void Promise.resolve(returned).then(undefined, reportCleanupError);
  }

  private wake(): void {
    const waker = this.waker;
    this.waker = null;
    waker?.wake();
  }
}

class MapStream<T, U> extends Stream<U> {
  constructor(
    private readonly source: Stream<T>,
    private readonly fn: (item: T) => U,
  ) {
    super();
  }
  pollNext(cx: Context): Poll<U | typeof Done> {
    const r = this.source.pollNext(cx);
    if (r === Pending) return Pending;
    if (r === Done) return Done;
    return this.fn(r as T);
  }
  override drop(): void {
    this.source.drop();
  }
}

class FilterStream<T> extends Stream<T> {
  constructor(
    private readonly source: Stream<T>,
    private readonly predicate: (item: T) => boolean,
  ) {
    super();
  }
  pollNext(cx: Context): Poll<T | typeof Done> {
    for (;;) {
      const r = this.source.pollNext(cx);
      if (r === Pending || r === Done || this.predicate(r as T)) return r;
    }
  }
  override drop(): void {
    this.source.drop();
  }
}

class FilterMapStream<T, U> extends Stream<U> {
  constructor(
    private readonly source: Stream<T>,
    private readonly fn: (item: T) => U | undefined,
  ) {
    super();
  }
  pollNext(cx: Context): Poll<U | typeof Done> {
    for (;;) {
      const r = this.source.pollNext(cx);
      if (r === Pending) return Pending;
      if (r === Done) return Done;
      const mapped = this.fn(r as T);
      if (mapped !== undefined) return mapped;
    }
  }
  override drop(): void {
    this.source.drop();
  }
}

class TakeWhileStream<T> extends Stream<T> {
  private ended = false;
  constructor(
    private readonly source: Stream<T>,
    private readonly predicate: (item: T) => boolean,
  ) {
    super();
  }
  pollNext(cx: Context): Poll<T | typeof Done> {
    if (this.ended) return Done;
    const r = this.source.pollNext(cx);
    if (r === Pending) return r;
    if (r !== Done && this.predicate(r as T)) return r;
    this.drop();
    return Done;
  }
  override drop(): void {
    if (this.ended) return;
    this.ended = true;
    this.source.drop();
  }
}

class ZipStream<T, U> extends Stream<[T, U]> {
  /** The left item waiting for its right partner. */
  private left: { item: T } | null = null;
  private ended = false;
  constructor(
    private readonly first: Stream<T>,
    private readonly second: Stream<U>,
  ) {
    super();
  }
  pollNext(cx: Context): Poll<[T, U] | typeof Done> {
    if (this.ended) return Done;
    if (this.left === null) {
      const a = this.first.pollNext(cx);
      if (a === Pending) return Pending;
      if (a === Done) return this.end();
      this.left = { item: a as T };
    }
    const b = this.second.pollNext(cx);
    if (b === Pending) return Pending;
    if (b === Done) return this.end();
    const pair: [T, U] = [this.left.item, b as U];
    this.left = null;
    return pair;
  }
  override drop(): void {
    this.end();
  }
  private end(): typeof Done {
    if (!this.ended) {
      this.ended = true;
      this.left = null;
      this.first.drop();
      this.second.drop();
    }
    return Done;
  }
}

class FlatMapStream<T, U> extends Stream<U> {
  /** The stream of the current outer item, until it ends. */
  private inner: Stream<U> | null = null;
  constructor(
    private readonly source: Stream<T>,
    private readonly fn: (item: T) => Stream<U> | PollNext<U> | Iterable<U> | AsyncIterable<U>,
  ) {
    super();
  }
  pollNext(cx: Context): Poll<U | typeof Done> {
    for (;;) {
      if (this.inner !== null) {
        const r = this.inner.pollNext(cx);
        if (r !== Done) return r;
        this.inner = null;
      }
      const outer = this.source.pollNext(cx);
      if (outer === Pending) return Pending;
      if (outer === Done) return Done;
      this.inner = Stream.from(this.fn(outer as T));
    }
  }
  override drop(): void {
    this.inner?.drop();
    this.inner = null;
    this.source.drop();
  }
}

class ChainStream<T> extends Stream<T> {
  private firstDone = false;
  constructor(
    private readonly first: Stream<T>,
    private readonly second: Stream<T>,
  ) {
    super();
  }
  pollNext(cx: Context): Poll<T | typeof Done> {
    if (!this.firstDone) {
      const r = this.first.pollNext(cx);
      if (r !== Done) return r;
      this.firstDone = true;
    }
    return this.second.pollNext(cx);
  }
  override drop(): void {
    this.first.drop();
    this.second.drop();
  }
}

class TakeStream<T> extends Stream<T> {
  constructor(
    private readonly source: Stream<T>,
    private left: number,
  ) {
    super();
    if (left === 0) source.drop();
  }
  pollNext(cx: Context): Poll<T | typeof Done> {
    if (this.left === 0) return Done;
    const r = this.source.pollNext(cx);
    if (r === Pending || r === Done) return r;
    if (--this.left === 0) this.source.drop();
    return r;
  }
  override drop(): void {
    this.source.drop();
  }
}

class TakeUntilStream<T> extends Stream<T> {
  private stopped = false;
  constructor(
    private readonly source: Stream<T>,
    private readonly stop: Future<unknown>,
  ) {
    super();
  }
  pollNext(cx: Context): Poll<T | typeof Done> {
    if (this.stopped) return Done;
    let stopped: boolean;
    try {
      stopped = this.stop.poll(cx) !== Pending;
    } catch (error) {
      // `stop` threw: it completed (never polled again), so the stream ends after this error.
      this.stopped = true;
      this.source.drop();
      throw error;
    }
    if (stopped) {
      this.stopped = true;
      this.source.drop();
      return Done;
    }
    const r = this.source.pollNext(cx);
    if (r === Done) {
      this.stopped = true;
      this.stop.drop();
    }
    return r;
  }
  override drop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.source.drop();
    this.stop.drop();
  }
}

class ChunksStream<T> extends Stream<T[]> {
  private chunk: T[] = [];
  private ended = false;
  constructor(
    private readonly source: Stream<T>,
    private readonly size: number,
  ) {
    super();
  }
  pollNext(cx: Context): Poll<T[] | typeof Done> {
    if (this.ended) return Done;
    for (;;) {
      const r = this.source.pollNext(cx);
      if (r === Pending) return Pending;
      if (r === Done) {
        this.ended = true;
        if (this.chunk.length === 0) return Done;
        return this.flush();
      }
      this.chunk.push(r as T);
      if (this.chunk.length === this.size) return this.flush();
    }
  }
  override drop(): void {
    this.source.drop();
  }
  private flush(): T[] {
    const chunk = this.chunk;
    this.chunk = [];
    return chunk;
  }
}

class MergeStream<T> extends Stream<T> {
  /** Where the next poll starts, so every source gets its turn first. */
  private start = 0;
  constructor(private readonly sources: (Stream<T> | null)[]) {
    super();
  }
  pollNext(cx: Context): Poll<T | typeof Done> {
    const sources = this.sources;
    const n = sources.length;
    let live = 0;
    for (let k = 0; k < n; k++) {
      const i = (this.start + k) % n;
      const source = sources[i];
      if (source == null) continue;
      const r = source.pollNext(cx);
      if (r === Done) {
        sources[i] = null;
        continue;
      }
      live++;
      if (r !== Pending) {
        this.start = (i + 1) % n;
        return r;
      }
    }
    return live === 0 ? Done : Pending;
  }
  override drop(): void {
    for (const source of this.sources) source?.drop();
  }
}

/** A buffered future's outcome: its output, or (ordered mode) the error it threw. */
interface Outcome {
  index: number;
  value: unknown;
  failed: boolean;
}

class BufferedStream<U> extends Stream<U> {
  private readonly running = new FuturesUnordered<Outcome>();
  /** Ordered mode: finished outcomes waiting for earlier ones. */
  private readonly ready = new Map<number, Outcome>();
  private started = 0;
  private emitted = 0;
  private sourceDone = false;

  constructor(
    private readonly source: Stream<Future<U>>,
    private readonly limit: number,
    private readonly ordered: boolean,
  ) {
    super();
  }

  pollNext(cx: Context): Poll<U | typeof Done> {
    // Pull new futures while fewer than `limit` are in flight.
    while (!this.sourceDone && this.running.length + this.ready.size < this.limit) {
      const r = this.source.pollNext(cx);
      if (r === Pending) break;
      if (r === Done) {
        this.sourceDone = true;
        break;
      }
      const fut = expectFuture(r, "buffered item");
      const index = this.started++;
      const outcome = fut.map((value): Outcome => ({ index, value, failed: false }));
      // Ordered mode: an error takes its place in the order (futures-rs yields an `Err` item
      // there), so the outputs after it are not left waiting for an index that never comes.
      this.running.push(
        this.ordered
          ? outcome.catch((error): Outcome => ({ index, value: error, failed: true }))
          : outcome,
      );
    }
    for (;;) {
      if (this.ordered && this.ready.has(this.emitted)) {
        const outcome = this.ready.get(this.emitted) as Outcome;
        this.ready.delete(this.emitted++);
        if (outcome.failed) throw outcome.value;
        return outcome.value as U;
      }
      const r = this.running.pollNext(cx);
      if (r === Pending) return Pending;
      if (r === Done) return this.sourceDone && this.ready.size === 0 ? Done : Pending;
      if (!this.ordered) return r.value as U;
      this.ready.set(r.index, r);
    }
  }

  override drop(): void {
    this.source.drop();
    this.running.drop();
  }
}

class ThrottleStream<T> extends Stream<T> {
  private gate: Sleep | null = null;
  constructor(
    private readonly source: Stream<T>,
    private readonly ms: number,
  ) {
    super();
  }
  pollNext(cx: Context): Poll<T | typeof Done> {
    if (this.gate !== null) {
      if (this.gate.poll(cx) === Pending) return Pending;
      this.gate = null;
    }
    const r = this.source.pollNext(cx);
    if (r !== Pending && r !== Done) this.gate = sleep(this.ms);
    return r;
  }
  override drop(): void {
    this.gate?.drop();
    this.source.drop();
  }
}

/**
 * A `forEach` or `fold` that fails (the stream or a callback threw) is complete and is never
 * dropped by its owner (a task drops nothing after a throw), so it drops its stream itself, as
 * Rust drops a `try_for_each` and its stream once the error is returned: the upstream receivers,
 * in-flight futures and iterators are released. A cleanup error there is reported, not thrown
 * over `error`. Not after {@link ChannelReceiverBusy}: another task's stream took the receiver's
 * place, and dropping it would close the channel under that task.
 */
function dropAfterError(source: Stream<unknown>, error: unknown): void {
  if (error instanceof ChannelReceiverBusy) return;
  try {
    source.drop();
  } catch (cleanupError) {
    reportCleanupError(cleanupError);
  }
}

/**
 * A base class that inherits from Future without deriving from it: made per await, often inside
 * a `try` (see "Constructors in try blocks" on Future).
 */
class ForEach<T> implements InheritedFuture<void> {
  private current: Future<unknown> | null = null;
  private done = false;
  constructor(
    private readonly source: Stream<T>,
    private readonly fn: (item: T) => void | Future<unknown>,
  ) {}
  poll(cx: Context): Poll<void> {
    if (this.done) throw pollAfterCompletion(this);
    try {
      for (;;) {
        if (this.current !== null) {
          if (this.current.poll(cx) === Pending) return Pending;
          this.current = null;
        }
        const r = this.source.pollNext(cx);
        if (r === Pending) return Pending;
        if (r === Done) {
          this.done = true;
          return undefined;
        }
        const out = this.fn(r as T);
        if (out instanceof Future) this.current = out;
      }
    } catch (error) {
      // The future that threw (if it was `current`) is complete: not dropped again.
      this.current = null;
      this.done = true;
      dropAfterError(this.source, error);
      throw error;
    }
  }
  drop(): void {
    this.done = true;
    this.current?.drop();
    this.source.drop();
  }
  describe(): string {
    return this.current ? `forEach > ${this.current.describe()}` : "forEach";
  }
}
inheritFrom(ForEach, Future);

/**
 * `fold` (and `collect`, a fold into an array). A base class that inherits from Future without
 * deriving from it: made per await, often inside a `try` (see "Constructors in try blocks" on
 * Future).
 */
class Fold<T, A> implements InheritedFuture<A> {
  private items = 0;
  private done = false;
  constructor(
    private readonly source: Stream<T>,
    private acc: A,
    private readonly fn: (acc: A, item: T) => A,
    private readonly label: "fold" | "collect",
  ) {}
  poll(cx: Context): Poll<A> {
    if (this.done) throw pollAfterCompletion(this);
    try {
      for (;;) {
        const r = this.source.pollNext(cx);
        if (r === Pending) return Pending;
        if (r === Done) {
          this.done = true;
          return this.acc;
        }
        this.items++;
        this.acc = this.fn(this.acc, r as T);
      }
    } catch (error) {
      this.done = true;
      dropAfterError(this.source, error);
      throw error;
    }
  }
  drop(): void {
    this.done = true;
    this.source.drop();
  }
  describe(): string {
    return `${this.label}(${this.items} so far)`;
  }
}
inheritFrom(Fold, Future);
