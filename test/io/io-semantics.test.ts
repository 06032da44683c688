/**
 * Semantics of the generic I/O helpers against tokio's io module: `copy` flushes a buffering
 * writer while its reader waits (no deadlock when the reader waits for a reply to those bytes),
 * `BufReader.readLine` enforces its line limit however the bytes arrive, a duplex write copies a
 * Node `Buffer` (whose `slice` is a view), and edge cases that were already right: a zero-length
 * read, `readExact` ending mid-way, CRLF split across reads, a last line without newline,
 * capacity 1 with large writes, and the drop of either end.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import {
  BrokenPipe,
  BufReader,
  BufWriter,
  type Context,
  copy,
  duplex,
  future,
  LineTooLong,
  Pending,
  type Poll,
  Runtime,
  read,
  readExact,
  readToEnd,
  shutdown,
  UnexpectedEof,
  writeAll,
} from "../../src/index.js";
import { MockTask } from "../../src/testing/index.js";

const bytes = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array) => new TextDecoder().decode(b);

/** A source that hands out `data` in the given chunk sizes, then the end of stream. */
function chunked(data: Uint8Array, sizes: number[]) {
  let offset = 0;
  let i = 0;
  return {
    pollRead(_cx: Context, buf: Uint8Array): Poll<number> {
      if (offset >= data.length || buf.length === 0) return 0;
      const n = Math.min(sizes[i++ % sizes.length]!, buf.length, data.length - offset);
      buf.set(data.subarray(offset, offset + n));
      offset += n;
      return n;
    },
  };
}

test("copy into a buffering writer flushes while the reader waits (request/response proxy)", () => {
  const [clientEnd, proxyIn] = duplex(1024);
  const [proxyOut, serverEnd] = duplex(1024);
  const proxy = new MockTask(copy(proxyIn, new BufWriter(proxyOut)));
  new MockTask(writeAll(clientEnd, bytes("PING\r\n"))).poll();
  assert.equal(proxy.poll(), Pending, "the client waits for the reply: nothing more to read");
  const buf = new Uint8Array(64);
  const got = new MockTask(read(serverEnd, buf)).poll();
  assert.equal(got, 6, "the request reached the server instead of staying in the BufWriter");
  assert.equal(text(buf.subarray(0, 6)), "PING\r\n");
});

test("copy into a buffering writer: every byte arrives, in order, however the reader paces", async () => {
  const rt = new Runtime();
  const payload = new Uint8Array(50_000).map((_, i) => (i * 7) % 256);
  const received = await rt.run(
    future(function* () {
      const [a, b] = duplex(333);
      const [c, d] = duplex(1000);
      const copying = rt.spawn(
        future(function* () {
          const n = yield* copy(b, new BufWriter(c, 512));
          yield* shutdown(c);
          return n;
        }),
      );
      rt.spawn(
        future(function* () {
          yield* writeAll(a, payload);
          yield* shutdown(a);
        }),
      );
      const all = yield* readToEnd(d);
      assert.equal(yield* copying, payload.length);
      return all;
    }),
  );
  assert.deepEqual(received, payload);
});

test("readLine: a line over the limit is LineTooLong even when it arrives in one read", () => {
  const reader = new BufReader(chunked(bytes("0123456789abcdef\nok\n"), [1000]), 64, 8);
  assert.throws(() => new MockTask(reader.readLine()).poll(), LineTooLong);
  assert.throws(() => new MockTask(reader.readLine()).poll(), LineTooLong, "it stays: again");
});

test("readLine: a line of exactly the limit is accepted, with CRLF split across reads", () => {
  const reader = new BufReader(chunked(bytes("01234567\r\nnext\r\nlast"), [1]), 4, 8);
  assert.equal(new MockTask(reader.readLine()).poll(), "01234567");
  assert.equal(new MockTask(reader.readLine()).poll(), "next");
  assert.equal(new MockTask(reader.readLine()).poll(), "last", "a last line without newline");
  assert.equal(new MockTask(reader.readLine()).poll(), undefined);
  assert.equal(new MockTask(reader.readLine()).poll(), undefined, "and again");
});

test("readLine: a last line over the limit, without newline, is LineTooLong", () => {
  const reader = new BufReader(chunked(bytes("ok\n0123456789"), [1000]), 64, 8);
  assert.equal(new MockTask(reader.readLine()).poll(), "ok");
  assert.throws(() => new MockTask(reader.readLine()).poll(), LineTooLong);
});

test("property: readLine accepts or rejects a line by its length, not by how it was split", () => {
  fc.assert(
    fc.property(
      fc.array(fc.integer({ min: 0, max: 20 }), { minLength: 1, maxLength: 6 }),
      fc.boolean(),
      fc.array(fc.integer({ min: 1, max: 30 }), { minLength: 1, maxLength: 5 }),
      fc.integer({ min: 1, max: 40 }),
      (lengths, crlf, sizes, capacity) => {
        const limit = 10;
        const wire = lengths.map((n) => `${"x".repeat(n)}${crlf ? "\r\n" : "\n"}`).join("");
        const reader = new BufReader(chunked(bytes(wire), sizes), capacity, limit);
        for (const n of lengths) {
          const task = new MockTask(reader.readLine());
          if (n > limit) {
            assert.throws(() => task.poll(), LineTooLong, `a line of ${n}`);
            return;
          }
          assert.equal(task.poll(), "x".repeat(n));
        }
        assert.equal(new MockTask(reader.readLine()).poll(), undefined);
      },
    ),
  );
});

test("lines(): the final line without a newline is the stream's last item", async () => {
  const rt = new Runtime();
  const all = await rt.run(new BufReader(chunked(bytes("a\r\nb\nc"), [2])).lines().collect());
  assert.deepEqual(all, ["a", "b", "c"]);
});

test("duplex: a write of a Node Buffer is copied: reusing the Buffer does not change the bytes", () => {
  const [a, b] = duplex(64);
  const chunk = Buffer.from("hello");
  assert.equal(new MockTask(writeAll(a, chunk)).poll(), undefined);
  chunk.fill(0x58); // the caller reuses its buffer once the write returned
  const buf = new Uint8Array(16);
  assert.equal(new MockTask(read(b, buf)).poll(), 5);
  assert.equal(text(buf.subarray(0, 5)), "hello");
});

test("duplex of capacity 1: a large write goes through byte by byte, waking each side", async () => {
  const rt = new Runtime();
  const payload = new Uint8Array(3000).map((_, i) => i % 253);
  const received = await rt.run(
    future(function* () {
      const [a, b] = duplex(1);
      rt.spawn(
        future(function* () {
          yield* writeAll(a, payload);
          yield* shutdown(a);
        }),
      );
      return yield* readToEnd(b);
    }),
  );
  assert.deepEqual(received, payload);
});

test("a zero-length read returns 0 at once, even with nothing buffered", () => {
  const [a] = duplex(4);
  assert.equal(new MockTask(read(a, new Uint8Array(0))).poll(), 0);
  assert.deepEqual(new MockTask(readExact(a, 0)).poll(), new Uint8Array(0));
});

test("readExact at the end mid-way: UnexpectedEof with the bytes received and expected", () => {
  const task = new MockTask(readExact(chunked(bytes("abc"), [1]), 5));
  assert.throws(
    () => task.poll(),
    (e: unknown) => e instanceof UnexpectedEof && e.received === 3 && e.expected === 5,
  );
});

test("duplex: dropping one end wakes a pending read on the other (end after the buffered bytes) and a pending write (BrokenPipe)", () => {
  const [a, b] = duplex(2);
  new MockTask(writeAll(a, bytes("hi"))).poll();
  const writing = new MockTask(writeAll(b, bytes("abc")));
  new MockTask(writeAll(b, bytes("xy"))).poll(); // fills b -> a
  assert.equal(writing.poll(), Pending);
  const buf = new Uint8Array(8);
  assert.equal(new MockTask(read(b, buf)).poll(), 2, "'hi'");
  const reading = new MockTask(read(b, buf));
  assert.equal(reading.poll(), Pending);
  a.drop();
  assert.equal(reading.isWoken(), true);
  assert.equal(reading.poll(), 0, "end of stream");
  assert.equal(writing.isWoken(), true);
  assert.throws(() => writing.poll(), BrokenPipe);
});
