import { describeValue, InvalidArgumentError } from "./errors.js";

/**
 * The four functions that give a {@link RawWaker}'s `data` its meaning, as in Rust's
 * `std::task::RawWakerVTable`. What they do is up to whoever built the waker: the runtime's task
 * vtable re-queues a task, {@link Waker.noop} does nothing, a test waker counts.
 *
 * - `clone(data)` returns a new `RawWaker` that wakes the same thing (count a reference if you
 *   count them);
 * - `wake(data)` wakes and releases (the waker is consumed);
 * - `wakeByRef(data)` wakes without releasing;
 * - `drop(data)` releases without waking.
 *
 * @example
 * ```ts
 * const vtable = new RawWakerVTable(
 *   (data) => new RawWaker(data, vtable),
 *   (data) => queue.push(data),
 *   (data) => queue.push(data),
 *   () => {},
 * );
 * const waker = Waker.fromRaw(new RawWaker(task, vtable));
 * ```
 * @throws {InvalidArgumentError} when one of the four is not a function.
 */
export class RawWakerVTable {
  readonly clone: (data: unknown) => RawWaker;
  readonly wake: (data: unknown) => void;
  readonly wakeByRef: (data: unknown) => void;
  readonly drop: (data: unknown) => void;

  constructor(
    clone: (data: unknown) => RawWaker,
    wake: (data: unknown) => void,
    wakeByRef: (data: unknown) => void,
    drop: (data: unknown) => void,
  ) {
    checkFunction("clone", clone);
    checkFunction("wake", wake);
    checkFunction("wakeByRef", wakeByRef);
    checkFunction("drop", drop);
    this.clone = clone;
    this.wake = wake;
    this.wakeByRef = wakeByRef;
    this.drop = drop;
  }
}

function checkFunction(name: string, value: unknown): void {
  if (typeof value !== "function") {
    throw new InvalidArgumentError(
      `RawWakerVTable: "${name}" must be a function (data) => ..., got ${describeValue(value)}`,
    );
  }
}

/**
 * An opaque `data` pointer and the {@link RawWakerVTable} that interprets it: the raw material of a
 * {@link Waker}. Immutable, so a vtable's `clone` may hand back a cached instance.
 *
 * @example
 * ```ts
 * const waker = Waker.fromRaw(new RawWaker(myTask, myVTable));
 * ```
 * @throws {InvalidArgumentError} when `vtable` is not a `RawWakerVTable`.
 */
export class RawWaker {
  readonly data: unknown;
  readonly vtable: RawWakerVTable;

  constructor(data: unknown, vtable: RawWakerVTable) {
    if (!(vtable instanceof RawWakerVTable)) {
      throw new InvalidArgumentError(
        `RawWaker: vtable must be a RawWakerVTable, got ${describeValue(vtable)}`,
      );
    }
    this.data = data;
    this.vtable = vtable;
  }
}
