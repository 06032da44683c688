import assert from "node:assert/strict";
import { once } from "node:events";
import * as net from "node:net";
import { test } from "node:test";
import {
  asyncFn,
  fromPromise,
  future,
  Runtime,
  read,
  readExact,
  readToEnd,
  scope,
  shutdown,
  timeout,
  writeAll,
} from "../../src/index.js";
import { IoError, TcpListener, TcpStream } from "../../src/node/index.js";
import { MockTask } from "../../src/testing/index.js";

const echo = asyncFn(function* (conn: TcpStream) {
  const buf = new Uint8Array(4096);
  for (;;) {
    const n = yield* read(conn, buf);
    if (n === 0) break;
    yield* writeAll(conn, buf.subarray(0, n));
  }
  yield* shutdown(conn);
  conn.drop();
});

test("an echo server on the runtime serves 1,000 concurrent connections of 64 KiB in random chunks", async () => {
  const rt = new Runtime();
  const CONNECTIONS = 1000;
  const SIZE = 64 * 1024;
  let seed = 42;
  const random = () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed / 0x7fffffff;
  };
  const ok = await rt.run(
    future(function* () {
      const listener = yield* TcpListener.bind({ port: 0 });
      const { port } = listener.localAddr();
      const server = rt.spawn(
        future(function* () {
          for (let i = 0; i < CONNECTIONS; i++) rt.spawn(echo(yield* listener.accept()));
        }),
      );
      const client = asyncFn(function* (id: number) {
        const conn = yield* TcpStream.connect({ port });
        const payload = new Uint8Array(SIZE).map((_, i) => (i * 31 + id) % 256);
        const sizes: number[] = [];
        for (let off = 0; off < SIZE; ) {
          const n = Math.min(SIZE - off, 1 + Math.floor(random() * 8192));
          sizes.push(n);
          off += n;
        }
        const writer = rt.spawn(
          future(function* () {
            let off = 0;
            for (const n of sizes) {
              yield* writeAll(conn, payload.subarray(off, off + n));
              off += n;
            }
            yield* shutdown(conn);
          }),
        );
        const back = yield* readToEnd(conn);
        yield* writer;
        conn.drop();
        return back.length === SIZE && back.every((b, i) => b === payload[i]);
      });
      const results = yield* scope(function* (s) {
        const hs = [];
        for (let i = 0; i < CONNECTIONS; i++) hs.push(s.spawn(client(i)));
        const out: boolean[] = [];
        for (const h of hs) out.push(yield* h);
        return out;
      });
      yield* server;
      listener.close();
      return results.filter((r) => r).length;
    }),
  );
  assert.equal(ok, CONNECTIONS);
});

test("backpressure: writing to a peer that does not read stays within bounded memory", async () => {
  const rt = new Runtime();
  const server = net.createServer({ pauseOnConnect: true }, () => {
    // Never read: the kernel buffers fill up, then Node's, then the writer must wait.
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  try {
    const written = await rt.run(
      future(function* () {
        const conn = yield* TcpStream.connect({ port });
        const chunk = new Uint8Array(64 * 1024);
        let total = 0;
        const writer = rt.spawn(
          future(function* () {
            for (;;) {
              yield* writeAll(conn, chunk);
              total += chunk.length;
            }
          }),
        );
        // Give the writer every chance to run ahead: it must be stuck waiting for 'drain'.
        yield* timeout(writer, 300).catch(() => undefined);
        conn.drop();
        return total;
      }),
    );
    assert.ok(written < 64 * 1024 * 1024, `wrote ${written} bytes into a peer that never reads`);
  } finally {
    server.close();
  }
});

test("dropping a pending read loses no bytes: the next read gets them", async () => {
  const rt = new Runtime();
  await rt.run(
    future(function* () {
      const listener = yield* TcpListener.bind({ port: 0 });
      const client = yield* TcpStream.connect({ port: listener.localAddr().port });
      const conn = yield* listener.accept();
      const buf = new Uint8Array(16);
      const first = new MockTask(read(conn, buf));
      assert.equal(typeof first.poll(), "symbol", "nothing sent yet");
      first.drop();
      yield* writeAll(client, new TextEncoder().encode("hello"));
      const got = yield* readExact(conn, 5);
      assert.equal(new TextDecoder().decode(got), "hello");
      client.drop();
      conn.drop();
      listener.close();
    }),
  );
});

test("a refused connection and a reset give typed IoErrors; the runtime keeps serving", async () => {
  const rt = new Runtime();
  const refused = await rt
    .run(
      future(function* () {
        const listener = yield* TcpListener.bind({ port: 0 });
        const { port } = listener.localAddr();
        listener.close();
        return yield* TcpStream.connect({ port });
      }),
    )
    .catch((e: unknown) => e);
  assert.ok(refused instanceof IoError);
  assert.equal(refused.code, "ECONNREFUSED");
  await rt.run(
    future(function* () {
      const listener = yield* TcpListener.bind({ port: 0 });
      const client = yield* TcpStream.connect({ port: listener.localAddr().port });
      const conn = yield* listener.accept();
      // The peer resets: pending and later operations fail with a typed error.
      (conn as unknown as { socket: net.Socket }).socket.resetAndDestroy();
      const big = new Uint8Array(1024 * 1024);
      const error = yield* future(function* () {
        for (;;) yield* writeAll(client, big);
      }).catch((e: unknown) => e);
      assert.ok(error instanceof IoError, String(error));
      assert.match(error.code, /ECONNRESET|EPIPE/);
      client.drop();
      // Still serving.
      const again = yield* TcpStream.connect({ port: listener.localAddr().port });
      const accepted = yield* listener.accept();
      yield* writeAll(again, new Uint8Array([1, 2, 3]));
      assert.deepEqual([...(yield* readExact(accepted, 3))], [1, 2, 3]);
      again.drop();
      accepted.drop();
      listener.close();
    }),
  );
});

test("bad addresses get InvalidArgumentError", () => {
  assert.throws(
    () => TcpStream.connect({ port: 70000 }),
    /expected \{ host\?: string, port: 0\.\.65535 \}/,
  );
  assert.throws(() => TcpListener.bind(null as never), /TcpListener.bind/);
});

test("read backpressure: an unread connection pauses, the peer's writes back up, and every byte arrives in order afterwards", {
  timeout: 60_000,
}, async () => {
  const rt = new Runtime();
  const TOTAL = 32 * 1024 * 1024;
  const byteAt = (i: number) => (i * 7 + (i >>> 13)) & 0xff;
  await rt.run(
    future(function* () {
      const listener = yield* TcpListener.bind({ port: 0 });
      const client = net.connect({ port: listener.localAddr().port, host: "127.0.0.1" });
      const conn = yield* listener.accept();
      const socket = (conn as unknown as { socket: net.Socket }).socket;
      const internals = conn as unknown as { queued: number; limit: number };
      // The peer writes as fast as it is allowed to, honouring 'drain'.
      const writing = (async () => {
        const chunk = Buffer.alloc(64 * 1024);
        for (let off = 0; off < TOTAL; off += chunk.length) {
          for (let i = 0; i < chunk.length; i++) chunk[i] = byteAt(off + i);
          if (!client.write(Buffer.from(chunk))) await once(client, "drain");
        }
        client.end();
      })();
      // Nobody reads: wait (on real events) until the queue paused the socket, Node stopped
      // reading from the kernel, and the peer holds bytes it cannot send.
      const stalled = () =>
        internals.queued >= internals.limit &&
        !(socket as unknown as { _handle: { reading: boolean } })._handle.reading &&
        client.writableLength > 0;
      yield* fromPromise(async () => {
        while (!stalled()) await new Promise<void>((resolve) => setImmediate(resolve));
      });
      const maxChunk = 64 * 1024;
      assert.ok(internals.queued < internals.limit + maxChunk, `queued ${internals.queued}`);
      assert.ok(socket.readableLength <= socket.readableHighWaterMark + maxChunk);
      // Read it all in small, odd-sized pieces (chunks are split across reads).
      const buf = new Uint8Array(1000);
      let got = 0;
      let bad = -1;
      for (;;) {
        const n = yield* read(conn, buf);
        if (n === 0) break;
        for (let i = 0; i < n && bad < 0; i++) if (buf[i] !== byteAt(got + i)) bad = got + i;
        got += n;
      }
      yield* fromPromise(() => writing);
      assert.equal(bad, -1, `first wrong byte at ${bad}`);
      assert.equal(got, TOTAL);
      client.destroy();
      conn.drop();
      listener.close();
    }),
  );
});

test("half-close: after the peer shuts down, this side reads everything to the end and can still write its reply", async () => {
  const rt = new Runtime();
  const enc = new TextEncoder();
  const dec = new TextDecoder();
  const reply = await rt.run(
    future(function* () {
      const listener = yield* TcpListener.bind({ port: 0 });
      const server = rt.spawn(
        future(function* () {
          const conn = yield* listener.accept();
          const request = yield* readToEnd(conn);
          // The request's sender has finished sending; the reply still goes out.
          yield* writeAll(conn, enc.encode(`got ${dec.decode(request)}`));
          yield* shutdown(conn);
          conn.drop();
        }),
      );
      const client = yield* TcpStream.connect({ port: listener.localAddr().port });
      yield* writeAll(client, enc.encode("a request"));
      yield* shutdown(client);
      const back = yield* readToEnd(client);
      yield* server;
      client.drop();
      listener.close();
      return dec.decode(back);
    }),
  );
  assert.equal(reply, "got a request");
});
