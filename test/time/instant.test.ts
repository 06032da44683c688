/**
 * Instant: compare() is a total order agreeing with the clock values (and with `<`/`>` through
 * valueOf), add/since are consistent with it, non-Instants are typed errors, and toString
 * names the clock value.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { future, Instant, InvalidArgumentError, Runtime, sleep } from "../../src/index.js";

const at = (ms: number) => new Instant(ms);

test("compare: -1, 0 or 1 as the clock values order; antisymmetric; agrees with < and since", () => {
  fc.assert(
    fc.property(
      fc.double({ min: 0, max: 1e12, noNaN: true }),
      fc.double({ min: 0, max: 1e12, noNaN: true }),
      (a, b) => {
        const x = at(a);
        const y = at(b);
        const c = x.compare(y);
        assert.equal(c, a < b ? -1 : a > b ? 1 : 0);
        assert.equal(y.compare(x) + c, 0, "antisymmetric");
        assert.equal(x.compare(x), 0);
        assert.equal(c < 0, x < y, "valueOf makes < agree with compare");
        // since saturates at 0 exactly when this instant is not after the other.
        assert.equal(x.since(y) > 0, c > 0);
      },
    ),
  );
});

test("compare: an instant plus a positive duration is later; plus 0 is equal", () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 1e9 }), fc.integer({ min: 1, max: 1e6 }), (base, d) => {
      const x = at(base);
      assert.equal(x.add(d).compare(x), 1);
      assert.equal(x.compare(x.add(d)), -1);
      assert.equal(x.add(0).compare(x), 0);
      assert.equal(x.add(d).since(x), d);
    }),
  );
});

test("compare on the runtime's clock: a later Instant.now() compares after an earlier one", async () => {
  const rt = new Runtime({ clock: "virtual" });
  const [before, after] = await rt.run(
    future(function* () {
      const before = Instant.now();
      yield* sleep(25);
      return [before, Instant.now()] as const;
    }),
  );
  assert.equal(before.compare(after), -1);
  assert.equal(after.compare(before), 1);
  assert.equal(after.since(before), 25);
});

test("compare with something that is not an Instant is an InvalidArgumentError naming the value", () => {
  const x = at(5);
  for (const bad of [5, null, undefined, "5", { ms: 5 }]) {
    assert.throws(
      () => x.compare(bad as never),
      (e: unknown) =>
        e instanceof InvalidArgumentError &&
        /^Instant\.compare: expected an Instant/.test(e.message),
    );
  }
});

test("toString shows the clock value in milliseconds", () => {
  assert.equal(at(0).toString(), "Instant(0.000 ms)");
  assert.equal(at(1234.5).toString(), "Instant(1234.500 ms)");
  assert.equal(String(at(7).add(3)), "Instant(10.000 ms)");
  assert.equal(`${at(2)}`, "Instant(2.000 ms)");
});
