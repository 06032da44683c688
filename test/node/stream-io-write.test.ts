/**
 * The writable side of NodeStreamIo against a Writable that completes writes only when told:
 * backpressure (a write waits for 'drain'), flush (waits until every earlier write was handed on,
 * even after an earlier flush was dropped), shutdown, a stream closed under a waiting task (the
 * task fails instead of hanging), and the checks of which side a stream has.
 */
import assert from "node:assert/strict";
import { Duplex, PassThrough, Readable, Writable } from "node:stream";
import { test } from "node:test";
import { flush, InvalidArgumentError, Pending, read, shutdown, writeAll } from "../../src/index.js";
import { fromDuplex, fromReadable, fromWritable, IoError } from "../../src/node/index.js";
import { MockTask } from "../../src/testing/index.js";

const bytes = (s: string) => new TextEncoder().encode(s);

/** Lets Node's stream machinery run its nextTick and microtask steps. */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

/** A Writable whose writes (and final) complete when `release()` is called. */
function heldWritable(highWaterMark: number) {
  const written: string[] = [];
  const held: (() => void)[] = [];
  let finalCallback: (() => void) | null = null;
  const stream = new Writable({
    highWaterMark,
    write(chunk: Buffer, _encoding, callback) {
      held.push(() => {
        if (chunk.length > 0) written.push(chunk.toString());
        callback();
      });
    },
    final(callback) {
      finalCallback = () => callback();
    },
  });
  return {
    stream,
    written,
    /** Completes the writes held so far, and those they let through, until none is held. */
    async release() {
      for (let i = 0; i < 100 && held.length > 0; i++) {
        while (held.length > 0) held.shift()!();
        await settle();
      }
    },
    /** Completes the oldest held write only. */
    async releaseOne() {
      held.shift()?.();
      await settle();
    },
    get heldCount() {
      return held.length;
    },
    finish() {
      finalCallback?.();
    },
  };
}

test("a write past the high-water mark waits for 'drain', which wakes the writer", async () => {
  const sink = heldWritable(4);
  const io = fromWritable(sink.stream);
  const first = new MockTask(writeAll(io, bytes("abcdef")));
  assert.equal(first.poll(), undefined, "accepted: the stream buffers past its mark once");
  const second = new MockTask(writeAll(io, bytes("gh")));
  assert.equal(second.poll(), Pending, "over the mark: waits for drain");
  await sink.release();
  assert.equal(second.isWoken(), true, "'drain' woke the writer");
  assert.equal(second.poll(), undefined);
  await sink.release();
  assert.deepEqual(sink.written, ["abcdef", "gh"]);
});

test("flush completes at once with nothing buffered, else once every earlier write went out", async () => {
  const sink = heldWritable(1024);
  const io = fromWritable(sink.stream);
  assert.equal(new MockTask(flush(io)).poll(), undefined, "nothing written: nothing to wait for");
  new MockTask(writeAll(io, bytes("one"))).poll();
  const flushing = new MockTask(flush(io));
  assert.equal(flushing.poll(), Pending);
  assert.equal(flushing.poll(), Pending, "polled again: still waiting, one marker only");
  await sink.release();
  assert.equal(flushing.isWoken(), true);
  assert.equal(flushing.poll(), undefined);
  assert.deepEqual(sink.written, ["one"]);
});

test("a flush dropped while waiting does not make a later flush skip later writes", async () => {
  const sink = heldWritable(1024);
  const io = fromWritable(sink.stream);
  new MockTask(writeAll(io, bytes("A"))).poll();
  const abandoned = new MockTask(flush(io));
  assert.equal(abandoned.poll(), Pending);
  abandoned.drop(); // a timeout won the race, say
  await sink.release(); // "A" goes out, then the abandoned flush's marker completes
  new MockTask(writeAll(io, bytes("B"))).poll();
  assert.equal(sink.heldCount, 1, "B is still on its way");
  const later = new MockTask(flush(io));
  assert.equal(later.poll(), Pending, "B is not handed on yet: the flush must wait");
  await sink.release();
  assert.equal(later.poll(), undefined);
  assert.deepEqual(sink.written, ["A", "B"]);
});

test("a flush waiting on a marker waits for writes made after that marker too", async () => {
  const sink = heldWritable(1024);
  const io = fromWritable(sink.stream);
  new MockTask(writeAll(io, bytes("A"))).poll();
  const abandoned = new MockTask(flush(io));
  assert.equal(abandoned.poll(), Pending);
  abandoned.drop();
  new MockTask(writeAll(io, bytes("B"))).poll(); // queued behind the first marker
  const later = new MockTask(flush(io));
  assert.equal(later.poll(), Pending);
  await sink.releaseOne(); // "A"
  await sink.releaseOne(); // the first flush's marker
  assert.deepEqual(sink.written, ["A"]);
  assert.equal(sink.heldCount, 1, "B is on its way");
  assert.equal(later.poll(), Pending, "the marker before B completed, but B is not out yet");
  await sink.release();
  assert.equal(later.isWoken(), true);
  assert.equal(later.poll(), undefined);
  assert.deepEqual(sink.written, ["A", "B"]);
});

test("shutdown ends the stream and completes at 'finish'", async () => {
  const sink = heldWritable(1024);
  const io = fromWritable(sink.stream);
  new MockTask(writeAll(io, bytes("bye"))).poll();
  const closing = new MockTask(shutdown(io));
  assert.equal(closing.poll(), Pending);
  await sink.release();
  sink.finish();
  await settle();
  assert.equal(closing.isWoken(), true);
  assert.equal(closing.poll(), undefined);
  assert.deepEqual(sink.written, ["bye"]);
  assert.equal(new MockTask(shutdown(io)).poll(), undefined, "a second shutdown: done");
});

test("a stream destroyed under a waiting shutdown or write fails the wait instead of hanging", async () => {
  const sink = heldWritable(2);
  const io = fromWritable(sink.stream);
  new MockTask(writeAll(io, bytes("abc"))).poll();
  const writing = new MockTask(writeAll(io, bytes("d")));
  assert.equal(writing.poll(), Pending, "waits for drain");
  const closing = new MockTask(shutdown(io));
  assert.equal(closing.poll(), Pending);
  sink.stream.destroy(); // by someone else: the 'close' event wakes both
  await settle();
  assert.equal(writing.isWoken(), true);
  assert.equal(closing.isWoken(), true);
  assert.throws(() => writing.poll(), IoError, "no 'drain' will ever come");
  assert.throws(() => closing.poll(), IoError, "no 'finish' will ever come");
});

test("[Symbol.dispose] destroys the stream; later writes fail with EPIPE", async () => {
  const stream = new PassThrough();
  const io = fromDuplex(stream);
  {
    using _io = io;
  }
  assert.equal(stream.destroyed, true);
  assert.throws(() => new MockTask(writeAll(io, bytes("x"))).poll(), { code: "EPIPE" });
  assert.equal(new MockTask(read(io, new Uint8Array(4))).poll(), 0, "reads end");
});

test("using the missing side of a one-sided stream, or wrapping a non-duplex, throws", () => {
  const readOnly = fromReadable(Readable.from([]));
  assert.throws(() => new MockTask(writeAll(readOnly, bytes("x"))).poll(), InvalidArgumentError);
  assert.throws(() => new MockTask(flush(readOnly)).poll(), InvalidArgumentError);
  const writeOnly = fromWritable(new Writable({ write: (_c, _e, cb) => cb() }));
  assert.throws(() => new MockTask(read(writeOnly, new Uint8Array(1))).poll(), {
    name: "InvalidArgumentError",
    message: "pollRead: this stream has no readable side",
  });
  assert.throws(() => fromDuplex(new Writable() as never), InvalidArgumentError);
  assert.throws(() => fromDuplex(Readable.from([]) as never), {
    name: "InvalidArgumentError",
    message: /fromDuplex: expected a Node writable stream/,
  });
  assert.throws(() => fromWritable({} as never), InvalidArgumentError);
  const both = fromDuplex(new Duplex({ read() {}, write: (_c, _e, cb) => cb() }));
  assert.equal(new MockTask(writeAll(both, bytes("ok"))).poll(), undefined);
  both.drop();
});
