import assert from "node:assert/strict";
import { Readable, Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { test } from "node:test";
// smtp-server's pregenerated localhost certificate (test only).
import getTLSOptions from "smtp-server/lib/tls-options.js";
import {
  duplex,
  future,
  Runtime,
  readExact,
  readToEnd,
  shutdown,
  writeAll,
} from "../../src/index.js";
import {
  fromReadable,
  fromWritable,
  IoError,
  TlsListener,
  tlsConnect,
  toReadable,
  toWritable,
} from "../../src/node/index.js";

const enc = new TextEncoder();

test("TlsListener accepts a TLS connection; tlsConnect verifies certificates by default", async () => {
  const { key, cert } = getTLSOptions({}) as { key: string; cert: string };
  const rt = new Runtime();
  await rt.run(
    future(function* () {
      const listener = yield* TlsListener.bind({ port: 0 }, { key, cert });
      const { port } = listener.localAddr();
      const server = rt.spawn(
        future(function* () {
          const conn = yield* listener.accept();
          const got = yield* readExact(conn, 5);
          yield* writeAll(conn, got);
          yield* shutdown(conn);
        }),
      );
      const client = yield* tlsConnect({ port }, { rejectUnauthorized: false });
      yield* writeAll(client, enc.encode("hello"));
      assert.equal(new TextDecoder().decode(yield* readToEnd(client)), "hello");
      yield* server;
      client.drop();
      const refused = yield* tlsConnect({ port }).catch((e: unknown) => e);
      assert.ok(refused instanceof IoError, String(refused));
      listener.close();
    }),
  );
});

test("Node streams <-> AsyncRead/AsyncWrite, both directions", async () => {
  const rt = new Runtime();
  // fromReadable / fromWritable
  const chunks: Buffer[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      chunks.push(chunk);
      cb();
    },
  });
  await rt.run(
    future(function* () {
      const source = fromReadable(Readable.from([Buffer.from("ab"), Buffer.from("cd")]));
      const all = yield* readToEnd(source);
      const out = fromWritable(sink);
      yield* writeAll(out, all);
      yield* shutdown(out);
    }),
  );
  assert.equal(Buffer.concat(chunks).toString(), "abcd");
  // toReadable / toWritable through a duplex pair, with node:stream pipeline in between.
  const [a, b] = duplex(8);
  const collected: Buffer[] = [];
  const writer = rt.run(
    future(function* () {
      yield* writeAll(a, enc.encode("streams both ways"));
      yield* shutdown(a);
    }),
  );
  await pipeline(
    toReadable(b),
    new Writable({
      write(chunk: Buffer, _enc, cb) {
        collected.push(chunk);
        cb();
      },
    }),
  );
  await writer;
  assert.equal(Buffer.concat(collected).toString(), "streams both ways");
  const [c, d] = duplex(4);
  const reader = rt.run(readToEnd(d));
  await pipeline(Readable.from([Buffer.from("into "), Buffer.from("a sink")]), toWritable(c));
  assert.equal(new TextDecoder().decode(await reader), "into a sink");
});
