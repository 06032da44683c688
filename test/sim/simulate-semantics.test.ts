/**
 * Edge cases of `simulate` and its schedulers found by a semantic audit: the cleanup after the
 * root completes runs to its end even when one finalizer throws; a poll cost that would make the
 * replay string unparsable is rejected up front; a huge PCT depth (from a replay string) does not
 * hang the run before its first poll; maxTime holds also when polls, not timers, move the clock.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { future, InvalidArgumentError, pending, sleep, spawn, yieldNow } from "../../src/index.js";
import { seededRandom } from "../../src/platform/seeded-random.js";
import {
  parseReplay,
  type Simulation,
  SimulationLimitError,
  simulate,
  UnhandledTaskError,
} from "../../src/sim/index.js";
import { PctScheduler } from "../../src/sim/schedulers.js";
import { SimPlatform } from "../../src/sim/sim-platform.js";

describe("the cleanup after the root completes", () => {
  test("a finalizer that throws is reported, and the other tasks' finalizers still run to their end", () => {
    for (const scheduling of ["fifo", "random"] as const) {
      for (let seed = 0; seed < 8; seed++) {
        const ran: string[] = [];
        const boom = new Error("cleanup failed");
        assert.throws(
          () =>
            simulate({ seed, scheduling }, () =>
              future(function* () {
                spawn(
                  future(function* () {
                    try {
                      yield* pending<void>();
                    } finally {
                      ran.push("A");
                      // biome-ignore lint/correctness/noUnsafeFinally: the cleanup error under test
                      throw boom;
                    }
                  }),
                  { name: "A" },
                ).drop();
                spawn(
                  future(function* () {
                    try {
                      yield* pending<void>();
                    } finally {
                      // An asynchronous finalizer: needs further steps of the shutdown.
                      yield* sleep(5);
                      ran.push("B");
                    }
                  }),
                  { name: "B" },
                ).drop();
                yield* yieldNow();
                return 1;
              }),
            ),
          (e: unknown) => e instanceof UnhandledTaskError && e.cause === boom,
        );
        assert.deepEqual([...ran].sort(), ["A", "B"], `${scheduling} seed ${seed}: ${ran}`);
      }
    }
  });
});

describe("pollCost", () => {
  test("Infinity is an InvalidArgumentError, not a run whose replay string does not parse", () => {
    assert.throws(
      () => simulate({ pollCost: Number.POSITIVE_INFINITY }, () => future(function* () {})),
      (e: unknown) => e instanceof InvalidArgumentError && /pollCost/.test(e.message),
    );
  });

  test("every accepted poll cost gives a replay string that parses back to it", () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0, max: 1e6, noNaN: true, noDefaultInfinity: true }),
        fc.nat(1000),
        (pollCost, seed) => {
          let sim: Simulation | undefined;
          simulate({ seed, pollCost }, (s) => {
            sim = s;
            return future(function* () {});
          });
          const spec = parseReplay(sim!.replay);
          assert.equal(spec.seed, seed);
          assert.equal(spec.pollCost ?? 0.001, pollCost === 0 ? 0 : pollCost);
        },
      ),
    );
  });
});

describe("PCT depth", () => {
  test("the change points take at most `steps` draws, whatever the depth", () => {
    let draws = 0;
    const random = seededRandom(1);
    const counted = () => {
      draws++;
      return random();
    };
    new PctScheduler(new SimPlatform(seededRandom(2), null), 0, null, counted, 1_000_000, 10);
    assert.ok(draws <= 10, `${draws} draws`);
  });

  test("small depths draw the same change points as before (replay strings keep their runs)", () => {
    // depth - 1 <= steps: exactly depth - 1 draws for the change points.
    let draws = 0;
    const random = seededRandom(1);
    const counted = () => {
      draws++;
      return random();
    };
    new PctScheduler(new SimPlatform(seededRandom(2), null), 0, null, counted, 4, 10);
    assert.equal(draws, 3);
  });
});

describe("maxTime", () => {
  test("a run whose polls take virtual time past maxTime fails with SimulationLimitError", () => {
    assert.throws(
      () =>
        simulate({ seed: 1, pollCost: 1, maxTime: 100 }, (sim) =>
          future(function* () {
            for (let i = 0; i < 1000; i++) yield* yieldNow();
            return sim.now();
          }),
        ),
      (e: unknown) => e instanceof SimulationLimitError && /maxTime = 100\b/.test(e.message),
    );
  });

  test("a spinning run stops at maxTime, not only at maxSteps", () => {
    let now = 0;
    assert.throws(
      () =>
        simulate({ seed: 1, pollCost: 1, maxTime: 100, maxSteps: 1_000_000 }, (sim) =>
          future(function* () {
            for (;;) {
              now = sim.now();
              yield* yieldNow();
            }
          }),
        ),
      (e: unknown) => e instanceof SimulationLimitError && /maxTime = 100\b/.test(e.message),
    );
    // Checked between host steps: one drain of the runtime (a few dozen polls) may overshoot.
    assert.ok(now < 1000, `stopped at ${now} ms`);
  });

  test("a run that ends within maxTime is unaffected", () => {
    const out = simulate({ seed: 1, pollCost: 1, maxTime: 100 }, (sim) =>
      future(function* () {
        for (let i = 0; i < 50; i++) yield* yieldNow();
        return sim.now();
      }),
    );
    assert.equal(out, 51);
  });
});
