/**
 * SimListener with more than one waiter, and its end of life: several tasks may accept on one
 * listener at once (as with tokio's `TcpListener::accept(&self)`), and each gets a connection as
 * they arrive; one of them giving up (a dropped accept or incoming stream) does not strand the
 * others; closing it (also by `Symbol.dispose`) fails pending accepts, frees the port and resets
 * the connections nobody accepted. Also `bind` dropped before its first poll, and the ephemeral
 * port range running out.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  future,
  joinAll,
  read,
  seededRandom,
  sleep,
  spawn,
  TimeoutError,
  timeout,
} from "../../src/index.js";
import { IoError } from "../../src/node/io-error.js";
import { type Simulation, simulate } from "../../src/sim/index.js";
import { SimNetwork } from "../../src/sim/net/index.js";

const A = "10.0.0.1";
const B = "10.0.0.2";
const SEEDS = 30;

function codeOf(error: unknown): string {
  return error instanceof IoError ? error.code : `not an IoError: ${String(error)}`;
}

/** Client ports of the connections two concurrent acceptors got, sorted. */
function twoAcceptors(sim: Simulation, giveUp: "accept" | "incoming" | null) {
  return future(function* () {
    const client = sim.network.host(A);
    const listener = yield* sim.network.host(B).bind({ port: 7 });
    const acceptor = () =>
      spawn(
        future(function* () {
          const conn = yield* listener.accept();
          return conn.peerAddr().port;
        }),
      );
    const first = acceptor();
    if (giveUp === "accept") {
      // A third waiter that gives up before anything arrives.
      yield* spawn(
        future(function* () {
          try {
            yield* timeout(listener.accept(), 5);
          } catch (e) {
            assert.ok(e instanceof TimeoutError);
          }
        }),
      );
    } else if (giveUp === "incoming") {
      yield* spawn(
        future(function* () {
          try {
            yield* timeout(
              listener.incoming().forEach(() => {}),
              5,
            );
          } catch (e) {
            assert.ok(e instanceof TimeoutError);
          }
        }),
      );
    }
    const second = acceptor();
    yield* sleep(10);
    const conns = [
      yield* client.connect({ host: B, port: 7 }),
      yield* client.connect({ host: B, port: 7 }),
    ];
    const ports = yield* joinAll([first, second]);
    return {
      accepted: ports.sort((x, y) => x - y),
      connected: conns.map((c) => c.localAddr().port).sort((x, y) => x - y),
    };
  });
}

test("two tasks accepting on one listener each get one of two connections", () => {
  for (let seed = 1; seed <= SEEDS; seed++) {
    const { accepted, connected } = simulate({ seed }, (sim) => twoAcceptors(sim, null));
    assert.deepEqual(accepted, connected, `seed ${seed}`);
  }
});

test("an accept that is dropped does not strand the other acceptors", () => {
  for (let seed = 1; seed <= SEEDS; seed++) {
    const { accepted, connected } = simulate({ seed }, (sim) => twoAcceptors(sim, "accept"));
    assert.deepEqual(accepted, connected, `seed ${seed}`);
  }
});

test("an incoming stream that is dropped does not strand the other acceptors", () => {
  for (let seed = 1; seed <= SEEDS; seed++) {
    const { accepted, connected } = simulate({ seed }, (sim) => twoAcceptors(sim, "incoming"));
    assert.deepEqual(accepted, connected, `seed ${seed}`);
  }
});

test("Symbol.dispose closes the listener: a pending accept fails, incoming ends, the port is free", () => {
  for (let seed = 1; seed <= SEEDS; seed++) {
    const result = simulate({ seed }, (sim) =>
      future(function* () {
        const server = sim.network.host(B);
        const listener = yield* server.bind({ port: 7 });
        const waiting = spawn(
          future(function* () {
            try {
              yield* listener.accept();
              return "accepted";
            } catch (e) {
              return codeOf(e);
            }
          }),
        );
        yield* sleep(1);
        listener[Symbol.dispose]();
        const acceptOutcome = yield* waiting;
        const next = yield* listener.incoming().next();
        const again = yield* server.bind({ port: 7 });
        return { acceptOutcome, incomingDone: next.done, port: again.localAddr().port };
      }),
    );
    assert.deepEqual(
      result,
      { acceptOutcome: "ECONNABORTED", incomingDone: true, port: 7 },
      `seed ${seed}`,
    );
  }
});

test("closing a listener resets the connections it queued that nobody accepted", () => {
  for (let seed = 1; seed <= SEEDS; seed++) {
    const result = simulate({ seed }, (sim) =>
      future(function* () {
        const server = sim.network.host(B);
        const listener = yield* server.bind({ port: 7 });
        // Established (the server's kernel queued it) but never accepted by the program.
        const conn = yield* sim.network.host(A).connect({ host: B, port: 7 });
        assert.equal(server.connections().length, 1);
        const resetsBefore = sim.network.stats.resets;
        listener.close();
        assert.deepEqual(server.connections(), []);
        let readOutcome = "read ok";
        try {
          yield* read(conn, new Uint8Array(8));
        } catch (e) {
          readOutcome = codeOf(e);
        }
        return {
          readOutcome,
          reset: conn.isReset,
          resets: sim.network.stats.resets - resetsBefore,
        };
      }),
    );
    assert.deepEqual(result, { readOutcome: "ECONNRESET", reset: true, resets: 1 }, `seed ${seed}`);
  }
});

test("a bind dropped before its first poll binds nothing", () => {
  const net = new SimNetwork({ random: seededRandom(1) });
  const host = net.host(B);
  const bind = host.bind({ port: 80 });
  assert.equal(bind.describe(), `SimHost.bind(${B}:80)`);
  bind.drop();
  assert.equal(host.listeners.size, 0);
  assert.equal(String(host), `SimHost(${B})`);
  host.crash();
  assert.equal(String(host), `SimHost(${B}, down)`);
  const connect = net.host(A).connect({ host: B, port: 80 });
  assert.equal(connect.describe(), `SimHost.connect(${A} -> ${B}:80)`);
  connect.drop();
});

test("once every ephemeral port is bound, bind to port 0 fails with EADDRNOTAVAIL", () => {
  const result = simulate({ seed: 1 }, (sim) =>
    future(function* () {
      const host = sim.network.host(B);
      const ports = new Set<number>();
      for (let i = 0; i < 65536 - 49152; i++) {
        ports.add((yield* host.bind({ port: 0 })).localAddr().port);
      }
      try {
        yield* host.bind({ port: 0 });
        return "bound";
      } catch (e) {
        return `${codeOf(e)} after ${ports.size} ports from ${Math.min(...ports)} to ${Math.max(...ports)}`;
      }
    }),
  );
  assert.equal(result, "EADDRNOTAVAIL after 16384 ports from 49152 to 65535");
});
