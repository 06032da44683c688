/**
 * File writes and cancellation: a write whose future was dropped in flight still lands, and the
 * next write is counted against its own bytes (not the dropped one's), so no byte of it is lost
 * or reported written when it was not; writes copy a Node `Buffer` (whose `slice` is a view) at
 * their start. Also: writeAt beyond the end leaves a zero-filled gap, and readDir of a missing
 * folder is an IoError ENOENT naming the path, after which the stream has ended. Files live in a fresh temporary folder.
 */
import assert from "node:assert/strict";
import { mkdtemp, readFile as nodeReadFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { future, Pending, Runtime, writeAll, yieldNow } from "../../src/index.js";
import { IoError, open, readDir } from "../../src/node/index.js";
import { MockTask } from "../../src/testing/index.js";

const bytes = (s: string) => new TextEncoder().encode(s);

let dir = "";
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "waker-fs-write-"));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

test("a write dropped in flight, then a write of other bytes: both land, none is lost", async () => {
  const path = join(dir, "dropped-then-other");
  const rt = new Runtime();
  await rt.run(
    future(function* () {
      const file = yield* open(path, "w");
      const first = new MockTask(writeAll(file, bytes("AAAA")));
      assert.equal(first.poll(), Pending, "the write is in flight");
      first.drop();
      yield* writeAll(file, bytes("BBBBBBBB"));
      yield* file.close();
    }),
  );
  assert.equal((await nodeReadFile(path)).toString(), "AAAABBBBBBBB");
});

test("a dropped write larger than the next one: the next is written, not a misuse error", async () => {
  const path = join(dir, "dropped-larger");
  const rt = new Runtime();
  await rt.run(
    future(function* () {
      const file = yield* open(path, "w");
      const first = new MockTask(writeAll(file, new Uint8Array(4096).fill(0x41)));
      assert.equal(first.poll(), Pending);
      first.drop();
      yield* writeAll(file, bytes("tail"));
      yield* file.close();
    }),
  );
  const data = await nodeReadFile(path);
  assert.equal(data.length, 4100);
  assert.equal(data.subarray(4096).toString(), "tail");
});

test("a dropped write of the start of the next write's bytes counts for it: no double write", async () => {
  const path = join(dir, "dropped-prefix");
  const rt = new Runtime();
  await rt.run(
    future(function* () {
      const file = yield* open(path, "w");
      const first = new MockTask(writeAll(file, bytes("abc")));
      assert.equal(first.poll(), Pending);
      first.drop();
      yield* writeAll(file, bytes("abcdef")); // the retry of the same message
      yield* file.close();
    }),
  );
  assert.equal((await nodeReadFile(path)).toString(), "abcdef");
});

test("write and writeAt copy a Node Buffer at their start: reusing it does not change the file", async () => {
  const path = join(dir, "buffer-copy");
  const rt = new Runtime();
  await rt.run(
    future(function* () {
      const file = yield* open(path, "w+");
      const chunk = Buffer.from("hello");
      const writing = new MockTask(writeAll(file, chunk));
      assert.equal(writing.poll(), Pending);
      chunk.fill(0x58); // reused while the write is in flight
      writing.drop();
      const at = Buffer.from("world");
      const positioned = rt.spawn(file.writeAt(5, at));
      yield* yieldNow(); // the spawned write starts (its first poll)
      at.fill(0x59);
      assert.equal(yield* positioned, 5);
      yield* file.close();
    }),
  );
  assert.equal((await nodeReadFile(path)).toString(), "helloworld");
});

test("writeAt beyond the end of the file leaves a zero-filled gap", async () => {
  const path = join(dir, "sparse");
  const rt = new Runtime();
  const read = await rt.run(
    future(function* () {
      const file = yield* open(path, "w+");
      assert.equal(yield* file.writeAt(10, bytes("xy")), 2);
      const all = yield* file.readAt(0, 100);
      yield* file.close();
      return all;
    }),
  );
  assert.deepEqual([...read], [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x78, 0x79]);
});

test("readDir of a missing folder: IoError ENOENT naming the path", async () => {
  const missing = join(dir, "missing");
  const rt = new Runtime();
  await assert.rejects(
    rt.run(readDir(missing).collect()),
    (e: unknown) => e instanceof IoError && e.code === "ENOENT" && e.target === missing,
  );
});

test("readDir after its error: the stream has ended (Done), not a misuse of a finished operation", async () => {
  const rt = new Runtime();
  const entries = readDir(join(dir, "missing-too"));
  await assert.rejects(rt.run(entries.next()), { code: "ENOENT" });
  assert.deepEqual(await rt.run(entries.next()), { done: true, value: undefined });
});
