/**
 * The event log's text: `sim.log` arguments are formatted the same way every run, also values
 * JSON cannot encode (a cycle, a BigInt inside an object, an object whose toJSON gives nothing),
 * so a log call never throws and never depends on anything but the values.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { future } from "../../src/index.js";
import { formatLogArgs } from "../../src/sim/event-log.js";
import { simulate } from "../../src/sim/index.js";

test("values JSON cannot encode are logged with String(), not thrown", () => {
  const cycle: { self?: unknown } = {};
  cycle.self = cycle;
  assert.equal(formatLogArgs([cycle]), "[object Object]");
  assert.equal(formatLogArgs([{ big: 1n }]), "[object Object]");
  assert.equal(formatLogArgs([{ toJSON: () => undefined }]), "[object Object]");
  assert.equal(formatLogArgs([[1, 2]]), "[1,2]");
  // The other kinds, for contrast.
  assert.equal(
    formatLogArgs(["s", 1n, new TypeError("t"), { a: 1 }, null, undefined, 2]),
    's 1n TypeError: t {"a":1} null undefined 2',
  );
});

test("sim.log of a cyclic object records a line instead of failing the run", () => {
  const lines = simulate({ seed: 1, log: true }, (sim) =>
    future(function* () {
      const cycle: { self?: unknown; n: number } = { n: 1 };
      cycle.self = cycle;
      sim.log("state", cycle, { big: 2n });
      return sim.events?.lines.filter((l) => l.startsWith("log ")) ?? [];
    }),
  );
  assert.deepEqual(lines, ["log state [object Object] [object Object]"]);
});
