import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  type Future,
  future,
  InvalidArgumentError,
  Pending,
  pending,
  Runtime,
  race,
  ready,
  select,
  shield,
  yieldNow,
} from "../../src/index.js";
import { assertPending, assertReady, MockTask } from "../../src/testing/index.js";
import { Leaf } from "./leaf.js";

function isInvalidArgument(error: unknown): boolean {
  return error instanceof InvalidArgumentError && error.code === "INVALID_ARGUMENT";
}

/** A generator awaiting `leaf`, whose finally logs and counts. */
function branch<T>(
  name: string,
  leaf: Future<T>,
  log: string[],
  cleanup?: Future<unknown>,
): Future<T> {
  return future(function* () {
    try {
      return yield* leaf;
    } finally {
      log.push(`${name} finally`);
      if (cleanup !== undefined) {
        yield* cleanup;
        log.push(`${name} cleaned`);
      }
    }
  });
}

/** `count` selects over `width` branches that are all ready at once; the winning indexes. */
function winners(rt: Runtime, count: number, width: number): number[] {
  return rt.blockOn(
    future(function* () {
      const out: number[] = [];
      for (let i = 0; i < count; i++) {
        const { index } = yield* select(Array.from({ length: width }, (_, k) => ready(k)));
        out.push(index);
      }
      return out;
    }),
  );
}

describe("select", () => {
  test("completes with { index, value } of the branch that completes", () => {
    const a = new Leaf<number>();
    const b = new Leaf<string>();
    const task = new MockTask(select([a, b]));
    assertPending(task.poll());
    b.resolve("b wins");
    assert.equal(task.isWoken(), true);
    const r = assertReady(task.poll());
    assert.deepEqual(r, { index: 1, value: "b wins" });
    assert.equal(a.drops, 1, "the loser is dropped");
    assert.equal(b.drops, 0);
    assert.equal(a.pollsAfterEnd + b.pollsAfterEnd, 0);
  });

  test("losers are dropped and their finally runs exactly once", () => {
    const log: string[] = [];
    const leaves = [new Leaf<number>(), new Leaf<number>(), new Leaf<number>()];
    const fut = select(leaves.map((l, i) => branch(String(i), l, log)));
    const task = new MockTask(fut);
    assertPending(task.poll());
    leaves[2]!.resolve(2);
    assert.deepEqual(assertReady(task.poll()), { index: 2, value: 2 });
    assert.deepEqual([...log].sort(), ["0 finally", "1 finally", "2 finally"]);
    fut.drop();
    assert.equal(log.length, 3);
  });

  test("losers' async cleanup has finished before select returns", () => {
    const log: string[] = [];
    const cleanup0 = new Leaf();
    const cleanup1 = new Leaf();
    const winner = new Leaf<string>();
    const task = new MockTask(
      future(function* () {
        const r = yield* select([
          branch("loser0", pending(), log, cleanup0),
          branch("loser1", pending(), log, cleanup1),
          branch("winner", winner, log),
        ]);
        log.push("select returned");
        return r;
      }),
    );
    assertPending(task.poll());
    winner.resolve("w");
    assertPending(task.poll());
    assert.deepEqual([...log].sort(), ["loser0 finally", "loser1 finally", "winner finally"]);
    cleanup1.resolve();
    assert.equal(task.isWoken(), true);
    assertPending(task.poll());
    cleanup0.resolve();
    assert.deepEqual(assertReady(task.poll()), { index: 2, value: "w" });
    assert.equal(log.indexOf("select returned"), log.length - 1);
    assert.ok(log.indexOf("loser0 cleaned") >= 0 && log.indexOf("loser1 cleaned") >= 0);
    assert.equal(log.filter((l) => l === "loser0 finally").length, 1);
    assert.equal(log.filter((l) => l === "loser0 cleaned").length, 1);
  });

  test("in a runtime: the loser's async cleanup completes before select returns", async () => {
    const log: string[] = [];
    const r = await new Runtime().run(
      future(function* () {
        const loser = future(function* () {
          try {
            yield* pending();
          } finally {
            yield* yieldNow();
            yield* yieldNow();
            log.push("loser cleaned");
          }
        });
        const winner = future(function* () {
          yield* yieldNow();
          log.push("winner");
          return 7;
        });
        const s = yield* select([loser, winner]);
        log.push("select returned");
        return s;
      }),
    );
    assert.deepEqual(r, { index: 1, value: 7 });
    assert.deepEqual(log, ["winner", "loser cleaned", "select returned"]);
  });

  test("biased: polls in order, the first ready branch wins and later ones are not polled", () => {
    const later = new Leaf<number>();
    let firstPolls = 0;
    const first = future(function* () {
      firstPolls++;
      return "first";
    });
    const task = new MockTask(select([pending<string>(), first, later], { biased: true }));
    assert.deepEqual(assertReady(task.poll()), { index: 1, value: "first" });
    assert.equal(firstPolls, 1);
    assert.equal(later.polls, 0, "branches after the winner are not polled");
    assert.equal(later.drops, 1, "but they are dropped");
  });

  test("biased: with every branch ready, index 0 always wins", () => {
    const rt = new Runtime({ seed: 1 });
    const out = rt.blockOn(
      future(function* () {
        const seen: number[] = [];
        for (let i = 0; i < 50; i++) {
          const { index } = yield* select([ready("a"), ready("b"), ready("c")], { biased: true });
          seen.push(index);
        }
        return seen;
      }),
    );
    assert.deepEqual(out, new Array(50).fill(0));
  });

  test("unbiased: the start branch is random, reproducible with the runtime's seed", () => {
    const a = winners(new Runtime({ seed: 42 }), 200, 4);
    const b = winners(new Runtime({ seed: 42 }), 200, 4);
    assert.deepEqual(a, b, "same seed, same winners");
    for (let k = 0; k < 4; k++) {
      const count = a.filter((i) => i === k).length;
      assert.ok(count > 20, `branch ${k} won ${count} of 200 times: no branch starves`);
    }
    const c = winners(new Runtime({ seed: 43 }), 200, 4);
    assert.notDeepEqual(a, c, "another seed, another sequence");
  });

  test("a seeded runtime replays the same select winners across run() and blockOn()", async () => {
    const viaRun = await new Runtime({ seed: 7 }).run(
      future(function* () {
        const out: number[] = [];
        for (let i = 0; i < 30; i++) {
          out.push((yield* select([ready(0), ready(1), ready(2)])).index);
          yield* yieldNow();
        }
        return out;
      }),
    );
    const viaBlockOn = winners(new Runtime({ seed: 7 }), 30, 3);
    assert.deepEqual(viaRun, viaBlockOn);
  });

  test("selects polled outside any runtime do not consume a seeded runtime's random numbers", () => {
    const reference = winners(new Runtime({ seed: 9 }), 40, 3).slice(20);
    const rt = new Runtime({ seed: 9 });
    const firstHalf = winners(rt, 20, 3);
    assert.equal(firstHalf.length, 20);
    // Polled by hand, outside the runtime: must use Math.random, not the runtime's sequence.
    for (let i = 0; i < 10; i++) {
      new MockTask(select([ready(0), ready(1), ready(2)])).poll();
    }
    assert.deepEqual(winners(rt, 20, 3), reference);
  });

  test("an error from a branch propagates after the others are dropped (async cleanup included)", () => {
    const log: string[] = [];
    const cleanup = new Leaf();
    const failing = new Leaf<number>();
    const boom = new Error("branch failed");
    const task = new MockTask(
      future(function* () {
        try {
          return yield* select([branch("loser", pending<number>(), log, cleanup), failing]);
        } catch (error) {
          log.push("caught");
          throw error;
        }
      }),
    );
    assertPending(task.poll());
    failing.reject(boom);
    assertPending(task.poll(), "waits for the loser's cleanup");
    assert.deepEqual(log, ["loser finally"]);
    cleanup.resolve();
    assert.throws(
      () => task.poll(),
      (e) => e === boom,
    );
    assert.deepEqual(log, ["loser finally", "loser cleaned", "caught"]);
  });

  test("a loser's cleanup error is thrown by select (not swallowed)", () => {
    const boom = new Error("loser cleanup");
    const loser = future(function* () {
      try {
        yield* pending();
      } finally {
        // biome-ignore lint/correctness/noUnsafeFinally: the point of the test
        throw boom;
      }
    });
    const task = new MockTask(select([loser, ready(1)], { biased: true }));
    // Branch 0 is polled (pending) before branch 1 wins, so it has started and its finally runs.
    assert.throws(
      () => task.poll(),
      (e) => e === boom,
    );
  });

  test("when a branch fails, a loser's cleanup error is not swallowed", () => {
    const branchError = new Error("branch failed");
    const cleanupError = new Error("loser cleanup failed");
    const failing = new Leaf();
    const loser = future(function* () {
      try {
        yield* pending();
      } finally {
        // biome-ignore lint/correctness/noUnsafeFinally: the point of the test
        throw cleanupError;
      }
    });
    const task = new MockTask(select([loser, failing], { biased: true }));
    assertPending(task.poll());
    failing.reject(branchError);
    // The branch error is thrown; the loser's cleanup error goes to the runtime's reporter
    // (outside a runtime: the default runtime's, which prints with console.error).
    const printed: unknown[] = [];
    const original = console.error;
    console.error = (...args: unknown[]) => printed.push(...args);
    let thrown: unknown;
    try {
      task.poll();
    } catch (error) {
      thrown = error;
    } finally {
      console.error = original;
    }
    assert.equal(thrown, branchError, "the branch error is thrown");
    assert.ok(printed.includes(cleanupError), "the loser's cleanup error is reported too");
  });

  test("drop drops every branch, each finally once; pollDrop drives async cleanup", () => {
    const log: string[] = [];
    const cleanup = new Leaf();
    const fut = select([
      branch("a", pending(), log),
      branch("b", pending(), log, cleanup),
      branch("c", pending(), log),
    ]);
    const task = new MockTask(fut);
    assertPending(task.poll());
    assertPending(task.pollDrop());
    assert.deepEqual([...log].sort(), ["a finally", "b finally", "c finally"]);
    cleanup.resolve();
    assert.equal(task.pollDrop(), undefined);
    assert.equal(task.pollDrop(), undefined);
    assert.deepEqual([...log].sort(), ["a finally", "b cleaned", "b finally", "c finally"]);
  });

  test("polling after it completed throws WakerContractError", () => {
    const task = new MockTask(select([ready(1)]));
    assertReady(task.poll());
    assert.throws(() => task.poll(), { code: "WAKER_CONTRACT" });
  });

  test("an empty list and non-futures throw InvalidArgumentError", () => {
    assert.throws(
      () => select([]),
      (e) => isInvalidArgument(e) && /at least one/.test((e as Error).message),
    );
    assert.throws(
      () => select([ready(1), 2 as never]),
      (e) => isInvalidArgument(e) && /branch 1/.test((e as Error).message),
    );
    assert.throws(
      () => select([Promise.resolve(1) as never]),
      (e) => isInvalidArgument(e) && /fromPromise/.test((e as Error).message),
    );
    assert.throws(() => select(5 as never), isInvalidArgument);
  });
});

describe("race", () => {
  test("the first to complete wins, with its value only; losers are dropped", () => {
    const log: string[] = [];
    const a = new Leaf<string>();
    const b = new Leaf<string>();
    const fut = race([branch("a", a, log), branch("b", b, log)]);
    const task = new MockTask(fut);
    assertPending(task.poll());
    b.resolve("b");
    assert.equal(assertReady(task.poll()), "b");
    assert.equal(a.drops, 1);
    assert.deepEqual([...log].sort(), ["a finally", "b finally"]);
  });

  test("ties go to the earliest branch, even in a seeded runtime", () => {
    for (const seed of [1, 2, 3, 4, 5]) {
      const rt = new Runtime({ seed });
      const out = rt.blockOn(
        future(function* () {
          const seen: string[] = [];
          for (let i = 0; i < 20; i++) seen.push(yield* race([ready("a"), ready("b")]));
          return seen;
        }),
      );
      assert.deepEqual(out, new Array(20).fill("a"));
    }
  });

  test("losers' async finalizers run to their end, once, before race returns", async () => {
    const log: string[] = [];
    const value = await new Runtime().run(
      future(function* () {
        const v = yield* race([
          future(function* () {
            try {
              yield* pending();
              return 0;
            } finally {
              log.push("loser finally");
              yield* yieldNow();
              log.push("loser cleaned");
            }
          }),
          future(function* () {
            yield* yieldNow();
            return 1;
          }),
        ]);
        log.push("race returned");
        return v;
      }),
    );
    assert.equal(value, 1);
    assert.deepEqual(log, ["loser finally", "loser cleaned", "race returned"]);
  });

  test("a loser already running its async finally (its body returned) finishes a shielded cleanup", () => {
    // Branch 1's body is done and its finally awaits `cleanup` when branch 0 wins: dropping the
    // loser must not cut the cleanup that is already running short.
    const log: string[] = [];
    const cleanup = new Leaf();
    const winner = new Leaf<string>();
    const task = new MockTask(
      race([
        winner,
        future(function* () {
          try {
            return "loser";
          } finally {
            log.push("loser cleanup start");
            yield* shield(cleanup);
            log.push("loser cleanup end");
          }
        }),
      ]),
    );
    assertPending(task.poll());
    assert.deepEqual(log, ["loser cleanup start"]);
    winner.resolve("winner");
    let r = task.poll();
    if (r === Pending) {
      cleanup.resolve();
      r = task.poll();
    }
    assert.equal(r, "winner");
    assert.deepEqual(log, ["loser cleanup start", "loser cleanup end"]);
  });

  test("the first branch to throw makes race throw, after dropping the others", () => {
    const boom = new Error("x");
    const other = new Leaf<number>();
    const task = new MockTask(
      race([
        other,
        future<number>(function* () {
          throw boom;
        }),
      ]),
    );
    assert.throws(
      () => task.poll(),
      (e) => e === boom,
    );
    assert.equal(other.drops, 1);
  });

  test("accepts an iterable; empty and non-futures throw InvalidArgumentError", () => {
    const it = new Set([ready(3)]);
    assert.equal(assertReady(new MockTask(race(it)).poll()), 3);
    assert.throws(() => race([]), isInvalidArgument);
    assert.throws(() => race([null as never]), isInvalidArgument);
  });
});
