import assert from "node:assert/strict";
import { PassThrough, Readable } from "node:stream";
import { test } from "node:test";
import { future, Runtime, read, readToEnd } from "../../src/index.js";
import { fromReadable } from "../../src/node/index.js";

test("many small chunks read through a smaller buffer arrive whole and in order (the queue compacts as it goes)", async () => {
  const rt = new Runtime();
  const source = new PassThrough();
  const io = fromReadable(source);
  // 3,000 chunks of 3 bytes are queued before any read (9,000 bytes: below the pause mark).
  const CHUNKS = 3000;
  for (let i = 0; i < CHUNKS; i++) source.write(Buffer.from([i & 0xff, (i >> 8) & 0xff, 0xaa]));
  source.end();
  const internals = io as unknown as { chunks: unknown[]; head: number };
  let compactions = 0;
  const got = await rt.run(
    future(function* () {
      const out: number[] = [];
      const buf = new Uint8Array(2);
      for (;;) {
        const head = internals.head;
        const n = yield* read(io, buf);
        if (n === 0) break;
        out.push(...buf.subarray(0, n));
        // The front moved back while chunks remain: the read slots were dropped.
        if (internals.head < head && internals.chunks.length > 0) compactions++;
      }
      return out;
    }),
  );
  assert.equal(got.length, CHUNKS * 3);
  for (let i = 0; i < CHUNKS; i++) {
    assert.deepEqual(got.slice(i * 3, i * 3 + 3), [i & 0xff, (i >> 8) & 0xff, 0xaa], `chunk ${i}`);
  }
  assert.ok(compactions >= 1, "3,000 queued chunks: the read slots at the front were dropped");
  assert.equal(internals.chunks.length, 0, "the queue is empty at the end");
});

test("a stream with an encoding (string chunks) reads as UTF-8 bytes", async () => {
  const rt = new Runtime();
  const source = Readable.from(["héllo ", "wörld"], { objectMode: false });
  source.setEncoding("utf8");
  const bytes = await rt.run(readToEnd(fromReadable(source)));
  assert.equal(new TextDecoder().decode(bytes), "héllo wörld");
});
