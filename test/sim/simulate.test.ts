/**
 * `simulate`, `explore`, `replay` and `fault`: virtual time, seeded choices, the errors of a run
 * that cannot finish, the environment variables, and bad input.
 */
import assert from "node:assert/strict";
import { type AddressInfo, createServer } from "node:net";
import { afterEach, describe, test } from "node:test";
import {
  DeadlockError,
  fromPromise,
  future,
  Instant,
  InvalidArgumentError,
  interval,
  pending,
  sleep,
  spawn,
  yieldNow,
} from "../../src/index.js";
import { TcpStream } from "../../src/node/index.js";
import { currentRuntimeOrNull } from "../../src/runtime/current.js";
import {
  explore,
  fault,
  formatReplay,
  parseReplay,
  replay,
  type Simulation,
  SimulationLimitError,
  simulate,
  UnhandledTaskError,
} from "../../src/sim/index.js";
import { SIM_EPOCH } from "../../src/sim/simulate.js";
import { loggedRun } from "./support.js";

describe("virtual time", () => {
  test("an hour of one-second sleeps completes at virtual 3,600 s; Instant, sim.now and Date.now agree", () => {
    const out = simulate({ seed: 1, pollCost: 0 }, (sim) =>
      future(function* () {
        const start = Instant.now();
        for (let i = 0; i < 3600; i++) yield* sleep(1000);
        return { elapsed: start.elapsed(), now: sim.now(), date: Date.now() };
      }),
    );
    assert.deepEqual(out, { elapsed: 3_600_000, now: 3_600_000, date: SIM_EPOCH + 3_600_000 });
  });

  test("each poll costs pollCost virtual ms", () => {
    const now = simulate({ seed: 1, pollCost: 0.5 }, (sim) =>
      future(function* () {
        for (let i = 0; i < 9; i++) yield* yieldNow();
        return sim.now();
      }),
    );
    assert.equal(now, 5); // 10 polls of the root
  });

  test("Math.random and Date.now are seeded inside the run and restored after it", () => {
    const random = Math.random;
    const now = Date.now;
    const draws = (seed: number) =>
      simulate({ seed }, (sim) =>
        future(function* () {
          return [Math.random(), Math.random(), sim.random()];
        }),
      );
    assert.deepEqual(draws(3), draws(3));
    assert.notDeepEqual(draws(3), draws(4));
    assert.equal(Math.random, random);
    assert.equal(Date.now, now);
    assert.equal(currentRuntimeOrNull(), null);
  });
});

describe("runs that cannot finish", () => {
  test("a root that waits forever is a DeadlockError with the dump and a lost-wakeup hint", () => {
    assert.throws(
      () =>
        simulate({ seed: 1 }, () =>
          future(function* () {
            yield* pending<void>();
          }),
        ),
      (e: unknown) =>
        e instanceof DeadlockError &&
        /seed 1/.test(e.message) &&
        /no live waker/.test(e.message) &&
        /lost wakeup/.test(e.message) &&
        /simulation root/.test(e.dump),
    );
  });

  test("waiting for a host promise is reported as a deadlock that names the cause, not a hang", () => {
    assert.throws(
      () =>
        simulate({ seed: 1 }, () =>
          future(function* () {
            return yield* fromPromise(new Promise<number>(() => {}));
          }),
        ),
      (e: unknown) => e instanceof DeadlockError && /outside the simulation/.test(e.message),
    );
  });

  test("a real socket inside a simulation is reported as a deadlock naming the wait, not a hang", async () => {
    const server = createServer((socket) => socket.end("hi"));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const { port } = server.address() as AddressInfo;
      assert.throws(
        () =>
          simulate({ seed: 1 }, () =>
            future(function* () {
              return yield* TcpStream.connect({ host: "127.0.0.1", port });
            }),
          ),
        (e: unknown) =>
          e instanceof DeadlockError &&
          /outside the simulation/.test(e.message) &&
          /connect/i.test(e.dump),
      );
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  test("a livelock hits maxSteps: SimulationLimitError with the dump", () => {
    assert.throws(
      () =>
        simulate({ seed: 1, maxSteps: 5000 }, () =>
          future(function* () {
            for (;;) yield* yieldNow();
          }),
        ),
      (e: unknown) =>
        e instanceof SimulationLimitError &&
        e.code === "SIM_LIMIT" &&
        /maxSteps = 5000/.test(e.message) &&
        /simulation root/.test(e.dump),
    );
  });

  test("a program that never ends in virtual time hits maxTime", () => {
    assert.throws(
      () =>
        simulate({ seed: 1, maxTime: 60_000 }, () =>
          future(function* () {
            const every = interval(1000);
            for (;;) yield* every.tick();
          }),
        ),
      (e: unknown) => e instanceof SimulationLimitError && /maxTime = 60000/.test(e.message),
    );
  });

  test("a detached task that fails ends the run with UnhandledTaskError, unless ignored", () => {
    const boom = new Error("boom");
    const program = () =>
      future(function* () {
        spawn(
          future(function* () {
            yield* yieldNow();
            throw boom;
          }),
          { name: "doomed" },
        ).drop();
        yield* sleep(10);
        return "done";
      });
    assert.throws(
      () => simulate({ seed: 1 }, program),
      (e: unknown) =>
        e instanceof UnhandledTaskError && e.cause === boom && /doomed/.test(e.message),
    );
    assert.equal(simulate({ seed: 1, unhandledErrors: "ignore" }, program), "done");
    // Also when the root completes in the same drain as the failure, or during the shutdown.
    for (const order of ["fifo", "random"] as const) {
      assert.throws(
        () =>
          simulate({ seed: 1, scheduling: order }, () =>
            future(function* () {
              spawn(
                future(function* () {
                  throw boom;
                }),
              ).drop();
              yield* yieldNow();
              return "done";
            }),
          ),
        (e: unknown) => e instanceof UnhandledTaskError && e.cause === boom,
      );
    }
  });

  test("tasks left when the root completes are cancelled and their finalizers run once", () => {
    let finalized = 0;
    const out = simulate({ seed: 2 }, () =>
      future(function* () {
        spawn(
          future(function* () {
            try {
              yield* pending<void>();
            } finally {
              finalized++;
            }
          }),
        );
        yield* yieldNow();
        return 42;
      }),
    );
    assert.equal(out, 42);
    assert.equal(finalized, 1);
  });

  test("the program's own error is thrown as it is", () => {
    const mine = new RangeError("mine");
    assert.throws(
      () =>
        simulate({ seed: 1 }, () =>
          future(function* () {
            yield* sleep(5);
            throw mine;
          }),
        ),
      (e: unknown) => e === mine,
    );
  });
});

describe("the simulated network on the handle", () => {
  test("sim.network is created on first use, once per run; connections work and replay", () => {
    const program = (sim: Simulation) =>
      future(function* () {
        assert.equal(sim.network, sim.network);
        assert.notEqual(sim.createNetwork(), sim.network);
        const listener = yield* sim.network.host("10.0.0.2").bind({ port: 9 });
        const accepted = spawn(listener.accept());
        const conn = yield* sim.network.host("10.0.0.1").connect({ host: "10.0.0.2", port: 9 });
        const server = yield* accepted;
        conn.drop();
        server.drop();
        listener.drop();
        return sim.now();
      });
    const a = simulate({ seed: 3 }, program);
    assert.ok(a > 0, "connecting took virtual time");
    assert.equal(simulate({ seed: 3 }, program), a);
  });
});

describe("scheduling", () => {
  const twoSpinners = (sim: { log(...v: unknown[]): void }) =>
    future(function* () {
      const spinner = (name: string) =>
        future(function* () {
          for (let i = 0; i < 4; i++) {
            sim.log(name);
            yield* yieldNow();
          }
        });
      const a = spawn(spinner("a"));
      const b = spawn(spinner("b"));
      yield* a;
      yield* b;
    });

  const outputOf = (events: string[]) =>
    events
      .filter((e) => e.startsWith("log "))
      .map((e) => e.slice(4))
      .join("");

  test("PCT with depth 1 runs by strict priority: the spinners never interleave", () => {
    const seen = new Set<string>();
    for (let seed = 1; seed <= 30; seed++) {
      seen.add(outputOf(loggedRun({ seed, scheduling: { pct: 1 } }, twoSpinners).events));
    }
    assert.deepEqual([...seen].sort(), ["aaaabbbb", "bbbbaaaa"]);
  });

  test("random scheduling interleaves them in many ways; FIFO alternates", () => {
    const seen = new Set<string>();
    for (let seed = 1; seed <= 30; seed++) {
      seen.add(outputOf(loggedRun({ seed }, twoSpinners).events));
    }
    assert.ok(seen.size > 5, `${seen.size} different orders`);
    assert.equal(
      outputOf(loggedRun({ seed: 1, scheduling: "fifo" }, twoSpinners).events),
      "abababab",
    );
  });

  test("PCT with depth 3 preempts at its change points: some runs interleave", () => {
    const seen = new Set<string>();
    for (let seed = 1; seed <= 60; seed++) {
      seen.add(
        outputOf(loggedRun({ seed, scheduling: { pct: 3, steps: 12 } }, twoSpinners).events),
      );
    }
    assert.ok(seen.size > 2, [...seen].join(" "));
  });
});

describe("fault", () => {
  test("is false outside a simulation", () => {
    assert.equal(fault("x", { p: 1, q: 1 }), false);
  });

  test("p = 1, q = 1 always fires; p = 0 or faults: false never", () => {
    const count = (options: { faults?: boolean }, p: number, q: number) =>
      simulate({ seed: 9, ...options }, () =>
        future(function* () {
          let n = 0;
          for (let i = 0; i < 100; i++) if (fault("site", { p, q })) n++;
          return n;
        }),
      );
    assert.equal(count({}, 1, 1), 100);
    assert.equal(count({}, 0, 1), 0);
    assert.equal(count({ faults: false }, 1, 1), 0);
  });

  test("activation is decided once per name per run (about p of the runs); firing about q of the calls", () => {
    let active = 0;
    let fired = 0;
    let calls = 0;
    for (let seed = 0; seed < 400; seed++) {
      const n = simulate({ seed }, () =>
        future(function* () {
          let hits = 0;
          for (let i = 0; i < 50; i++) if (fault("disk full", { p: 0.3, q: 0.5 })) hits++;
          return hits;
        }),
      );
      if (n > 0) {
        active++;
        fired += n;
        calls += 50;
      }
    }
    assert.ok(active > 80 && active < 160, `${active} of 400 runs active`);
    assert.ok(fired / calls > 0.4 && fired / calls < 0.6, `${fired} of ${calls}`);
  });

  test("the same seed fires the same faults; they show in the event log", () => {
    const program = () =>
      future(function* () {
        const hits: number[] = [];
        for (let i = 0; i < 40; i++) {
          if (fault("a", { p: 1, q: 0.3 })) hits.push(i);
          yield* yieldNow();
        }
        return hits;
      });
    assert.deepEqual(simulate({ seed: 4 }, program), simulate({ seed: 4 }, program));
    assert.notDeepEqual(simulate({ seed: 4 }, program), simulate({ seed: 5 }, program));
    assert.ok(loggedRun({ seed: 4 }, program).events.includes("fault a"));
  });

  test("bad probabilities are an InvalidArgumentError", () => {
    assert.throws(
      () =>
        simulate({ seed: 1 }, () =>
          future(function* () {
            return fault("x", { p: 2 });
          }),
        ),
      InvalidArgumentError,
    );
  });
});

describe("replay strings and the environment", () => {
  const saved = { seed: process.env.WAKER_SEED, seeds: process.env.WAKER_SEEDS };
  afterEach(() => {
    for (const [key, value] of [
      ["WAKER_SEED", saved.seed],
      ["WAKER_SEEDS", saved.seeds],
    ] as const) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  });

  test("format and parse round-trip", () => {
    for (const spec of [
      { seed: 0, scheduling: "random" as const },
      { seed: 17, scheduling: { pct: 3, steps: 412 } },
      { seed: 2 ** 40, scheduling: "fifo" as const, pollCost: 0.25 },
    ]) {
      assert.deepEqual(parseReplay(formatReplay(spec)), spec);
    }
    assert.equal(formatReplay({ seed: 17, scheduling: { pct: 3, steps: 412 } }), "17:pct3x412");
    assert.deepEqual(parseReplay("5"), { seed: 5 });
    for (const bad of ["", "x", "-1", "1:lifo", "1:pct", "1.5"]) {
      assert.throws(() => parseReplay(bad), InvalidArgumentError, bad);
    }
  });

  test("WAKER_SEED runs exactly the one run it names; WAKER_SEEDS widens the count", () => {
    const seeds: number[] = [];
    const program = (sim: { seed: number; replay: string }) =>
      future(function* () {
        seeds.push(sim.seed);
        assert.equal(sim.replay, `${sim.seed}:pct2x50`);
      });
    process.env.WAKER_SEED = "7:pct2x50";
    assert.equal(explore({ seeds: 100 }, program).seeds, 1);
    assert.deepEqual(seeds, [7]);
    delete process.env.WAKER_SEED;
    process.env.WAKER_SEEDS = "3";
    seeds.length = 0;
    assert.equal(explore({ seeds: 2, scheduling: { pct: 2, steps: 50 } }, program).seeds, 3);
    assert.deepEqual(seeds, [1, 2, 3]);
    // Widens, never narrows.
    assert.equal(explore({ seeds: 5, scheduling: { pct: 2, steps: 50 } }, program).seeds, 5);
  });

  test("a timeLimitMs that is not a positive number is an InvalidArgumentError", () => {
    delete process.env.WAKER_SEED;
    delete process.env.WAKER_SEEDS;
    const program = () => future(function* () {});
    for (const timeLimitMs of [0, -1, Number.NaN, "10"]) {
      assert.throws(
        () => explore({ seeds: 1, timeLimitMs } as never, program),
        (e: unknown) => e instanceof InvalidArgumentError && /timeLimitMs/.test(e.message),
        String(timeLimitMs),
      );
    }
  });

  test("a malformed WAKER_SEEDS is an InvalidArgumentError, not a silent default", () => {
    delete process.env.WAKER_SEED;
    const program = () => future(function* () {});
    for (const bad of ["0", "-2", "2.5", "many"]) {
      process.env.WAKER_SEEDS = bad;
      assert.throws(
        () => explore({ seeds: 1 }, program),
        (e: unknown) =>
          e instanceof InvalidArgumentError &&
          e.message.includes(`WAKER_SEEDS must be a positive integer, got ${JSON.stringify(bad)}`),
        bad,
      );
    }
    // Blank means unset.
    process.env.WAKER_SEEDS = "  ";
    assert.equal(explore({ seeds: 2 }, program).seeds, 2);
  });

  test("replay runs one seed as simulate does", () => {
    const program = (sim: { random(): number }) =>
      future(function* () {
        return sim.random();
      });
    assert.equal(replay("8:random", program), simulate({ seed: 8 }, program));
    assert.equal(replay(8, program), simulate({ seed: 8 }, program));
  });

  test("explore stops at its wall-clock budget after at least one seed", () => {
    const report = explore({ seeds: 1_000_000, timeLimitMs: 1 }, () =>
      future(function* () {
        yield* sleep(1);
      }),
    );
    assert.ok(report.seeds >= 1 && report.seeds < 1_000_000, `${report.seeds} seeds`);
  });
});

describe("bad input", () => {
  const ok = () => future(function* () {});

  test("options and fn are checked", () => {
    for (const options of [
      { seed: -1 },
      { seed: 1.5 },
      { scheduling: "lifo" },
      { scheduling: { pct: 0 } },
      { pollCost: -1 },
      { maxSteps: Number.NaN },
      { unhandledErrors: "maybe" },
    ]) {
      assert.throws(
        () => simulate(options as never, ok),
        InvalidArgumentError,
        JSON.stringify(options),
      );
    }
    assert.throws(() => simulate(null as never, ok), InvalidArgumentError);
    assert.throws(() => simulate({}, 42 as never), InvalidArgumentError);
    assert.throws(() => explore({ seeds: 0 }, ok), InvalidArgumentError);
    for (const options of [null, 5, "seeds"]) {
      assert.throws(
        () => explore(options as never, ok),
        (e: unknown) =>
          e instanceof InvalidArgumentError && /options must be an object/.test(e.message),
        String(options),
      );
    }
  });

  test("fn must return a future, not a promise", () => {
    assert.throws(
      () => simulate({}, (async () => 1) as never),
      (e: unknown) => e instanceof InvalidArgumentError && /fromPromise/.test(e.message),
    );
  });
});
