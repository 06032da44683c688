/**
 * ReadyQueue: the ring buffer under the executor's ready queue and every channel's buffer. It
 * starts small for a small expected size (a `channel(1)` gets 2 slots) and grows by doubling, so
 * the property checks it against a plain array through growth from every starting size.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { ReadyQueue } from "../../src/runtime/ready-queue.js";

type Op = { kind: "push"; value: number } | { kind: "shift" } | { kind: "takeAt"; at: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: fc.integer().map((value) => ({ kind: "push", value }) as const) },
  { weight: 3, arbitrary: fc.constant({ kind: "shift" } as const) },
  { weight: 1, arbitrary: fc.nat(600).map((at) => ({ kind: "takeAt", at }) as const) },
);

test("ReadyQueue behaves as a FIFO array from any starting size, through growth", () => {
  fc.assert(
    fc.property(
      fc.oneof(fc.integer({ min: 0, max: 300 }), fc.constant(Number.POSITIVE_INFINITY)),
      fc.array(op, { maxLength: 700 }),
      (expected, ops) => {
        const queue = new ReadyQueue<number>(expected);
        const model: number[] = [];
        for (const o of ops) {
          if (o.kind === "push") {
            queue.push(o.value);
            model.push(o.value);
          } else if (o.kind === "shift") {
            assert.equal(queue.shift(), model.shift());
          } else {
            // takeAt moves the head into the taken place.
            const taken = queue.takeAt(o.at);
            if (o.at >= model.length) {
              assert.equal(taken, undefined);
            } else {
              assert.equal(taken, model[o.at]);
              model[o.at] = model[0] as number;
              model.shift();
            }
          }
          assert.equal(queue.length, model.length);
          assert.equal(queue.isEmpty(), model.length === 0);
        }
        for (let i = 0; i < model.length; i++) assert.equal(queue.at(i), model[i]);
        assert.equal(queue.at(model.length), undefined);
      },
    ),
  );
});

test("ReadyQueue: a queue expected to hold one item still takes a thousand", () => {
  const queue = new ReadyQueue<string>(1);
  for (let i = 0; i < 1000; i++) queue.push(`m${i}`);
  assert.equal(queue.length, 1000);
  for (let i = 0; i < 1000; i++) assert.equal(queue.shift(), `m${i}`);
  assert.equal(queue.shift(), undefined);
});
