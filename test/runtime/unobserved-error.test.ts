/**
 * A task that fails while nobody awaits its handle, and whose handle is then garbage collected
 * unread (never awaited, never dropped explicitly): the runtime still reports its error, with the
 * task's id and name, instead of losing it. Uses V8's `gc()` through `--expose-gc` set at run time.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { future, Runtime, type TaskInfo } from "../../src/index.js";
import { ticks } from "../helpers.js";

test("a failed task whose handle is collected unread is reported", async () => {
  setFlagsFromString("--expose-gc");
  const gc = runInNewContext("gc") as () => void;
  const reported: [unknown, TaskInfo][] = [];
  const rt = new Runtime({ onUnhandledError: (error, info) => reported.push([error, info]) });
  const boom = new Error("nobody awaited me");
  // The handle is not kept: only the runtime's registry knows about the failure.
  rt.spawn(
    future(function* () {
      throw boom;
    }),
    { name: "forgotten" },
  );
  await rt.run(ticks(2));
  assert.equal(reported.length, 0, "not reported while the handle may still be awaited");
  // Finalization callbacks run in a later job after a collection: a few turns, never a timer.
  for (let i = 0; i < 20 && reported.length === 0; i++) {
    await new Promise<void>((resolve) => setImmediate(resolve));
    gc();
  }
  assert.equal(reported.length, 1);
  const [error, info] = reported[0]!;
  assert.equal(error, boom);
  assert.equal(info.name, "forgotten");
});
