import assert from "node:assert/strict";
import { afterEach, describe, test } from "node:test";
import {
  Context,
  InvalidArgumentError,
  Pending,
  pollFn,
  RawWaker,
  RawWakerVTable,
  Runtime,
  setDebugMode,
  Waker,
  WakerContractError,
} from "../../src/index.js";

/** A vtable that records every call with the data it received. */
function recordingVTable() {
  const calls: { fn: "clone" | "wake" | "wakeByRef" | "drop"; data: unknown }[] = [];
  const vtable: RawWakerVTable = new RawWakerVTable(
    (data) => {
      calls.push({ fn: "clone", data });
      return new RawWaker(data, vtable);
    },
    (data) => calls.push({ fn: "wake", data }),
    (data) => calls.push({ fn: "wakeByRef", data }),
    (data) => calls.push({ fn: "drop", data }),
  );
  const count = (fn: string) => calls.filter((c) => c.fn === fn).length;
  return { vtable, calls, count };
}

function isContractError(e: unknown): boolean {
  return e instanceof WakerContractError && e.code === "WAKER_CONTRACT";
}

function isInvalidArgument(pattern: RegExp) {
  return (e: unknown): boolean => {
    assert.ok(e instanceof InvalidArgumentError, `expected InvalidArgumentError, got ${String(e)}`);
    assert.ok(e instanceof TypeError);
    assert.equal(e.code, "INVALID_ARGUMENT");
    assert.equal(e.name, "InvalidArgumentError");
    assert.match(e.message, pattern);
    return true;
  };
}

/** Runs `fn` with debug mode on, restoring it to off afterwards. */
function withDebug(fn: () => void): void {
  setDebugMode(true);
  try {
    fn();
  } finally {
    setDebugMode(false);
  }
}

afterEach(() => setDebugMode(false));

describe("RawWakerVTable and RawWaker", () => {
  test("keep the four functions and the data as given", () => {
    const clone = (d: unknown) => new RawWaker(d, vt);
    const wake = () => {};
    const wakeByRef = () => {};
    const drop = () => {};
    const vt: RawWakerVTable = new RawWakerVTable(clone, wake, wakeByRef, drop);
    assert.equal(vt.clone, clone);
    assert.equal(vt.wake, wake);
    assert.equal(vt.wakeByRef, wakeByRef);
    assert.equal(vt.drop, drop);
    const data = { id: 1 };
    const raw = new RawWaker(data, vt);
    assert.equal(raw.data, data);
    assert.equal(raw.vtable, vt);
  });

  const fn = () => {};
  const names = ["clone", "wake", "wakeByRef", "drop"] as const;
  for (let i = 0; i < 4; i++) {
    const name = names[i]!;
    for (const bad of [undefined, null, 42, "wake", {}] as unknown[]) {
      test(`a vtable whose "${name}" is ${String(bad)} throws InvalidArgumentError naming it`, () => {
        const args: unknown[] = [fn, fn, fn, fn];
        args[i] = bad;
        assert.throws(
          () => new RawWakerVTable(...(args as ConstructorParameters<typeof RawWakerVTable>)),
          isInvalidArgument(new RegExp(`"${name}" must be a function`)),
        );
      });
    }
  }

  test("a vtable missing several functions names the first missing one", () => {
    assert.throws(
      () => new (RawWakerVTable as unknown as new (...a: unknown[]) => RawWakerVTable)(fn),
      isInvalidArgument(/"wake" must be a function/),
    );
  });

  test("RawWaker with something that is not a vtable throws InvalidArgumentError", () => {
    const lookalike = { clone: fn, wake: fn, wakeByRef: fn, drop: fn };
    for (const bad of [undefined, null, 1, lookalike, fn]) {
      assert.throws(
        () => new RawWaker(1, bad as unknown as RawWakerVTable),
        isInvalidArgument(/RawWaker: vtable must be a RawWakerVTable/),
      );
    }
  });
});

describe("Waker.fromRaw", () => {
  test("exposes the raw waker's data and vtable", () => {
    const { vtable } = recordingVTable();
    const data = { task: 7 };
    const w = Waker.fromRaw(new RawWaker(data, vtable));
    assert.ok(w instanceof Waker);
    assert.equal(w.data, data);
    assert.equal(w.vtable, vtable);
    assert.equal(w.borrowed, false);
  });

  test("wake, wakeByRef, clone and drop call the matching vtable function with the data", () => {
    const { vtable, calls } = recordingVTable();
    const data = { task: 1 };
    const mk = () => Waker.fromRaw(new RawWaker(data, vtable));

    mk().wakeByRef();
    assert.deepEqual(calls, [{ fn: "wakeByRef", data }]);
    calls.length = 0;

    mk().wake();
    assert.deepEqual(calls, [{ fn: "wake", data }]);
    calls.length = 0;

    mk().drop();
    assert.deepEqual(calls, [{ fn: "drop", data }]);
    calls.length = 0;

    mk().clone();
    assert.deepEqual(calls, [{ fn: "clone", data }]);
    assert.equal(calls[0]!.data, data);
  });

  test("wakeByRef may be called many times, each reaching the vtable", () => {
    const { vtable, count } = recordingVTable();
    const w = Waker.fromRaw(new RawWaker("d", vtable));
    for (let i = 0; i < 5; i++) w.wakeByRef();
    assert.equal(count("wakeByRef"), 5);
    assert.equal(count("wake"), 0);
    assert.equal(count("drop"), 0);
  });

  test("clone returns a new waker built from what vtable.clone returned", () => {
    const otherData = { other: true };
    const { vtable: otherVTable, calls: otherCalls } = recordingVTable();
    const calls: unknown[] = [];
    const vtable = new RawWakerVTable(
      (data) => {
        calls.push(data);
        return new RawWaker(otherData, otherVTable);
      },
      () => {},
      () => {},
      () => {},
    );
    const w = Waker.fromRaw(new RawWaker("orig", vtable));
    const c = w.clone();
    assert.deepEqual(calls, ["orig"]);
    assert.notEqual(c, w);
    assert.ok(c instanceof Waker);
    assert.equal(c.data, otherData);
    assert.equal(c.vtable, otherVTable);
    assert.equal(c.borrowed, false);
    c.wake();
    assert.deepEqual(otherCalls, [{ fn: "wake", data: otherData }]);
  });

  test("a clone of a clone keeps the data and vtable, each clone calls vtable.clone once", () => {
    const { vtable, count } = recordingVTable();
    const w = Waker.fromRaw(new RawWaker(5, vtable));
    const c1 = w.clone();
    const c2 = c1.clone();
    assert.equal(count("clone"), 2);
    assert.equal(c2.data, 5);
    assert.equal(c2.vtable, vtable);
    assert.ok(c2.willWake(w));
  });

  test("[Symbol.dispose] drops the waker", () => {
    const { vtable, calls } = recordingVTable();
    const data = {};
    {
      using _w = Waker.fromRaw(new RawWaker(data, vtable));
    }
    assert.deepEqual(calls, [{ fn: "drop", data }]);
  });

  test("Waker.fromRaw with something that is not a RawWaker throws InvalidArgumentError", () => {
    const { vtable } = recordingVTable();
    const lookalike = { data: 1, vtable };
    for (const bad of [undefined, null, 3, "raw", lookalike]) {
      assert.throws(
        () => Waker.fromRaw(bad as unknown as RawWaker),
        isInvalidArgument(/Waker\.fromRaw: expected a RawWaker/),
      );
    }
  });
});

describe("willWake", () => {
  test("true for the same data and vtable, also across clones", () => {
    const { vtable } = recordingVTable();
    const data = {};
    const a = Waker.fromRaw(new RawWaker(data, vtable));
    const b = Waker.fromRaw(new RawWaker(data, vtable));
    assert.equal(a.willWake(b), true);
    assert.equal(b.willWake(a), true);
    assert.equal(a.willWake(a), true);
    assert.equal(a.willWake(a.clone()), true);
  });

  test("false when the data differs", () => {
    const { vtable } = recordingVTable();
    const a = Waker.fromRaw(new RawWaker({}, vtable));
    const b = Waker.fromRaw(new RawWaker({}, vtable));
    assert.equal(a.willWake(b), false);
  });

  test("false when the vtable differs", () => {
    const { vtable: v1 } = recordingVTable();
    const { vtable: v2 } = recordingVTable();
    const data = {};
    const a = Waker.fromRaw(new RawWaker(data, v1));
    const b = Waker.fromRaw(new RawWaker(data, v2));
    assert.equal(a.willWake(b), false);
    assert.equal(b.willWake(a), false);
  });

  test("two Waker.from of the same function are different wakers; a clone is the same", () => {
    const fn = () => {};
    const a = Waker.from(fn);
    const b = Waker.from(fn);
    assert.equal(a.willWake(b), false);
    assert.equal(a.willWake(a.clone()), true);
  });
});

describe("Waker.noop", () => {
  test("does nothing on any operation and can be used any number of times", () => {
    const w = Waker.noop();
    for (let i = 0; i < 3; i++) {
      w.wakeByRef();
      const c = w.clone();
      assert.ok(c.willWake(w));
      c.wake();
    }
    w.wake();
    w.drop();
    w.drop();
  });

  test("two noop wakers will wake the same (nothing)", () => {
    assert.equal(Waker.noop().willWake(Waker.noop()), true);
  });
});

describe("Waker.from", () => {
  test("from a function: wake and wakeByRef call it; clones share it", () => {
    let woken = 0;
    const w = Waker.from(() => woken++);
    w.wakeByRef();
    assert.equal(woken, 1);
    const c = w.clone();
    c.wake();
    assert.equal(woken, 2);
    w.wake();
    assert.equal(woken, 3);
    const d = Waker.from(() => woken++).clone();
    d.drop();
    assert.equal(woken, 3, "drop does not wake");
  });

  test("from a Wake object with wakeByRef: wake -> wake(), wakeByRef -> wakeByRef()", () => {
    const log: string[] = [];
    const target = {
      wake() {
        log.push("wake");
      },
      wakeByRef() {
        log.push("wakeByRef");
      },
    };
    const w = Waker.from(target);
    assert.equal(w.data, target);
    w.wakeByRef();
    w.clone().wake();
    w.clone().wakeByRef();
    w.wake();
    assert.deepEqual(log, ["wakeByRef", "wake", "wakeByRef", "wake"]);
  });

  test("from a Wake object without wakeByRef: wakeByRef falls back to wake", () => {
    let wakes = 0;
    const w = Waker.from({ wake: () => wakes++ });
    w.wakeByRef();
    w.wakeByRef();
    assert.equal(wakes, 2);
    w.wake();
    assert.equal(wakes, 3);
  });

  test("the wake method is called with the Wake object as this", () => {
    const target = {
      seen: [] as unknown[],
      wake() {
        this.seen.push(this);
      },
    };
    Waker.from(target).wakeByRef();
    assert.deepEqual(target.seen, [target]);
  });

  test("bad targets throw InvalidArgumentError", () => {
    for (const bad of [42, "wake", null, undefined, {}, { wake: 1 }, true]) {
      assert.throws(
        () => Waker.from(bad as unknown as () => void),
        isInvalidArgument(/Waker\.from: expected a function or an object with a wake\(\) method/),
      );
    }
  });

  test("the error message describes the bad value", () => {
    assert.throws(() => Waker.from(42 as unknown as () => void), isInvalidArgument(/42/));
  });
});

describe("Context", () => {
  test("Context.fromWaker lends the waker: cx.waker wakes the same and is borrowed", () => {
    const w = Waker.noop();
    const cx = Context.fromWaker(w);
    assert.ok(cx instanceof Context);
    assert.ok(cx.waker.willWake(w));
    assert.equal(cx.waker.borrowed, true);
  });

  test("Context.fromWaker with a non-waker throws InvalidArgumentError", () => {
    const { vtable } = recordingVTable();
    for (const bad of [undefined, null, {}, () => {}, new RawWaker(1, vtable)]) {
      assert.throws(
        () => Context.fromWaker(bad as unknown as Waker),
        isInvalidArgument(/Context\.fromWaker: expected a Waker/),
      );
    }
  });
});

describe("drop outside debug mode", () => {
  test("drop() twice releases once (Waker.drop is documented as idempotent outside debug mode)", () => {
    setDebugMode(false);
    const { vtable, count } = recordingVTable();
    const w = Waker.fromRaw(new RawWaker(1, vtable));
    w.drop();
    w.drop();
    assert.equal(count("drop"), 1);
  });

  test("a double drop() does not make the runtime miscount live wakers (no false deadlock)", async () => {
    setDebugMode(false);
    const rt = new Runtime();
    let polls = 0;
    const result = await rt.run(
      pollFn<string>((cx) => {
        polls++;
        if (polls === 2) return "woken";
        const a = cx.waker.clone();
        a.drop();
        a.drop();
        // A clone held by a host callback: the task can still be woken.
        const b = cx.waker.clone();
        setImmediate(() => b.wake());
        return Pending;
      }),
    );
    assert.equal(result, "woken");
    assert.equal(polls, 2);
  });
});

describe("debug mode: the waker contract", () => {
  test("wake() after wake() throws WakerContractError; the vtable saw one wake", () => {
    withDebug(() => {
      const { vtable, count } = recordingVTable();
      const w = Waker.fromRaw(new RawWaker(1, vtable));
      w.wake();
      assert.throws(() => w.wake(), isContractError);
      assert.equal(count("wake"), 1);
    });
  });

  test("the error says how the waker was used up", () => {
    withDebug(() => {
      const { vtable } = recordingVTable();
      const w = Waker.fromRaw(new RawWaker(1, vtable));
      w.wake();
      assert.throws(
        () => w.wake(),
        (e: unknown) =>
          e instanceof WakerContractError &&
          e.name === "WakerContractError" &&
          /consumed by wake\(\)/.test(e.message),
      );
      const d = Waker.fromRaw(new RawWaker(1, vtable));
      d.drop();
      assert.throws(
        () => d.wake(),
        (e: unknown) => e instanceof WakerContractError && /released by drop\(\)/.test(e.message),
      );
    });
  });

  test("wakeByRef() and clone() after wake() throw", () => {
    withDebug(() => {
      const { vtable, count } = recordingVTable();
      const w = Waker.fromRaw(new RawWaker(1, vtable));
      w.wake();
      assert.throws(() => w.wakeByRef(), isContractError);
      assert.throws(() => w.clone(), isContractError);
      assert.equal(count("wakeByRef"), 0);
      assert.equal(count("clone"), 0);
    });
  });

  test("wake() and wakeByRef() after drop() throw; the vtable saw no wake", () => {
    withDebug(() => {
      const { vtable, count } = recordingVTable();
      const w = Waker.fromRaw(new RawWaker(1, vtable));
      w.drop();
      assert.throws(() => w.wake(), isContractError);
      assert.throws(() => w.wakeByRef(), isContractError);
      assert.equal(count("wake") + count("wakeByRef"), 0);
      assert.equal(count("drop"), 1);
    });
  });

  test("clone() after drop() throws", () => {
    withDebug(() => {
      const { vtable, count } = recordingVTable();
      const w = Waker.fromRaw(new RawWaker(1, vtable));
      w.drop();
      assert.throws(() => w.clone(), isContractError);
      assert.equal(count("clone"), 0);
    });
  });

  test("drop() twice is fine and releases once", () => {
    withDebug(() => {
      const { vtable, count } = recordingVTable();
      const w = Waker.fromRaw(new RawWaker(1, vtable));
      w.drop();
      w.drop();
      assert.equal(count("drop"), 1);
    });
  });

  test("drop() after wake() throws (the waker was consumed)", () => {
    withDebug(() => {
      const { vtable, count } = recordingVTable();
      const w = Waker.fromRaw(new RawWaker(1, vtable));
      w.wake();
      assert.throws(() => w.drop(), isContractError);
      assert.equal(count("drop"), 0);
    });
  });

  test("wakeByRef() and clone() keep the waker usable; its clones are independent", () => {
    withDebug(() => {
      const { vtable, count } = recordingVTable();
      const w = Waker.fromRaw(new RawWaker(1, vtable));
      w.wakeByRef();
      w.wakeByRef();
      const c = w.clone();
      c.wake();
      assert.throws(() => c.wake(), isContractError);
      w.wakeByRef();
      w.wake();
      assert.equal(count("wakeByRef"), 3);
      assert.equal(count("wake"), 2);
      assert.equal(count("clone"), 1);
    });
  });

  test("[Symbol.dispose] after drop() is fine; after wake() it throws", () => {
    withDebug(() => {
      const { vtable, count } = recordingVTable();
      const a = Waker.fromRaw(new RawWaker(1, vtable));
      a.drop();
      a[Symbol.dispose]();
      assert.equal(count("drop"), 1);
      const b = Waker.fromRaw(new RawWaker(1, vtable));
      b.wake();
      assert.throws(() => b[Symbol.dispose](), isContractError);
    });
  });

  test("a borrowed task waker (cx.waker) can be woken with wake() repeatedly", async () => {
    setDebugMode(true);
    try {
      const rt = new Runtime({ debug: true });
      let polls = 0;
      let borrowed: boolean | undefined;
      const result = await rt.run(
        pollFn<number>((cx) => {
          polls++;
          borrowed = cx.waker.borrowed;
          if (polls === 4) return polls;
          // Three wakes of the borrowed waker in one poll; none consumes it.
          cx.waker.wake();
          cx.waker.wake();
          cx.waker.wakeByRef();
          cx.waker.drop(); // a no-op on a borrowed waker
          const c = cx.waker.clone();
          c.drop();
          return Pending;
        }),
      );
      assert.equal(result, 4);
      assert.equal(polls, 4, "each poll's wakes merge into one re-poll");
      assert.equal(borrowed, true);
    } finally {
      setDebugMode(false);
    }
  });
});
