/**
 * The simulated network under the simulator (`simulate`/`explore`): echo traffic replays by
 * seed, and the two broken request/response protocols of net-protocols.test.ts are caught by
 * `explore` within the stated number of seeds, replay exactly, and their fixes pass those seeds.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  asyncFn,
  BufReader,
  copy,
  future,
  join,
  joinAll,
  read,
  readToEnd,
  shutdown,
  sleep,
  spawn,
  unboundedChannel,
  writeAll,
} from "../../src/index.js";
import { IoError } from "../../src/node/io-error.js";
import { explore, type SimStream, type Simulation, simulate } from "../../src/sim/index.js";
import { assertCaughtAndReplayed, type Program } from "./support.js";

const SEEDS = 100;
const CLIENT = "10.0.0.1";
const SERVER = "10.0.0.2";
const encode = (s: string) => new TextEncoder().encode(s);

const echoSession = asyncFn(function* (conn: SimStream) {
  yield* copy(conn, conn);
  yield* shutdown(conn);
  conn.drop();
});

/** 20 clients echo 1-8 KB each through a jittery, lossy network; returns the virtual end time. */
const echoProgram = (sim: Simulation) =>
  future(function* () {
    const net = sim.createNetwork({ link: { latency: { min: 1, max: 50 }, loss: 0.02 } });
    const listener = yield* net.host(SERVER).bind({ port: 7 });
    spawn(
      future(function* () {
        for (;;) spawn(echoSession(yield* listener.accept()));
      }),
    );
    const ok = yield* joinAll(
      Array.from({ length: 20 }, (_, i) =>
        future(function* () {
          const data = new Uint8Array(1000 + ((i * 397) % 7000)).fill(i);
          const conn = yield* net.host(`10.0.1.${i}`).connect({ host: SERVER, port: 7 });
          const [, back] = yield* join(
            future(function* () {
              yield* writeAll(conn, data);
              yield* shutdown(conn);
            }),
            readToEnd(conn),
          );
          conn.drop();
          return Buffer.from(back).equals(Buffer.from(data));
        }),
      ),
    );
    assert.deepEqual(ok, Array(20).fill(true));
    return sim.now();
  });

test("echo over a jittery, lossy simulated network: all bytes back under 100 seeds, each replayable", () => {
  const report = explore({ seeds: SEEDS, determinism: true }, echoProgram);
  assert.equal(report.seeds, SEEDS);
  const a = simulate({ seed: 7 }, echoProgram);
  assert.equal(simulate({ seed: 7 }, echoProgram), a);
  assert.notEqual(simulate({ seed: 8 }, echoProgram), a);
});

test("partition, repair, crash and restart under simulate", () => {
  const log = simulate({ seed: 3, pollCost: 0 }, (sim) =>
    future(function* () {
      const net = sim.createNetwork({ link: { latency: 10 } });
      const server = net.host(SERVER);
      const listener = yield* server.bind({ port: 25 });
      const conn = yield* net.host(CLIENT).connect({ host: SERVER, port: 25 });
      const peer = yield* listener.accept();
      const out: string[] = [];
      net.partition(CLIENT, SERVER);
      yield* writeAll(conn, encode("x"));
      yield* sleep(500);
      out.push(`held ${net.stats.held} at ${sim.now().toFixed(0)}`);
      net.repair(CLIENT, SERVER);
      const buf = new Uint8Array(1);
      yield* read(peer, buf);
      out.push(`arrived at ${sim.now().toFixed(0)}`);
      server.crash();
      try {
        yield* readToEnd(conn);
      } catch (error) {
        out.push(`client: ${(error as IoError).code} at ${sim.now().toFixed(0)}`);
      }
      server.restart();
      yield* server.bind({ port: 25 });
      (yield* net.host(CLIENT).connect({ host: SERVER, port: 25 })).drop();
      out.push("reconnected");
      return out;
    }),
  );
  assert.deepEqual(log, [
    "held 1 at 520",
    "arrived at 530",
    "client: ECONNRESET at 540",
    "reconnected",
  ]);
});

describe("a request/response protocol that breaks under reordering", () => {
  /** Answers each "req <id>" line with "resp <id>". */
  const answer = asyncFn(function* (conn: SimStream) {
    const reader = new BufReader(conn);
    for (;;) {
      const line = yield* reader.readLine();
      if (line === undefined) break;
      yield* writeAll(conn, encode(`resp ${line.slice(4)}\n`));
    }
    conn.drop();
  });

  /**
   * Two connections, requests sent alternately 6 ms apart. Broken: a response is paired with the
   * oldest outstanding request of either connection (arrival order across connections). Fixed:
   * with the oldest outstanding request of its own connection.
   */
  const program =
    (perConnection: boolean): Program =>
    (sim) =>
      future(function* () {
        const net = sim.createNetwork({ link: { latency: { min: 1, max: 8 } } });
        const listener = yield* net.host(SERVER).bind({ port: 80 });
        spawn(
          future(function* () {
            for (;;) spawn(answer(yield* listener.accept()));
          }),
        );
        const client = net.host(CLIENT);
        const conns = [
          yield* client.connect({ host: SERVER, port: 80 }),
          yield* client.connect({ host: SERVER, port: 80 }),
        ];
        const [tx, rx] = unboundedChannel<{ conn: number; line: string }>();
        for (const [i, conn] of conns.entries()) {
          const sender = tx.clone();
          spawn(
            future(function* () {
              const reader = new BufReader(conn);
              for (;;) {
                const line = yield* reader.readLine();
                if (line === undefined) break;
                sender.send({ conn: i, line });
              }
            }),
          );
        }
        tx.drop();
        const outstanding: number[][] = [[], []];
        const shared: number[] = [];
        for (let id = 0; id < 6; id++) {
          outstanding[id % 2]!.push(id);
          shared.push(id);
          yield* writeAll(conns[id % 2]!, encode(`req ${id}\n`));
          yield* sleep(6);
        }
        for (let answered = 0; answered < 6; answered++) {
          const { conn, line } = yield* rx.recv();
          const expected = perConnection ? outstanding[conn]!.shift() : shared.shift();
          if (line !== `resp ${expected}`) {
            throw new Error(`response mismatch: expected "resp ${expected}", got "${line}"`);
          }
        }
        for (const conn of conns) conn.drop();
      });

  test(`caught within ${SEEDS} seeds, replayed; the per-connection version passes them`, (t) => {
    const failure = assertCaughtAndReplayed(
      program(false),
      program(true),
      { seeds: SEEDS },
      /response mismatch/,
    );
    t.diagnostic(`caught at seed ${failure.seed} (replay ${failure.replay})`);
  });
});

describe("a retry after a reset that double-applies a non-idempotent request", () => {
  /**
   * Three workers each apply 10 increments; on a reset they reconnect and send the increment
   * again. Broken: the server applies every request it reads, so a reset that loses the reply
   * of an applied increment makes the retry apply it twice. Fixed: the server remembers the ids
   * it applied (an idempotency key).
   */
  const program =
    (dedupe: boolean): Program =>
    (sim) =>
      future(function* () {
        const net = sim.createNetwork({ link: { latency: { min: 1, max: 10 }, resetRate: 0.01 } });
        let counter = 0;
        const applied = new Set<string>();
        const listener = yield* net.host(SERVER).bind({ port: 90 });
        const session = asyncFn(function* (conn: SimStream) {
          const reader = new BufReader(conn);
          try {
            for (;;) {
              const line = yield* reader.readLine();
              if (line === undefined) break;
              const id = line.slice(5);
              if (!dedupe || !applied.has(id)) counter++;
              applied.add(id);
              yield* writeAll(conn, encode("ok\n"));
            }
          } catch (error) {
            if (!(error instanceof IoError)) throw error;
          } finally {
            conn.drop();
          }
        });
        spawn(
          future(function* () {
            for (;;) spawn(session(yield* listener.accept()));
          }),
        );
        const client = net.host(CLIENT);
        const worker = asyncFn(function* (w: number) {
          let conn: SimStream | null = null;
          let reader: BufReader | null = null;
          for (let i = 0; i < 10; ) {
            try {
              if (conn === null) {
                conn = yield* client.connect({ host: SERVER, port: 90 });
                reader = new BufReader(conn);
              }
              yield* writeAll(conn, encode(`incr ${w}-${i}\n`));
              const reply = yield* (reader as BufReader).readLine();
              if (reply !== "ok") throw new IoError("closed", "ECONNRESET", "read");
              i++;
            } catch (error) {
              if (!(error instanceof IoError)) throw error;
              conn?.drop();
              conn = null;
            }
          }
          conn?.drop();
        });
        yield* joinAll([0, 1, 2].map((w) => worker(w)));
        if (counter !== 30)
          throw new Error(`lost idempotency: counter ${counter} for 30 increments`);
      });

  test(`caught within ${SEEDS} seeds, replayed; the idempotent version passes them`, (t) => {
    const failure = assertCaughtAndReplayed(
      program(false),
      program(true),
      { seeds: SEEDS },
      /lost idempotency/,
    );
    t.diagnostic(`caught at seed ${failure.seed} (replay ${failure.replay})`);
  });
});
