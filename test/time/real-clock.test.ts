import assert from "node:assert/strict";
import { test } from "node:test";
import { future, Runtime, sleep } from "../../src/index.js";

test("real clock: no sleep completes early (1,000 random sleeps of 0..50 ms)", async () => {
  const rt = new Runtime();
  const early: string[] = [];
  let seed = 12345;
  const random = () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed / 0x7fffffff;
  };
  await rt.run(
    future(function* () {
      const handles = [];
      for (let i = 0; i < 1000; i++) {
        const ms = Math.floor(random() * 51);
        handles.push(
          rt.spawn(
            future(function* () {
              const start = performance.now();
              yield* sleep(ms);
              const took = performance.now() - start;
              if (took < ms) early.push(`${ms} ms sleep took ${took}`);
            }),
          ),
        );
      }
      for (const h of handles) yield* h;
    }),
  );
  assert.deepEqual(early, []);
});

function activeTimeouts(): number {
  return process.getActiveResourcesInfo().filter((r) => r === "Timeout").length;
}

test("the host timer keeps the process alive only while a run() root is pending", async () => {
  const rt = new Runtime();
  const baseline = activeTimeouts();
  const background = rt.spawn(sleep(60_000));
  let duringRoot = -1;
  await rt.run(
    future(function* () {
      yield* sleep(5);
      duringRoot = activeTimeouts();
    }),
  );
  assert.equal(duringRoot, baseline + 1, "referenced while the root waits");
  assert.equal(activeTimeouts(), baseline, "unreferenced once the root is done");
  background.abort();
  await rt.run(background).catch(() => undefined);
});
