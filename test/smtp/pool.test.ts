import assert from "node:assert/strict";
import * as net from "node:net";
import { test } from "node:test";
import { SMTPServer } from "smtp-server";
import { future, InvalidArgumentError, joinAll, Runtime } from "../../src/index.js";
import { SmtpError, SmtpPool } from "../../src/smtp/index.js";

/** smtp-server counting connections; `onRcpt` may refuse an address (451 or 550). */
async function server(onRcpt?: (address: string, attempt: number) => number | undefined) {
  let connections = 0;
  const received: string[] = [];
  const attemptsByRcpt = new Map<string, number>();
  const smtp = new SMTPServer({
    disabledCommands: ["STARTTLS", "AUTH"],
    logger: false,
    onConnect(_session, callback) {
      connections++;
      callback();
    },
    onRcptTo(address, _session, callback) {
      const attempt = (attemptsByRcpt.get(address.address) ?? 0) + 1;
      attemptsByRcpt.set(address.address, attempt);
      const code = onRcpt?.(address.address, attempt);
      if (code === undefined) return callback();
      const error = new Error(code >= 500 ? "no such user" : "try again later") as Error & {
        responseCode: number;
      };
      error.responseCode = code;
      callback(error);
    },
    onData(stream, session, callback) {
      stream.on("data", () => {});
      stream.on("end", () => {
        received.push(session.envelope.rcptTo.map((r) => r.address).join(","));
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => smtp.listen(0, "127.0.0.1", resolve));
  return {
    port: (smtp.server.address() as net.AddressInfo).port,
    received,
    connections: () => connections,
    close: () => new Promise<void>((resolve) => smtp.close(() => resolve())),
  };
}

const mail = (to: string) => ({ from: "a@x.test", to: [to], data: `Subject: ${to}\r\n\r\nhi\r\n` });

test("the pool bounds connections, reuses them up to a message count, and delivers everything", async () => {
  const s = await server();
  try {
    const pool = new SmtpPool({ port: s.port, maxConnections: 4, maxMessagesPerConnection: 10 });
    const outcomes = await new Runtime().run(
      future(function* () {
        const all = yield* joinAll(
          Array.from({ length: 60 }, (_, i) => pool.send(mail(`u${i}@y.test`))),
        );
        yield* pool.close();
        return all;
      }),
    );
    assert.equal(outcomes.filter((o) => o.status === "ok").length, 60);
    assert.equal(s.received.length, 60);
    assert.ok(
      s.connections() >= 6,
      `60 messages at 10 per connection need >= 6, saw ${s.connections()}`,
    );
    assert.ok(s.connections() <= 10, `connections are reused, saw ${s.connections()}`);
  } finally {
    await s.close();
  }
});

test("a close dropped before its first poll leaves the pool open and its connections alive", async () => {
  const s = await server();
  try {
    const pool = new SmtpPool({ port: s.port });
    const outcomes = await new Runtime().run(
      future(function* () {
        const first = yield* pool.send(mail("one@y.test"));
        // Futures are lazy: a close never polled has not started.
        pool.close().drop();
        const second = yield* pool.send(mail("two@y.test"));
        yield* pool.close();
        return [first, second];
      }),
    );
    assert.deepEqual(
      outcomes.map((o) => o.status),
      ["ok", "ok"],
    );
    assert.deepEqual(s.received, ["one@y.test", "two@y.test"]);
    assert.equal(s.connections(), 1, "the idle connection was reused, not lost");
  } finally {
    await s.close();
  }
});

test("a transient refusal is retried; a permanent one is not", async () => {
  const s = await server((address, attempt) => {
    if (address === "busy@y.test" && attempt === 1) return 451;
    if (address === "gone@y.test") return 550;
    return undefined;
  });
  try {
    const pool = new SmtpPool({ port: s.port, retryDelay: 0 });
    const [busy, gone] = await new Runtime().run(
      future(function* () {
        const out = [yield* pool.send(mail("busy@y.test")), yield* pool.send(mail("gone@y.test"))];
        yield* pool.close();
        return out;
      }),
    );
    assert.equal(busy!.status, "ok");
    assert.equal(busy!.attempts, 2);
    assert.equal(gone!.status, "failed");
    assert.equal(gone!.attempts, 1);
    assert.ok(
      gone!.status === "failed" && gone!.error instanceof SmtpError && gone!.error.permanent,
    );
    assert.deepEqual(s.received, ["busy@y.test"]);
  } finally {
    await s.close();
  }
});

test("a connection lost after the final dot is 'unknown' and never retried (no email twice)", async () => {
  let messagesSeen = 0;
  // A minimal server that accepts everything, then hangs up instead of answering the final dot.
  const raw = net.createServer((socket) => {
    socket.write("220 raw ESMTP\r\n");
    let buffer = "";
    let inData = false;
    socket.on("data", (chunk) => {
      buffer += chunk.toString("latin1");
      for (let i = buffer.indexOf("\r\n"); i >= 0; i = buffer.indexOf("\r\n")) {
        const line = buffer.slice(0, i);
        buffer = buffer.slice(i + 2);
        if (inData) {
          if (line === ".") {
            messagesSeen++;
            socket.destroy();
            return;
          }
          continue;
        }
        if (line.startsWith("EHLO")) socket.write("250-raw\r\n250 PIPELINING\r\n");
        else if (line === "DATA") {
          inData = true;
          socket.write("354 go ahead\r\n");
        } else socket.write("250 ok\r\n");
      }
    });
  });
  await new Promise<void>((resolve) => raw.listen(0, "127.0.0.1", resolve));
  try {
    const port = (raw.address() as net.AddressInfo).port;
    const pool = new SmtpPool({ port, retryDelay: 0, retries: 5 });
    const outcome = await new Runtime().run(
      future(function* () {
        const o = yield* pool.send(mail("bob@y.test"));
        yield* pool.close();
        return o;
      }),
    );
    assert.equal(outcome.status, "unknown");
    assert.equal(outcome.attempts, 1);
    assert.equal(messagesSeen, 1, "sent exactly once");
  } finally {
    raw.close();
  }
});

test("bad pool options and bad envelopes are typed errors, not outcomes", async () => {
  assert.throws(
    () => new SmtpPool({ maxConnections: 0 }),
    /maxConnections must be an integer >= 1/,
  );
  for (const bad of [null, 5, "port=25"]) {
    assert.throws(
      () => new SmtpPool(bad as never),
      (e: unknown) =>
        e instanceof InvalidArgumentError && /SmtpPool: expected an options object/.test(e.message),
    );
  }
  const pool = new SmtpPool({ port: 1 });
  assert.throws(
    () => pool.send({ from: "a@x", to: ["b@y\r\nBcc: c@z"], data: "x" }),
    /must not contain CR, LF/,
  );
});
