import assert from "node:assert/strict";
import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readlinkSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { access } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import {
  future,
  InvalidArgumentError,
  OutOfRangeError,
  Runtime,
  read,
  readToEnd,
  writeAll,
} from "../../src/index.js";
import {
  appendFile,
  IoError,
  mkdir,
  open,
  readDir,
  readFile,
  remove,
  rename,
  stat,
  writeFile,
} from "../../src/node/index.js";
import { MockTask } from "../../src/testing/index.js";

const dir = mkdtempSync(join(tmpdir(), "waker-fs-"));
after(() => rmSync(dir, { recursive: true, force: true }));
const enc = new TextEncoder();
const dec = new TextDecoder();

/** The process's open descriptors. */
const openDescriptors = () => readdirSync("/proc/self/fd").length;

/**
 * How many of this process's descriptors are open on `target` (by the links in /proc/self/fd):
 * unlike a count of all descriptors, it does not move when something else opens or closes one.
 */
function descriptorsOn(target: string): number {
  let n = 0;
  for (const fd of readdirSync("/proc/self/fd")) {
    try {
      if (readlinkSync(`/proc/self/fd/${fd}`) === target) n++;
    } catch {
      // closed meanwhile (the listing's own descriptor, say)
    }
  }
  return n;
}

/**
 * Waits, a host turn at a time (at most 5,000), until the open descriptors are back to `before`:
 * closes finish on the thread pool. `eachTurn` runs after each turn.
 */
async function descriptorsBackTo(before: number, eachTurn?: () => Promise<unknown>) {
  for (let i = 0; i < 5000 && openDescriptors() > before; i++) {
    await new Promise<void>((resolve) => setImmediate(resolve));
    await eachTurn?.();
  }
  assert.equal(openDescriptors(), before);
}

/**
 * Waits until no descriptor is open on `target`: host turns, each with a trip through libuv's
 * thread pool (where the open and the close that a drop leads to run), not time. With
 * `stillOpening` (an open in flight when it was dropped), it waits until the descriptor has
 * appeared and gone again, or for every turn if it is never seen (opened and closed between two
 * looks): a count of 0 before the open lands proves nothing.
 */
async function closedOn(target: string, stillOpening = false, eachTurn?: () => Promise<unknown>) {
  let seen = false;
  for (let i = 0; i < 5000; i++) {
    if (descriptorsOn(target) > 0) seen = true;
    else if (seen || !stillOpening) break;
    await new Promise<void>((resolve) => setImmediate(resolve));
    await access(target);
    await eachTurn?.();
  }
  assert.equal(descriptorsOn(target), 0, `a descriptor is still open on ${target}`);
}

test("write, append, read, stat, rename, readDir, remove", async () => {
  const rt = new Runtime();
  await rt.run(
    future(function* () {
      const a = join(dir, "a.txt");
      yield* writeFile(a, "hello");
      yield* appendFile(a, enc.encode(" world"));
      assert.equal(dec.decode(yield* readFile(a)), "hello world");
      assert.equal((yield* stat(a)).size, 11);
      const b = join(dir, "sub", "b.txt");
      yield* mkdir(join(dir, "sub"), { recursive: true });
      yield* rename(a, b);
      const names = yield* readDir(join(dir, "sub"))
        .map((e) => e.name)
        .collect();
      assert.deepEqual(names, ["b.txt"]);
      yield* remove(join(dir, "sub"), { recursive: true });
    }),
  );
});

test("File: AsyncRead/AsyncWrite, readAt/writeAt, sync, close", async () => {
  const rt = new Runtime();
  const path = join(dir, "file.bin");
  await rt.run(
    future(function* () {
      const w = yield* open(path, "w");
      const payload = new Uint8Array(200_000).map((_, i) => i % 251);
      yield* writeAll(w, payload);
      yield* w.writeAt(0, enc.encode("HEAD"));
      yield* w.sync();
      yield* w.close();
      const r = yield* open(path);
      const all = yield* readToEnd(r);
      assert.equal(all.length, payload.length);
      assert.equal(dec.decode(all.subarray(0, 4)), "HEAD");
      assert.deepEqual(all.subarray(4), payload.subarray(4));
      assert.equal(dec.decode(yield* r.readAt(0, 4)), "HEAD");
      assert.equal((yield* r.stat()).size, 200_000);
      yield* r.close();
    }),
  );
});

test("a dropped pending read loses no bytes", async () => {
  const rt = new Runtime();
  const path = join(dir, "lines.txt");
  writeFileSync(path, "abcdef");
  await rt.run(
    future(function* () {
      const file = yield* open(path);
      const buf = new Uint8Array(3);
      const first = new MockTask(read(file, buf));
      assert.equal(typeof first.poll(), "symbol", "the read is in flight");
      first.drop();
      assert.equal(yield* read(file, buf), 3);
      assert.equal(dec.decode(buf), "abc");
      assert.equal(yield* read(file, buf), 3);
      assert.equal(dec.decode(buf), "def");
      file.drop();
    }),
  );
});

test("typed errors with the errno code and the path", async () => {
  const rt = new Runtime();
  const missing = await rt.run(readFile(join(dir, "nope.txt"))).catch((e: unknown) => e);
  assert.ok(missing instanceof IoError);
  assert.equal(missing.code, "ENOENT");
  assert.equal(missing.target, join(dir, "nope.txt"));
  const isDir = await rt.run(readFile(dir)).catch((e: unknown) => e);
  assert.ok(isDir instanceof IoError);
  assert.equal(isDir.code, "EISDIR");
  const locked = join(dir, "locked.txt");
  writeFileSync(locked, "x");
  chmodSync(locked, 0o000);
  const denied = await rt.run(readFile(locked)).catch((e: unknown) => e);
  // root bypasses permission bits: then the read succeeds and there is nothing to check.
  if (process.getuid?.() !== 0) {
    assert.ok(denied instanceof IoError);
    assert.equal(denied.code, "EACCES");
  }
});

test("readAt and writeAt check their offsets, lengths and data at the call", async () => {
  const rt = new Runtime();
  const path = join(dir, "offsets.txt");
  writeFileSync(path, "hello");
  await rt.run(
    future(function* () {
      const file = yield* open(path, "r+");
      try {
        // Node would take a negative position as "the current position": refused here.
        for (const position of [-1, 1.5, Number.NaN, "0" as never]) {
          assert.throws(() => file.readAt(position, 2), OutOfRangeError);
          assert.throws(() => file.writeAt(position, enc.encode("x")), OutOfRangeError);
        }
        for (const length of [-1, 2.5, 2 ** 40]) {
          assert.throws(() => file.readAt(0, length), OutOfRangeError);
        }
        assert.throws(() => file.writeAt(0, "text" as never), InvalidArgumentError);
        assert.throws(() => file.writeAt(0, null as never), InvalidArgumentError);
        assert.equal(dec.decode(yield* file.readAt(1, 3)), "ell", "the file is untouched");
      } finally {
        // Closed before the test ends: the descriptor-counting tests below must not see it go.
        yield* file.close();
      }
    }),
  );
});

test("dropping an open in flight never leaks the descriptor", async () => {
  const rt = new Runtime();
  const path = join(dir, "leak.txt");
  writeFileSync(path, "x");
  const before = openDescriptors();
  for (let i = 0; i < 50; i++) {
    const opening = new MockTask(open(path));
    opening.poll();
    opening.drop();
  }
  // Let the opens complete (and be closed by the orphan handler): a few host turns.
  await descriptorsBackTo(before, () => rt.run(future(function* () {})));
});

test("a close dropped before it ran leaves the descriptor to the file's drop", async () => {
  const rt = new Runtime();
  const path = join(dir, "close-dropped.txt");
  writeFileSync(path, "x");
  const before = openDescriptors();
  await rt.run(
    future(function* () {
      const file = yield* open(path);
      // Futures are lazy: a close never polled has not started, so the file is still open.
      file.close().drop();
      assert.equal(dec.decode(yield* readToEnd(file)), "x");
      file.drop();
    }),
  );
  await descriptorsBackTo(before);
});

test("a dropped read of a large buffer hands its bytes to smaller reads, in order", async () => {
  const rt = new Runtime();
  const path = join(dir, "large-then-small.txt");
  writeFileSync(path, "0123456789");
  await rt.run(
    future(function* () {
      const file = yield* open(path);
      const first = new MockTask(read(file, new Uint8Array(64)));
      assert.equal(typeof first.poll(), "symbol", "the read is in flight");
      first.drop();
      const small = new Uint8Array(4);
      const parts: string[] = [];
      for (;;) {
        const n = yield* read(file, small);
        if (n === 0) break;
        parts.push(dec.decode(small.subarray(0, n)));
      }
      assert.deepEqual(parts, ["0123", "4567", "89"]);
      yield* file.close();
    }),
  );
});

test("closing or dropping a file with a read in flight waits for the read, then closes", async () => {
  const rt = new Runtime();
  const path = join(dir, "close-in-flight.txt");
  writeFileSync(path, "abc");
  const before = openDescriptors();
  await rt.run(
    future(function* () {
      const a = yield* open(path);
      const reading = new MockTask(read(a, new Uint8Array(8)));
      assert.equal(typeof reading.poll(), "symbol");
      reading.drop();
      yield* a.close();
      const b = yield* open(path);
      const again = new MockTask(read(b, new Uint8Array(8)));
      assert.equal(typeof again.poll(), "symbol");
      again.drop();
      b.drop();
      const closed = yield* read(b, new Uint8Array(8)).catch((e: unknown) => e);
      // The read in flight finishes (its bytes are still delivered); the descriptor closes after.
      assert.equal(closed, 3);
      const after = yield* read(b, new Uint8Array(8)).catch((e: unknown) => e);
      assert.ok(after instanceof IoError);
      assert.equal(after.code, "EBADF");
    }),
  );
  await descriptorsBackTo(before);
});

test("dropping a readDir stream mid-way, or while it opens, closes the directory", async () => {
  const rt = new Runtime();
  const tree = join(dir, "listing");
  mkdirSync(tree);
  for (const name of ["a", "b", "c"]) writeFileSync(join(tree, name), name);
  assert.equal(descriptorsOn(tree), 0);
  const first = await rt.run(
    future(function* () {
      const entries = readDir(tree);
      const item = yield* entries.next();
      assert.equal(descriptorsOn(tree), 1, "the directory is open while listed");
      entries.drop();
      return item.value?.name;
    }),
  );
  assert.ok(["a", "b", "c"].includes(first!));
  await closedOn(tree);
  const listing = readDir(tree);
  const opening = new MockTask(listing.next());
  opening.poll(); // the opendir is in flight
  opening.drop();
  listing.drop();
  await closedOn(tree, true, () => rt.run(future(function* () {})));
});

test("disposing a file (using) closes its descriptor; later reads fail with EBADF", async () => {
  const rt = new Runtime();
  const path = join(dir, "dispose.txt");
  writeFileSync(path, "data");
  const file = await rt.run(open(path));
  assert.equal(descriptorsOn(path), 1);
  {
    using _file = file;
  }
  await closedOn(path);
  await assert.rejects(rt.run(read(file, new Uint8Array(4))), { name: "IoError", code: "EBADF" });
});
