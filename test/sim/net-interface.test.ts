import assert from "node:assert/strict";
import { test } from "node:test";
import {
  asyncFn,
  type Connection,
  copy,
  future,
  join,
  joinAll,
  type Network,
  Runtime,
  readToEnd,
  seededRandom,
  shutdown,
  writeAll,
} from "../../src/index.js";
import { IoError, nodeNetwork } from "../../src/node/index.js";
import { SimNetwork } from "../../src/sim/net/index.js";

/** An echo service and 10 clients, written only against `Network`. */
const echoProgram = asyncFn(function* (server: Network, client: Network, host: string) {
  const listener = yield* server.bind({ host, port: 0 });
  const { port } = listener.localAddr();
  const serveOne = asyncFn(function* (conn: Connection) {
    yield* copy(conn, conn);
    yield* shutdown(conn);
    conn.drop();
  });
  const accepting = future(function* () {
    for (let i = 0; i < 10; i++) yield* serveOne(yield* listener.accept());
  });
  const clients = joinAll(
    Array.from({ length: 10 }, (_, i) =>
      future(function* () {
        const conn = yield* client.connect({ host, port }, { timeout: 5000 });
        conn.setNoDelay(true);
        const data = new TextEncoder().encode(`hello ${i} `.repeat(1000 * (i + 1)));
        const [, back] = yield* join(
          future(function* () {
            yield* writeAll(conn, data);
            yield* shutdown(conn);
          }),
          readToEnd(conn),
        );
        conn.drop();
        return new TextDecoder().decode(back) === new TextDecoder().decode(data);
      }),
    ),
  );
  const [, results] = yield* join(accepting, clients);
  // A refused connect is the same typed error on both.
  listener.close();
  let refused = "connected";
  try {
    (yield* client.connect({ host, port }, { timeout: 5000 })).drop();
  } catch (error) {
    refused = error instanceof IoError ? error.code : String(error);
  }
  return { results, refused };
});

const expected = { results: Array(10).fill(true), refused: "ECONNREFUSED" };

test("one echo program, written against Network, runs unchanged on real 127.0.0.1 sockets and on simulated hosts", async () => {
  // Real sockets (nodeNetwork), real time.
  const real = await new Runtime().run(echoProgram(nodeNetwork, nodeNetwork, "127.0.0.1"));
  assert.deepEqual(real, expected);
  // Simulated hosts (SimHost), virtual time, jittery links.
  const rt = new Runtime({ clock: "virtual" });
  const net = new SimNetwork({ random: seededRandom(5), link: { latency: { min: 1, max: 20 } } });
  const simulated = await rt.run(
    echoProgram(net.host("10.0.0.1"), net.host("10.0.0.2"), "10.0.0.1"),
  );
  assert.deepEqual(simulated, expected);
  assert.ok(rt.time.now() > 0 && net.stats.segments > 0);
});
