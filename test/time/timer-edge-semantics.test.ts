/**
 * Timer edge cases against tokio::time's semantics: the host timer is never armed past
 * setTimeout's 2^31 - 1 ms limit (a longer one fires after 1 ms, so a 40-day sleep busy-looped);
 * an expiry whose waker synchronously drops, resets or adds other timers of the same slot loses
 * none of them and fires none twice; far deadlines (years, Number.MAX_VALUE) complete under
 * auto-advance without freezing the process (tokio: `sleep(Duration::MAX)` completes under
 * `time::pause()`); and the cases that were already right: re-polling with a new waker, reset to
 * an earlier or later deadline while waiting, big `advance` jumps across wheel levels firing in
 * (deadline, registration) order, timers registered during another's expiry, tiny and zero
 * durations, typed errors for bad interval periods.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import {
  Context,
  future,
  Instant,
  InvalidDurationError,
  interval,
  nodePlatform,
  OutOfRangeError,
  type Platform,
  Runtime,
  sleep,
  Waker,
} from "../../src/index.js";
import type { HostTimer } from "../../src/platform/index.js";
import { assertPending, assertReady, MockTask, noopContext } from "../../src/testing/index.js";
import { TimeDriver } from "../../src/time/time-driver.js";
import { TimerEntry, TimerWheel } from "../../src/time/timer-wheel.js";

const MAX_SET_TIMEOUT = 2 ** 31 - 1;
const DAY = 24 * 60 * 60 * 1000;

interface FakeTimer {
  fn: () => void;
  ms: number;
  armedAt: number;
  cleared: boolean;
}

/** The Node platform with a clock and host timers driven by hand. */
function manualPlatform(): { platform: Platform; timers: FakeTimer[]; clock: { now: number } } {
  const clock = { now: 1000 };
  const timers: FakeTimer[] = [];
  const platform: Platform = {
    ...nodePlatform(),
    now: () => clock.now,
    setTimer(fn: () => void, ms: number): HostTimer {
      const timer: FakeTimer = { fn, ms, armedAt: clock.now, cleared: false };
      timers.push(timer);
      return {
        clear() {
          timer.cleared = true;
        },
        ref() {},
        unref() {},
      };
    },
  };
  return { platform, timers, clock };
}

test("a 40-day sleep on a real clock never arms a host timer past 2^31 - 1 ms, and ends on time", async () => {
  const { platform, timers, clock } = manualPlatform();
  const rt = new Runtime({ platform });
  const seen = await rt.run(
    future(function* () {
      const start = rt.time.now();
      const task = new MockTask(sleep(40 * DAY));
      assertPending(task.poll());
      let fires = 0;
      while (!task.isWoken()) {
        const live = timers.filter((t) => !t.cleared);
        const timer = live.at(-1);
        assert.ok(timer !== undefined, "a host timer is armed while the sleep waits");
        assert.ok(timer.ms <= MAX_SET_TIMEOUT, `host timer of ${timer.ms} ms`);
        clock.now = timer.armedAt + timer.ms;
        timer.cleared = true;
        timer.fn();
        fires++;
        assert.ok(fires < 10, "the deadline is reached in a few host timers");
      }
      const slept = rt.time.now() - start;
      assertReady(task.poll());
      return { slept, delays: timers.map((t) => t.ms) };
    }),
  );
  assert.ok(seen.slept >= 40 * DAY, `woke after ${seen.slept} ms`);
  for (const ms of seen.delays) assert.ok(ms <= MAX_SET_TIMEOUT, `host timer of ${ms} ms`);
});

test("an expiry whose waker drops a sleep of the same deadline: the others still fire, it does not", async () => {
  const rt = new Runtime({ clock: "virtual" });
  await rt.run(
    future(function* () {
      const driver = TimeDriver.of();
      const order: string[] = [];
      const a = sleep(10);
      const b = sleep(10);
      const c = sleep(10);
      const d = sleep(10);
      // a's waker runs synchronously inside the wheel's expiry and drops b (same slot, next in line).
      const wakeA = Waker.from(() => {
        order.push("a");
        b.drop();
      });
      assertPending(a.poll(Context.fromWaker(wakeA)));
      const tb = new MockTask(b);
      const tc = new MockTask(c);
      const td = new MockTask(d);
      assertPending(tb.poll());
      assertPending(tc.poll());
      assertPending(td.poll());
      assert.equal(driver.pending, 4);
      rt.time.advance(10);
      assert.deepEqual(order, ["a"]);
      assert.equal(tb.isWoken(), false, "the dropped sleep never wakes");
      assert.equal(tc.isWoken(), true, "c was not lost");
      assert.equal(td.isWoken(), true, "d was not lost");
      assert.equal(driver.pending, 0);
      assertReady(tc.poll());
      assertReady(td.poll());
      a.drop();
    }),
  );
});

test("an expiry whose waker resets a sleep of the same deadline: it fires once, at the new deadline", async () => {
  const rt = new Runtime({ clock: "virtual" });
  await rt.run(
    future(function* () {
      const driver = TimeDriver.of();
      const t0 = rt.time.now();
      const a = sleep(10);
      const b = sleep(10);
      const c = sleep(10);
      const wakeA = Waker.from(() => b.reset(Instant.now().add(20)));
      assertPending(a.poll(Context.fromWaker(wakeA)));
      const tb = new MockTask(b);
      const tc = new MockTask(c);
      assertPending(tb.poll());
      assertPending(tc.poll());
      rt.time.advance(10);
      assert.equal(tc.isWoken(), true, "c was not lost");
      assert.equal(tb.wakeCount, 0, "b moved to a later deadline: not woken yet");
      assert.equal(driver.pending, 1, "only b is left");
      rt.time.advance(19);
      assert.equal(tb.wakeCount, 0);
      rt.time.advance(1);
      assert.equal(tb.wakeCount, 1, "b fires once, 20 ms after the reset");
      assert.equal(rt.time.now() - t0, 30);
      assert.equal(driver.pending, 0);
      assertReady(tb.poll());
      assertReady(tc.poll());
      a.drop();
    }),
  );
});

test("wheel: a reset from inside an expiry of the same slot fires once (no self-linked entry)", () => {
  const wheel = new TimerWheel();
  const fired: string[] = [];
  const entries: Record<string, TimerEntry> = {};
  for (const name of ["a", "b", "c"]) {
    entries[name] = new TimerEntry({
      expire() {
        fired.push(name);
        assert.ok(fired.filter((f) => f === name).length === 1, `${name} fired twice`);
        if (name === "a") {
          wheel.remove(entries.b!);
          assert.equal(wheel.insert(entries.b!, 500), true);
        }
      },
    });
  }
  for (const name of ["a", "b", "c"]) wheel.insert(entries[name]!, 100);
  wheel.advance(200);
  assert.deepEqual(fired, ["a", "c"]);
  assert.equal(wheel.count, 1);
  wheel.advance(1000);
  assert.deepEqual(fired, ["a", "c", "b"]);
  assert.equal(wheel.count, 0);
  assert.equal(wheel.nextExpiration(), -1);
});

test("wheel: a timer added by an expiry at another's deadline fires after it (registration order)", () => {
  const wheel = new TimerWheel();
  const fired: string[] = [];
  const y = new TimerEntry({ expire: () => fired.push("y") });
  const x = new TimerEntry({ expire: () => fired.push("x") });
  const a = new TimerEntry({
    expire() {
      fired.push("a");
      assert.equal(wheel.insert(y, 100), true); // registered after x, same deadline
    },
  });
  // Both in one level-1 slot (ticks 64..127): a expires as the slot is reached, x cascades down.
  wheel.insert(a, 64);
  wheel.insert(x, 100);
  wheel.advance(200);
  assert.deepEqual(fired, ["a", "x", "y"]);
});

type Action =
  | { kind: "none" }
  | { kind: "remove"; pick: number }
  | { kind: "move"; pick: number; delay: number }
  | { kind: "add"; delay: number };

test("property: expiries that remove, move or add other timers lose none, fire none early or twice", () => {
  const delay = fc.oneof(fc.integer({ min: 1, max: 70 }), fc.integer({ min: 1, max: 300_000 }));
  const action: fc.Arbitrary<Action> = fc.oneof(
    fc.constant({ kind: "none" as const }),
    fc.record({ kind: fc.constant("remove" as const), pick: fc.nat() }),
    fc.record({ kind: fc.constant("move" as const), pick: fc.nat(), delay }),
    fc.record({ kind: fc.constant("add" as const), delay }),
  );
  fc.assert(
    fc.property(
      fc.array(fc.record({ delay: fc.oneof(fc.constant(50), delay), action }), {
        minLength: 1,
        maxLength: 60,
      }),
      fc.array(fc.integer({ min: 0, max: 400_000 }), { minLength: 1, maxLength: 8 }),
      (timers, advances) => {
        const wheel = new TimerWheel();
        /** Live entries and their current deadlines, in (re)insertion order. */
        const live = new Map<TimerEntry, number>();
        const fired: { tick: number; seq: number }[] = [];
        const seqOf = new Map<TimerEntry, number>();
        let seq = 0;
        let now = 0;
        let actions = 0;
        const insert = (entry: TimerEntry, tick: number): void => {
          if (!wheel.insert(entry, tick)) return;
          live.set(entry, tick);
          seqOf.set(entry, seq++);
        };
        const pickLive = (pick: number): TimerEntry | undefined => {
          const all = [...live.keys()];
          return all.length === 0 ? undefined : all[pick % all.length];
        };
        const make = (act: Action): TimerEntry => {
          const entry: TimerEntry = new TimerEntry({
            expire() {
              assert.ok(live.has(entry), "fired after removal, or twice");
              const tick = live.get(entry)!;
              assert.ok(tick <= now, `tick ${tick} fired early at ${now}`);
              assert.equal(wheel.elapsed, tick, "fires exactly when the wheel reaches its tick");
              live.delete(entry);
              fired.push({ tick, seq: seqOf.get(entry)! });
              if (actions++ > 500) return; // bound the chain of added timers
              if (act.kind === "remove") {
                const other = pickLive(act.pick);
                if (other !== undefined) {
                  wheel.remove(other);
                  live.delete(other);
                }
              } else if (act.kind === "move") {
                const other = pickLive(act.pick);
                if (other !== undefined) {
                  wheel.remove(other);
                  live.delete(other);
                  insert(other, wheel.elapsed + act.delay);
                }
              } else if (act.kind === "add") {
                insert(make({ kind: "none" }), wheel.elapsed + act.delay);
              }
            },
          });
          return entry;
        };
        for (const t of timers) insert(make(t.action), t.delay);
        for (const by of advances) {
          now += by;
          const before = fired.length;
          wheel.advance(now);
          const batch = fired.slice(before);
          for (let i = 1; i < batch.length; i++) {
            const p = batch[i - 1]!;
            const q = batch[i]!;
            assert.ok(p.tick < q.tick || (p.tick === q.tick && p.seq < q.seq), "order");
          }
          for (const tick of live.values()) assert.ok(tick > now, `lost a timer due at ${tick}`);
          assert.equal(wheel.count, live.size);
        }
      },
    ),
    { numRuns: 300 },
  );
});

test("a sleep of years completes under auto-advance at exactly its deadline", async () => {
  const rt = new Runtime({ clock: "virtual" });
  const years = 50 * 365 * DAY;
  await rt.run(sleep(years));
  assert.equal(rt.time.now(), years);
});

test("sleep(1e20) and sleep(Number.MAX_VALUE) complete under auto-advance instead of freezing", () => {
  // In a child process: a regression freezes the event loop for hours, which no in-process
  // timeout can interrupt.
  const index = fileURLToPath(new URL("../../src/index.js", import.meta.url));
  const script = `
    const { Runtime, sleep, race } = await import(${JSON.stringify(index)});
    const out = [];
    for (const ms of [1e20, Number.MAX_VALUE]) {
      const rt = new Runtime({ clock: "virtual" });
      await rt.run(sleep(ms));
      out.push(rt.time.now());
    }
    console.log(JSON.stringify(out));
  `;
  const child = spawnSync(process.execPath, ["--input-type=module", "-e", script], {
    encoding: "utf8",
    timeout: 30_000,
  });
  assert.equal(child.signal, null, "the child froze and was killed");
  assert.equal(child.status, 0, child.stderr);
  assert.deepEqual(JSON.parse(child.stdout), [Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER]);
});

test("a sleep re-polled with another waker wakes only the new one and keeps no old clone", async () => {
  const rt = new Runtime({ clock: "virtual" });
  await rt.run(
    future(function* () {
      const s = sleep(100);
      const first = new MockTask(s);
      const second = new MockTask(s);
      assertPending(first.poll());
      assert.equal(first.wakerRefCount, 1);
      assertPending(second.poll());
      assert.equal(first.wakerRefCount, 0, "the first waker was released");
      rt.time.advance(100);
      assert.equal(first.isWoken(), false);
      assert.equal(second.isWoken(), true);
      assertReady(second.poll());
      assert.equal(second.wakerRefCount, 0);
    }),
  );
});

test("reset while waiting: to an earlier deadline wakes then; to a later one not before it", async () => {
  const rt = new Runtime({ clock: "virtual" });
  await rt.run(
    future(function* () {
      const t0 = Instant.now();
      const earlier = sleep(1000);
      const later = sleep(10);
      const past = sleep(500);
      const early = new MockTask(earlier);
      const lateTask = new MockTask(later);
      const pastTask = new MockTask(past);
      assertPending(early.poll());
      assertPending(lateTask.poll());
      assertPending(pastTask.poll());
      rt.time.advance(5);
      earlier.reset(t0.add(20));
      later.reset(t0.add(40));
      past.reset(t0.add(1));
      assert.equal(pastTask.isWoken(), true, "a reset to a passed deadline wakes at once");
      rt.time.advance(14); // 19
      assert.equal(early.isWoken(), false);
      rt.time.advance(1); // 20
      assert.equal(early.isWoken(), true, "woken at the earlier deadline");
      assert.equal(lateTask.isWoken(), false, "not at the old deadline (10)");
      rt.time.advance(19); // 39
      assert.equal(lateTask.isWoken(), false);
      rt.time.advance(1); // 40
      assert.equal(lateTask.isWoken(), true);
      assertReady(early.poll());
      assertReady(lateTask.poll());
      assertReady(pastTask.poll());
    }),
  );
});

test("one advance across every wheel level fires all timers in (deadline, registration) order", async () => {
  const rt = new Runtime({ clock: "virtual" });
  await rt.run(
    future(function* () {
      const deadlines = [
        3,
        70,
        70,
        5_000,
        1,
        300_000,
        70,
        20_000_000,
        1_500_000_000,
        3,
        80_000_000_000,
        1_500_000_000,
        2 ** 36 + 7,
      ];
      const log: number[] = [];
      const sleeps = deadlines.map((ms, i) => {
        const s = sleep(ms);
        assertPending(s.poll(Context.fromWaker(Waker.from(() => log.push(i)))));
        return s;
      });
      rt.time.advance(2 ** 37);
      const expected = deadlines
        .map((ms, i) => ({ ms, i }))
        .sort((x, y) => x.ms - y.ms || x.i - y.i)
        .map((x) => x.i);
      assert.deepEqual(log, expected);
      for (const s of sleeps) assert.equal(s.isElapsed(), true);
      assert.equal(TimeDriver.of().pending, 0);
    }),
  );
});

test("a sleep registered from another's expiry fires at its own deadline, once", async () => {
  const rt = new Runtime({ clock: "virtual" });
  await rt.run(
    future(function* () {
      const t0 = rt.time.now();
      const second = sleep(30);
      const secondTask = new MockTask(second);
      let registeredAt = -1;
      const first = sleep(10);
      assertPending(
        first.poll(
          Context.fromWaker(
            Waker.from(() => {
              registeredAt = rt.time.now() - t0;
              assertPending(secondTask.poll());
            }),
          ),
        ),
      );
      rt.time.advance(100); // one jump past both deadlines
      assert.equal(registeredAt, 100, "the clock stands at the jump's end during the expiry");
      assert.equal(secondTask.wakeCount, 0, "the new sleep is due at 130, not yet");
      rt.time.advance(29);
      assert.equal(secondTask.wakeCount, 0);
      rt.time.advance(1);
      assert.equal(secondTask.wakeCount, 1);
      assertReady(secondTask.poll());
      first.drop();
    }),
  );
});

test("zero and sub-millisecond durations: 0 completes at once, 1e-3 never before its deadline", async () => {
  const rt = new Runtime({ clock: "virtual" });
  await rt.run(
    future(function* () {
      assertReady(sleep(0).poll(noopContext()));
      const tiny = sleep(1e-3);
      const task = new MockTask(tiny);
      assertPending(task.poll());
      rt.time.advance(0.0005);
      assertPending(task.poll(), "never before its deadline");
      rt.time.advance(0.4995);
      assert.equal(tiny.isElapsed(), true, "the deadline has passed");
      assert.equal(task.isWoken(), false, "the timer fires on the next whole millisecond");
      rt.time.advance(0.5);
      assert.equal(task.isWoken(), true);
      assertReady(task.poll());
    }),
  );
});

test("interval: NaN, Infinity and negative periods are InvalidDurationError; 0 is OutOfRangeError", () => {
  for (const bad of [Number.NaN, Number.POSITIVE_INFINITY, -1]) {
    assert.throws(
      () => interval(bad),
      (e: unknown) => e instanceof InvalidDurationError && Object.is(e.value, bad),
    );
  }
  assert.throws(() => interval(0), OutOfRangeError);
});
