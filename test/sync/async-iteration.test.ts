/**
 * `for await` over the receivers from ordinary async code: every message in order, the end when
 * the senders are gone, and a `break` that drops the receiver (its `return()`), so the senders
 * see it closed.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  broadcast,
  channel,
  future,
  Runtime,
  unboundedChannel,
  watch,
  yieldNow,
} from "../../src/index.js";

test("for await over a broadcast receiver: every message, then the end", async () => {
  const runtime = new Runtime();
  const [tx, rx] = broadcast<string>(8);
  runtime.spawn(
    future(function* () {
      for (const word of ["a", "b", "c"]) {
        tx.send(word);
        yield* yieldNow();
      }
      tx.drop();
    }),
  );
  const seen: string[] = [];
  for await (const word of rx) seen.push(word);
  assert.deepEqual(seen, ["a", "b", "c"]);
});

test("for await over a watch receiver: each change not yet seen, then the end", async () => {
  const [tx, rx] = watch(0);
  tx.send(1);
  const seen: number[] = [];
  // A watch keeps only the latest value: the loop itself makes the next change, so it sees each.
  for await (const v of rx) {
    seen.push(v);
    if (v < 3) tx.send(v + 1);
    else tx.drop();
  }
  assert.deepEqual(seen, [1, 2, 3]);
});

test("break out of for await drops the receiver: the senders see it closed", async () => {
  const [tx, rx] = channel<number>(4);
  tx.trySend(1);
  tx.trySend(2);
  for await (const v of rx) {
    assert.equal(v, 1);
    break;
  }
  assert.ok(tx.isClosed(), "the bounded channel's receiver was dropped");

  const [utx, urx] = unboundedChannel<number>();
  utx.send(1);
  for await (const _ of urx) break;
  assert.ok(utx.isClosed(), "the unbounded channel's receiver was dropped");

  const [btx, brx] = broadcast<number>(2);
  btx.send(1);
  assert.equal(btx.receiverCount, 1);
  for await (const _ of brx) break;
  assert.equal(btx.receiverCount, 0, "the broadcast receiver unsubscribed");

  const [wtx, wrx] = watch(0);
  wtx.send(1);
  assert.equal(wtx.receiverCount, 1);
  for await (const _ of wrx) break;
  assert.equal(wtx.receiverCount, 0, "the watch receiver unsubscribed");
  assert.ok(wtx.isClosed());
});
