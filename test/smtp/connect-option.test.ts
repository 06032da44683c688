import assert from "node:assert/strict";
import { test } from "node:test";
import { type Future, future, joinAll, Runtime, ready, sleep } from "../../src/index.js";
import { SmtpClient, SmtpPool, type SmtpTransport } from "../../src/smtp/index.js";
import { MemoryServer } from "./scripted.js";

const mail = (to: string) => ({ from: "a@x.test", to: [to], data: `Subject: ${to}\r\n\r\nhi\r\n` });

test("connect option: the client opens its transport through it, with the address and time limit", async () => {
  const server = new MemoryServer();
  const calls: unknown[] = [];
  const result = await new Runtime().run(
    future(function* () {
      const client = yield* SmtpClient.connect({
        host: "mx.sim",
        port: 2525,
        tls: "none",
        connectTimeout: 1234,
        connect: (addr, options) => {
          calls.push({ ...addr, ...options });
          return server.connect(addr, options);
        },
      });
      const r = yield* client.send(mail("bob@y.test"));
      yield* client.quit();
      return r;
    }),
  );
  assert.deepEqual(calls, [{ host: "mx.sim", port: 2525, timeout: 1234 }]);
  assert.deepEqual(result.accepted, ["bob@y.test"]);
  assert.equal(server.received.length, 1);
  assert.equal(server.received[0]!.data, "Subject: bob@y.test\r\n\r\nhi");
});

test("connect option: a connect that never completes is bounded by connectTimeout (virtual clock)", async () => {
  const rt = new Runtime({ clock: "virtual" });
  const error = await rt.run(
    future(function* () {
      return yield* SmtpClient.connect({
        connectTimeout: 500,
        connect: () => sleep(10_000).map((): SmtpTransport => assert.fail("unreachable")),
      }).catch((e: unknown) => e);
    }),
  );
  assert.equal((error as Error).name, "TimeoutError");
  assert.equal(rt.time.now(), 500);
});

test("connect option: implicit TLS upgrades the transport it returns through `upgrade`, before the greeting", async () => {
  const server = new MemoryServer();
  const events: string[] = [];
  const secure = await new Runtime().run(
    future(function* () {
      const client = yield* SmtpClient.connect({
        tls: "implicit",
        connect: (addr, options) => {
          events.push("connect");
          return server.connect(addr, options);
        },
        upgrade: (io): Future<SmtpTransport> => {
          events.push("upgrade");
          return ready(io);
        },
      });
      yield* client.quit();
      return client.secure;
    }),
  );
  assert.deepEqual(events, ["connect", "upgrade"]);
  assert.equal(secure, true);
});

test("connect option: a bad value is a typed error", async () => {
  const error = await new Runtime().run(
    SmtpClient.connect({ connect: 42 as never }).catch((e: unknown) => e),
  );
  assert.equal((error as { code?: string }).code, "INVALID_ARGUMENT");
});

test("connect option: SmtpPool passes it through; every connection goes over it", async () => {
  const server = new MemoryServer();
  const pool = new SmtpPool({
    connect: server.connect,
    maxConnections: 3,
    maxMessagesPerConnection: 4,
  });
  const outcomes = await new Runtime().run(
    future(function* () {
      const all = yield* joinAll(
        Array.from({ length: 20 }, (_, i) => pool.send(mail(`u${i}@y.test`))),
      );
      yield* pool.close();
      return all;
    }),
  );
  assert.deepEqual(
    outcomes.map((o) => o.status),
    Array(20).fill("ok"),
  );
  assert.equal(server.received.length, 20);
  assert.ok(
    server.connections >= 5 && server.connections <= 8,
    `${server.connections} connections`,
  );
  assert.equal(server.open, 0, "every session ended (QUIT)");
});

test("connect option: the transport's drop is called when the client closes", async () => {
  let dropped = 0;
  await new Runtime().run(
    future(function* () {
      const server = new MemoryServer();
      const client = yield* SmtpClient.connect({
        connect: (addr, options) =>
          server.connect(addr, options).map((io): SmtpTransport => {
            const drop = io.drop?.bind(io);
            return Object.assign(io, {
              drop() {
                dropped++;
                drop?.();
              },
            });
          }),
      });
      client.close();
      client.close();
    }),
  );
  assert.equal(dropped, 1);
});
