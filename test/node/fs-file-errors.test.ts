/**
 * A File's failed reads and writes: each failure is a typed IoError (errno code and path), and the
 * file stays usable afterwards (the next read or write is a new attempt, not a "polled after
 * completion" error). Also: flush and shutdown of a File complete at once, and a pending file
 * operation names itself in a task dump.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { flush, future, Pending, Runtime, read, shutdown, writeAll } from "../../src/index.js";
import { IoError, open, stat } from "../../src/node/index.js";
import { MockTask } from "../../src/testing/index.js";

const dir = mkdtempSync(join(tmpdir(), "waker-fs-errors-"));
after(() => rmSync(dir, { recursive: true, force: true }));
const bytes = (s: string) => new TextEncoder().encode(s);

test("a failed write throws IoError each time it is tried, not a misuse error", async () => {
  const rt = new Runtime();
  const path = join(dir, "read-only.txt");
  writeFileSync(path, "original");
  const errors = await rt.run(
    future(function* () {
      const file = yield* open(path, "r");
      const out: unknown[] = [];
      for (let i = 0; i < 2; i++) out.push(yield* writeAll(file, bytes("x")).catch((e) => e));
      file.drop();
      return out;
    }),
  );
  for (const error of errors) {
    assert.ok(error instanceof IoError, String(error));
    assert.equal(error.code, "EBADF");
    assert.equal(error.syscall, "write");
    assert.equal(error.target, path);
  }
  assert.equal(readFileSync(path, "utf8"), "original");
});

test("a failed read throws IoError (EISDIR) and the next read tries again", async () => {
  const rt = new Runtime();
  const errors = await rt.run(
    future(function* () {
      const file = yield* open(dir, "r"); // a directory opens, but does not read
      const out: unknown[] = [];
      for (let i = 0; i < 2; i++) out.push(yield* read(file, new Uint8Array(8)).catch((e) => e));
      file.drop();
      return out;
    }),
  );
  for (const error of errors) {
    assert.ok(error instanceof IoError, String(error));
    assert.equal(error.code, "EISDIR");
    assert.equal(error.syscall, "read");
    assert.equal(error.target, dir);
  }
});

test("flush and shutdown of a file complete at once: each write already reached the OS", async () => {
  const rt = new Runtime();
  const path = join(dir, "flushed.txt");
  await rt.run(
    future(function* () {
      const file = yield* open(path, "w");
      yield* writeAll(file, bytes("hello"));
      assert.equal(new MockTask(flush(file)).poll(), undefined);
      assert.equal(readFileSync(path, "utf8"), "hello");
      assert.equal(new MockTask(shutdown(file)).poll(), undefined);
      yield* file.close();
    }),
  );
});

test("a pending file-system operation names its syscall and path", () => {
  const path = join(dir, "described.txt");
  const task = new MockTask(stat(path));
  assert.equal(task.poll(), Pending);
  assert.equal(stat(path).describe(), `fs.stat(${path})`);
  task.drop();
});
