import { Context } from "../task/context.js";
import { Done, Pending, type Poll } from "../task/poll.js";
import { RawWaker, RawWakerVTable } from "../task/raw-waker.js";
import { Waker } from "../task/waker.js";
import { CleanupErrors } from "./drop-each.js";
import { expectFuture, Future, type InheritedFuture, inheritFrom } from "./future.js";
import { dropNow } from "./orphan-cleanup.js";

/**
 * One child of a {@link FuturesUnordered}: the future, its own waker and context, and its links in
 * two intrusive lists (all children; children woken since their last poll).
 */
class Node<T> {
  future: Future<T> | null;
  readonly cx: Context;
  /** In the ready list (woken, not yet polled). A second wake is a no-op. */
  queued = true;
  nextReady: Node<T> | null = null;
  prev: Node<T> | null = null;
  next: Node<T> | null = null;

  constructor(
    future: Future<T>,
    readonly owner: FuturesUnordered<T>,
  ) {
    this.future = future;
    this.cx = new Context(new Waker(this, NODE_VTABLE, true));
  }
}

function wakeNode(data: unknown): void {
  const node = data as Node<unknown>;
  node.owner.wakeChild(node);
}

const NODE_VTABLE: RawWakerVTable = new RawWakerVTable(
  (data) => new RawWaker(data, NODE_VTABLE),
  wakeNode,
  wakeNode,
  () => {},
);

/**
 * A set of futures run concurrently, yielding outputs in completion order (futures-rs
 * `FuturesUnordered`). Each child has its own waker: a wake puts that child on a ready list and
 * wakes the owner, so a poll costs in proportion to the children woken, not to the set's size.
 * After polling as many children as the set holds in one call, it yields (wakes itself and returns
 * `Pending`) so a child that keeps waking itself cannot monopolise the task.
 *
 * @example
 * ```ts
 * const set = new FuturesUnordered<string>();
 * for (const host of hosts) set.push(ping(host));
 * let reply: string | undefined;
 * while ((reply = yield* set.next()) !== undefined) console.log(reply);
 * ```
 */
export class FuturesUnordered<T> extends Future<T | undefined> {
  private head: Node<T> | null = null;
  private readyHead: Node<T> | null = null;
  private readyTail: Node<T> | null = null;
  private count = 0;
  private parent: Waker | null = null;
  /** Errors of children whose cleanup failed, kept until every cleanup is done (`pollDrop`). */
  private cleanupErrors: CleanupErrors | null = null;

  /** How many futures are in the set (pending or ready but not yet yielded). */
  get length(): number {
    return this.count;
  }

  /** True when the set holds no future. */
  isEmpty(): boolean {
    return this.count === 0;
  }

  /**
   * Adds a future to the set. It is first polled by the next `pollNext`.
   *
   * @throws {InvalidArgumentError} when `fut` is not a future.
   */
  push(fut: Future<T>): void {
    const node = new Node(expectFuture(fut, "FuturesUnordered.push") as Future<T>, this);
    node.next = this.head;
    if (this.head !== null) this.head.prev = node;
    this.head = node;
    this.count++;
    this.enqueue(node);
    this.parent?.wakeByRef();
  }

  /**
   * The next output in completion order, `Done` when the set is empty, or `Pending`. A child's
   * error is thrown (that child leaves the set; the others stay).
   */
  pollNext(cx: Context): Poll<T | typeof Done> {
    const parent = this.parent;
    if (parent === null || !parent.willWake(cx.waker)) {
      parent?.drop();
      this.parent = cx.waker.clone();
    }
    if (this.count === 0) return Done;
    let budget = this.count;
    for (;;) {
      const node = this.readyHead;
      if (node === null) return Pending;
      if (budget === 0) {
        cx.waker.wakeByRef();
        return Pending;
      }
      this.readyHead = node.nextReady;
      if (this.readyHead === null) this.readyTail = null;
      node.nextReady = null;
      node.queued = false;
      const child = node.future;
      if (child === null) continue;
      budget--;
      let r: Poll<T>;
      try {
        r = child.poll(node.cx);
      } catch (error) {
        this.release(node);
        throw error;
      }
      if (r !== Pending) {
        this.release(node);
        return r;
      }
    }
  }

  /** Polls the set as a future: the next output, or `undefined` once empty. */
  poll(cx: Context): Poll<T | undefined> {
    const r = this.pollNext(cx);
    return r === Done ? undefined : r;
  }

  /**
   * A future of the next output in completion order, or `undefined` when the set is empty.
   *
   * Cancel safety: dropping it loses nothing; the children stay in the set.
   */
  next(): Future<T | undefined> {
    return new NextOf(this) as unknown as Future<T | undefined>;
  }

  /** Drops every child now; asynchronous cleanup is finished by the runtime. */
  override drop(): void {
    dropNow(this);
  }

  /**
   * Drops every child and drives their cleanup; `Pending` while any still waits. Once all are
   * done, throws the error of a failed cleanup (several: an `AggregateError`).
   */
  override pollDrop(cx: Context): Poll<void> {
    let waiting = false;
    for (let node = this.head; node !== null; ) {
      const next = node.next;
      const child = node.future;
      if (child !== null) {
        let r: Poll<void>;
        try {
          r = child.pollDrop(cx);
        } catch (error) {
          // Kept across calls: a failed child leaves the set while the others still wait.
          this.cleanupErrors ??= new CleanupErrors();
          this.cleanupErrors.add(error);
          r = undefined;
        }
        if (r === Pending) waiting = true;
        else this.release(node);
      }
      node = next;
    }
    if (waiting) return Pending;
    this.parent?.drop();
    this.parent = null;
    const errors = this.cleanupErrors;
    this.cleanupErrors = null;
    errors?.throwIfAny();
    return undefined;
  }

  override describe(): string {
    return `FuturesUnordered(${this.count} pending)`;
  }

  /** @internal Called by a child's waker. */
  wakeChild(node: Node<T>): void {
    if (node.queued || node.future === null) return;
    this.enqueue(node);
    this.parent?.wakeByRef();
  }

  private enqueue(node: Node<T>): void {
    node.queued = true;
    if (this.readyTail === null) this.readyHead = node;
    else this.readyTail.nextReady = node;
    this.readyTail = node;
  }

  private release(node: Node<T>): void {
    node.future = null;
    if (node.prev !== null) node.prev.next = node.next;
    else this.head = node.next;
    if (node.next !== null) node.next.prev = node.prev;
    node.prev = node.next = null;
    this.count--;
  }
}

/**
 * A base class that inherits from Future without deriving from it: made per await, often inside
 * a `try` (see "Constructors in try blocks" on Future).
 */
class NextOf<T> implements InheritedFuture<T | undefined> {
  constructor(private readonly set: FuturesUnordered<T>) {}
  poll(cx: Context): Poll<T | undefined> {
    return this.set.poll(cx);
  }
  describe(): string {
    return this.set.describe();
  }
}
inheritFrom(NextOf, Future);
