import assert from "node:assert/strict";
import { readFile } from "node:fs";
import { test } from "node:test";
import {
  type Context,
  consumeBudget,
  Future,
  future,
  Pending,
  type Poll,
  pollFn,
  Runtime,
  remainingBudget,
  TASK_BUDGET,
  yieldNow,
} from "../../src/index.js";
import { ticks } from "../helpers.js";

test("tasks run in FIFO order and a yielding task goes to the back of the queue", async () => {
  const rt = new Runtime();
  const log: string[] = [];
  const worker = (name: string) =>
    future(function* () {
      for (let i = 0; i < 3; i++) {
        log.push(`${name}${i}`);
        yield* yieldNow();
      }
    });
  await rt.run(
    future(function* () {
      const a = rt.spawn(worker("a"));
      const b = rt.spawn(worker("b"));
      yield* a;
      yield* b;
    }),
  );
  assert.deepEqual(log, ["a0", "b0", "a1", "b1", "a2", "b2"]);
});

test("spawn never polls inline; the first poll comes on the next drain", async () => {
  const rt = new Runtime();
  let polled = 0;
  const handle = rt.spawn(
    pollFn(() => {
      polled++;
      return 1;
    }),
  );
  assert.equal(polled, 0);
  assert.equal(await rt.run(handle), 1);
  assert.equal(polled, 1);
});

/** Wakes its own task forever until `stop` is set from outside. */
class Spinner extends Future<number> {
  polls = 0;
  stop = false;
  poll(cx: Context): Poll<number> {
    this.polls++;
    if (this.stop) return this.polls;
    cx.waker.wakeByRef();
    return Pending;
  }
}

test("a task that wakes itself forever does not starve a setImmediate callback", async () => {
  const rt = new Runtime();
  const spinner = new Spinner();
  const done = rt.run(spinner);
  setImmediate(() => {
    spinner.stop = true;
  });
  const polls = await done;
  assert.ok(polls > 1);
});

test("a task that wakes itself forever does not starve an I/O callback", async () => {
  const rt = new Runtime();
  const spinner = new Spinner();
  const done = rt.run(spinner);
  readFile(new URL(import.meta.url), () => {
    spinner.stop = true;
  });
  const polls = await done;
  assert.ok(polls > 1);
});

test("the cooperative budget: 128 units per task poll, then the leaf must yield", async () => {
  const rt = new Runtime();
  const seen: number[] = [];
  let rounds = 0;
  const greedy = pollFn<void>((cx) => {
    rounds++;
    let spent = 0;
    while (consumeBudget(cx)) spent++;
    seen.push(spent);
    return rounds === 3 ? undefined : Pending;
  });
  await rt.run(greedy);
  assert.deepEqual(seen, [TASK_BUDGET, TASK_BUDGET, TASK_BUDGET]);
});

test("budget outside a runtime is unlimited, also after a runtime poll", async () => {
  const cx = { waker: null } as unknown as Context;
  assert.equal(remainingBudget(), Number.POSITIVE_INFINITY);
  for (let i = 0; i < 1000; i++) assert.equal(consumeBudget(cx), true);
  let inside = -1;
  await new Runtime().run(
    pollFn<void>(() => {
      inside = remainingBudget();
      return undefined;
    }),
  );
  assert.equal(inside, TASK_BUDGET);
  assert.equal(remainingBudget(), Number.POSITIVE_INFINITY);
  for (let i = 0; i < 1000; i++) assert.equal(consumeBudget(cx), true);
});

test("a drain stops at its budget and continues after the host had a turn", async () => {
  const rt = new Runtime({ drainBudget: 10 });
  let immediateRan = false;
  let pollsBeforeImmediate = -1;
  let polls = 0;
  setImmediate(() => {
    immediateRan = true;
    pollsBeforeImmediate = polls;
  });
  await rt.run(
    future(function* () {
      for (let i = 0; i < 100; i++) {
        polls++;
        yield* yieldNow();
      }
    }),
  );
  assert.equal(immediateRan, true);
  assert.ok(pollsBeforeImmediate < 100, `immediate ran after ${pollsBeforeImmediate} polls`);
});

test("a throw in poll completes that task with the error; the runtime goes on", async () => {
  const rt = new Runtime();
  const bad = rt.spawn(
    pollFn(() => {
      throw new Error("poll failed");
    }),
  );
  const good = rt.spawn(ticks(3).map(() => "fine"));
  await assert.rejects(rt.run(bad), (e: Error) => (e.cause as Error).message === "poll failed");
  assert.equal(await rt.run(good), "fine");
});

test("seeded runtimes make the same select choices", async () => {
  const { select, ready } = await import("../../src/index.js");
  const choices = async (seed: number) => {
    const rt = new Runtime({ seed });
    const out: number[] = [];
    for (let i = 0; i < 20; i++) {
      const { index } = await rt.run(select([ready(0), ready(1), ready(2), ready(3)]));
      out.push(index);
    }
    return out;
  };
  const a = await choices(7);
  assert.deepEqual(await choices(7), a);
  assert.ok(new Set(a).size > 1, "an unbiased select spreads its start branch");
});
