/**
 * An API that takes a callback checks it where it is passed: a wrong argument is an
 * InvalidArgumentError at the call, not a TypeError later inside a poll (or, for a combinator whose
 * callback runs only on some paths, never).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { fromIterable, InvalidArgumentError, ready, watch } from "../../src/index.js";

const notFunctions: unknown[] = [undefined, null, 42, "f", {}];

const calls: [string, (bad: never) => unknown][] = [
  ["Future.map", (bad) => ready(1).map(bad)],
  ["Future.andThen", (bad) => ready(1).andThen(bad)],
  ["Future.catch", (bad) => ready(1).catch(bad)],
  ["Future.finally", (bad) => ready(1).finally(bad)],
  ["Stream.map", (bad) => fromIterable([1]).map(bad)],
  ["Stream.filter", (bad) => fromIterable([1]).filter(bad)],
  ["Stream.filterMap", (bad) => fromIterable([1]).filterMap(bad)],
  ["Stream.flatMap", (bad) => fromIterable([1]).flatMap(bad)],
  ["Stream.skipWhile", (bad) => fromIterable([1]).skipWhile(bad)],
  ["Stream.takeWhile", (bad) => fromIterable([1]).takeWhile(bad)],
  ["Stream.forEach", (bad) => fromIterable([1]).forEach(bad)],
  ["Stream.fold", (bad) => fromIterable([1]).fold(0, bad)],
  ["WatchSender.sendModify", (bad) => watch(0)[0].sendModify(bad)],
  ["WatchSender.sendIfModified", (bad) => watch(0)[0].sendIfModified(bad)],
  ["WatchReceiver.waitFor", (bad) => watch(0)[1].waitFor(bad)],
];

for (const [name, call] of calls) {
  test(`${name} with a non-function: InvalidArgumentError at the call, naming the API`, () => {
    for (const bad of notFunctions) {
      assert.throws(
        () => call(bad as never),
        (e: unknown) =>
          e instanceof InvalidArgumentError &&
          e.code === "INVALID_ARGUMENT" &&
          e.message.startsWith(`${name}: expected a`),
        `${name}(${String(bad)})`,
      );
    }
  });
}

test("a watch update with a non-function changes nothing and notifies nobody", () => {
  const [tx, rx] = watch(1);
  assert.throws(() => tx.sendModify(undefined as never), InvalidArgumentError);
  assert.equal(rx.hasChanged(), false);
  assert.equal(tx.borrow(), 1);
});
