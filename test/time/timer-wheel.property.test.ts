import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { TimerEntry, TimerWheel } from "../../src/time/timer-wheel.js";

type Op =
  | { kind: "insert"; delay: number }
  | { kind: "remove"; pick: number }
  | { kind: "advance"; by: number };

const delays = fc.oneof(
  fc.integer({ min: 1, max: 70 }),
  fc.integer({ min: 1, max: 5_000 }),
  fc.integer({ min: 1, max: 300_000 }),
  fc.integer({ min: 1, max: 2 ** 37 }),
);
const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant("insert" as const), delay: delays }),
  fc.record({ kind: fc.constant("remove" as const), pick: fc.nat() }),
  fc.record({
    kind: fc.constant("advance" as const),
    by: fc.oneof(fc.integer({ min: 0, max: 100 }), fc.integer({ min: 0, max: 2 ** 37 })),
  }),
);

test("the wheel expires entries in (deadline, insertion) order, never early, never after removal", () => {
  fc.assert(
    fc.property(fc.array(op, { maxLength: 200 }), (ops) => {
      const wheel = new TimerWheel();
      const fired: { tick: number; seq: number; at: number }[] = [];
      const live = new Map<TimerEntry, number>();
      let seq = 0;
      let now = 0;
      const model: { tick: number; seq: number }[] = [];
      for (const o of ops) {
        if (o.kind === "insert") {
          const mySeq = seq++;
          const entry: TimerEntry = new TimerEntry({
            expire: () => {
              fired.push({ tick: entry.tick, seq: mySeq, at: now });
              live.delete(entry);
            },
          });
          assert.equal(wheel.insert(entry, now + o.delay), true);
          live.set(entry, mySeq);
          model.push({ tick: now + o.delay, seq: mySeq });
        } else if (o.kind === "remove") {
          const entries = [...live.keys()];
          if (entries.length === 0) continue;
          const entry = entries[o.pick % entries.length]!;
          const removedSeq = live.get(entry)!;
          wheel.remove(entry);
          live.delete(entry);
          model.splice(
            model.findIndex((m) => m.seq === removedSeq),
            1,
          );
        } else {
          now += o.by;
          const before = fired.length;
          wheel.advance(now);
          const expected = model
            .filter((m) => m.tick <= now)
            .sort((a, b) => a.tick - b.tick || a.seq - b.seq);
          const got = fired.slice(before).map((f) => ({ tick: f.tick, seq: f.seq }));
          assert.deepEqual(got, expected);
          for (const m of expected) model.splice(model.indexOf(m), 1);
        }
        assert.equal(wheel.count, live.size);
        const next = wheel.nextExpiration();
        if (live.size === 0) assert.equal(next, -1);
        else {
          const earliest = Math.min(...model.map((m) => m.tick));
          assert.ok(next > now - 1 && next <= earliest, `next ${next} earliest ${earliest}`);
        }
      }
      for (const f of fired) assert.ok(f.at >= f.tick, "never fires before its tick");
    }),
    { numRuns: 300 },
  );
});

test("insert of a passed deadline is refused (the caller completes at once)", () => {
  const wheel = new TimerWheel();
  wheel.advance(100);
  assert.equal(wheel.insert(new TimerEntry({ expire: () => {} }), 100), false);
  assert.equal(wheel.count, 0);
});
