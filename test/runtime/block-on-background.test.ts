/**
 * `blockOn` returns as soon as its own future completes; tasks it spawned that are still ready
 * keep running afterwards on the host's event loop, as on any runtime, without another call to
 * drive them.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { future, Runtime, spawn } from "../../src/index.js";
import { ticks } from "../helpers.js";

test("tasks spawned inside blockOn and still ready go on running after it returns", async () => {
  const rt = new Runtime({ clock: "virtual" });
  const log: string[] = [];
  const value = rt.blockOn(
    future(function* () {
      spawn(
        future(function* () {
          log.push("child started");
          yield* ticks(5);
          log.push("child done");
        }),
      );
      yield* ticks(1);
      return "root";
    }),
  );
  assert.equal(value, "root");
  assert.deepEqual(log, ["child started"], "blockOn did not wait for the child");
  await new Promise<void>((resolve) => setImmediate(resolve));
  assert.deepEqual(log, ["child started", "child done"]);
  assert.equal(rt.dump().tasks.length, 0);
});
