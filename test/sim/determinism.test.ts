/**
 * Determinism: a program of 100 tasks with timers, timeouts, a bounded channel, a mutex and TCP
 * traffic over the simulated network (jittery latency, some loss) runs under many seeds, each
 * twice, with identical event logs (every poll, wake, time jump, network-visible output).
 * `WAKER_SEEDS=<n>` widens the run.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  type AsyncGenerator,
  asyncFn,
  channel,
  copy,
  future,
  type JoinHandle,
  joinAll,
  Mutex,
  readToEnd,
  type Sender,
  select,
  shutdown,
  sleep,
  spawn,
  TimeoutError,
  timeout,
  writeAll,
  yieldNow,
} from "../../src/index.js";
import {
  explore,
  NondeterminismError,
  type SimNetwork,
  type SimStream,
  type Simulation,
  simulate,
} from "../../src/sim/index.js";
import { failureOf, loggedRun, seedsRun } from "./support.js";

const SERVER = "10.0.0.1";

const producer = asyncFn(function* (
  sim: Simulation,
  tx: Sender<number>,
  id: number,
): AsyncGenerator<void> {
  for (let i = 0; i < 3; i++) {
    yield* sleep(Math.floor(sim.random() * 20));
    yield* tx.send(id * 100 + i);
  }
  tx.drop();
});

const worker = asyncFn(function* (sim: Simulation, lock: Mutex<number[]>, id: number) {
  // A timeout that sometimes fires (the sleep is dropped) and sometimes does not.
  try {
    yield* timeout(sleep(Math.floor(sim.random() * 30)), 15);
  } catch (error) {
    if (!(error instanceof TimeoutError)) throw error;
    sim.log("worker", id, "timed out");
  }
  const guard = yield* lock.lock();
  guard.value.push(id);
  yield* yieldNow();
  guard.release();
  // select between a short sleep and a yield: the loser is dropped.
  const { index } = yield* select([sleep(1), yieldNow()]);
  return index;
});

const echo = asyncFn(function* (conn: SimStream): AsyncGenerator<void> {
  yield* copy(conn, conn);
  yield* shutdown(conn);
  conn.drop();
});

const client = asyncFn(function* (
  sim: Simulation,
  net: SimNetwork,
  id: number,
): AsyncGenerator<string> {
  const host = net.host(`10.0.1.${id}`);
  const conn = yield* host.connect({ host: SERVER, port: 7 });
  const message = new TextEncoder().encode(`hello from ${id} `.repeat(1 + (id % 5)));
  yield* writeAll(conn, message);
  yield* shutdown(conn);
  const back = yield* readToEnd(conn);
  conn.drop();
  const text = new TextDecoder().decode(back);
  sim.log("client", id, "got", back.length, "bytes");
  return text;
});

/** 1 root + 1 acceptor + 20 echo sessions + 20 clients + 30 producers + 1 collector + 27 workers. */
export const program = (sim: Simulation) =>
  future(function* () {
    const net = sim.createNetwork({ link: { latency: { min: 1, max: 20 }, loss: 0.02 } });
    const listener = yield* net.host(SERVER).bind({ port: 7 });
    const acceptor = spawn(
      future(function* () {
        for (;;) spawn(echo(yield* listener.accept()));
      }),
    );
    const [tx, rx] = channel<number>(4);
    for (let p = 0; p < 30; p++) spawn(producer(sim, tx.clone(), p));
    tx.drop();
    const collector = spawn(
      future(function* () {
        let sum = 0;
        let count = 0;
        for (;;) {
          try {
            sum += yield* rx.recv();
            count++;
          } catch {
            return { sum, count };
          }
        }
      }),
    );
    const lock = new Mutex<number[]>([]);
    const workers: JoinHandle<number>[] = [];
    for (let w = 0; w < 27; w++) workers.push(spawn(worker(sim, lock, w)));
    const clients: JoinHandle<string>[] = [];
    for (let c = 0; c < 20; c++) clients.push(spawn(client(sim, net, c)));
    const texts = yield* joinAll(clients);
    const selected = yield* joinAll(workers);
    const total = yield* collector;
    acceptor.abort();
    listener.drop();
    sim.log("total", total.sum, total.count, "order", lock.tryLock()?.value.join(","));
    sim.log("selected", selected.join(""));
    for (const [c, text] of texts.entries()) {
      assert.equal(text, `hello from ${c} `.repeat(1 + (c % 5)));
    }
    assert.equal(total.count, 90);
    return total.sum;
  });

const SEEDS = 1000;

test(`${SEEDS} seeds of a 100-task program with timers, channels and TCP traffic, each run twice: identical event logs`, () => {
  const report = explore({ seeds: SEEDS, determinism: true }, program);
  assert.equal(report.seeds, seedsRun(SEEDS));
  assert.equal(report.runs, 2 * report.seeds);
  assert.ok(report.maxPolls > 300, `${report.maxPolls} polls in the longest run`);
});

test("the same under PCT scheduling (200 seeds x 2)", () => {
  explore({ seeds: 200, determinism: true, scheduling: { pct: 3 } }, program);
});

test("the event log has polls, wakes, time jumps and the program's output", () => {
  const { error, events } = loggedRun({ seed: 5 }, program);
  assert.equal(error, "ok");
  for (const kind of [
    "poll ",
    "wake ",
    "time ",
    "net ",
    "log client 3 got",
    "log total",
    "end ok",
  ]) {
    assert.ok(
      events.some((e) => e.startsWith(kind)),
      `an event starting with ${JSON.stringify(kind)}`,
    );
  }
  // Different seeds give different schedules.
  assert.notDeepEqual(loggedRun({ seed: 6 }, program).events, events);
});

test("a program that reads state outside the seed is reported as nondeterministic", () => {
  let runs = 0;
  assert.throws(
    () =>
      explore({ seeds: 3, determinism: true }, (sim) =>
        future(function* () {
          runs++;
          // Leaks state from one run into the next: the second run of a seed differs.
          yield* sleep(runs);
          sim.log("slept", runs);
        }),
      ),
    (e: unknown) =>
      e instanceof NondeterminismError &&
      e.seed === 1 &&
      e.index === 2 &&
      /first different event at #2\n/.test(e.message) &&
      /first run:\n {2}#0 start 1 simulation root\n {2}#1 poll 1\n {2}#2 time 2\.001\n/.test(
        e.message,
      ) &&
      /second run:\n {2}#0 start 1 simulation root\n {2}#1 poll 1\n {2}#2 time 3\.001\n/.test(
        e.message,
      ),
  );
});

test("two runs that differ only in their output are reported too", () => {
  let runs = 0;
  assert.throws(
    () =>
      explore({ seeds: 1, determinism: true }, () =>
        future(function* () {
          return ++runs;
        }),
      ),
    (e: unknown) =>
      e instanceof NondeterminismError &&
      /first different outcome/.test(e.message) &&
      /completed with 1\b/.test(e.message) &&
      /completed with 2\b/.test(e.message),
  );
});

test("simulate returns the program's output, the same for the same seed", () => {
  const a = simulate({ seed: 11 }, program);
  const b = simulate({ seed: 11 }, program);
  assert.equal(a, b);
});

test("a program that fails the same way twice is a SimulationFailure, not a nondeterminism", () => {
  const failure = failureOf(() =>
    explore({ seeds: 5, determinism: true }, (sim) =>
      future(function* () {
        yield* sleep(1);
        if (sim.seed === 3) throw new Error(`boom at seed ${sim.seed}`);
      }),
    ),
  );
  assert.equal(failure.seed, 3);
  assert.equal((failure.cause as Error).message, "boom at seed 3");
});

test("two failing runs that differ only in their error are reported as nondeterministic", () => {
  let runs = 0;
  assert.throws(
    () =>
      explore({ seeds: 1, determinism: true }, () =>
        future(function* () {
          throw new RangeError(`run ${++runs}\nsecond line`);
        }),
      ),
    (e: unknown) =>
      e instanceof NondeterminismError &&
      /first different outcome/.test(e.message) &&
      // The first line of each error, with its name.
      /outcome: failed: RangeError: run 1\n/.test(e.message) &&
      /outcome: failed: RangeError: run 2\n/.test(e.message),
  );
});
