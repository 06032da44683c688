import { debugMode } from "./debug.js";
import { describeValue, InvalidArgumentError, WakerContractError } from "./errors.js";
import { RawWaker, RawWakerVTable } from "./raw-waker.js";

const LIVE = 0;
const CONSUMED = 1;
const DROPPED = 2;

/**
 * Something that can be woken, for {@link Waker.from}: Rust's `Wake` trait. `wakeByRef` is
 * optional and defaults to `wake`.
 *
 * @example
 * ```ts
 * const w = Waker.from({ wake: () => console.log("woken") });
 * ```
 */
export interface Wake {
  wake(): void;
  wakeByRef?(): void;
}

/**
 * A handle that wakes a task: "poll me again, progress is possible". Built from a {@link RawWaker};
 * the runtime gives each task one, leaf futures store a `clone()` of `cx.waker` before returning
 * `Pending` and call `wake()` when their resource is ready.
 *
 * `wake()` consumes the waker and `drop()` releases it; using it afterwards is a contract violation,
 * reported with {@link WakerContractError} in debug mode. The waker a task is polled with
 * (`cx.waker`) is borrowed: `wake()` on it behaves as `wakeByRef()` and `drop()` is a no-op; keep it
 * past the poll only through `clone()`.
 *
 * @example
 * ```ts
 * poll(cx: Context): Poll<string> {
 *   if (this.reply !== undefined) return this.reply;
 *   this.waker?.drop();
 *   this.waker = cx.waker.clone();
 *   socket.once("data", (line) => { this.reply = line; this.waker?.wake(); this.waker = null; });
 *   return Pending;
 * }
 * ```
 */
export class Waker {
  // Fields declared and assigned in the constructor: see "Hot constructors" on Future.
  /** The opaque pointer the vtable's functions receive. */
  declare readonly data: unknown;
  /** The functions that give `data` its meaning. */
  declare readonly vtable: RawWakerVTable;
  /** True for a task's own waker as lent to `poll` through `cx.waker`. */
  declare readonly borrowed: boolean;
  /** LIVE, CONSUMED (by `wake`) or DROPPED. */
  declare private use: number;

  /** @internal Use {@link Waker.fromRaw}. */
  constructor(data: unknown, vtable: RawWakerVTable, borrowed = false) {
    this.data = data;
    this.vtable = vtable;
    this.borrowed = borrowed === true;
    this.use = LIVE;
  }

  /**
   * Builds a waker from a raw waker (Rust's `Waker::from_raw`).
   *
   * @example
   * ```ts
   * const waker = Waker.fromRaw(new RawWaker(task, TASK_VTABLE));
   * ```
   * @throws {InvalidArgumentError} when `raw` is not a `RawWaker`.
   */
  static fromRaw(raw: RawWaker): Waker {
    if (!(raw instanceof RawWaker)) {
      throw new InvalidArgumentError(
        `Waker.fromRaw: expected a RawWaker, got ${describeValue(raw)}`,
      );
    }
    return new Waker(raw.data, raw.vtable);
  }

  /**
   * A waker that does nothing, for polling by hand where no one needs to be woken.
   *
   * @example
   * ```ts
   * const value = fut.poll(Context.fromWaker(Waker.noop()));
   * ```
   */
  static noop(): Waker {
    return new Waker(undefined, NOOP_VTABLE);
  }

  /**
   * A waker that calls `wake` (a function or a {@link Wake} object). Clones share the target.
   *
   * @example
   * ```ts
   * let woken = 0;
   * const waker = Waker.from(() => woken++);
   * ```
   * @throws {InvalidArgumentError} when `target` is neither a function nor has a `wake` method, or
   * has a `wakeByRef` that is not a function.
   */
  static from(target: Wake | (() => void)): Waker {
    if (typeof target === "function") return new Waker({ wake: target }, WAKE_VTABLE);
    if (target === null || typeof target !== "object" || typeof target.wake !== "function") {
      throw new InvalidArgumentError(
        `Waker.from: expected a function or an object with a wake() method, got ${describeValue(target)}`,
      );
    }
    if (target.wakeByRef && typeof target.wakeByRef !== "function") {
      throw new InvalidArgumentError(
        `Waker.from: wakeByRef must be a function when given, got ${describeValue(target.wakeByRef)}`,
      );
    }
    return new Waker(target, WAKE_VTABLE);
  }

  /**
   * Wakes the task and consumes this waker. On a borrowed waker, the same as `wakeByRef()`.
   * Using the waker afterwards is a contract violation: debug mode throws, otherwise it is ignored.
   */
  wake(): void {
    if (this.borrowed === true) {
      this.vtable.wakeByRef(this.data);
      return;
    }
    if (this.use !== LIVE) {
      this.misuse("wake");
      return;
    }
    this.use = CONSUMED;
    this.vtable.wake(this.data);
  }

  /** Wakes the task and keeps this waker usable. */
  wakeByRef(): void {
    if (this.use !== LIVE && this.borrowed === false) {
      this.misuse("wakeByRef");
      return;
    }
    this.vtable.wakeByRef(this.data);
  }

  /**
   * A new waker that wakes the same task; the caller owns it (and should `drop()` or `wake()` it).
   *
   * @throws {InvalidArgumentError} when the vtable's `clone` did not return a raw waker (an object
   * with `data` and a {@link RawWakerVTable} `vtable`).
   */
  clone(): Waker {
    if (this.use !== LIVE && this.borrowed === false && debugMode) this.misuse("clone");
    const raw = this.vtable.clone(this.data);
    if (raw == null || !(raw.vtable instanceof RawWakerVTable)) throw badClone(raw);
    return new Waker(raw.data, raw.vtable);
  }

  /**
   * Releases this waker without waking. Idempotent; a no-op on a borrowed waker. Dropping a waker
   * already consumed by `wake()` is a contract violation (debug mode throws, otherwise ignored).
   */
  drop(): void {
    if (this.borrowed === true || this.use === DROPPED) return;
    if (this.use === CONSUMED) {
      this.misuse("drop");
      return;
    }
    this.use = DROPPED;
    this.vtable.drop(this.data);
  }

  /** True when both wakers wake the same task (same data and vtable): a stored clone can be kept. */
  willWake(other: Waker): boolean {
    return this.data === other.data && this.vtable === other.vtable;
  }

  [Symbol.dispose](): void {
    this.drop();
  }

  /** A use after `wake()`/`drop()`: throws in debug mode, otherwise does nothing. */
  private misuse(operation: string): void {
    if (!debugMode) return;
    const how = this.use === CONSUMED ? "consumed by wake()" : "released by drop()";
    throw new WakerContractError(
      `Waker.${operation}() on a waker already ${how}; clone() a waker you need to keep`,
    );
  }
}

function badClone(raw: unknown): InvalidArgumentError {
  return new InvalidArgumentError(
    `Waker.clone: the vtable's clone must return a RawWaker (new RawWaker(data, vtable)), got ${describeValue(raw)}`,
  );
}

function noop(): void {}

const NOOP_VTABLE: RawWakerVTable = new RawWakerVTable(
  (data) => new RawWaker(data, NOOP_VTABLE),
  noop,
  noop,
  noop,
);

const WAKE_VTABLE: RawWakerVTable = new RawWakerVTable(
  (data) => new RawWaker(data, WAKE_VTABLE),
  (data) => (data as Wake).wake(),
  (data) => {
    const target = data as Wake;
    if (target.wakeByRef) target.wakeByRef();
    else target.wake();
  },
  noop,
);
