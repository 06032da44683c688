import type { Context } from "../task/context.js";
import { describeValue, InvalidArgumentError } from "../task/errors.js";
import { Pending, type Poll } from "../task/poll.js";
import { CleanupErrors, pollDropEach } from "./drop-each.js";
import {
  expectFuture,
  Future,
  type InheritedFuture,
  inheritFrom,
  pollAfterCompletion,
} from "./future.js";
import { dropNow, reportCleanupError } from "./orphan-cleanup.js";
import { random } from "./random-source.js";

/** Which branch of a {@link select} won, and its output. */
export interface Selected<T> {
  readonly index: number;
  readonly value: T;
}

/** Options of {@link select}. */
export interface SelectOptions {
  /** Poll the branches in order, starting with the first, instead of from a random branch. */
  readonly biased?: boolean;
}

type Output<F> = F extends Future<infer T> ? T : never;

/**
 * Polls branches until one completes, then drops the others and drives their cleanup to its end
 * before reporting the winner. `valueOnly` makes it `race`.
 *
 * A base class that inherits from Future without deriving from it: made per await, often inside
 * a `try` (see "Constructors in try blocks" on Future).
 */
class Select<T> implements InheritedFuture<T> {
  private readonly branches: (Future<unknown> | null)[];
  private winner = -1;
  private value: unknown = undefined;
  private failed = false;
  private done = false;
  private readonly cleanupErrors = new CleanupErrors();

  constructor(
    branches: Future<unknown>[],
    private readonly biased: boolean,
    private readonly valueOnly: boolean,
  ) {
    this.branches = branches;
  }

  poll(cx: Context): Poll<T> {
    if (this.done) throw pollAfterCompletion(this);
    const branches = this.branches;
    if (this.winner < 0) {
      const n = branches.length;
      const start = this.biased ? 0 : Math.floor(random() * n) % n;
      for (let k = 0; k < n; k++) {
        const i = start + k < n ? start + k : start + k - n;
        const branch = branches[i]!;
        let r: unknown;
        try {
          r = branch.poll(cx);
        } catch (error) {
          this.failed = true;
          this.settle(i, error);
          break;
        }
        if (r !== Pending) {
          this.settle(i, r);
          break;
        }
      }
      if (this.winner < 0) return Pending;
    }
    if (pollDropEach(branches, cx, this.cleanupErrors) === Pending) return Pending;
    this.done = true;
    if (this.failed) {
      if (this.cleanupErrors.has) reportCleanupError(this.cleanupErrors.error);
      throw this.value;
    }
    this.cleanupErrors.throwIfAny();
    return (this.valueOnly ? this.value : { index: this.winner, value: this.value }) as T;
  }

  drop(): void {
    dropNow(this as unknown as Future<unknown>);
  }

  pollDrop(cx: Context): Poll<void> {
    if (pollDropEach(this.branches, cx, this.cleanupErrors) === Pending) return Pending;
    this.done = true;
    this.cleanupErrors.throwIfAny();
    return undefined;
  }

  describe(): string {
    const name = this.valueOnly ? "race" : "select";
    const waiting = this.branches.filter((b) => b != null).map((b) => b!.describe());
    return this.winner < 0
      ? `${name}(${waiting.join(" | ")})`
      : `${name}: dropping losers (${waiting.join(", ")})`;
  }

  private settle(index: number, value: unknown): void {
    this.winner = index;
    this.value = value;
    this.branches[index] = null;
  }
}
inheritFrom(Select, Future);

function branchesOf(futures: Iterable<Future<unknown>>, where: string): Future<unknown>[] {
  if (futures == null || typeof (futures as Iterable<unknown>)[Symbol.iterator] !== "function") {
    throw new InvalidArgumentError(
      `${where}: expected an iterable of futures, got ${describeValue(futures)}`,
    );
  }
  const list: Future<unknown>[] = [];
  let i = 0;
  for (const f of futures) list.push(expectFuture(f, `${where}: branch ${i++}`));
  if (list.length === 0) {
    throw new InvalidArgumentError(`${where}: needs at least one future (none would never finish)`);
  }
  return list;
}

/**
 * Waits for the first of several futures to complete and completes with `{ index, value }`. The
 * other branches are dropped, and their cleanup (including asynchronous `finally` blocks) has
 * finished before `select` returns. Branches are polled from a random start (seedable through the
 * runtime) so no branch starves; `{ biased: true }` polls them in order.
 *
 * @example
 * ```ts
 * const { index, value } = yield* select([rx.recv(), sleep(1000)]);
 * if (index === 1) console.log("timed out");
 * ```
 * @throws the error of the first branch to throw (the others are dropped first), or a loser's
 * cleanup error.
 * @throws {InvalidArgumentError} for an empty list or a non-future.
 *
 * Cancel safety: the losers are dropped, so `select` is as cancel-safe as its branches: a branch
 * that loses data when dropped mid-way (not cancel-safe) loses it here too. One window more: once
 * a branch has won, `select` waits for the losers' asynchronous cleanup before it returns; if the
 * `select` itself is dropped during that wait, the winner's output (a received message) is lost.
 */
export function select<const F extends readonly Future<unknown>[]>(
  futures: F,
  options?: SelectOptions,
): Future<Selected<Output<F[number]>>> {
  return new Select(
    branchesOf(futures, "select"),
    options?.biased === true,
    false,
  ) as unknown as Future<Selected<Output<F[number]>>>;
}

/**
 * Waits for the first of several futures to complete (or throw) and completes as it did; the
 * others are dropped and their cleanup finished first. Branches are polled in order, so on a tie
 * the earlier one wins (as with `Promise.race`), but unlike `Promise.race` the losers stop.
 *
 * @example
 * ```ts
 * const page = yield* race([fetchFrom(primary), fetchFrom(mirror)]);
 * ```
 * @throws the error of the first branch to throw.
 *
 * Cancel safety: as {@link select}.
 */
export function race<T>(futures: Iterable<Future<T>>): Future<T> {
  return new Select<T>(branchesOf(futures, "race"), true, true) as unknown as Future<T>;
}
