import assert from "node:assert/strict";
import { test } from "node:test";
import { future, InvalidArgumentError, Runtime, select, yieldNow } from "../../src/index.js";
import { spawnBlocking } from "../../src/node/index.js";

/** A CPU-bound job: spins for `ms` milliseconds, then returns how many loops it ran. */
function spin(ms: number): number {
  const end = Date.now() + ms;
  let loops = 0;
  while (Date.now() < end) loops++;
  return loops;
}

test("spawnBlocking runs a 1 s CPU job off the event loop: other tasks and callbacks keep running", async () => {
  const rt = new Runtime();
  let ticks = 0;
  const result = await rt.run(
    future(function* () {
      const job = rt.spawn(spawnBlocking(spin, 1000));
      // Meanwhile the runtime keeps polling tasks and the host keeps running immediates.
      const ticker = rt.spawn(
        future(function* () {
          for (;;) {
            ticks++;
            yield* yieldNow();
            yield* future(function* () {
              yield* yieldNow();
            });
          }
        }),
      );
      const loops = yield* job;
      ticker.abort();
      return loops;
    }),
  );
  assert.ok(result > 0);
  assert.ok(ticks > 1000, `the event loop stayed responsive: ${ticks} task turns during the job`);
});

test("results and errors come back; a dropped job is aborted", async () => {
  const rt = new Runtime();
  assert.equal(await rt.run(spawnBlocking((a: number, b: number) => a * b, 6, 7)), 42);
  await assert.rejects(
    rt.run(
      spawnBlocking(() => {
        throw new Error("worker failed");
      }),
    ),
    /worker failed/,
  );
  // select drops the slow job once the quick branch wins: its worker is stopped.
  const winner = await rt.run(select([spawnBlocking(spin, 60_000), spawnBlocking(() => "quick")]));
  assert.equal(winner.value, "quick");
  assert.throws(() => spawnBlocking(42 as never), InvalidArgumentError);
});
