/**
 * `describe()` is diagnostics, and a user's future may implement it badly: one that throws must
 * never break the runtime. The task dump (and the DeadlockError carrying one) shows what was
 * thrown in its place; a synchronous drop still hands the unfinished cleanup to the runtime.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  type Context,
  DeadlockError,
  Future,
  future,
  Pending,
  type Poll,
  pollFn,
  Runtime,
  type Waker,
} from "../../src/index.js";
import { assertPending, MockTask } from "../../src/testing/index.js";
import { blockWithAsyncFinally } from "../future/leaf.js";

class Opaque extends Future<never> {
  poll(): Poll<never> {
    return Pending;
  }
  override describe(): string {
    throw new Error("no description");
  }
}

/** A gate whose describe() throws: completes once opened. */
class OpaqueGate extends Future<void> {
  open = false;
  private waker: Waker | null = null;
  poll(cx: Context): Poll<void> {
    if (this.open) return undefined;
    this.waker?.drop();
    this.waker = cx.waker.clone();
    return Pending;
  }
  override describe(): string {
    throw new Error("no description");
  }
  release(): void {
    this.open = true;
    this.waker?.wake();
    this.waker = null;
  }
}

test("dump() reports a throwing describe() in place of the description", async () => {
  const rt = new Runtime();
  rt.spawn(new Opaque(), { name: "opaque" });
  rt.spawn(new Opaque()); // unnamed: its name would come from describe()
  rt.spawn(
    future(function* named() {
      yield* new Opaque();
    }),
  );
  await rt.run(pollFn(() => undefined)); // every task is polled once
  const snapshot = rt.dump();
  const threw = "(describe() threw: Error: no description)";
  // A block awaiting it cannot describe itself either; tasks without a given name have none.
  assert.deepEqual(snapshot.tasks.map((t) => [t.name ?? "", t.awaiting]).sort(), [
    ["", threw],
    ["", threw],
    ["opaque", threw],
  ]);
  assert.match(snapshot.toString(), /opaque.*describe\(\) threw: Error: no description/);
  await rt.shutdown();
});

test("a deadlock is still reported with its dump (the run does not hang)", {
  timeout: 10_000,
}, async () => {
  const rt = new Runtime();
  const error = await rt.run(new Opaque()).catch((e: unknown) => e);
  assert.ok(error instanceof DeadlockError);
  assert.match(error.dump, /describe\(\) threw: Error: no description/);
});

test("a synchronous drop still hands the cleanup to the runtime, which finishes it", async () => {
  const rt = new Runtime();
  const gate = new OpaqueGate();
  const log: string[] = [];
  await rt.run(
    future(function* () {
      const block = blockWithAsyncFinally(gate, log);
      assertPending(new MockTask(block).poll());
      block.drop(); // the runtime names the cleanup task after describe(): must not throw
      assert.deepEqual(log, ["finally"]);
    }),
  );
  gate.release();
  await rt.run(pollFn(() => undefined));
  assert.deepEqual(log, ["finally", "cleaned"]);
});
