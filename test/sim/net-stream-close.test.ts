/**
 * How a SimStream ends, as a real TCP socket does: a close with bytes unread is abortive (the
 * peer gets ECONNRESET, not a clean end of stream), a close with nothing unread (also by
 * `Symbol.dispose`) delivers what was written and then end of stream, and a write after
 * `shutdown` fails with EPIPE while the peer still reads everything written before it.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { future, read, readToEnd, shutdown, sleep, writeAll } from "../../src/index.js";
import { IoError } from "../../src/node/io-error.js";
import { type Simulation, simulate } from "../../src/sim/index.js";

const A = "10.0.0.1";
const B = "10.0.0.2";
const SEEDS = 30;

function codeOf(error: unknown): string {
  return error instanceof IoError ? error.code : `not an IoError: ${String(error)}`;
}

/** A connection from A to B: the client end and the server end. */
function connected(sim: Simulation) {
  return future(function* () {
    const listener = yield* sim.network.host(B).bind({ port: 9 });
    const client = yield* sim.network.host(A).connect({ host: B, port: 9 });
    const server = yield* listener.accept();
    listener.close();
    return { client, server };
  });
}

test("dropping an end with bytes unread resets the connection: the peer reads ECONNRESET", () => {
  for (let seed = 1; seed <= SEEDS; seed++) {
    const result = simulate({ seed }, (sim) =>
      future(function* () {
        const { client, server } = yield* connected(sim);
        yield* writeAll(client, new Uint8Array([1, 2, 3]));
        yield* sleep(50); // arrived at the server, never read
        const resets = sim.network.stats.resets;
        server.drop();
        let readOutcome: string | number;
        try {
          readOutcome = yield* read(client, new Uint8Array(8));
        } catch (e) {
          readOutcome = codeOf(e);
        }
        return {
          readOutcome,
          clientReset: client.isReset,
          // A closed end is not reset; it is gone.
          serverReset: server.isReset,
          resets: sim.network.stats.resets - resets,
        };
      }),
    );
    assert.deepEqual(
      result,
      { readOutcome: "ECONNRESET", clientReset: true, serverReset: false, resets: 1 },
      `seed ${seed}`,
    );
  }
});

test("Symbol.dispose with nothing unread is a clean close: the peer reads the bytes, then EOF", () => {
  for (let seed = 1; seed <= SEEDS; seed++) {
    const result = simulate({ seed }, (sim) =>
      future(function* () {
        const { client, server } = yield* connected(sim);
        yield* writeAll(server, new Uint8Array([7, 8, 9]));
        server[Symbol.dispose]();
        let write = "ok";
        try {
          yield* writeAll(server, new Uint8Array([1]));
        } catch (e) {
          write = codeOf(e);
        }
        const bytes = [...(yield* readToEnd(client))];
        return { bytes, write, reset: client.isReset };
      }),
    );
    assert.deepEqual(result, { bytes: [7, 8, 9], write: "EPIPE", reset: false }, `seed ${seed}`);
  }
});

test("a write after shutdown fails with EPIPE; the peer reads what came before, then EOF", () => {
  for (let seed = 1; seed <= SEEDS; seed++) {
    const result = simulate({ seed }, (sim) =>
      future(function* () {
        const { client, server } = yield* connected(sim);
        assert.equal(String(client), `SimStream(${A}:${client.localAddr().port} -> ${B}:9)`);
        assert.equal(String(server), `SimStream(${B}:9 -> ${A}:${client.localAddr().port})`);
        yield* writeAll(client, new Uint8Array([4, 5]));
        yield* shutdown(client);
        yield* shutdown(client); // idempotent
        let write = "ok";
        try {
          yield* writeAll(client, new Uint8Array([6]));
        } catch (e) {
          write = `${codeOf(e)}: ${(e as Error).message}`;
        }
        const bytes = [...(yield* readToEnd(server))];
        // The other direction still works.
        yield* writeAll(server, new Uint8Array([1]));
        server.drop();
        const back = [...(yield* readToEnd(client))];
        return { write, bytes, back };
      }),
    );
    assert.deepEqual(
      result,
      { write: "EPIPE: write after shutdown", bytes: [4, 5], back: [1] },
      `seed ${seed}`,
    );
  }
});
