import type { Context } from "../task/context.js";
import { describeValue, InvalidArgumentError } from "../task/errors.js";
import { Done, Pending, type Poll } from "../task/poll.js";
import { CleanupErrors, pollDropEach } from "./drop-each.js";
import {
  expectFuture,
  Future,
  type InheritedFuture,
  inheritFrom,
  pollAfterCompletion,
} from "./future.js";
import { FuturesUnordered } from "./futures-unordered.js";
import { dropNow, reportCleanupError } from "./orphan-cleanup.js";

/** The outputs of a tuple of futures, as a tuple. */
export type Outputs<F extends readonly Future<unknown>[]> = {
  -readonly [K in keyof F]: F[K] extends Future<infer T> ? T : never;
};

/** Above this many children, `joinAll` gives each child its own waker (cost per wake O(1)). */
const POLL_ALL_LIMIT = 32;

/**
 * Polls every unfinished child on each poll (like Rust's `join!`): right for a handful of futures.
 * With `failFast`, the first error drops the others (driving their cleanup) and is rethrown;
 * without, every child runs to its end and then the first error, if any, is rethrown.
 *
 * A base class that inherits from Future without deriving from it: made per await, often inside
 * a `try` (see "Constructors in try blocks" on Future).
 */
class Join<T> implements InheritedFuture<T[]> {
  private readonly children: (Future<unknown> | null)[];
  private readonly results: unknown[];
  private remaining: number;
  private readonly failure = new CleanupErrors();
  private readonly cleanupErrors = new CleanupErrors();
  private failing = false;
  private done = false;

  constructor(
    children: Future<unknown>[],
    private readonly failFast: boolean,
    private readonly label: string,
  ) {
    this.children = children;
    this.results = new Array(children.length);
    this.remaining = children.length;
  }

  poll(cx: Context): Poll<T[]> {
    if (this.done) throw pollAfterCompletion(this);
    const children = this.children;
    if (!this.failing) {
      for (let i = 0; i < children.length; i++) {
        const child = children[i];
        if (child == null) continue;
        let r: unknown;
        try {
          r = child.poll(cx);
        } catch (error) {
          children[i] = null;
          this.remaining--;
          if (!this.failure.has) this.failure.add(error);
          if (this.failFast) {
            this.failing = true;
            break;
          }
          continue;
        }
        if (r !== Pending) {
          children[i] = null;
          this.results[i] = r;
          this.remaining--;
        }
      }
    }
    if (this.failing) {
      if (pollDropEach(children, cx, this.cleanupErrors) === Pending) return Pending;
    } else if (this.remaining > 0) {
      return Pending;
    }
    this.done = true;
    if (this.failure.has && this.cleanupErrors.has) reportCleanupError(this.cleanupErrors.error);
    this.failure.throwIfAny();
    this.cleanupErrors.throwIfAny();
    return this.results as T[];
  }

  drop(): void {
    dropNow(this as unknown as Future<unknown>);
  }

  pollDrop(cx: Context): Poll<void> {
    if (pollDropEach(this.children, cx, this.cleanupErrors) === Pending) return Pending;
    this.done = true;
    this.cleanupErrors.throwIfAny();
    return undefined;
  }

  describe(): string {
    const waiting = this.children.filter((c) => c != null).map((c) => c!.describe());
    return `${this.label}(${waiting.join(", ")})`;
  }
}
inheritFrom(Join, Future);

/**
 * `joinAll` for many children: a {@link FuturesUnordered} gives each its own waker, so a wake costs
 * O(1) instead of a pass over every child.
 *
 * A base class that inherits from Future without deriving from it: made per await, often inside
 * a `try` (see "Constructors in try blocks" on Future).
 */
class JoinMany<T> implements InheritedFuture<T[]> {
  private readonly set = new FuturesUnordered<void>();
  private readonly results: unknown[];
  private readonly failure = new CleanupErrors();
  private done = false;

  constructor(children: Future<T>[]) {
    const results = new Array(children.length);
    this.results = results;
    children.forEach((child, i) => {
      this.set.push(
        child.map((value) => {
          results[i] = value;
        }),
      );
    });
  }

  poll(cx: Context): Poll<T[]> {
    if (this.done) throw pollAfterCompletion(this);
    for (;;) {
      let r: unknown;
      try {
        r = this.set.pollNext(cx);
      } catch (error) {
        if (!this.failure.has) this.failure.add(error);
        continue;
      }
      if (r === Pending) return Pending;
      if (r === Done) break;
    }
    this.done = true;
    this.failure.throwIfAny();
    return this.results as T[];
  }

  drop(): void {
    dropNow(this as unknown as Future<unknown>);
  }

  pollDrop(cx: Context): Poll<void> {
    this.done = true;
    return this.set.pollDrop(cx);
  }

  describe(): string {
    return `joinAll(${this.set.length} left)`;
  }
}
inheritFrom(JoinMany, Future);

function collect(futures: Iterable<Future<unknown>>, where: string): Future<unknown>[] {
  if (futures == null || typeof (futures as Iterable<unknown>)[Symbol.iterator] !== "function") {
    throw new InvalidArgumentError(
      `${where}: expected an iterable of futures, got ${describeValue(futures)}`,
    );
  }
  const list: Future<unknown>[] = [];
  let i = 0;
  for (const f of futures) list.push(expectFuture(f, `${where}: element ${i++}`));
  return list;
}

/**
 * Waits for all the futures, running them concurrently, and completes with their outputs as a
 * tuple. If some throw, the others still run to their end; then the first error is rethrown.
 *
 * @example
 * ```ts
 * const [user, posts] = yield* join(fetchUser(id), fetchPosts(id));
 * ```
 * @throws the first error of a child, after every child finished.
 *
 * Cancel safety: dropping the join drops every unfinished child (their cleanup runs) and discards
 * the outputs of the finished ones: a message a child had received is lost with it.
 */
export function join<const F extends readonly Future<unknown>[]>(
  ...futures: F
): Future<Outputs<F>> {
  return new Join(collect(futures, "join"), false, "join") as unknown as Future<Outputs<F>>;
}

/**
 * Waits for every future of an iterable and completes with their outputs in order. If some throw,
 * the others still run to their end; then the first error is rethrown. Past 32 futures each child
 * gets its own waker, so a wake costs O(1), not a pass over all of them.
 *
 * @example
 * ```ts
 * const pages = yield* joinAll(urls.map((u) => fetchPage(u)));
 * ```
 * @throws the first error of a child, after every child finished.
 *
 * Cancel safety: as {@link join}: unfinished children are dropped, finished ones' outputs lost.
 */
export function joinAll<T>(futures: Iterable<Future<T>>): Future<T[]> {
  const list = collect(futures, "joinAll") as Future<T>[];
  const fut =
    list.length > POLL_ALL_LIMIT ? new JoinMany(list) : new Join<T>(list, false, "joinAll");
  return fut as unknown as Future<T[]>;
}

/**
 * Like {@link join}, but the first error drops the other futures — their cleanup runs to its end —
 * and is then rethrown (Rust's `try_join!`).
 *
 * @example
 * ```ts
 * const [a, b] = yield* tryJoin(upload(partA), upload(partB)); // one failure cancels the other
 * ```
 * @throws the first error of a child, after the others were dropped.
 *
 * Cancel safety: as {@link join}: unfinished children are dropped, finished ones' outputs lost.
 */
export function tryJoin<const F extends readonly Future<unknown>[]>(
  ...futures: F
): Future<Outputs<F>> {
  return new Join(collect(futures, "tryJoin"), true, "tryJoin") as unknown as Future<Outputs<F>>;
}
