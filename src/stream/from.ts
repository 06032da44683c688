import type { Stream } from "./stream.js";
import { Stream as StreamClass } from "./stream.js";

/**
 * A stream over the items of an iterable (an array, a generator, a Set...).
 *
 * @example
 * ```ts
 * const doubled = yield* fromIterable([1, 2, 3]).map((n) => n * 2).collect();
 * ```
 * @throws {InvalidArgumentError} when `items` is not iterable, or is a future (iterable only
 *   for `yield*`).
 */
export function fromIterable<T>(items: Iterable<T>): Stream<T> {
  return StreamClass.from(items);
}

/**
 * A stream over an async iterable (a Node readable stream, an async generator): each item is
 * pulled when the stream is polled; dropping the stream calls the iterator's `return()`.
 *
 * @example
 * ```ts
 * const lines = fromAsyncIterable(readline.createInterface({ input }));
 * yield* lines.take(10).forEach((line) => console.log(line));
 * ```
 * @throws {InvalidArgumentError} when `items` is not async iterable.
 */
export function fromAsyncIterable<T>(items: AsyncIterable<T>): Stream<T> {
  return StreamClass.from(items);
}

/**
 * An async iterable over a stream, for `for await` in ordinary async code (each step is driven
 * by the runtime polling now, or the default runtime). Breaking out of the loop drops the stream.
 *
 * @example
 * ```ts
 * for await (const item of toAsyncIterable(stream)) console.log(item);
 * ```
 */
export function toAsyncIterable<T>(stream: Stream<T>): AsyncIterable<T> {
  return { [Symbol.asyncIterator]: () => stream[Symbol.asyncIterator]() };
}
