/**
 * A sink whose `pollWrite` accepts none of the bytes offered (returns 0) can take no more:
 * `writeAll`, `copy` and a `BufWriter` flush stop with `WriteZero` instead of offering the same
 * bytes for ever (Rust's `ErrorKind::WriteZero`). A count that is not an integer from 1 to the
 * bytes offered (a broken sink) is an `InvalidArgumentError`, not lost or repeated bytes.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  BufWriter,
  type Context,
  copy,
  flush,
  InvalidArgumentError,
  type Poll,
  WriteZero,
  writeAll,
} from "../../src/index.js";
import { MockTask } from "../../src/testing/index.js";

/** A sink that takes `first` bytes of its first write, then reports `then` for every write. */
class StallingSink {
  offered: number[] = [];
  private writes = 0;
  constructor(
    private readonly first: number,
    private readonly then: number,
  ) {}
  pollWrite(_cx: Context, data: Uint8Array): Poll<number> {
    this.offered.push(data.length);
    return this.writes++ === 0 ? this.first : this.then;
  }
  pollFlush(): Poll<void> {
    return undefined;
  }
  pollShutdown(): Poll<void> {
    return undefined;
  }
}

/** A reader of `chunks`, then the end. */
function reader(chunks: Uint8Array[]) {
  let next = 0;
  return {
    pollRead(_cx: Context, buf: Uint8Array): Poll<number> {
      const chunk = chunks[next++];
      if (chunk === undefined) return 0;
      buf.set(chunk);
      return chunk.length;
    },
  };
}

/** What `poll` throws. */
function failure(poll: () => unknown): unknown {
  try {
    poll();
  } catch (e) {
    return e;
  }
  assert.fail("expected the poll to throw");
}

test("writeAll to a sink that stops taking bytes: WriteZero with the bytes still offered", () => {
  const sink = new StallingSink(3, 0);
  const e = failure(() => new MockTask(writeAll(sink, new Uint8Array(10))).poll());
  assert.ok(e instanceof WriteZero, String(e));
  assert.equal(e.code, "WRITE_ZERO");
  assert.equal(e.offered, 7);
  assert.match(e.message, /writeAll: the sink accepted 0 of 7 bytes/);
  assert.deepEqual(sink.offered, [10, 7], "offered once more, not for ever");
});

test("copy and a BufWriter flush stop with WriteZero too", () => {
  const sink = new StallingSink(0, 0);
  const e = failure(() => new MockTask(copy(reader([new Uint8Array([1, 2, 3])]), sink)).poll());
  assert.ok(e instanceof WriteZero, String(e));
  assert.equal(e.offered, 3);

  const inner = new StallingSink(2, 0);
  const out = new BufWriter(inner, 16);
  assert.equal(new MockTask(writeAll(out, new Uint8Array(5))).poll(), undefined, "buffered");
  const f = failure(() => new MockTask(flush(out)).poll());
  assert.ok(f instanceof WriteZero, String(f));
  assert.equal(f.offered, 3, "the 2 bytes taken left the buffer; 3 were still offered");
});

test("a count that is not an integer from 1 to the bytes offered is a typed error, not lost bytes", () => {
  for (const bad of [-1, 1.5, Number.NaN, 11]) {
    const e = failure(() =>
      new MockTask(writeAll(new StallingSink(bad, 0), new Uint8Array(10))).poll(),
    );
    assert.ok(e instanceof InvalidArgumentError, `${bad}: ${String(e)}`);
    assert.match(e.message, /writeAll: the sink's pollWrite returned .* for 10 bytes/);
  }
});
