import { Future } from "../future/future.js";
import type { Context } from "../task/context.js";
import { Done, Pending, type Poll } from "../task/poll.js";
import { currentOrDefaultRuntime } from "./default-runtime.js";

/** The minimal stream protocol: the next item, `Done` at the end, or `Pending`. */
export interface PollNext<T> {
  pollNext(cx: Context): Poll<T | typeof Done>;
  drop?(): void;
}

class NextItem<T> extends Future<IteratorResult<T, undefined>> {
  constructor(private readonly source: PollNext<T>) {
    super();
  }
  poll(cx: Context): Poll<IteratorResult<T, undefined>> {
    const r = this.source.pollNext(cx);
    if (r === Pending) return Pending;
    return r === Done ? { done: true, value: undefined } : { done: false, value: r as T };
  }
  override describe(): string {
    return "stream.next";
  }
}

/** A future of the next item of `source` as an iterator result. */
export function nextItem<T>(source: PollNext<T>): Future<IteratorResult<T, undefined>> {
  return new NextItem(source);
}

/**
 * An async iterator over `source`, each `next()` driven by the runtime polling now (or the
 * default runtime), so `for await (const x of rx)` works from ordinary async code.
 * `return()` (a `break` out of the loop) drops the source.
 */
export function asyncIteratorOf<T>(source: PollNext<T>): AsyncIterableIterator<T> {
  return {
    next: () => currentOrDefaultRuntime().run(new NextItem(source)),
    return: (value?: unknown) => {
      source.drop?.();
      return Promise.resolve({ done: true, value: value as T });
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}
