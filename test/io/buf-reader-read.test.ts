/**
 * BufReader as a plain AsyncRead (pollRead): bytes buffered by readLine are served first (a text
 * header then a binary body), small reads share one inner read, a read at least as large as the
 * buffer bypasses it when it is empty, Pending and end of stream pass through.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { BufReader, type Context, Pending, type Poll, read, readExact } from "../../src/index.js";
import { MockTask } from "../../src/testing/index.js";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** A source that hands out `chunks` one per read (split to fit); `null` is one Pending. */
class ChunkSource {
  readonly readSizes: number[] = [];
  private readonly chunks: (Uint8Array | null)[];
  constructor(chunks: (string | Uint8Array | null)[]) {
    this.chunks = chunks.map((c) => (typeof c === "string" ? enc.encode(c) : c));
  }
  pollRead(cx: Context, buf: Uint8Array): Poll<number> {
    this.readSizes.push(buf.length);
    if (this.chunks.length === 0) return 0;
    const head = this.chunks[0];
    if (head === null) {
      this.chunks.shift();
      cx.waker.wakeByRef();
      return Pending;
    }
    const n = Math.min(buf.length, head!.length);
    buf.set(head!.subarray(0, n));
    if (n === head!.length) this.chunks.shift();
    else this.chunks[0] = head!.subarray(n);
    return n;
  }
}

function poll<T>(task: MockTask<T>): T {
  for (let i = 0; i < 100; i++) {
    const r = task.poll();
    if (r !== Pending) return r as T;
  }
  throw new Error("no progress");
}

test("bytes after a line stay buffered: the next read gets them, not the inner source's next", () => {
  const source = new ChunkSource(["SIZE 5\r\nhello", "WORLD"]);
  const reader = new BufReader(source, 64);
  assert.equal(poll(new MockTask(reader.readLine())), "SIZE 5");
  const body = poll(new MockTask(readExact(reader, 5)));
  assert.equal(dec.decode(body), "hello");
  assert.equal(dec.decode(poll(new MockTask(readExact(reader, 5)))), "WORLD");
});

test("a read smaller than the buffered bytes takes part of them and leaves the rest", () => {
  const reader = new BufReader(new ChunkSource(["x\nabcdef"]), 64);
  poll(new MockTask(reader.readLine()));
  const buf = new Uint8Array(2);
  assert.equal(poll(new MockTask(read(reader, buf))), 2);
  assert.equal(dec.decode(buf), "ab");
  assert.equal(poll(new MockTask(read(reader, buf))), 2);
  assert.equal(dec.decode(buf), "cd");
});

test("small reads share one inner read of the buffer's size", () => {
  const source = new ChunkSource(["abcdefgh"]);
  const reader = new BufReader(source, 16);
  const buf = new Uint8Array(3);
  const got: string[] = [];
  for (let i = 0; i < 3; i++) {
    const n = poll(new MockTask(read(reader, buf)));
    got.push(dec.decode(buf.subarray(0, n)));
  }
  assert.deepEqual(got, ["abc", "def", "gh"]);
  assert.deepEqual(source.readSizes, [16], "one inner read, into the 16-byte buffer");
});

test("a read at least as large as the buffer, with nothing buffered, goes straight to the source", () => {
  const source = new ChunkSource(["0123456789"]);
  const reader = new BufReader(source, 4);
  const buf = new Uint8Array(10);
  assert.equal(poll(new MockTask(read(reader, buf))), 10);
  assert.equal(dec.decode(buf), "0123456789");
  assert.deepEqual(source.readSizes, [10], "read into the caller's buffer, not the 4-byte one");
});

test("Pending passes through (the task is woken) and end of stream reads 0, again and again", () => {
  const reader = new BufReader(new ChunkSource([null, "ab"]), 8);
  const buf = new Uint8Array(4);
  const task = new MockTask(read(reader, buf));
  assert.equal(task.poll(), Pending);
  assert.equal(task.isWoken(), true);
  assert.equal(task.poll(), 2);
  assert.equal(poll(new MockTask(read(reader, buf))), 0);
  assert.equal(poll(new MockTask(read(reader, buf))), 0, "still the end");
});

test("property: any chunking and any read sizes yield the source's bytes, in order", () => {
  fc.assert(
    fc.property(
      fc.array(fc.option(fc.uint8Array({ minLength: 1, maxLength: 20 })), { maxLength: 12 }),
      fc.integer({ min: 1, max: 16 }),
      fc.array(fc.integer({ min: 1, max: 24 }), { minLength: 1, maxLength: 8 }),
      (chunks, capacity, sizes) => {
        const expected = chunks.flatMap((c) => (c === null ? [] : [...c]));
        const reader = new BufReader(new ChunkSource(chunks), capacity);
        const got: number[] = [];
        for (let i = 0; ; i++) {
          const buf = new Uint8Array(sizes[i % sizes.length]!);
          const n = poll(new MockTask(read(reader, buf)));
          if (n === 0) break;
          got.push(...buf.subarray(0, n));
        }
        assert.deepEqual(got, expected);
      },
    ),
  );
});
