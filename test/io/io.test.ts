import assert from "node:assert/strict";
import { test } from "node:test";
import {
  BrokenPipe,
  BufReader,
  BufWriter,
  type Context,
  copy,
  duplex,
  flush,
  future,
  InvalidArgumentError,
  lines,
  OutOfRangeError,
  type Poll,
  Runtime,
  read,
  readExact,
  readToEnd,
  select,
  shutdown,
  UnexpectedEof,
  write,
  writeAll,
  yieldNow,
} from "../../src/index.js";
import { MockTask } from "../../src/testing/index.js";

const enc = new TextEncoder();
const dec = new TextDecoder();
const bytes = (s: string) => enc.encode(s);

test("duplex: what one end writes the other reads, in order, through a small buffer", async () => {
  const rt = new Runtime();
  const [a, b] = duplex(7);
  const payload = new Uint8Array(10_000).map((_, i) => i % 251);
  const received = await rt.run(
    future(function* () {
      const writer = rt.spawn(
        future(function* () {
          yield* writeAll(a, payload);
          yield* shutdown(a);
        }),
      );
      const all = yield* readToEnd(b);
      yield* writer;
      return all;
    }),
  );
  assert.deepEqual(received, payload);
});

test("duplex: a writer waits for room (backpressure) and is woken by the reader", () => {
  const [a, b] = duplex(4);
  const w = new MockTask(writeAll(a, bytes("abcdefgh")));
  assert.equal(typeof w.poll(), "symbol", "only 4 of 8 bytes fit: the write waits");
  const buf = new Uint8Array(3);
  const r = new MockTask(read(b, buf));
  assert.equal(r.poll(), 3);
  assert.equal(w.isWoken(), true);
});

test("read: dropping a pending read loses no bytes", () => {
  const [a, b] = duplex(16);
  const buf = new Uint8Array(8);
  const first = new MockTask(read(b, buf));
  assert.equal(typeof first.poll(), "symbol", "pending: nothing written yet");
  first.drop();
  new MockTask(write(a, bytes("hello"))).poll();
  const second = new MockTask(read(b, buf));
  assert.equal(second.poll(), 5);
  assert.equal(dec.decode(buf.subarray(0, 5)), "hello");
});

test("readExact and UnexpectedEof", async () => {
  const rt = new Runtime();
  const [a, b] = duplex(64);
  await rt.run(
    future(function* () {
      yield* writeAll(a, bytes("12345"));
      yield* shutdown(a);
      assert.equal(dec.decode(yield* readExact(b, 3)), "123");
      const error = yield* readExact(b, 5).catch((e: unknown) => e);
      assert.ok(error instanceof UnexpectedEof);
      assert.equal(error.code, "UNEXPECTED_EOF");
      assert.equal(error.received, 2);
      assert.equal(error.expected, 5);
    }),
  );
});

test("readExact into a buffer fills the whole buffer across short reads and returns it", async () => {
  const rt = new Runtime();
  const [a, b] = duplex(3); // at most 3 bytes in flight: the fill takes several reads
  const frame = new Uint8Array(8);
  const result = await rt.run(
    future(function* () {
      rt.spawn(
        future(function* () {
          yield* writeAll(a, bytes("abcdefgh12"));
          yield* shutdown(a);
        }),
      );
      const filled = yield* readExact(b, frame);
      const error = yield* readExact(b, new Uint8Array(4)).catch((e: unknown) => e);
      return { filled, error };
    }),
  );
  assert.equal(result.filled, frame);
  assert.equal(dec.decode(frame), "abcdefgh");
  assert.ok(result.error instanceof UnexpectedEof);
  assert.equal(result.error.received, 2);
  assert.equal(result.error.expected, 4);
  assert.throws(
    () => readExact(b, "8" as never),
    /an integer from 0 to 1073741824 or a Uint8Array/,
  );
});

test("BufReader: readLine handles \\r\\n, \\n, a last line without newline, then undefined", async () => {
  const rt = new Runtime();
  const [a, b] = duplex(5);
  const got = await rt.run(
    future(function* () {
      rt.spawn(
        future(function* () {
          yield* writeAll(a, bytes("220 ready\r\n250-first\n250 last"));
          yield* shutdown(a);
        }),
      );
      const reader = new BufReader(b, 4);
      const out: (string | undefined)[] = [];
      for (let i = 0; i < 4; i++) out.push(yield* reader.readLine());
      return out;
    }),
  );
  assert.deepEqual(got, ["220 ready", "250-first", "250 last", undefined]);
});

test("lines() is a stream of the lines", async () => {
  const rt = new Runtime();
  const [a, b] = duplex(1024);
  await rt.run(
    future(function* () {
      yield* writeAll(a, bytes("one\ntwo\nthree\n"));
      yield* shutdown(a);
      assert.deepEqual(yield* lines(b).collect(), ["one", "two", "three"]);
    }),
  );
});

test("BufWriter gathers small writes into one inner write", async () => {
  let innerWrites = 0;
  const chunks: string[] = [];
  const sink = {
    pollWrite(_cx: Context, data: Uint8Array): Poll<number> {
      innerWrites++;
      chunks.push(dec.decode(data));
      return data.length;
    },
    pollFlush(): Poll<void> {
      return undefined;
    },
    pollShutdown(): Poll<void> {
      return undefined;
    },
  };
  const rt = new Runtime();
  await rt.run(
    future(function* () {
      const out = new BufWriter(sink, 64);
      for (const cmd of ["MAIL FROM:<a@x>\r\n", "RCPT TO:<b@y>\r\n", "DATA\r\n"]) {
        yield* writeAll(out, bytes(cmd));
      }
      assert.equal(innerWrites, 0);
      yield* flush(out);
    }),
  );
  assert.equal(innerWrites, 1);
  assert.equal(chunks[0], "MAIL FROM:<a@x>\r\nRCPT TO:<b@y>\r\nDATA\r\n");
});

test("copy moves every byte with bounded buffers; a dropped reader breaks the pipe", async () => {
  const rt = new Runtime();
  const [src, srcPeer] = duplex(8);
  const [dst, dstPeer] = duplex(8);
  const data = new Uint8Array(5000).map((_, i) => (i * 7) % 256);
  const [copied, received] = await rt.run(
    future(function* () {
      rt.spawn(
        future(function* () {
          yield* writeAll(srcPeer, data);
          yield* shutdown(srcPeer);
        }),
      );
      const copier = rt.spawn(
        future(function* () {
          const n = yield* copy(src, dst);
          yield* shutdown(dst);
          return n;
        }),
      );
      const all = yield* readToEnd(dstPeer);
      return [yield* copier, all] as const;
    }),
  );
  assert.equal(copied, 5000);
  assert.deepEqual(received, data);
  const [x, y] = duplex(4);
  y.drop();
  await assert.rejects(rt.run(writeAll(x, bytes("lost"))), BrokenPipe);
});

test("a reader waiting on a duplex can be cancelled by select", async () => {
  const rt = new Runtime();
  const [, b] = duplex(4);
  const r = await rt.run(select([read(b, new Uint8Array(4)), yieldNow()], { biased: true }));
  assert.equal(r.index, 1);
});

test("bad input", () => {
  assert.throws(() => duplex(0), OutOfRangeError);
  assert.throws(() => read({} as never, new Uint8Array(1)), InvalidArgumentError);
  assert.throws(() => writeAll(42 as never, new Uint8Array(1)), InvalidArgumentError);
  assert.throws(() => readExact(duplex(1)[0], -1), OutOfRangeError);
  assert.throws(() => readExact(duplex(1)[0], 2 ** 40), OutOfRangeError, "no 1 TiB allocation");
  assert.throws(() => new BufReader(null as never), InvalidArgumentError);
  const [end] = duplex(4);
  for (const size of [0, -1, 1.5, Number.NaN, 2 ** 31, "8" as never]) {
    assert.throws(() => new BufReader(end, size), OutOfRangeError, `BufReader capacity ${size}`);
    assert.throws(() => new BufWriter(end, size), OutOfRangeError, `BufWriter capacity ${size}`);
  }
  assert.throws(() => new BufReader(end, 16, 0), OutOfRangeError, "maxLineLength 0");
  assert.throws(() => new BufReader(end, -1), {
    name: "OutOfRangeError",
    message: "BufReader: capacity must be an integer from 1 to 1073741824, got number -1",
  });
});
