/**
 * Several accepts waiting on one TcpListener (127.0.0.1, ephemeral ports): each connection goes
 * to the accept that has waited longest, none is left parked while a connection is queued, and a
 * woken accept dropped before it takes its connection passes it on to the next one.
 */
import assert from "node:assert/strict";
import * as net from "node:net";
import { test } from "node:test";
import { future, Runtime, spawn } from "../../src/index.js";
import { TcpListener, type TcpStream } from "../../src/node/index.js";
import { assertPending, MockTask } from "../../src/testing/index.js";

/** Runs host turns until `done()` holds (events, not time: at most `turns` turns). */
async function hostTurnsUntil(done: () => boolean, turns = 2000): Promise<void> {
  for (let i = 0; i < turns && !done(); i++) await new Promise((resolve) => setImmediate(resolve));
  assert.ok(done(), "the awaited host event did not come");
}

/** A client connection from plain Node, open until `end()`. */
function connect(port: number): { end: () => void } {
  const socket = net.connect({ host: "127.0.0.1", port });
  socket.on("error", () => {});
  return { end: () => socket.destroy() };
}

test("two tasks accepting at once each get a connection (no lost wakeup)", {
  timeout: 20_000,
}, async () => {
  const rt = new Runtime();
  const listener = await rt.run(TcpListener.bind({ port: 0, host: "127.0.0.1" }));
  const { port } = listener.localAddr();
  const accepted = await rt.run(
    future(function* () {
      const first = spawn(listener.accept());
      const second = spawn(listener.accept());
      const clients = [connect(port), connect(port)];
      const streams: TcpStream[] = [yield* first, yield* second];
      for (const c of clients) c.end();
      for (const s of streams) s.drop();
      return streams.length;
    }),
  );
  listener.close();
  assert.equal(accepted, 2);
});

test("a connection goes to the accept that waited longest", { timeout: 20_000 }, async () => {
  const rt = new Runtime();
  const listener = await rt.run(TcpListener.bind({ port: 0, host: "127.0.0.1" }));
  const older = new MockTask(listener.accept());
  const newer = new MockTask(listener.accept());
  assertPending(older.poll());
  assertPending(newer.poll());
  const client = connect(listener.localAddr().port);
  await hostTurnsUntil(() => older.isWoken());
  assert.equal(newer.isWoken(), false, "one connection wakes one accept");
  const stream = older.poll();
  assert.notEqual(typeof stream, "symbol", "the woken accept has its connection");
  (stream as TcpStream).drop();
  newer.drop();
  client.end();
  listener.close();
});

test("a woken accept dropped before it took its connection passes it to the next accept", {
  timeout: 20_000,
}, async () => {
  const rt = new Runtime();
  const listener = await rt.run(TcpListener.bind({ port: 0, host: "127.0.0.1" }));
  const dropped = new MockTask(listener.accept());
  const next = new MockTask(listener.accept());
  assertPending(dropped.poll());
  assertPending(next.poll());
  const client = connect(listener.localAddr().port);
  await hostTurnsUntil(() => dropped.isWoken());
  assert.equal(next.isWoken(), false);
  dropped.drop(); // lost a select, say, after its wake but before its poll
  assert.ok(next.isWoken(), "the connection it was woken for went on to the next accept");
  const stream = next.poll();
  assert.notEqual(typeof stream, "symbol");
  (stream as TcpStream).drop();
  client.end();
  listener.close();
});

test("closing the listener wakes every waiting accept", { timeout: 20_000 }, async () => {
  const rt = new Runtime();
  const listener = await rt.run(TcpListener.bind({ port: 0, host: "127.0.0.1" }));
  const waiting = [new MockTask(listener.accept()), new MockTask(listener.incoming().next())];
  for (const t of waiting) assertPending(t.poll());
  listener.close();
  for (const t of waiting) assert.ok(t.isWoken());
});
