/**
 * The simulated network's connections that are still connecting, as fault injection sees them
 * (`host.connections()` lists them): dropping one, resetting one or crashing its host ends the
 * connect at once with an IoError (never a `null` throw, never a silent wait for the SYN
 * timeout); and a connect future dropped after its connection was established closes it.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { type Future, future, read, sleep, spawn } from "../../src/index.js";
import { IoError } from "../../src/node/io-error.js";
import { simulate } from "../../src/sim/index.js";
import type { SimHost, SimStream } from "../../src/sim/net/index.js";
import { noopContext } from "../../src/testing/index.js";

const A = "10.0.0.1";
const B = "10.0.0.2";

/** How a connect ended: the error's code (or what was thrown), and when. */
const connectOutcome = (client: SimHost, now: () => number): Future<{ what: string; at: number }> =>
  future(function* () {
    try {
      yield* client.connect({ host: B, port: 7 });
      return { what: "connected", at: now() };
    } catch (e) {
      return { what: e instanceof IoError ? e.code : `threw ${String(e)}`, at: now() };
    }
  });

/**
 * Starts a connect from A to B whose request a partition holds, and at 10 ms applies `fault` to
 * the connecting end that `A.connections()` shows; returns how the connect ended, and whether it
 * ended within 1 ms of the fault.
 */
function faultWhileConnecting(seed: number, fault: (end: SimStream, client: SimHost) => void) {
  return simulate({ seed }, (sim) =>
    future(function* () {
      const net = sim.network;
      const client = net.host(A);
      yield* net.host(B).bind({ port: 7 });
      net.partition(A, B);
      const connecting = spawn(connectOutcome(client, () => sim.now()));
      yield* sleep(10);
      const ends = client.connections();
      assert.equal(ends.length, 1);
      const faultAt = sim.now();
      fault(ends[0]!, client);
      const { what, at } = yield* connecting;
      assert.deepEqual(client.connections(), []);
      return `${what}${at - faultAt < 1 ? " at once" : ` after ${at - faultAt} ms`}`;
    }),
  );
}

test("dropping a connecting end fails its connect at once with ECONNABORTED", () => {
  for (let seed = 1; seed <= 20; seed++) {
    assert.equal(
      faultWhileConnecting(seed, (end) => end.drop()),
      "ECONNABORTED at once",
      `seed ${seed}`,
    );
  }
});

test("resetting a connecting end fails its connect at once with ECONNRESET", () => {
  for (let seed = 1; seed <= 20; seed++) {
    assert.equal(
      faultWhileConnecting(seed, (end, client) => {
        const stats = client.network.stats;
        client.network.reset(end);
        assert.equal(client.network.stats.held, stats.held);
      }),
      "ECONNRESET at once",
      `seed ${seed}`,
    );
  }
});

test("a crash of the connecting host fails its connect at once with ECONNABORTED", () => {
  for (let seed = 1; seed <= 20; seed++) {
    assert.equal(
      faultWhileConnecting(seed, (_end, client) => client.crash()),
      "ECONNABORTED at once",
      `seed ${seed}`,
    );
  }
});

test("a connect dropped after its connection was established closes it: the server reads EOF", () => {
  for (let seed = 1; seed <= 20; seed++) {
    const result = simulate({ seed }, (sim) =>
      future(function* () {
        const client = sim.network.host(A);
        const listener = yield* sim.network.host(B).bind({ port: 7 });
        const connecting = client.connect({ host: B, port: 7 });
        // Started by hand, then never polled again: its answer arrives while nobody waits.
        assert.equal(typeof connecting.poll(noopContext()), "symbol");
        const accepted = yield* listener.accept();
        yield* sleep(100);
        assert.equal(client.connections().length, 1, "established, owned by the connect future");
        connecting.drop();
        assert.deepEqual(client.connections(), []);
        const n = yield* read(accepted, new Uint8Array(16));
        return { n, reset: accepted.isReset };
      }),
    );
    assert.deepEqual(result, { n: 0, reset: false }, `seed ${seed}`);
  }
});
