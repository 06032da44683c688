import { Future, type InheritedFuture, inheritFrom } from "../future/future.js";
import type { Context } from "../task/context.js";
import { Done, Pending, type Poll } from "../task/poll.js";
import { currentOrDefaultRuntime } from "./default-runtime.js";

/** The minimal stream protocol: the next item, `Done` at the end, or `Pending`. */
export interface PollNext<T> {
  pollNext(cx: Context): Poll<T | typeof Done>;
  drop?(): void;
}

/**
 * A base class that inherits from Future without deriving from it: made per await, often inside
 * a `try` (see "Constructors in try blocks" on Future).
 */
class NextItem<T> implements InheritedFuture<IteratorResult<T, undefined>> {
  constructor(private readonly source: PollNext<T>) {}
  poll(cx: Context): Poll<IteratorResult<T, undefined>> {
    const r = this.source.pollNext(cx);
    if (r === Pending) return Pending;
    return r === Done ? { done: true, value: undefined } : { done: false, value: r as T };
  }
  describe(): string {
    return "stream.next";
  }
}
inheritFrom(NextItem, Future);

/** A future of the next item of `source` as an iterator result. */
export function nextItem<T>(source: PollNext<T>): Future<IteratorResult<T, undefined>> {
  return new NextItem(source) as unknown as Future<IteratorResult<T, undefined>>;
}

/**
 * An async iterator over `source`, each `next()` driven by the runtime polling now (or the
 * default runtime), so `for await (const x of rx)` works from ordinary async code.
 * `return()` (a `break` out of the loop) drops the source.
 */
export function asyncIteratorOf<T>(source: PollNext<T>): AsyncIterableIterator<T> {
  return {
    next: () => currentOrDefaultRuntime().run(nextItem(source)),
    return: (value?: unknown) => {
      source.drop?.();
      return Promise.resolve({ done: true, value: value as T });
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}
