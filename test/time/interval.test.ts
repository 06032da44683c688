import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import {
  future,
  interval,
  type MissedTickBehavior,
  OutOfRangeError,
  Runtime,
  sleep,
} from "../../src/index.js";

/** The tick times (relative to the first) a policy promises, given the stalls after each tick. */
function model(period: number, policy: MissedTickBehavior, stalls: number[]): number[] {
  const ticks: number[] = [];
  let next = 0;
  let now = 0;
  for (const stall of stalls) {
    if (now < next) now = next;
    const scheduled = next;
    ticks.push(scheduled);
    const late = now - scheduled > 5;
    if (!late || policy === "burst") next = scheduled + period;
    else if (policy === "delay") next = now + period;
    else next = scheduled + period * (Math.floor((now - scheduled) / period) + 1);
    now += stall;
  }
  return ticks;
}

test("property: interval policies match their definitions under random stalls", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 1, max: 200 }),
      fc.constantFrom<MissedTickBehavior>("burst", "delay", "skip"),
      fc.array(fc.integer({ min: 0, max: 700 }), { minLength: 1, maxLength: 25 }),
      async (period, policy, stalls) => {
        const rt = new Runtime({ clock: "virtual" });
        const t0 = rt.time.now();
        const ticks = await rt.run(
          future(function* () {
            const iv = interval(period, { missedTick: policy });
            const out: number[] = [];
            for (const stall of stalls) {
              const t = yield* iv.tick();
              out.push(t.valueOf() - t0);
              if (stall > 0) yield* sleep(stall);
            }
            return out;
          }),
        );
        assert.deepEqual(ticks, model(period, policy, stalls));
      },
    ),
    { numRuns: 150 },
  );
});

test("interval: first tick at once; a dropped tick loses nothing", async () => {
  const rt = new Runtime({ clock: "virtual" });
  const t0 = rt.time.now();
  const ticks = await rt.run(
    future(function* () {
      const iv = interval(100);
      const out: number[] = [];
      out.push((yield* iv.tick()).valueOf() - t0);
      const dropped = iv.tick();
      dropped.drop();
      out.push((yield* iv.tick()).valueOf() - t0);
      return out;
    }),
  );
  assert.deepEqual(ticks, [0, 100]);
  assert.throws(() => interval(0), OutOfRangeError);
  assert.throws(() => interval(10, { missedTick: "never" as never }), /missedTick/);
});
