/**
 * ConcatChunks (the body of a message with streamed attachments): the parts come out in order,
 * an empty byte part is skipped (never yielded as an empty chunk), each stream is opened only
 * when its turn comes, the end stays the end, and a drop closes the open stream and opens no more.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { Done, Stream } from "../../src/index.js";
import { ConcatChunks } from "../../src/smtp/body.js";
import { noopContext } from "../../src/testing/index.js";

const bytes = (...b: number[]) => Uint8Array.from(b);

/** Polls to the end (every part here is ready at once). */
function drain(s: Stream<Uint8Array>): Uint8Array[] {
  const cx = noopContext();
  const out: Uint8Array[] = [];
  for (;;) {
    const r = s.pollNext(cx);
    if (r === Done) return out;
    assert.ok(r instanceof Uint8Array, "ready parts never make it pend");
    out.push(r);
  }
}

test("empty byte parts are skipped: the chunks are the non-empty parts, in order; Done stays Done", () => {
  const opened: string[] = [];
  const opener = (name: string, chunks: Uint8Array[]) => () => {
    opened.push(name);
    return Stream.from(chunks);
  };
  const s = new ConcatChunks([
    bytes(),
    opener("first", [bytes(1), bytes(2, 3)]),
    bytes(),
    bytes(),
    bytes(4),
    opener("empty stream", []),
    bytes(),
    bytes(5, 6),
    bytes(),
  ]);
  const chunks = drain(s);
  assert.deepEqual(
    chunks.map((c) => [...c]),
    [[1], [2, 3], [4], [5, 6]],
  );
  assert.deepEqual(opened, ["first", "empty stream"]);
  assert.equal(s.pollNext(noopContext()), Done, "polled again after the end: still Done");
});

test("only empty byte parts: Done at once, no empty chunk", () => {
  assert.deepEqual(drain(new ConcatChunks([bytes(), bytes(), bytes()])), []);
  assert.deepEqual(drain(new ConcatChunks([])), []);
});

test("property: the concatenation of the chunks is the concatenation of the parts, no chunk empty", () => {
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.uint8Array({ maxLength: 4 }), fc.boolean()), { maxLength: 12 }),
      (parts) => {
        const s = new ConcatChunks(
          parts.map(([b, streamed]) => (streamed ? () => Stream.from(b.length > 0 ? [b] : []) : b)),
        );
        const chunks = drain(s);
        for (const c of chunks) assert.ok(c.length > 0, "no empty chunk");
        assert.deepEqual(
          chunks.flatMap((c) => [...c]),
          parts.flatMap(([b]) => [...b]),
        );
      },
    ),
  );
});

test("a drop closes the stream being read and opens none of the later ones", () => {
  let dropped = 0;
  let laterOpened = false;
  const s = new ConcatChunks([
    bytes(),
    () => {
      const inner = Stream.from([bytes(1), bytes(2)]);
      const drop = inner.drop.bind(inner);
      inner.drop = () => {
        dropped++;
        drop();
      };
      return inner;
    },
    bytes(),
    () => {
      laterOpened = true;
      return Stream.from([bytes(9)]);
    },
  ]);
  assert.deepEqual([...(s.pollNext(noopContext()) as Uint8Array)], [1]);
  s.drop();
  assert.equal(dropped, 1);
  assert.equal(s.pollNext(noopContext()), Done);
  assert.equal(laterOpened, false);
});
