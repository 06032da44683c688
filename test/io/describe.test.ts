/**
 * What a stuck I/O future says about itself (`describe()`, shown by `rt.dump()` for a hung task):
 * the operation and how far it got. Also: disposing a duplex end (`using`) closes it as `drop()`.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  BrokenPipe,
  copy,
  duplex,
  flush,
  future,
  Pending,
  Runtime,
  read,
  readExact,
  readToEnd,
  shutdown,
  write,
  writeAll,
  yieldNow,
} from "../../src/index.js";
import { MockTask } from "../../src/testing/index.js";

const bytes = (s: string) => new TextEncoder().encode(s);

test("pending reads and copies report their progress", () => {
  const [a, b] = duplex(16);
  new MockTask(writeAll(a, bytes("ab"))).poll();
  const exact = readExact(b, 4);
  assert.equal(new MockTask(exact).poll(), Pending);
  assert.equal(exact.describe(), "readExact(2/4)");

  const [c, d] = duplex(16);
  new MockTask(writeAll(c, bytes("xyz"))).poll();
  const all = readToEnd(d);
  assert.equal(new MockTask(all).poll(), Pending);
  assert.equal(all.describe(), "readToEnd(3 so far)");

  const [src, srcPeer] = duplex(16);
  const [dst, dstPeer] = duplex(4);
  new MockTask(writeAll(srcPeer, bytes("0123456789"))).poll();
  const copying = copy(src, dst);
  assert.equal(new MockTask(copying).poll(), Pending, "the destination holds only 4 bytes");
  assert.equal(copying.describe(), "copy(4 bytes so far)");
  assert.equal(read(dstPeer, new Uint8Array(1)).describe(), "read");
});

test("pending writes report their kind, and writeAll its progress", () => {
  const [a] = duplex(3);
  const all = writeAll(a, bytes("abcde"));
  assert.equal(new MockTask(all).poll(), Pending);
  assert.equal(all.describe(), "writeAll(3/5)");
  assert.equal(write(a, bytes("x")).describe(), "write");
  assert.equal(flush(a).describe(), "flush");
  assert.equal(shutdown(a).describe(), "shutdown");
});

test("a task dump names the I/O a hung task waits on", async () => {
  const rt = new Runtime();
  const [a, b] = duplex(16);
  await rt.run(writeAll(a, bytes("abc")));
  rt.spawn(
    future(function* () {
      yield* readExact(b, 8);
    }),
  );
  await rt.run(yieldNow());
  const [task] = rt.dump().tasks;
  assert.match(task!.awaiting, /readExact\(3\/8\)$/);
  a.drop();
  await rt.shutdown();
});

test("disposing a duplex end closes both directions, as drop() does", async () => {
  const rt = new Runtime();
  const [a, b] = duplex(16);
  await rt.run(writeAll(a, bytes("bye")));
  {
    using _closed = a;
  }
  assert.equal(new TextDecoder().decode(await rt.run(readToEnd(b))), "bye", "then end of stream");
  await assert.rejects(rt.run(writeAll(b, bytes("x"))), BrokenPipe);
});
