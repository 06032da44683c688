import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { test } from "node:test";
import {
  fromPromise,
  future,
  InvalidArgumentError,
  pending,
  Runtime,
  TimeoutError,
  timeout,
  toPromise,
  withSignal,
  yieldNow,
} from "../../src/index.js";

test("fromPromise: lazy factory runs on first poll; value and rejection", async () => {
  const rt = new Runtime();
  let created = 0;
  const fut = fromPromise(() => {
    created++;
    return Promise.resolve(5);
  });
  assert.equal(created, 0, "nothing runs before the first poll");
  assert.equal(await rt.run(fut), 5);
  assert.equal(created, 1);
  await assert.rejects(rt.run(fromPromise(Promise.reject(new Error("no")))), /no/);
  await assert.rejects(
    rt.run(
      fromPromise(() => {
        throw new Error("sync throw");
      }),
    ),
    /sync throw/,
  );
});

test("fromPromise: dropping the future aborts the signal given to the factory", async () => {
  const rt = new Runtime();
  let signal: AbortSignal | null = null;
  const handle = rt.spawn(
    fromPromise((s) => {
      signal = s;
      return new Promise<never>(() => {});
    }),
  );
  await rt.run(yieldNow());
  assert.equal(signal!.aborted, false);
  handle.abort();
  await rt.run(handle).catch(() => undefined);
  assert.equal(signal!.aborted, true);
});

test("a fetch dropped by timeout is aborted: the server sees the connection close", async () => {
  let closed!: () => void;
  const connectionClosed = new Promise<void>((resolve) => {
    closed = resolve;
  });
  const server = createServer((req) => {
    // Never answer; report when the client goes away.
    req.socket.on("close", () => closed());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  try {
    const rt = new Runtime();
    const error = await rt
      .run(
        timeout(
          fromPromise((signal) => fetch(`http://127.0.0.1:${port}/slow`, { signal })),
          50,
        ),
      )
      .catch((e: unknown) => e);
    assert.ok(error instanceof TimeoutError);
    await connectionClosed;
  } finally {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});

test("toPromise bridges to await; withSignal stops a future when the signal aborts", async () => {
  assert.equal(
    await toPromise(
      future(function* () {
        yield* yieldNow();
        return "bridged";
      }),
    ),
    "bridged",
  );
  const rt = new Runtime();
  const controller = new AbortController();
  let cleaned = 0;
  const running = rt.run(
    withSignal(
      future(function* () {
        try {
          yield* pending();
        } finally {
          cleaned++;
        }
      }),
      controller.signal,
    ),
  );
  await rt.run(yieldNow());
  controller.abort(new Error("stop"));
  await assert.rejects(running, /stop/);
  assert.equal(cleaned, 1);
});

test("interop bad input", () => {
  assert.throws(() => fromPromise(42 as never), InvalidArgumentError);
  assert.throws(() => withSignal(yieldNow(), {} as never), InvalidArgumentError);
  assert.throws(() => withSignal(42 as never, new AbortController().signal), InvalidArgumentError);
});

test("fromPromise: a factory that returns no promise fails the future with InvalidArgumentError", () => {
  const rt = new Runtime();
  const notThenable = {
    // biome-ignore lint/suspicious/noThenProperty: a `then` that is no function, under test
    then: "not a function",
  };
  for (const returned of [42, null, undefined, notThenable]) {
    const fut = fromPromise(() => returned as never);
    assert.throws(
      () => rt.blockOn(fut),
      (error: unknown) =>
        error instanceof InvalidArgumentError &&
        /the factory must return a promise, it returned/.test(error.message),
    );
  }
});

test("fromPromise: a factory may return any thenable", async () => {
  const rt = new Runtime();
  const thenable: PromiseLike<number> = {
    // biome-ignore lint/suspicious/noThenProperty: a hand-written thenable under test
    then: (onValue) => Promise.resolve(onValue?.(3)) as never,
  };
  assert.equal(await rt.run(fromPromise(() => thenable)), 3);
});
