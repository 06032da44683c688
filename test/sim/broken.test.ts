/**
 * Deliberately broken programs the simulator must catch: each one passes in the production (FIFO)
 * order, is caught by `explore` within the stated number of seeds, replays exactly from the
 * reported seed, and its corrected version passes the same seeds.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  type AsyncGenerator,
  asyncFn,
  type Context,
  DeadlockError,
  Future,
  future,
  joinAll,
  Mutex,
  Pending,
  type Poll,
  spawn,
  type Waker,
  yieldNow,
} from "../../src/index.js";
import { simulate } from "../../src/sim/index.js";
import { assertCaughtAndReplayed, messageOf, type Program } from "./support.js";

/** Seeds each broken program must be caught within (and the fixed one must pass). */
const SEEDS = 100;

describe("a lost update across a yieldNow", () => {
  class Counter {
    value = 0;
  }

  /** Reads, yields (say, to log the old value), writes: another increment can slip in between. */
  const racyIncrement = asyncFn(function* (c: Counter): AsyncGenerator<void> {
    const seen = c.value;
    yield* yieldNow();
    c.value = seen + 1;
  });

  /** The same step under a lock: read and write are one critical section. */
  const lockedIncrement = asyncFn(function* (lock: Mutex<Counter>): AsyncGenerator<void> {
    const guard = yield* lock.lock();
    try {
      const seen = guard.value.value;
      yield* yieldNow();
      guard.value.value = seen + 1;
    } finally {
      guard.release();
    }
  });

  /** Some unrelated work first: in FIFO order the two increments never overlap. */
  const later = asyncFn(function* (step: Future<void>): AsyncGenerator<void> {
    yield* yieldNow();
    yield* yieldNow();
    yield* step;
  });

  const broken: Program = () =>
    future(function* () {
      const c = new Counter();
      yield* joinAll([spawn(racyIncrement(c)), spawn(later(racyIncrement(c)))]);
      assert.equal(c.value, 2, "lost update: two increments, counter is 1");
    });

  const fixed: Program = () =>
    future(function* () {
      const lock = new Mutex(new Counter());
      yield* joinAll([spawn(lockedIncrement(lock)), spawn(later(lockedIncrement(lock)))]);
      assert.equal(lock.tryLock()?.value.value, 2);
    });

  test("passes in FIFO order (so plain tests miss it)", () => {
    simulate({ seed: 1, scheduling: "fifo" }, broken);
  });

  test(`random scheduling catches it within ${SEEDS} seeds; the seed replays it; the locked version passes`, () => {
    assertCaughtAndReplayed(broken, fixed, { seeds: SEEDS }, /lost update/);
  });

  test(`PCT (depth 2) catches it within ${SEEDS} seeds too`, () => {
    assertCaughtAndReplayed(broken, fixed, { seeds: SEEDS, scheduling: { pct: 2 } }, /lost update/);
  });
});

describe("a check-then-register lost wakeup", () => {
  /** A one-shot flag: `set` wakes the wakers registered so far. */
  class Flag {
    isSet = false;
    waiters: Waker[] = [];
    set(): void {
      this.isSet = true;
      const waiters = this.waiters;
      this.waiters = [];
      for (const w of waiters) w.wake();
    }
  }

  /**
   * BROKEN leaf: it checks the flag on one poll and registers its waker on the next (say the
   * registration needs a second step), without checking again: a `set` in between wakes nobody.
   */
  class LateRegisterWait extends Future<void> {
    private checked = false;
    private registered = false;
    constructor(private readonly flag: Flag) {
      super();
    }
    poll(cx: Context): Poll<void> {
      if (this.registered) return this.flag.isSet ? undefined : Pending;
      if (!this.checked) {
        if (this.flag.isSet) return undefined;
        this.checked = true;
        cx.waker.wakeByRef(); // come back to register
        return Pending;
      }
      this.flag.waiters.push(cx.waker.clone()); // BUG: no check after registering
      this.registered = true;
      return Pending;
    }
  }

  /** FIXED leaf: register first, then check (the AtomicWaker rule), on every poll. */
  class RegisterThenCheckWait extends Future<void> {
    private waker: Waker | null = null;
    constructor(private readonly flag: Flag) {
      super();
    }
    poll(cx: Context): Poll<void> {
      if (this.waker === null || !this.waker.willWake(cx.waker)) {
        this.waker = cx.waker.clone();
        this.flag.waiters.push(this.waker);
      }
      if (this.flag.isSet) return undefined;
      return Pending;
    }
  }

  const setter = asyncFn(function* (flag: Flag): AsyncGenerator<void> {
    yield* yieldNow();
    flag.set();
  });

  const program =
    (wait: (flag: Flag) => Future<void>): Program =>
    () =>
      future(function* () {
        const flag = new Flag();
        const waiter = spawn(wait(flag));
        spawn(setter(flag));
        yield* waiter;
      });

  const broken = program((flag) => new LateRegisterWait(flag));
  const fixed = program((flag) => new RegisterThenCheckWait(flag));

  test("passes in FIFO order", () => {
    simulate({ seed: 1, scheduling: "fifo" }, broken);
  });

  test(`caught as a deadlock with the task dump within ${SEEDS} seeds; replays; the fixed leaf passes`, () => {
    const failure = assertCaughtAndReplayed(broken, fixed, { seeds: SEEDS }, /deadlock/);
    assert.ok(failure.cause instanceof DeadlockError);
    assert.match(failure.message, /task dump/);
    assert.match(failure.message, /LateRegisterWait/);
    // The waiter's waker sits in the flag's list, outside the runtime: the report says so.
    assert.match(messageOf(failure.cause), /held where no event will reach them/);
  });
});

describe("a leaf that never registers its waker", () => {
  let flag = false;
  let waiters: Waker[] = [];

  /** BROKEN leaf: when the flag is not set yet it returns Pending and keeps no waker at all. */
  class NeverRegisterWait extends Future<void> {
    poll(_cx: Context): Poll<void> {
      return flag ? undefined : Pending;
    }
  }

  /** FIXED leaf: keeps a clone of the waker where `setFlag` will find it, then checks. */
  class RegisteringWait extends Future<void> {
    private registered = false;
    poll(cx: Context): Poll<void> {
      if (!this.registered) {
        this.registered = true;
        waiters.push(cx.waker.clone());
      }
      return flag ? undefined : Pending;
    }
  }

  const setFlag = asyncFn(function* (): AsyncGenerator<void> {
    flag = true;
    const ws = waiters;
    waiters = [];
    for (const w of ws) w.wake();
  });

  const program =
    (wait: () => Future<void>): Program =>
    () =>
      future(function* () {
        flag = false;
        waiters = [];
        // In FIFO order the setter runs first and the waiter finds the flag already set.
        spawn(setFlag());
        yield* spawn(wait());
      });

  const broken = program(() => new NeverRegisterWait());
  const fixed = program(() => new RegisteringWait());

  test("passes in FIFO order", () => {
    simulate({ seed: 1, scheduling: "fifo" }, broken);
  });

  test(`caught as a lost wakeup (an idle task with no live waker) within ${SEEDS} seeds; replays; the registering leaf passes`, () => {
    const failure = assertCaughtAndReplayed(broken, fixed, { seeds: SEEDS }, /lost wakeup/);
    assert.ok(failure.cause instanceof DeadlockError);
    assert.match(
      (failure.cause as DeadlockError).dump,
      /\(NeverRegisterWait\) idle, no live waker \(lost wakeup\?\)/,
    );
  });
});

describe("a lock-order deadlock", () => {
  const transfer = asyncFn(function* (
    first: Mutex<number>,
    second: Mutex<number>,
    warmUp: number,
  ): AsyncGenerator<void> {
    for (let i = 0; i < warmUp; i++) yield* yieldNow();
    const a = yield* first.lock();
    yield* yieldNow(); // e.g. a log line between the two acquisitions
    const b = yield* second.lock();
    a.value -= 1;
    b.value += 1;
    b.release();
    a.release();
  });

  const broken: Program = () =>
    future(function* () {
      const x = new Mutex(10);
      const y = new Mutex(10);
      // BUG: one task locks x then y, the other y then x.
      yield* joinAll([spawn(transfer(x, y, 0)), spawn(transfer(y, x, 2))]);
    });

  const fixed: Program = () =>
    future(function* () {
      const x = new Mutex(10);
      const y = new Mutex(10);
      // Both lock in one global order (x before y); the direction is in what they do.
      yield* joinAll([spawn(transfer(x, y, 0)), spawn(transfer(x, y, 2))]);
    });

  test("passes in FIFO order", () => {
    simulate({ seed: 1, scheduling: "fifo" }, broken);
  });

  test(`caught as a deadlock with both tasks in the dump within ${SEEDS} seeds; replays; one lock order passes`, () => {
    const failure = assertCaughtAndReplayed(broken, fixed, { seeds: SEEDS }, /deadlock/);
    assert.ok(failure.cause instanceof DeadlockError);
    const dump = (failure.cause as DeadlockError).dump;
    assert.match(dump, /task 2 .*idle/);
    assert.match(dump, /task 3 .*idle/);
    assert.match(dump, /Mutex|lock/i);
  });
});
