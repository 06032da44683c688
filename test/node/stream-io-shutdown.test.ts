/**
 * The writable side of NodeStreamIo after `shutdown` (a half-close): a later write fails with
 * EPIPE at once instead of being accepted and then destroying the whole stream (its readable
 * side with it), and a flush while a shutdown is under way waits for it instead of writing after
 * the end (which destroyed the stream too). Checked on a scripted Duplex and on a real socket.
 * Also: a stream already destroyed when it is wrapped (a queued connection reset before its
 * accept) reports that at once instead of leaving reads waiting for events that are past.
 */
import assert from "node:assert/strict";
import { Duplex, PassThrough } from "node:stream";
import { test } from "node:test";
import {
  flush,
  future,
  Pending,
  Runtime,
  read,
  readToEnd,
  shutdown,
  write,
  writeAll,
} from "../../src/index.js";
import { fromDuplex, IoError, TcpListener, TcpStream } from "../../src/node/index.js";
import { MockTask } from "../../src/testing/index.js";

const bytes = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array) => new TextDecoder().decode(b);

/** Lets Node's stream machinery run its nextTick and microtask steps. */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

/** A Duplex whose writes complete when `release()` is called; its readable side is pushed by hand. */
function heldDuplex() {
  const written: string[] = [];
  const held: (() => void)[] = [];
  const stream = new Duplex({
    read() {},
    write(chunk: Buffer, _encoding, callback) {
      held.push(() => {
        if (chunk.length > 0) written.push(chunk.toString());
        callback();
      });
    },
  });
  return {
    stream,
    written,
    async release() {
      for (let i = 0; i < 100 && held.length > 0; i++) {
        while (held.length > 0) held.shift()!();
        await settle();
      }
    },
  };
}

test("a write after shutdown throws EPIPE; the stream is not destroyed and still reads", async () => {
  const d = heldDuplex();
  const io = fromDuplex(d.stream);
  new MockTask(writeAll(io, bytes("bye"))).poll();
  const closing = new MockTask(shutdown(io));
  assert.equal(closing.poll(), Pending);
  await d.release();
  assert.equal(closing.poll(), undefined, "shut down");
  assert.throws(
    () => new MockTask(write(io, bytes("late"))).poll(),
    (e: unknown) => e instanceof IoError && e.code === "EPIPE",
  );
  await settle();
  assert.equal(d.stream.destroyed, false, "the write did not destroy the stream");
  d.stream.push("reply");
  d.stream.push(null);
  const reading = new MockTask(readToEnd(io));
  await settle();
  assert.equal(text(reading.poll() as Uint8Array), "reply", "the readable side is intact");
  assert.deepEqual(d.written, ["bye"], "the late bytes were not sent");
});

test("a write while a shutdown is still under way throws EPIPE too", async () => {
  const d = heldDuplex();
  const io = fromDuplex(d.stream);
  new MockTask(writeAll(io, bytes("bye"))).poll();
  const closing = new MockTask(shutdown(io));
  assert.equal(closing.poll(), Pending);
  closing.drop();
  assert.throws(() => new MockTask(write(io, bytes("late"))).poll(), { code: "EPIPE" });
  await d.release();
  assert.equal(d.stream.destroyed, false);
  assert.deepEqual(d.written, ["bye"]);
});

test("a flush during a shutdown waits for it to finish and does not destroy the stream", async () => {
  const d = heldDuplex();
  const io = fromDuplex(d.stream);
  new MockTask(writeAll(io, bytes("bye"))).poll();
  const closing = new MockTask(shutdown(io));
  assert.equal(closing.poll(), Pending);
  closing.drop(); // e.g. lost a select: the end is queued all the same
  const flushing = new MockTask(flush(io));
  assert.equal(flushing.poll(), Pending, "'bye' is not handed on yet");
  await settle();
  assert.equal(d.stream.destroyed, false, "no write after the end");
  await d.release();
  assert.equal(flushing.isWoken(), true, "the finish wakes the flush");
  assert.equal(flushing.poll(), undefined);
  assert.equal(d.stream.destroyed, false);
  assert.deepEqual(d.written, ["bye"]);
});

test("TCP: after shutdown a write fails with EPIPE, and the peer's reply still arrives", async () => {
  const rt = new Runtime();
  const result = await rt.run(
    future(function* () {
      const listener = yield* TcpListener.bind({ port: 0 });
      const client = yield* TcpStream.connect({ port: listener.localAddr().port });
      const server = yield* listener.accept();
      // Closed whatever happens, so a failure cannot keep the test process alive.
      using _listener = listener;
      using _client = client;
      using _server = server;
      yield* writeAll(client, bytes("request"));
      yield* shutdown(client);
      let lateWrite = "accepted";
      try {
        yield* write(client, bytes("late"));
      } catch (e) {
        lateWrite = e instanceof IoError ? e.code : String(e);
      }
      const request = text(yield* readToEnd(server));
      yield* writeAll(server, bytes("reply"));
      yield* shutdown(server);
      const reply = text(yield* readToEnd(client));
      return { lateWrite, request, reply };
    }),
  );
  assert.deepEqual(result, { lateWrite: "EPIPE", request: "request", reply: "reply" });
});

test("a stream destroyed before it was wrapped (a connection reset before its accept) fails reads and writes instead of hanging", async () => {
  const failed = new PassThrough();
  failed.on("error", () => {}); // the owner's handler (the TLS server's, for a queued socket)
  failed.destroy(Object.assign(new Error("read ECONNRESET"), { code: "ECONNRESET" }));
  await settle(); // its 'error' and 'close' are past
  const io = fromDuplex(failed);
  const reading = new MockTask(read(io, new Uint8Array(8)));
  assert.throws(
    () => reading.poll(),
    (e: unknown) => e instanceof IoError && e.code === "ECONNRESET",
  );
  assert.throws(() => new MockTask(write(io, bytes("x"))).poll(), { code: "ECONNRESET" });

  const closed = new PassThrough();
  closed.destroy();
  await settle();
  const io2 = fromDuplex(closed);
  assert.equal(new MockTask(read(io2, new Uint8Array(8))).poll(), 0, "end of stream, not Pending");
  assert.throws(() => new MockTask(write(io2, bytes("x"))).poll(), { code: "EPIPE" });
});
