import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  asyncFn,
  type Future,
  future,
  getDefaultRuntime,
  InvalidArgumentError,
  Pending,
  pending,
  pollFn,
  Runtime,
  ready,
  select,
  shield,
  WakerContractError,
  yieldNow,
} from "../../src/index.js";
import { assertPending, assertReady, MockTask, noopContext } from "../../src/testing/index.js";
import { Leaf } from "./leaf.js";

function isInvalidArgument(error: unknown): error is InvalidArgumentError {
  return error instanceof InvalidArgumentError && error.code === "INVALID_ARGUMENT";
}

function isContractError(error: unknown): error is WakerContractError {
  return error instanceof WakerContractError && error.code === "WAKER_CONTRACT";
}

/** A future that yields `n` times through the runtime, then completes. */
function ticks(n: number): Future<void> {
  return future(function* () {
    for (let i = 0; i < n; i++) yield* yieldNow();
  });
}

describe("future / asyncFn: running the body", () => {
  test("future() does not run the body until the first poll", () => {
    let runs = 0;
    const fut = future(function* () {
      runs++;
      return 1;
    });
    assert.equal(runs, 0);
    const task = new MockTask(fut);
    assert.equal(assertReady(task.poll()), 1);
    assert.equal(runs, 1);
  });

  test("asyncFn() calls do not run the body until polled; arguments reach the body", () => {
    const seen: unknown[][] = [];
    const add = asyncFn(function* (a: number, b: string) {
      seen.push([a, b]);
      return `${a}${b}`;
    });
    const f1 = add(1, "x");
    const f2 = add(2, "y");
    assert.deepEqual(seen, []);
    assert.equal(assertReady(new MockTask(f2).poll()), "2y");
    assert.deepEqual(seen, [[2, "y"]]);
    assert.equal(assertReady(new MockTask(f1).poll()), "1x");
    assert.deepEqual(seen, [
      [2, "y"],
      [1, "x"],
    ]);
  });

  test("asyncFn passes `this` through to the generator", () => {
    const obj = {
      base: 10,
      plus: asyncFn(function* (this: { base: number }, n: number) {
        return this.base + n;
      }),
    };
    assert.equal(assertReady(new MockTask(obj.plus(5)).poll()), 15);
  });

  test("yield* evaluates to the awaited future's output", () => {
    const fut = future(function* () {
      const a = yield* ready(2);
      const b = yield* ready("three");
      return [a, b] as const;
    });
    assert.deepEqual(assertReady(new MockTask(fut).poll()), [2, "three"]);
  });

  test("the body runs up to the first pending future and resumes with its value", () => {
    const leaf = new Leaf<number>();
    const log: string[] = [];
    const fut = future(function* () {
      log.push("start");
      const v = yield* leaf;
      log.push(`got ${v}`);
      return v * 2;
    });
    const task = new MockTask(fut);
    assertPending(task.poll());
    assert.deepEqual(log, ["start"]);
    assert.equal(task.isWoken(), false);
    assertPending(task.poll()); // a spurious poll
    assert.deepEqual(log, ["start"]);
    leaf.resolve(21);
    assert.equal(task.isWoken(), true);
    assert.equal(assertReady(task.poll()), 42);
    assert.deepEqual(log, ["start", "got 21"]);
    assert.equal(leaf.polls, 3);
    assert.equal(leaf.pollsAfterEnd, 0);
  });

  test("returning without awaiting anything completes on the first poll", () => {
    const fut = future(function* () {
      return "done";
    });
    assert.equal(assertReady(new MockTask(fut).poll()), "done");
  });

  test("a generator returning undefined completes with undefined", () => {
    const fut = future(function* () {
      yield* ready(1);
    });
    assert.equal(assertReady(new MockTask(fut).poll()), undefined);
  });

  test("nested generators: inner outputs flow outward, three levels deep", () => {
    const leaf = new Leaf<number>();
    const inner = asyncFn(function* (n: number) {
      const v = yield* leaf;
      return v + n;
    });
    const middle = asyncFn(function* () {
      const a = yield* inner(1);
      const b = yield* ready(100);
      return a + b;
    });
    const outer = future(function* () {
      const m = yield* middle();
      return `result ${m}`;
    });
    const task = new MockTask(outer);
    assertPending(task.poll());
    leaf.resolve(10);
    assert.equal(task.isWoken(), true);
    assert.equal(assertReady(task.poll()), "result 111");
  });

  test("plain helper generators delegated with yield* can await futures and return values", () => {
    const leaf = new Leaf<number>();
    function* helper(n: number): Generator<Future<unknown>, number, unknown> {
      const v = yield* leaf;
      const w = yield* ready(n);
      return v + w;
    }
    const fut = future(function* () {
      const a = yield* helper(1);
      return a * 2;
    });
    const task = new MockTask(fut);
    assertPending(task.poll());
    leaf.resolve(20);
    assert.equal(assertReady(task.poll()), 42);
  });

  test("cancellation runs a helper generator's async finally, innermost first", () => {
    const log: string[] = [];
    const cleanup = new Leaf();
    function* helper(): Generator<Future<unknown>, void, unknown> {
      try {
        yield* pending();
      } finally {
        log.push("helper start");
        yield* cleanup;
        log.push("helper end");
      }
    }
    const fut = future(function* () {
      try {
        yield* helper();
      } finally {
        log.push("outer");
      }
    });
    const task = new MockTask(fut);
    assertPending(task.poll());
    assertPending(task.pollDrop());
    assert.deepEqual(log, ["helper start"]);
    cleanup.resolve();
    assert.equal(task.pollDrop(), undefined);
    assert.deepEqual(log, ["helper start", "helper end", "outer"]);
  });

  test("many sequential awaits, ready and pending mixed, resume with the right values", async () => {
    const rt = new Runtime();
    const out = await rt.run(
      future(function* () {
        const values: number[] = [];
        for (let i = 0; i < 50; i++) {
          values.push(yield* ready(i));
          if (i % 7 === 0) yield* yieldNow();
          values.push(
            yield* future(function* () {
              if (i % 3 === 0) yield* yieldNow();
              return -i;
            }),
          );
        }
        return values;
      }),
    );
    assert.deepEqual(out, Array.from({ length: 50 }, (_, i) => [i, -i]).flat());
  });

  test("a select inside a body drops a loser with a multi-step async finally; the body then continues", async () => {
    const rt = new Runtime();
    const log: string[] = [];
    const out = await rt.run(
      future(function* () {
        const loser = future(function* () {
          try {
            yield* pending();
          } finally {
            for (let i = 0; i < 3; i++) {
              yield* yieldNow();
              log.push(`loser step ${i}`);
            }
          }
        });
        const { index } = yield* select([loser, ready("w")], { biased: true });
        const a = yield* ready(1);
        yield* yieldNow();
        const b = yield* future(function* () {
          yield* yieldNow();
          return 2;
        });
        return [index, a, b];
      }),
    );
    assert.deepEqual(out, [1, 1, 2]);
    assert.deepEqual(log, ["loser step 0", "loser step 1", "loser step 2"]);
  });

  test("runs on a runtime: blockOn and run", async () => {
    const double = asyncFn(function* (n: number) {
      yield* yieldNow();
      return n * 2;
    });
    const rt = new Runtime();
    assert.equal(rt.blockOn(double(4)), 8);
    assert.equal(await rt.run(double(5)), 10);
  });
});

describe("future / asyncFn: errors", () => {
  test("an error thrown by an awaited future (after Pending) is catchable in the generator", () => {
    const leaf = new Leaf<number>();
    const boom = new Error("boom");
    const caught: unknown[] = [];
    const fut = future(function* () {
      try {
        yield* leaf;
        return "not reached";
      } catch (error) {
        caught.push(error);
        return "recovered";
      }
    });
    const task = new MockTask(fut);
    assertPending(task.poll());
    leaf.reject(boom);
    assert.equal(assertReady(task.poll()), "recovered");
    assert.deepEqual(caught, [boom]);
  });

  test("an error thrown synchronously by the first poll of an awaited future is catchable", () => {
    const boom = new Error("sync boom");
    const throwing = future<number>(function* () {
      throw boom;
    });
    const fut = future(function* () {
      try {
        return yield* throwing;
      } catch (error) {
        return error === boom ? -1 : -2;
      }
    });
    assert.equal(assertReady(new MockTask(fut).poll()), -1);
  });

  test("an uncaught error propagates through nested generators, running finally blocks", () => {
    const leaf = new Leaf<number>();
    const boom = new Error("deep");
    const log: string[] = [];
    const inner = future(function* () {
      try {
        yield* leaf;
      } finally {
        log.push("inner finally");
      }
    });
    const outer = future(function* () {
      try {
        yield* inner;
      } finally {
        log.push("outer finally");
      }
    });
    const task = new MockTask(outer);
    assertPending(task.poll());
    leaf.reject(boom);
    assert.throws(
      () => task.poll(),
      (e) => e === boom,
    );
    assert.deepEqual(log, ["inner finally", "outer finally"]);
  });

  test("an error thrown by the body itself is thrown by poll", () => {
    const boom = new Error("body");
    const fut = future(function* () {
      yield* ready(1);
      throw boom;
    });
    assert.throws(
      () => new MockTask(fut).poll(),
      (e) => e === boom,
    );
  });

  test("yielding a non-future throws InvalidArgumentError into the generator at the yield", () => {
    const caught: unknown[] = [];
    const fut = future(function* badYield() {
      try {
        yield 5 as never;
      } catch (error) {
        caught.push(error);
      }
      const after = yield* ready("continues");
      return after;
    });
    assert.equal(assertReady(new MockTask(fut).poll()), "continues");
    assert.equal(caught.length, 1);
    const error = caught[0];
    assert.ok(isInvalidArgument(error), String(error));
    assert.match(error.message, /badYield/);
    assert.match(error.message, /number 5/);
    assert.match(error.message, /yield\*/);
  });

  test("yielding a Promise throws InvalidArgumentError suggesting fromPromise", () => {
    const fut = future(function* () {
      yield Promise.resolve(1) as never;
    });
    assert.throws(
      () => new MockTask(fut).poll(),
      (e) => isInvalidArgument(e) && /a Promise/.test(e.message) && /fromPromise/.test(e.message),
    );
  });

  test("yielding a non-future after a pending step is also reported at the yield", () => {
    const leaf = new Leaf();
    const fut = future(function* () {
      yield* leaf;
      yield "oops" as never;
    });
    const task = new MockTask(fut);
    assertPending(task.poll());
    leaf.resolve();
    assert.throws(
      () => task.poll(),
      (e) => isInvalidArgument(e) && /the string "oops"/.test(e.message),
    );
  });

  test("future() and asyncFn() reject a non-function with InvalidArgumentError", () => {
    assert.throws(
      () => future(42 as never),
      (e) => isInvalidArgument(e) && /future/.test(e.message) && /number 42/.test(e.message),
    );
    assert.throws(
      () => asyncFn("nope" as never),
      (e) => isInvalidArgument(e) && /asyncFn/.test(e.message),
    );
    assert.throws(() => future(null as never), isInvalidArgument);
    assert.throws(() => asyncFn(undefined as never), isInvalidArgument);
  });

  test("a plain function that returns no generator is rejected with InvalidArgumentError", () => {
    assert.throws(
      () => future((() => 5) as never),
      (e) => isInvalidArgument(e) && /generator function/.test(e.message),
    );
    const fn = asyncFn((() => ({ not: "a generator" })) as never);
    assert.throws(() => fn(), isInvalidArgument);
  });

  test("polling after completion throws WakerContractError", () => {
    const fut = future(function* () {
      return 1;
    });
    const task = new MockTask(fut);
    assert.equal(assertReady(task.poll()), 1);
    assert.throws(() => task.poll(), isContractError);
  });

  test("polling after the body threw throws WakerContractError", () => {
    const fut = future(function* () {
      throw new Error("x");
    });
    const task = new MockTask(fut);
    assert.throws(() => task.poll(), /x/);
    assert.throws(() => task.poll(), isContractError);
  });

  test("polling after drop throws WakerContractError and does not run the body", () => {
    let runs = 0;
    const fut = future(function* () {
      runs++;
    });
    fut.drop();
    assert.throws(() => fut.poll(noopContext()), isContractError);
    assert.equal(runs, 0);
  });

  test("awaiting a finished generator future again throws WakerContractError into the awaiter", () => {
    const once = future(function* () {
      return 1;
    });
    const fut = future(function* () {
      const a = yield* once;
      try {
        yield* once;
        return "not reached";
      } catch (error) {
        return isContractError(error) ? `contract after ${a}` : "other";
      }
    });
    assert.equal(assertReady(new MockTask(fut).poll()), "contract after 1");
  });
});

describe("cancellation of generator futures", () => {
  test("drop() runs the finally block exactly once and drops the awaited leaf", () => {
    const leaf = new Leaf();
    let finallies = 0;
    let after = 0;
    const fut = future(function* () {
      try {
        yield* leaf;
        after++;
      } finally {
        finallies++;
      }
    });
    const task = new MockTask(fut);
    assertPending(task.poll());
    assert.equal(task.wakerRefCount, 1);
    fut.drop();
    assert.equal(finallies, 1);
    assert.equal(after, 0);
    assert.equal(leaf.drops, 1);
    assert.equal(task.wakerRefCount, 0, "the leaf released its waker clone");
    fut.drop();
    assert.equal(finallies, 1, "a second drop is a no-op");
    assert.equal(leaf.drops, 1);
    assert.equal(task.pollDrop(), undefined);
    assert.equal(finallies, 1);
  });

  test("pollDrop() runs a synchronous finally exactly once and is done at once", () => {
    const leaf = new Leaf();
    let finallies = 0;
    const task = new MockTask(
      future(function* () {
        try {
          yield* leaf;
        } finally {
          finallies++;
        }
      }),
    );
    assertPending(task.poll());
    assert.equal(task.pollDrop(), undefined);
    assert.equal(task.pollDrop(), undefined);
    assert.equal(finallies, 1);
    assert.equal(leaf.drops, 1);
  });

  test("dropping before the first poll runs nothing: no body, no finally", () => {
    let body = 0;
    let finallies = 0;
    const make = () =>
      future(function* () {
        try {
          body++;
          yield* pending();
        } finally {
          finallies++;
        }
      });
    make().drop();
    assert.equal(new MockTask(make()).pollDrop(), undefined);
    assert.equal(body, 0);
    assert.equal(finallies, 0);
  });

  test("dropping after completion does not run the finally again", () => {
    let finallies = 0;
    const fut = future(function* () {
      try {
        return yield* ready(1);
      } finally {
        finallies++;
      }
    });
    const task = new MockTask(fut);
    assert.equal(assertReady(task.poll()), 1);
    assert.equal(finallies, 1);
    fut.drop();
    assert.equal(task.pollDrop(), undefined);
    assert.equal(finallies, 1);
  });

  test("nested generators: the leaf is dropped first, then the inner finally, then the outer", () => {
    const log: string[] = [];
    const leaf = new (class extends Leaf {
      override drop(): void {
        log.push("leaf dropped");
        super.drop();
      }
    })();
    const inner = future(function* () {
      try {
        yield* leaf;
      } finally {
        log.push("inner finally");
      }
    });
    const outer = future(function* () {
      try {
        try {
          yield* inner;
        } finally {
          log.push("outer finally 1");
        }
      } finally {
        log.push("outer finally 2");
      }
    });
    const task = new MockTask(outer);
    assertPending(task.poll());
    outer.drop();
    assert.deepEqual(log, ["leaf dropped", "inner finally", "outer finally 1", "outer finally 2"]);
    outer.drop();
    assert.equal(log.length, 4);
  });

  test("a catch block does not run on cancellation, only finally", () => {
    const log: string[] = [];
    const fut = future(function* () {
      try {
        yield* new Leaf();
      } catch {
        log.push("catch");
      } finally {
        log.push("finally");
      }
      log.push("after");
    });
    const task = new MockTask(fut);
    assertPending(task.poll());
    fut.drop();
    assert.deepEqual(log, ["finally"]);
  });

  test("async finally: pollDrop is Pending until the awaited cleanup is ready, then done", () => {
    const body = new Leaf();
    const cleanup = new Leaf<string>();
    const log: string[] = [];
    const fut = future(function* () {
      try {
        yield* body;
      } finally {
        log.push("cleanup start");
        const r = yield* cleanup;
        log.push(`cleanup end ${r}`);
      }
    });
    const task = new MockTask(fut);
    assertPending(task.poll());
    assertPending(task.pollDrop());
    assert.deepEqual(log, ["cleanup start"]);
    assert.equal(body.drops, 1);
    assert.equal(cleanup.polls, 1);
    assert.equal(task.isWoken(), false);
    assertPending(task.pollDrop()); // spurious
    assert.equal(cleanup.polls, 2);
    cleanup.resolve("ok");
    assert.equal(task.isWoken(), true);
    assert.equal(task.pollDrop(), undefined);
    assert.deepEqual(log, ["cleanup start", "cleanup end ok"]);
    assert.equal(task.pollDrop(), undefined);
    assert.equal(cleanup.polls, 3);
    assert.equal(cleanup.pollsAfterEnd, 0);
    assert.equal(log.length, 2);
    assert.throws(() => task.poll(), isContractError);
  });

  test("async finally with several awaits, some ready at once, runs to its end", () => {
    const gates = [new Leaf<number>(), new Leaf<number>()];
    let sum = 0;
    let ends = 0;
    const fut = future(function* () {
      try {
        yield* pending();
      } finally {
        sum += yield* ready(1);
        sum += yield* gates[0]!;
        sum += yield* ready(10);
        sum += yield* gates[1]!;
        ends++;
      }
    });
    const task = new MockTask(fut);
    assertPending(task.poll());
    assertPending(task.pollDrop());
    gates[0]!.resolve(100);
    assertPending(task.pollDrop());
    gates[1]!.resolve(1000);
    assert.equal(task.pollDrop(), undefined);
    assert.equal(sum, 1111);
    assert.equal(ends, 1);
  });

  test("nested async finally: the outer finally waits for the inner cleanup to finish", () => {
    const log: string[] = [];
    const innerCleanup = new Leaf();
    const outerCleanup = new Leaf();
    const inner = future(function* () {
      try {
        yield* pending();
      } finally {
        log.push("inner start");
        yield* innerCleanup;
        log.push("inner end");
      }
    });
    const outer = future(function* () {
      try {
        yield* inner;
      } finally {
        log.push("outer start");
        yield* outerCleanup;
        log.push("outer end");
      }
    });
    const task = new MockTask(outer);
    assertPending(task.poll());
    assertPending(task.pollDrop());
    assert.deepEqual(log, ["inner start"]);
    assertPending(task.pollDrop());
    assert.deepEqual(log, ["inner start"]);
    innerCleanup.resolve();
    assertPending(task.pollDrop());
    assert.deepEqual(log, ["inner start", "inner end", "outer start"]);
    outerCleanup.resolve();
    assert.equal(task.pollDrop(), undefined);
    assert.deepEqual(log, ["inner start", "inner end", "outer start", "outer end"]);
  });

  test("an error awaited in an async finally is catchable there", () => {
    const cleanup = new Leaf();
    const log: string[] = [];
    const fut = future(function* () {
      try {
        yield* pending();
      } finally {
        try {
          yield* cleanup;
        } catch (error) {
          log.push(`caught ${(error as Error).message}`);
        }
        log.push("end");
      }
    });
    const task = new MockTask(fut);
    assertPending(task.poll());
    assertPending(task.pollDrop());
    cleanup.reject(new Error("close failed"));
    assert.equal(task.pollDrop(), undefined);
    assert.deepEqual(log, ["caught close failed", "end"]);
  });

  test("an error thrown by a finally during pollDrop is rethrown, once", () => {
    const cleanup = new Leaf();
    const boom = new Error("cleanup failed");
    let finallies = 0;
    const fut = future(function* () {
      try {
        yield* pending();
      } finally {
        finallies++;
        yield* cleanup;
        // biome-ignore lint/correctness/noUnsafeFinally: the point of the test
        throw boom;
      }
    });
    const task = new MockTask(fut);
    assertPending(task.poll());
    assertPending(task.pollDrop());
    cleanup.resolve();
    assert.throws(
      () => task.pollDrop(),
      (e) => e === boom,
    );
    assert.equal(finallies, 1);
    assert.equal(task.pollDrop(), undefined, "done after reporting the error");
  });

  test("an error thrown synchronously by a finally is rethrown by drop()", () => {
    const boom = new Error("sync cleanup failed");
    let finallies = 0;
    const fut = future(function* () {
      try {
        yield* pending();
      } finally {
        finallies++;
        // biome-ignore lint/correctness/noUnsafeFinally: the point of the test
        throw boom;
      }
    });
    const task = new MockTask(fut);
    assertPending(task.poll());
    assert.throws(
      () => fut.drop(),
      (e) => e === boom,
    );
    fut.drop();
    assert.equal(finallies, 1);
  });

  test("an error awaited (and not caught) in an async finally is rethrown by pollDrop", () => {
    const cleanup = new Leaf();
    const boom = new Error("awaited cleanup error");
    const fut = future(function* () {
      try {
        yield* pending();
      } finally {
        yield* cleanup;
      }
    });
    const task = new MockTask(fut);
    assertPending(task.poll());
    assertPending(task.pollDrop());
    cleanup.reject(boom);
    assert.throws(
      () => task.pollDrop(),
      (e) => e === boom,
    );
  });

  test("the inner cleanup error and the outer finally error are both reported", () => {
    const innerError = new Error("inner cleanup");
    const outerError = new Error("outer cleanup");
    let outerFinallies = 0;
    const inner = future(function* () {
      try {
        yield* pending();
      } finally {
        // biome-ignore lint/correctness/noUnsafeFinally: the point of the test
        throw innerError;
      }
    });
    const outer = future(function* () {
      try {
        yield* inner;
      } finally {
        outerFinallies++;
        // biome-ignore lint/correctness/noUnsafeFinally: the point of the test
        throw outerError;
      }
    });
    const task = new MockTask(outer);
    assertPending(task.poll());
    let thrown: unknown;
    try {
      task.pollDrop();
    } catch (error) {
      thrown = error;
    }
    assert.ok(thrown instanceof AggregateError, String(thrown));
    assert.deepEqual(thrown.errors, [innerError, outerError]);
    assert.equal(outerFinallies, 1, "the outer finally still ran after the inner cleanup failed");
  });

  test("yielding a non-future in a finally during cancellation is reported by pollDrop", () => {
    const fut = future(function* () {
      try {
        yield* pending();
      } finally {
        yield 7 as never;
      }
    });
    const task = new MockTask(fut);
    assertPending(task.poll());
    assert.throws(() => task.pollDrop(), isInvalidArgument);
  });

  test("drop() outside a runtime: async cleanup still runs to its end, exactly once", async () => {
    new Runtime(); // installs the orphan cleanup handler (the default runtime adopts the cleanup)
    const log: string[] = [];
    const fut = future(function* () {
      try {
        yield* pending();
      } finally {
        log.push("start");
        yield* yieldNow();
        yield* yieldNow();
        log.push("end");
      }
    });
    assertPending(fut.poll(noopContext()));
    fut.drop();
    assert.deepEqual(log, ["start"], "the synchronous part ran inside drop()");
    fut.drop();
    // Let the default runtime drain: a root that yields until the cleanup has finished.
    let spins = 0;
    await getDefaultRuntime().run(
      future(function* () {
        while (log.length < 2 && spins < 100) {
          spins++;
          yield* yieldNow();
        }
      }),
    );
    assert.deepEqual(log, ["start", "end"]);
    assert.ok(spins < 100, "the cleanup finished");
  });

  test("drop() inside a task: the runtime finishes the async cleanup exactly once", async () => {
    const rt = new Runtime();
    const log: string[] = [];
    const gate = new Leaf();
    await rt.run(
      future(function* () {
        const child = future(function* () {
          try {
            yield* pending();
          } finally {
            log.push("start");
            yield* gate;
            log.push("end");
          }
        });
        assertPending(child.poll(noopContext()));
        child.drop(); // synchronous drop in the middle of a task
        log.push("task continues");
        yield* yieldNow();
      }),
    );
    assert.deepEqual(log, ["start", "task continues"]);
    assert.ok(gate.hasWaker, "the cleanup task is waiting on the gate");
    gate.resolve();
    await rt.run(ticks(3));
    assert.deepEqual(log, ["start", "task continues", "end"]);
    assert.equal(gate.pollsAfterEnd, 0);
    assert.equal(rt.dump().tasks.length, 0, `no cleanup task is left: ${rt.dump().toString()}`);
  });

  test("drop() inside a generator body suspends at a finally's yieldNow, as it does elsewhere", () => {
    // Outside any async block, drop() runs the cleanup up to its first Pending and hands the rest
    // to the runtime. Called from inside a generator body, it must do the same.
    const rt = new Runtime();
    const make = (log: string[]) =>
      future(function* () {
        try {
          yield* pending();
        } finally {
          log.push("start");
          yield* yieldNow();
          log.push("after yieldNow");
        }
      });

    const outsideLog: string[] = [];
    const outside = make(outsideLog);
    rt.blockOn(
      pollFn(() => {
        assertPending(outside.poll(noopContext()));
        outside.drop();
        outsideLog.push("drop returned");
        return 0;
      }),
    );

    const insideLog: string[] = [];
    const inside = make(insideLog);
    rt.blockOn(
      future(function* () {
        assertPending(inside.poll(noopContext()));
        inside.drop();
        insideLog.push("drop returned");
      }),
    );
    for (let i = 0; i < 5; i++) rt.blockOn(yieldNow());

    assert.deepEqual(outsideLog, ["start", "drop returned", "after yieldNow"]);
    assert.deepEqual(insideLog, outsideLog);
  });

  test("drop() inside a generator body polls the cleanup's awaited future once, not with the enclosing task's waker", () => {
    const rt = new Runtime();
    const seen: unknown[] = [];
    const probe = pollFn<void>((cx) => {
      seen.push(cx.waker.data);
      return Pending;
    });
    const child = future(function* () {
      try {
        yield* pending();
      } finally {
        yield* probe;
      }
    });
    let enclosing: unknown = null;
    let pollsDuringDrop = -1;
    rt.blockOn(
      future(function* () {
        yield* pollFn((cx) => {
          enclosing = cx.waker.data;
          return undefined;
        });
        assertPending(child.poll(noopContext()));
        child.drop();
        pollsDuringDrop = seen.length;
      }),
    );
    assert.ok(enclosing !== null);
    assert.equal(
      seen.filter((d) => d === enclosing).length,
      0,
      "the enclosing task's waker was handed to the dropped future's cleanup",
    );
    assert.equal(pollsDuringDrop, 1, `polled ${pollsDuringDrop} times by drop()`);
  });

  test("drop() twice while async cleanup is in flight starts one cleanup, leaks no task", () => {
    const rt = new Runtime();
    const log: string[] = [];
    const gate = new Leaf();
    const child = future(function* () {
      try {
        yield* pending();
      } finally {
        log.push("start");
        yield* gate;
        log.push("end");
      }
    });
    rt.blockOn(
      pollFn(() => {
        assertPending(child.poll(noopContext()));
        child.drop();
        child.drop();
        return 0;
      }),
    );
    rt.blockOn(yieldNow()); // the runtime polls the cleanup: it now waits on the gate
    gate.resolve();
    for (let i = 0; i < 5; i++) rt.blockOn(yieldNow());
    assert.deepEqual(log, ["start", "end"]);
    assert.equal(rt.dump().tasks.length, 0, `no task is left: ${rt.dump().toString()}`);
  });

  test("an orphaned cleanup's error is reported by the runtime, not swallowed", async () => {
    const reported: unknown[] = [];
    const rt = new Runtime({ onUnhandledError: (error) => reported.push(error) });
    const boom = new Error("late cleanup error");
    const gate = new Leaf();
    await rt.run(
      future(function* () {
        const child = future(function* () {
          try {
            yield* pending();
          } finally {
            yield* gate;
            // biome-ignore lint/correctness/noUnsafeFinally: the point of the test
            throw boom;
          }
        });
        assertPending(child.poll(noopContext()));
        child.drop();
        yield* ticks(3);
      }),
    );
    assert.deepEqual(reported, []);
    gate.resolve();
    await rt.run(ticks(3));
    assert.deepEqual(reported, [boom]);
  });

  test("aborting a task drives its async finally to its end, exactly once", async () => {
    const rt = new Runtime();
    const log: string[] = [];
    const handle = rt.spawn(
      future(function* () {
        try {
          yield* pending();
        } finally {
          log.push("start");
          yield* ticks(3);
          log.push("end");
        }
      }),
    );
    await rt.run(ticks(2));
    handle.abort();
    handle.abort();
    await assert.rejects(rt.run(handle));
    assert.deepEqual(log, ["start", "end"]);
  });

  test("[Symbol.dispose] drops the future (using)", () => {
    let finallies = 0;
    const fut = future(function* () {
      try {
        yield* pending();
      } finally {
        finallies++;
      }
    });
    assertPending(fut.poll(noopContext()));
    fut[Symbol.dispose]();
    fut[Symbol.dispose]();
    assert.equal(finallies, 1);
  });

  test("cancelled while already inside an async finally, a shielded cleanup still runs to its end", () => {
    // The body has finished and its finally is awaiting cleanup when the owner cancels. JavaScript's
    // gen.return() would cut that finally short at its yield*; shield() defers the cancellation
    // until the cleanup is done, and the block resumes after it.
    const cleanup = new Leaf();
    const log: string[] = [];
    const fut = future(function* () {
      try {
        return "value";
      } finally {
        log.push("cleanup start");
        yield* shield(cleanup);
        log.push("cleanup end");
      }
    });
    const task = new MockTask(fut);
    assertPending(task.poll());
    assert.deepEqual(log, ["cleanup start"]);
    assertPending(task.pollDrop());
    cleanup.resolve();
    assert.equal(task.pollDrop(), undefined);
    assert.deepEqual(log, ["cleanup start", "cleanup end"]);
  });

  test("cancelled while already inside an async finally, an unshielded yield* there is cut short (gen.return semantics)", () => {
    const cleanup = new Leaf();
    const log: string[] = [];
    const fut = future(function* () {
      try {
        try {
          return "value";
        } finally {
          log.push("inner cleanup start");
          yield* cleanup;
          log.push("inner cleanup end");
        }
      } finally {
        log.push("outer finally");
      }
    });
    const task = new MockTask(fut);
    assertPending(task.poll());
    assert.equal(task.pollDrop(), undefined);
    assert.deepEqual(log, ["inner cleanup start", "outer finally"]);
    assert.equal(cleanup.drops, 1, "the awaited cleanup future was dropped");
  });

  test("shield: cancellation waits for the shielded future, then takes effect at the next yield*", () => {
    const shielded = new Leaf<number>();
    const log: string[] = [];
    const fut = future(function* () {
      try {
        const n = yield* shield(shielded);
        log.push(`got ${n}`);
        yield* pending();
        log.push("never");
      } finally {
        log.push("finally");
      }
    });
    const task = new MockTask(fut);
    assertPending(task.poll());
    assertPending(task.pollDrop());
    assert.deepEqual(log, []);
    shielded.resolve(5);
    assert.equal(task.pollDrop(), undefined);
    assert.deepEqual(log, ["got 5", "finally"]);
  });
});
