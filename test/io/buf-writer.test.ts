/**
 * BufWriter against sinks that push back: writes larger than the buffer go straight through after
 * what was buffered, a sink that accepts a few bytes at a time (or none: Pending) loses and
 * duplicates nothing, shutdown drains first, and a sink error mid-drain does not make a retry send
 * the bytes the sink already accepted (Rust's and tokio's BufWriter drop them from the buffer).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import {
  BufWriter,
  type Context,
  flush,
  Pending,
  type Poll,
  shutdown,
  write,
  writeAll,
} from "../../src/index.js";
import { MockTask } from "../../src/testing/index.js";

const enc = new TextEncoder();
const dec = new TextDecoder();
const bytes = (s: string) => enc.encode(s);

/**
 * A sink that records each inner write; `accept` says how many bytes the next write takes (0:
 * Pending), or throws to fail it.
 */
class ScriptedSink {
  readonly writes: string[] = [];
  flushes = 0;
  shutdowns = 0;
  constructor(public accept: (data: Uint8Array) => number = (d) => d.length) {}
  get received(): string {
    return this.writes.join("");
  }
  pollWrite(_cx: Context, data: Uint8Array): Poll<number> {
    const n = this.accept(data);
    if (n === 0) return Pending;
    this.writes.push(dec.decode(data.subarray(0, n)));
    return n;
  }
  pollFlush(_cx: Context): Poll<void> {
    this.flushes++;
    return undefined;
  }
  pollShutdown(_cx: Context): Poll<void> {
    this.shutdowns++;
    return undefined;
  }
}

test("a write larger than the buffer goes straight to the sink, after the bytes buffered before it", () => {
  const sink = new ScriptedSink();
  const out = new BufWriter(sink, 8);
  assert.equal(new MockTask(write(out, bytes("abc"))).poll(), 3);
  assert.deepEqual(sink.writes, [], "small write: buffered");
  assert.equal(new MockTask(write(out, bytes("0123456789"))).poll(), 10);
  assert.deepEqual(sink.writes, ["abc", "0123456789"], "buffer first, then the big write whole");
  assert.equal(new MockTask(write(out, bytes("xyz"))).poll(), 3);
  assert.deepEqual(sink.writes.length, 2, "the buffer is empty again: the next small write waits");
  new MockTask(flush(out)).poll();
  assert.equal(sink.received, "abc0123456789xyz");
});

test("a write that does not fit drains the buffer first; a small one is then buffered", () => {
  const sink = new ScriptedSink();
  const out = new BufWriter(sink, 8);
  new MockTask(writeAll(out, bytes("abcdef"))).poll();
  new MockTask(writeAll(out, bytes("ghij"))).poll(); // 6 + 4 > 8: "abcdef" goes, "ghij" stays
  assert.deepEqual(sink.writes, ["abcdef"]);
  new MockTask(flush(out)).poll();
  assert.deepEqual(sink.writes, ["abcdef", "ghij"]);
  assert.equal(sink.flushes, 1, "flush reaches the sink's own flush");
});

test("a sink that is not ready: the write waits and keeps what was not yet accepted", () => {
  const sink = new ScriptedSink();
  const out = new BufWriter(sink, 4);
  new MockTask(writeAll(out, bytes("abcd"))).poll();
  assert.deepEqual(sink.writes, [], "exactly full: still buffered");
  let calls = 0;
  sink.accept = (d) => (++calls === 1 ? Math.min(3, d.length) : 0); // "abc", then full
  const big = new MockTask(writeAll(out, bytes("efgh")));
  assert.equal(big.poll(), Pending);
  assert.equal(sink.received, "abc");
  sink.accept = (d) => d.length;
  assert.equal(big.poll(), undefined);
  new MockTask(flush(out)).poll();
  assert.deepEqual(sink.writes, ["abc", "d", "efgh"], "nothing lost, nothing sent twice");
});

test("shutdown drains the buffer (waiting for the sink) before shutting the sink down", () => {
  const sink = new ScriptedSink(() => 0);
  const out = new BufWriter(sink, 16);
  new MockTask(writeAll(out, bytes("QUIT\r\n"))).poll();
  const closing = new MockTask(shutdown(out));
  assert.equal(closing.poll(), Pending, "the sink takes nothing yet");
  assert.equal(sink.shutdowns, 0, "not shut down with bytes still buffered");
  let calls = 0;
  sink.accept = (d) => (++calls === 1 ? Math.min(2, d.length) : 0);
  assert.equal(closing.poll(), Pending, "two bytes taken, then the sink is full again");
  assert.equal(sink.shutdowns, 0);
  sink.accept = (d) => d.length;
  assert.equal(closing.poll(), undefined);
  assert.deepEqual(sink.writes, ["QU", "IT\r\n"]);
  assert.equal(sink.shutdowns, 1);
});

test("a sink error mid-drain: a retry sends only the bytes the sink had not accepted", () => {
  let calls = 0;
  let failing = true;
  const sink = new ScriptedSink((d) => {
    calls++;
    if (failing && calls === 2) throw new Error("transient");
    return Math.min(3, d.length);
  });
  const out = new BufWriter(sink, 16);
  new MockTask(writeAll(out, bytes("abcdefgh"))).poll();
  assert.throws(() => new MockTask(flush(out)).poll(), /transient/);
  assert.equal(sink.received, "abc", "the sink took 3 bytes before failing");
  failing = false;
  assert.equal(new MockTask(flush(out)).poll(), undefined);
  assert.equal(sink.received, "abcdefgh", "the retry sends 'defgh', not 'abc' again");
});

test("property: any write sizes through any sink pace arrive whole, in order, exactly once", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 32 }),
      fc.array(fc.integer({ min: 0, max: 40 }), { maxLength: 20 }),
      fc.array(fc.integer({ min: 0, max: 7 }), { minLength: 1, maxLength: 10 }),
      (capacity, sizes, pace) => {
        let step = 0;
        // The sink takes pace[i] bytes per call, cycling (0: Pending); it never stalls twice in a row.
        let stalled = false;
        const sink = new ScriptedSink((d) => {
          const p = pace[step++ % pace.length]!;
          if (p === 0 && !stalled) {
            stalled = true;
            return 0;
          }
          stalled = false;
          return Math.min(Math.max(p, 1), d.length);
        });
        const out = new BufWriter(sink, capacity);
        let expected = "";
        let k = 0;
        const drive = (task: MockTask<unknown>) => {
          for (let i = 0; i < 10_000; i++) if (task.poll() !== Pending) return;
          assert.fail("no progress");
        };
        for (const size of sizes) {
          const chunk = "x".repeat(size).replace(/x/g, () => String.fromCharCode(97 + (k++ % 26)));
          expected += chunk;
          drive(new MockTask(writeAll(out, bytes(chunk))));
        }
        drive(new MockTask(flush(out)));
        assert.equal(sink.received, expected);
      },
    ),
  );
});
