/**
 * TcpListener on 127.0.0.1 (ephemeral ports): incoming() as a stream that ends at close, the
 * addresses of both ends, dropping a pending accept loses no connection, disposing closes the
 * listener, and an accept error fails one accept only (tokio: the listener keeps serving).
 */
import assert from "node:assert/strict";
import type * as net from "node:net";
import { test } from "node:test";
import { future, Runtime, readExact, select, writeAll, yieldNow } from "../../src/index.js";
import { IoError, TcpListener, TcpStream } from "../../src/node/index.js";

test("incoming() yields each connection, with matching addresses, and ends when closed", async () => {
  const rt = new Runtime();
  const result = await rt.run(
    future(function* () {
      const listener = yield* TcpListener.bind({ port: 0 });
      const { port } = listener.localAddr();
      const clients = [yield* TcpStream.connect({ port }), yield* TcpStream.connect({ port })];
      const incoming = listener.incoming();
      const accepted = [(yield* incoming.next()).value!, (yield* incoming.next()).value!];
      const pairs = accepted.map((server) => {
        const client = clients.find((c) => c.localAddr().port === server.peerAddr().port)!;
        return { server: server.localAddr(), client: client.peerAddr(), peer: client.localAddr() };
      });
      listener.close();
      const end = yield* incoming.next();
      for (const c of [...clients, ...accepted]) c.drop();
      return { port, pairs, end };
    }),
  );
  for (const p of result.pairs) {
    assert.deepEqual(p.server, { host: "127.0.0.1", port: result.port });
    assert.deepEqual(p.client, { host: "127.0.0.1", port: result.port });
    assert.equal(p.peer.host, "127.0.0.1");
    assert.ok(p.peer.port > 0 && p.peer.port !== result.port);
  }
  assert.deepEqual(result.end, { done: true, value: undefined }, "ended with the listener");
});

test("a pending accept dropped by select loses no connection: the next accept gets it", async () => {
  const rt = new Runtime();
  const got = await rt.run(
    future(function* () {
      const listener = yield* TcpListener.bind({ port: 0 });
      const accepting = listener.accept();
      assert.equal(accepting.describe(), "TcpListener.accept");
      const lost = yield* select([accepting, yieldNow()], { biased: true });
      assert.equal(lost.index, 1, "no connection yet: the accept lost the race and was dropped");
      const stream = listener.incoming();
      const raced = yield* select([stream.next(), yieldNow()], { biased: true });
      assert.equal(raced.index, 1);
      stream.drop();
      const client = yield* TcpStream.connect({ port: listener.localAddr().port });
      const server = yield* listener.accept();
      yield* writeAll(client, new Uint8Array([7, 8, 9]));
      const bytes = [...(yield* readExact(server, 3))];
      client.drop();
      server.drop();
      listener.close();
      return bytes;
    }),
  );
  assert.deepEqual(got, [7, 8, 9]);
});

test("disposing the listener closes it: connecting is refused", async () => {
  const rt = new Runtime();
  const error = await rt
    .run(
      future(function* () {
        let port: number;
        {
          using listener = yield* TcpListener.bind({ port: 0 });
          port = listener.localAddr().port;
        }
        return yield* TcpStream.connect({ port });
      }),
    )
    .catch((e: unknown) => e);
  assert.ok(error instanceof IoError);
  assert.equal(error.code, "ECONNREFUSED");
});

test("an accept error (EMFILE, say) fails that accept; the next accept gets the next connection", async () => {
  const rt = new Runtime();
  const result = await rt.run(
    future(function* () {
      const listener = yield* TcpListener.bind({ port: 0 });
      // Node reports a failed accept(2) as an 'error' event on the server, which keeps listening.
      const server = (listener as unknown as { server: net.Server }).server;
      server.emit("error", Object.assign(new Error("accept EMFILE"), { code: "EMFILE" }));
      const first = yield* listener.accept().catch((e: unknown) => e);
      // The next accept waits for a connection (not for another error).
      const accepting = rt.spawn(listener.accept().catch((e: unknown) => e));
      yield* yieldNow();
      const client = yield* TcpStream.connect({ port: listener.localAddr().port });
      const second = yield* accepting;
      client.drop();
      if (second instanceof TcpStream) second.drop();
      listener.close();
      return { first, second };
    }),
  );
  assert.ok(result.first instanceof IoError);
  assert.equal(result.first.code, "EMFILE");
  assert.ok(result.second instanceof TcpStream, `the listener still serves: ${result.second}`);
});
