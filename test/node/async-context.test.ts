import assert from "node:assert/strict";
import { AsyncLocalStorage } from "node:async_hooks";
import { test } from "node:test";
import {
  asyncFn,
  future,
  InvalidArgumentError,
  type OneshotSender,
  oneshot,
  Runtime,
  scope,
  yieldNow,
} from "../../src/index.js";
import { nodeAsyncContext } from "../../src/node/index.js";

const store = new AsyncLocalStorage<string>();

/** Records the store on every poll boundary: before, after each yield, after a host wake. */
const observer = asyncFn(function* (rounds: number, hostWake: (tx: OneshotSender<void>) => void) {
  const seen: (string | undefined)[] = [store.getStore()];
  for (let i = 0; i < rounds; i++) {
    yield* yieldNow();
    seen.push(store.getStore());
    const [tx, rx] = oneshot<void>();
    hostWake(tx);
    yield* rx;
    seen.push(store.getStore());
  }
  return seen;
});

/** Sends on `tx` from a host callback that runs in another store's context. */
function wakeFromElsewhere(tx: OneshotSender<void>): void {
  store.run("host callback", () => setImmediate(() => tx.send()));
}

test("each task's polls run in the context it was spawned in, across yields and host wakes", async () => {
  const rt = new Runtime({ asyncContext: nodeAsyncContext });
  const a = store.run("a", () => rt.spawn(observer(20, wakeFromElsewhere)));
  const b = store.run("b", () => rt.spawn(observer(20, wakeFromElsewhere)));
  const c = rt.spawn(observer(20, wakeFromElsewhere));
  const [seenA, seenB, seenC] = await Promise.all([rt.run(a), rt.run(b), rt.run(c)]);
  assert.deepEqual(new Set(seenA), new Set(["a"]));
  assert.equal(seenA.length, 41);
  assert.deepEqual(new Set(seenB), new Set(["b"]));
  assert.deepEqual(new Set(seenC), new Set([undefined]));
});

test("a task spawned by a task inherits its context; one spawned inside store.run gets that one", async () => {
  const rt = new Runtime({ asyncContext: nodeAsyncContext });
  const child = asyncFn(function* () {
    yield* yieldNow();
    return store.getStore();
  });
  const [inherited, overridden, fromScope] = await store.run("parent", () =>
    rt.run(
      future(function* () {
        const h1 = rt.spawn(child());
        const h2 = store.run("other", () => rt.spawn(child()));
        const fromScope = yield* scope(function* (s) {
          const h = s.spawn(child());
          return yield* h;
        });
        return [yield* h1, yield* h2, fromScope];
      }),
    ),
  );
  assert.equal(inherited, "parent");
  assert.equal(overridden, "other");
  assert.equal(fromScope, "parent");
});

test("enterWith inside a task never leaks into another task polled in the same drain", async () => {
  const rt = new Runtime({ asyncContext: nodeAsyncContext });
  const leaker = asyncFn(function* () {
    const seen: (string | undefined)[] = [];
    for (let i = 0; i < 10; i++) {
      store.enterWith(`leak ${i}`);
      seen.push(store.getStore());
      yield* yieldNow();
      seen.push(store.getStore());
    }
    return seen;
  });
  const neighbour = asyncFn(function* () {
    const seen: (string | undefined)[] = [];
    for (let i = 0; i < 10; i++) {
      yield* yieldNow();
      seen.push(store.getStore());
    }
    return seen;
  });
  const [leaked, neighbourSaw] = await store.run("root", () =>
    rt.run(
      future(function* () {
        const l = rt.spawn(leaker());
        const n = rt.spawn(neighbour());
        return [yield* l, yield* n];
      }),
    ),
  );
  // The leaker sees what it entered. After its yield it sees that again (Node 20: enterWith
  // changes the task's captured context, as it would for the rest of an async function) or its
  // spawn context (runtimes where each poll re-enters the snapshot): never another task's store.
  for (let i = 0; i < 10; i++) {
    assert.equal(leaked[2 * i], `leak ${i}`);
    assert.ok(
      [`leak ${i}`, "root"].includes(leaked[2 * i + 1] as string),
      String(leaked[2 * i + 1]),
    );
  }
  assert.deepEqual(new Set(neighbourSaw), new Set(["root"]));
  assert.equal(store.getStore(), undefined);
});

test("a task that throws inside its context: the error (made in that context) reaches its joiner", async () => {
  const rt = new Runtime({ asyncContext: nodeAsyncContext });
  const failing = asyncFn(function* () {
    yield* yieldNow();
    throw new Error(`failed in ${store.getStore()}`);
  });
  await assert.rejects(
    store.run("ctx", () => rt.run(failing())),
    /failed in ctx/,
  );
});

test("asyncContext must be a carrier: a typed error otherwise", () => {
  assert.throws(
    () => new Runtime({ asyncContext: {} as never }),
    (error: unknown) =>
      error instanceof InvalidArgumentError && /asyncContext must be an object/.test(error.message),
  );
  assert.throws(() => new Runtime({ asyncContext: null as never }), InvalidArgumentError);
});
