import assert from "node:assert/strict";
import { test } from "node:test";
import { future, InvalidArgumentError, Runtime, select, yieldNow } from "../../src/index.js";
import { ctrlC, signal } from "../../src/node/index.js";

test("signal() yields once per delivery; dropping it removes the listener", async () => {
  const rt = new Runtime();
  const before = process.listenerCount("SIGUSR2");
  const count = rt.run(signal("SIGUSR2").take(2).collect());
  await rt.run(future(function* () {}));
  assert.equal(process.listenerCount("SIGUSR2"), before + 1);
  process.kill(process.pid, "SIGUSR2");
  process.kill(process.pid, "SIGUSR2");
  assert.equal((await count).length, 2);
  assert.equal(process.listenerCount("SIGUSR2"), before);
});

test("ctrlC() completes at the next SIGINT and stops listening", async () => {
  const rt = new Runtime();
  const before = process.listenerCount("SIGINT");
  const done = rt.run(ctrlC());
  await rt.run(future(function* () {}));
  process.kill(process.pid, "SIGINT");
  await done;
  assert.equal(process.listenerCount("SIGINT"), before);
  assert.throws(() => signal("SIGKILL"), InvalidArgumentError);
});

test("ctrlC() dropped before any SIGINT stops listening (SIGINT would exit again)", async () => {
  const rt = new Runtime();
  const before = process.listenerCount("SIGINT");
  const waiting = ctrlC();
  assert.equal(waiting.describe(), "ctrlC");
  const r = await rt.run(
    future(function* () {
      return yield* select([waiting, yieldNow().map(() => process.listenerCount("SIGINT"))]);
    }),
  );
  assert.equal(r.index, 1);
  assert.equal(r.value, before + 1, "it listened while it waited");
  assert.equal(process.listenerCount("SIGINT"), before, "the loser of the select was dropped");
});
