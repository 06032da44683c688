import assert from "node:assert/strict";
import * as net from "node:net";
import { test } from "node:test";
import {
  asyncFn,
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
