import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { Done, isPending, isReady, Pending, type Poll } from "../../src/index.js";

describe("Poll", () => {
  test("Pending and Done are distinct symbols with readable descriptions", () => {
    assert.equal(typeof Pending, "symbol");
    assert.equal(typeof Done, "symbol");
    assert.notEqual(Pending, Done);
    assert.equal(Pending.description, "Pending");
    assert.equal(Done.description, "Done");
  });

  test("Pending is neither equal to Symbol.for('Pending') nor to a fresh symbol", () => {
    assert.notEqual(Pending, Symbol.for("Pending"));
    assert.notEqual(Pending, Symbol("Pending"));
  });

  test("isPending is true only for Pending, isReady is its negation", () => {
    assert.equal(isPending(Pending), true);
    assert.equal(isReady(Pending), false);
  });

  test("falsy and odd ready values are ready", () => {
    const values: unknown[] = [
      undefined,
      null,
      0,
      -0,
      Number.NaN,
      "",
      false,
      0n,
      Done,
      Symbol("Pending"),
      {},
      [],
    ];
    for (const v of values) {
      assert.equal(isReady(v), true, `isReady(${String(v)})`);
      assert.equal(isPending(v), false, `isPending(${String(v)})`);
    }
  });

  test("isReady narrows the type to the value", () => {
    const p: Poll<number> = 41 as Poll<number>;
    if (isReady(p)) {
      const n: number = p + 1;
      assert.equal(n, 42);
    } else {
      assert.fail("41 is ready");
    }
    const q: Poll<number> = Pending as Poll<number>;
    if (isPending(q)) {
      const s: typeof Pending = q;
      assert.equal(s, Pending);
    } else {
      assert.fail("Pending is pending");
    }
  });

  test("property: for any value, exactly one of isReady/isPending holds", () => {
    fc.assert(
      fc.property(fc.anything(), (v) => {
        assert.equal(isReady(v), !isPending(v));
        assert.equal(isPending(v), v === Pending);
      }),
      { numRuns: 200, seed: 42 },
    );
  });
});
