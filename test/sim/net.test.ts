import assert from "node:assert/strict";
import { test } from "node:test";
import {
  asyncFn,
  copy,
  future,
  timeout as import_timeout,
  join,
  joinAll,
  Runtime,
  read,
  readToEnd,
  seededRandom,
  shutdown,
  sleep,
  TimeoutError,
  writeAll,
} from "../../src/index.js";
import { IoError } from "../../src/node/io-error.js";
import { SimNetwork, type SimStream } from "../../src/sim/net/index.js";

const A = "10.0.0.1";
const B = "10.0.0.2";

function payload(size: number, seed: number): Uint8Array {
  const random = seededRandom(seed);
  const out = new Uint8Array(size);
  for (let i = 0; i < size; i++) out[i] = Math.floor(random() * 256);
  return out;
}

function codeOf(error: unknown): string {
  return error instanceof IoError ? error.code : `not an IoError: ${String(error)}`;
}

/** The error a future throws, or "ok". */
const outcome = asyncFn(function* <T>(fut: import("../../src/index.js").Future<T>) {
  try {
    yield* fut;
    return "ok";
  } catch (error) {
    return error instanceof TimeoutError ? "TimeoutError" : codeOf(error);
  }
});

const echoSession = asyncFn(function* (conn: SimStream) {
  yield* copy(conn, conn);
  yield* shutdown(conn);
  conn.drop();
});

test("echo: 50 connections with jittery latency each get all their bytes back in order", async () => {
  const rt = new Runtime({ clock: "virtual" });
  const net = new SimNetwork({ random: seededRandom(1), link: { latency: { min: 1, max: 40 } } });
  const server = net.host(B);
  const client = net.host(A);
  const results = await rt.run(
    future(function* () {
      const listener = yield* server.bind({ port: 7 });
      const serving = rt.spawn(
        future(function* () {
          for (;;) rt.spawn(echoSession(yield* listener.accept()));
        }),
      );
      const clients = Array.from({ length: 50 }, (_, i) =>
        future(function* () {
          const data = payload(1 + ((i * 7919) % 20_000), i);
          const conn = yield* client.connect({ host: B, port: 7 });
          const [, back] = yield* join(
            future(function* () {
              yield* writeAll(conn, data);
              yield* shutdown(conn);
            }),
            readToEnd(conn),
          );
          conn.drop();
          return Buffer.from(back).equals(Buffer.from(data));
        }),
      );
      const ok = yield* joinAll(clients);
      serving.abort();
      return ok;
    }),
  );
  assert.deepEqual(results, Array(50).fill(true));
  assert.ok(net.stats.segments > 50 * 4, `segments: ${net.stats.segments}`);
});

test("latency and bandwidth show in virtual time: connect is one round trip, 100 KB at 10 B/ms takes ~10 s", async () => {
  const rt = new Runtime({ clock: "virtual" });
  const net = new SimNetwork({ random: seededRandom(2), link: { latency: 25 } });
  net.setLink(A, B, { latency: 10, bandwidth: 10 });
  const times = await rt.run(
    future(function* () {
      const listener = yield* net.host(B).bind({ port: 80 });
      const t0 = rt.time.now();
      const conn = yield* net.host(A).connect({ host: B, port: 80 });
      const connected = rt.time.now() - t0;
      const peer = yield* listener.accept();
      const t1 = rt.time.now();
      yield* writeAll(conn, new Uint8Array(100_000));
      yield* shutdown(conn);
      const got = yield* readToEnd(peer);
      const transfer = rt.time.now() - t1;
      conn.drop();
      peer.drop();
      return { connected, transfer, got: got.length };
    }),
  );
  assert.equal(times.connected, 20); // SYN 10 ms + SYN-ACK 10 ms
  assert.equal(times.got, 100_000);
  // 100,000 B / 10 B/ms = 10,000 ms of transmission plus 10 ms of latency (and window stalls).
  assert.ok(times.transfer >= 10_010 && times.transfer < 10_100, `transfer ${times.transfer} ms`);
});

test("a bulk transfer is bound by the window over the round trip: 1 MiB, 64 KiB window, 100 ms RTT takes ~1.6 s", async () => {
  const rt = new Runtime({ clock: "virtual" });
  const net = new SimNetwork({ random: seededRandom(20), link: { latency: 50 } });
  const elapsed = await rt.run(
    future(function* () {
      const listener = yield* net.host(B).bind({ port: 9 });
      const conn = yield* net.host(A).connect({ host: B, port: 9 });
      const peer = yield* listener.accept();
      const t0 = rt.time.now();
      const [, got] = yield* join(
        future(function* () {
          yield* writeAll(conn, new Uint8Array(1 << 20));
          yield* shutdown(conn);
        }),
        readToEnd(peer),
      );
      assert.equal(got.length, 1 << 20);
      return rt.time.now() - t0;
    }),
  );
  // 16 windows of 64 KiB, one round trip each, plus the last one-way trip.
  assert.ok(elapsed >= 1550 && elapsed <= 1700, `elapsed ${elapsed} ms`);
});

test("a partition holds segments until repair, then they arrive in order", async () => {
  const rt = new Runtime({ clock: "virtual" });
  const net = new SimNetwork({ random: seededRandom(3), link: { latency: 5 } });
  const log: string[] = [];
  await rt.run(
    future(function* () {
      const listener = yield* net.host(B).bind({ port: 9 });
      const conn = yield* net.host(A).connect({ host: B, port: 9 });
      const peer = yield* listener.accept();
      net.partition(A, B);
      const reader = rt.spawn(
        future(function* () {
          const data = yield* readToEnd(peer);
          log.push(`read ${new TextDecoder().decode(data)} at ${rt.time.now()}`);
        }),
      );
      yield* writeAll(conn, new TextEncoder().encode("hello "));
      yield* writeAll(conn, new TextEncoder().encode("world"));
      yield* shutdown(conn);
      yield* sleep(1000);
      log.push(`held ${net.stats.held} at ${rt.time.now()}`);
      net.repair(A, B);
      yield* reader;
      conn.drop();
    }),
  );
  assert.deepEqual(log, ["held 3 at 1010", "read hello world at 1015"]);
});

test("hold delays one direction only; release delivers what was held", async () => {
  const rt = new Runtime({ clock: "virtual" });
  const net = new SimNetwork({ random: seededRandom(4), link: { latency: 5 } });
  const result = await rt.run(
    future(function* () {
      const listener = yield* net.host(B).bind({ port: 9 });
      const conn = yield* net.host(A).connect({ host: B, port: 9 });
      const peer = yield* listener.accept();
      net.hold(A, B);
      yield* writeAll(conn, new Uint8Array([1]));
      yield* writeAll(peer, new Uint8Array([2]));
      const buf = new Uint8Array(4);
      const n = yield* read(conn, buf); // B -> A still flows
      const t = rt.time.now();
      net.release(A, B);
      const m = yield* read(peer, buf.subarray(1));
      return { n, first: buf[0], t, m, second: buf[1], end: rt.time.now() };
    }),
  );
  assert.deepEqual(result, { n: 1, first: 2, t: 15, m: 1, second: 1, end: 20 });
});

test("reset: both ends get ECONNRESET on read and EPIPE on write", async () => {
  const rt = new Runtime({ clock: "virtual" });
  const net = new SimNetwork({ random: seededRandom(5) });
  const codes = await rt.run(
    future(function* () {
      const listener = yield* net.host(B).bind({ port: 9 });
      const conn = yield* net.host(A).connect({ host: B, port: 9 });
      const peer = yield* listener.accept();
      const pendingRead = rt.spawn(outcome(read(peer, new Uint8Array(10))));
      yield* sleep(1);
      net.reset(conn);
      return [
        yield* pendingRead,
        yield* outcome(read(conn, new Uint8Array(10))),
        yield* outcome(writeAll(conn, new Uint8Array(1))),
        yield* outcome(writeAll(peer, new Uint8Array(1))),
        conn.isReset && peer.isReset,
      ];
    }),
  );
  assert.deepEqual(codes, ["ECONNRESET", "ECONNRESET", "EPIPE", "EPIPE", true]);
});

test("writing to a peer that dropped the connection gets a reset back; its reads end first", async () => {
  const rt = new Runtime({ clock: "virtual" });
  const net = new SimNetwork({ random: seededRandom(6), link: { latency: 3 } });
  const codes = await rt.run(
    future(function* () {
      const listener = yield* net.host(B).bind({ port: 9 });
      const conn = yield* net.host(A).connect({ host: B, port: 9 });
      const peer = yield* listener.accept();
      peer.drop();
      const eof = yield* read(conn, new Uint8Array(10)); // the FIN
      yield* writeAll(conn, new Uint8Array(10)); // accepted locally, answered by a reset
      yield* sleep(10);
      return [
        eof,
        yield* outcome(read(conn, new Uint8Array(10))),
        yield* outcome(writeAll(conn, new Uint8Array(1))),
      ];
    }),
  );
  assert.deepEqual(codes, [0, "ECONNRESET", "EPIPE"]);
});

test("crash resets the host's connections and closes its listeners; restart lets it listen again", async () => {
  const rt = new Runtime({ clock: "virtual" });
  const net = new SimNetwork({ random: seededRandom(7), link: { latency: 2 } });
  const server = net.host(B);
  const client = net.host(A);
  const log = await rt.run(
    future(function* () {
      const listener = yield* server.bind({ port: 25 });
      const conn = yield* client.connect({ host: B, port: 25 });
      const peer = yield* listener.accept();
      const accepting = rt.spawn(outcome(listener.accept()));
      const clientRead = rt.spawn(outcome(read(conn, new Uint8Array(4))));
      yield* sleep(1);
      server.crash();
      const out = [
        yield* accepting,
        yield* clientRead,
        yield* outcome(read(peer, new Uint8Array(4))),
        yield* outcome(client.connect({ host: B, port: 25 })),
        yield* outcome(server.bind({ port: 25 })),
        yield* outcome(server.connect({ host: A, port: 1 })),
        String(server.isDown),
      ];
      server.restart();
      const again = yield* server.bind({ port: 25 });
      const conn2 = yield* client.connect({ host: B, port: 25 });
      const peer2 = yield* again.accept();
      yield* writeAll(conn2, new Uint8Array([42]));
      const buf = new Uint8Array(1);
      yield* read(peer2, buf);
      out.push(`after restart: ${buf[0]}`);
      return out;
    }),
  );
  assert.deepEqual(log, [
    "ECONNABORTED",
    "ECONNRESET",
    "ECONNRESET",
    "ECONNREFUSED",
    "ENETDOWN",
    "ENETDOWN",
    "true",
    "after restart: 42",
  ]);
});

test("connect: refused with nobody listening, ETIMEDOUT without an answer, TimeoutError with a timeout", async () => {
  const rt = new Runtime({ clock: "virtual" });
  const net = new SimNetwork({ random: seededRandom(8), link: { latency: 4 }, synTimeout: 5000 });
  const a = net.host(A);
  net.host(B);
  const out = await rt.run(
    future(function* () {
      const t0 = rt.time.now();
      const refused = yield* outcome(a.connect({ host: B, port: 1 }));
      const t1 = rt.time.now();
      const unknown = yield* outcome(a.connect({ host: "10.9.9.9", port: 1 }));
      const t2 = rt.time.now();
      net.partition(A, B);
      yield* net.host(B).bind({ port: 2 });
      const cut = yield* outcome(a.connect({ host: B, port: 2 }, { timeout: 300 }));
      const t3 = rt.time.now();
      net.repair(A, B);
      const healed = yield* outcome(a.connect({ host: B, port: 2 }, { timeout: 300 }));
      return [refused, t1 - t0, unknown, t2 - t1, cut, t3 - t2, healed];
    }),
  );
  assert.deepEqual(out, ["ECONNREFUSED", 8, "ETIMEDOUT", 5000, "TimeoutError", 300, "ok"]);
});

test("bind: EADDRINUSE for a taken port, EADDRNOTAVAIL for another host's address, port 0 picks one", async () => {
  const rt = new Runtime({ clock: "virtual" });
  const net = new SimNetwork({ random: seededRandom(9) });
  const host = net.host(A);
  const out = await rt.run(
    future(function* () {
      const first = yield* host.bind({ port: 80 });
      const any = yield* host.bind({ host: "0.0.0.0", port: 0 });
      const taken = yield* outcome(host.bind({ host: A, port: 80 }));
      const foreign = yield* outcome(host.bind({ host: B, port: 81 }));
      first.close();
      const reused = yield* outcome(host.bind({ port: 80 }));
      return [first.localAddr(), any.localAddr().port >= 49152, taken, foreign, reused];
    }),
  );
  assert.deepEqual(out, [{ host: A, port: 80 }, true, "EADDRINUSE", "EADDRNOTAVAIL", "ok"]);
});

test("backpressure: a writer to a peer that does not read stops after the send buffer and the window", async () => {
  const rt = new Runtime({ clock: "virtual" });
  const net = new SimNetwork({ random: seededRandom(10), sendBuffer: 8192, receiveWindow: 16384 });
  const out = await rt.run(
    future(function* () {
      const listener = yield* net.host(B).bind({ port: 9 });
      const conn = yield* net.host(A).connect({ host: B, port: 9 });
      const peer = yield* listener.accept();
      let accepted = 0;
      const writer = rt.spawn(
        future(function* () {
          const chunk = new Uint8Array(1000);
          for (let i = 0; i < 1000; i++) {
            yield* writeAll(conn, chunk);
            accepted += chunk.length;
          }
          yield* shutdown(conn);
        }),
      );
      yield* sleep(10_000);
      const stalled = accepted;
      const total = (yield* readToEnd(peer)).length;
      yield* writer;
      return { stalled, total };
    }),
  );
  // 16 KiB in flight or unread plus 8 KiB queued, give or take the 1,000-byte chunk that stalled.
  assert.ok(out.stalled >= 16384 + 8192 - 1000 && out.stalled <= 16384 + 8192, `${out.stalled}`);
  assert.equal(out.total, 1_000_000);
});

test("dropping pending reads (a read under a short timeout, again and again) loses no byte", async () => {
  const rt = new Runtime({ clock: "virtual" });
  const net = new SimNetwork({ random: seededRandom(11), link: { latency: { min: 0, max: 30 } } });
  const data = payload(50_000, 11);
  const got = await rt.run(
    future(function* () {
      const listener = yield* net.host(B).bind({ port: 9 });
      const conn = yield* net.host(A).connect({ host: B, port: 9 });
      const peer = yield* listener.accept();
      rt.spawn(
        future(function* () {
          for (let i = 0; i < data.length; i += 700) {
            yield* writeAll(conn, data.subarray(i, i + 700));
            yield* sleep(3);
          }
          yield* shutdown(conn);
        }),
      );
      const parts: Uint8Array[] = [];
      const buf = new Uint8Array(997);
      let timeouts = 0;
      for (;;) {
        let n: number;
        try {
          n = yield* import_timeout(read(peer, buf), 1);
        } catch (error) {
          if (!(error instanceof TimeoutError)) throw error;
          timeouts++;
          continue;
        }
        if (n === 0) break;
        parts.push(buf.slice(0, n));
      }
      assert.ok(timeouts > 10, `timeouts: ${timeouts}`);
      return Buffer.concat(parts);
    }),
  );
  assert.ok(got.equals(Buffer.from(data)));
});

/** 20 clients each send 5 messages over a lossy, jittery network; returns the server's arrival log. */
async function trafficLog(seed: number): Promise<string[]> {
  const rt = new Runtime({ clock: "virtual", scheduling: { random: seed } });
  const net = new SimNetwork({
    random: seededRandom(seed),
    link: { latency: { min: 1, max: 30 }, loss: 0.05 },
    mss: 100,
  });
  const log: string[] = [];
  let total = 0;
  await rt.run(
    future(function* () {
      const listener = yield* net.host(B).bind({ port: 7 });
      rt.spawn(
        future(function* () {
          for (;;) {
            const conn = yield* listener.accept();
            rt.spawn(
              future(function* () {
                const buf = new Uint8Array(4096);
                for (;;) {
                  const n = yield* read(conn, buf);
                  if (n === 0) break;
                  log.push(`${rt.time.now().toFixed(2)} ${conn.peerAddr().host}:${buf[0]} ${n}`);
                  total += n;
                }
                conn.drop();
              }),
            );
          }
        }),
      );
      yield* joinAll(
        Array.from({ length: 20 }, (_, i) =>
          future(function* () {
            const conn = yield* net.host(`10.1.0.${i}`).connect({ host: B, port: 7 });
            for (let m = 0; m < 5; m++) {
              yield* writeAll(conn, new Uint8Array(150).fill(i));
              yield* sleep(5);
            }
            yield* shutdown(conn);
            conn.drop();
          }),
        ),
      );
      yield* sleep(10_000);
    }),
  );
  assert.equal(total, 20 * 5 * 150);
  return log;
}

test("determinism: the same seed gives the same deliveries; different seeds reorder them", async () => {
  const first = await trafficLog(42);
  assert.deepEqual(await trafficLog(42), first);
  assert.notDeepEqual(await trafficLog(43), first);
});

test("loss delays segments by retransmissions but never loses or reorders a byte", async () => {
  const rt = new Runtime({ clock: "virtual" });
  const net = new SimNetwork({
    random: seededRandom(12),
    link: { latency: 10, loss: 0.2, retransmitTimeout: 200 },
    mss: 500,
  });
  const data = payload(30_000, 12);
  const out = await rt.run(
    future(function* () {
      const listener = yield* net.host(B).bind({ port: 9 });
      const conn = yield* net.host(A).connect({ host: B, port: 9 });
      const peer = yield* listener.accept();
      const t0 = rt.time.now();
      yield* writeAll(conn, data);
      yield* shutdown(conn);
      const got = yield* readToEnd(peer);
      return { same: Buffer.from(got).equals(Buffer.from(data)), elapsed: rt.time.now() - t0 };
    }),
  );
  assert.equal(out.same, true);
  assert.ok(net.stats.lost > 5, `lost ${net.stats.lost}`);
  assert.ok(out.elapsed >= 210, `elapsed ${out.elapsed}`);
});

test("a reset rate resets connections at random: ECONNRESET, never silent loss", async () => {
  const rt = new Runtime({ clock: "virtual" });
  const net = new SimNetwork({ random: seededRandom(13), link: { resetRate: 0.02 }, mss: 100 });
  const outcomes = await rt.run(
    future(function* () {
      const listener = yield* net.host(B).bind({ port: 7 });
      rt.spawn(
        future(function* () {
          for (;;) rt.spawn(outcome(echoSession(yield* listener.accept())));
        }),
      );
      return yield* joinAll(
        Array.from({ length: 20 }, (_, i) =>
          future(function* () {
            const data = payload(2000, i);
            const conn = yield* net.host(A).connect({ host: B, port: 7 });
            try {
              const [, back] = yield* join(
                future(function* () {
                  yield* writeAll(conn, data);
                  yield* shutdown(conn);
                }),
                readToEnd(conn),
              );
              return Buffer.from(back).equals(Buffer.from(data)) ? "ok" : "corrupt";
            } catch (error) {
              return codeOf(error);
            } finally {
              conn.drop();
            }
          }),
        ),
      );
    }),
  );
  const counts = new Map<string, number>();
  for (const o of outcomes) counts.set(o, (counts.get(o) ?? 0) + 1);
  assert.ok((counts.get("ok") ?? 0) > 0, JSON.stringify([...counts]));
  assert.ok(
    (counts.get("ECONNRESET") ?? 0) + (counts.get("EPIPE") ?? 0) > 0,
    JSON.stringify([...counts]),
  );
  assert.equal(counts.get("corrupt"), undefined);
  assert.ok(net.stats.resets > 0);
});

test("deadlock detection sees the network: a read with nothing in flight is a deadlock, one with bytes in flight is not", async () => {
  const net = new SimNetwork({ random: seededRandom(14), link: { latency: 1000 } });
  const rt = new Runtime({ clock: "virtual" });
  const got = await rt
    .run(
      future(function* () {
        const listener = yield* net.host(B).bind({ port: 9 });
        const conn = yield* net.host(A).connect({ host: B, port: 9 });
        const peer = yield* listener.accept();
        yield* writeAll(conn, new Uint8Array([7]));
        const buf = new Uint8Array(1);
        yield* read(peer, buf); // 1 s in flight: a timer, not a deadlock
        // Nobody will write again, and nothing is in flight: a deadlock, reported with the dump.
        yield* read(peer, buf);
        return "unreachable";
      }),
    )
    .catch((error: Error) => error);
  assert.ok(got instanceof Error && got.name === "DeadlockError", String(got));
  // Connect 2 s, the byte 1 s, and its ACK 1 s back: then nothing is in flight.
  assert.equal(rt.time.now(), 4000);
});

test("a partition that no task will repair is a deadlock, not a hang", async () => {
  const net = new SimNetwork({ random: seededRandom(15) });
  const rt = new Runtime({ clock: "virtual" });
  const got = await rt
    .run(
      future(function* () {
        const listener = yield* net.host(B).bind({ port: 9 });
        const conn = yield* net.host(A).connect({ host: B, port: 9 });
        const peer = yield* listener.accept();
        net.partition(A, B);
        yield* writeAll(conn, new Uint8Array([7]));
        yield* read(peer, new Uint8Array(1));
      }),
    )
    .catch((error: Error) => error);
  assert.ok(got instanceof Error && got.name === "DeadlockError", String(got));
  assert.match(
    (got as Error & { dump?: string }).message + String((got as { dump?: unknown }).dump),
    /sim-net/,
  );
});

test("bad options are InvalidArgumentErrors", () => {
  assert.throws(() => new SimNetwork({} as never), { code: "INVALID_ARGUMENT" });
  const random = seededRandom(1);
  assert.throws(() => new SimNetwork({ random, link: { loss: 1 } }), { code: "INVALID_ARGUMENT" });
  assert.throws(() => new SimNetwork({ random, link: { latency: { min: 5, max: 1 } } }), {
    code: "INVALID_ARGUMENT",
  });
  assert.throws(() => new SimNetwork({ random, mss: 0 }), { code: "INVALID_ARGUMENT" });
  for (const retransmitTimeout of [0, -1, Number.POSITIVE_INFINITY, Number.NaN]) {
    assert.throws(() => new SimNetwork({ random, link: { retransmitTimeout } }), {
      code: "INVALID_ARGUMENT",
      message: /retransmitTimeout must be > 0 ms/,
    });
  }
  assert.throws(() => new SimNetwork({ random, trace: "yes" as never }), {
    code: "INVALID_ARGUMENT",
    message: /trace must be a function/,
  });
  const net = new SimNetwork({ random });
  assert.throws(() => net.host(""), { code: "INVALID_ARGUMENT" });
  assert.throws(() => net.host(A).connect({ port: 70000 }), { code: "INVALID_ARGUMENT" });
  assert.throws(() => net.setLink(A, B, { bandwidth: 0 }), { code: "INVALID_ARGUMENT" });
  assert.throws(() => net.reset({} as never), { code: "INVALID_ARGUMENT" });
});

test("a network bound to one runtime refuses to be used from another", async () => {
  const net = new SimNetwork({ random: seededRandom(16) });
  await new Runtime({ clock: "virtual" }).run(
    net
      .host(A)
      .connect({ host: A, port: 1 })
      .catch(() => "refused"),
  );
  const error = await new Runtime({ clock: "virtual" })
    .run(net.host(A).connect({ host: A, port: 1 }))
    .catch((e: Error) => e);
  assert.ok(
    error instanceof Error && "code" in error && error.code === "INVALID_ARGUMENT",
    String(error),
  );
});

test("a reset while the accept is on its way fails the connect with ECONNRESET (found by the property test)", async () => {
  const rt = new Runtime({ clock: "virtual" });
  const net = new SimNetwork({ random: seededRandom(17), link: { latency: 10 } });
  const out = await rt.run(
    future(function* () {
      const listener = yield* net.host(B).bind({ port: 9 });
      const connecting = rt.spawn(outcome(net.host(A).connect({ host: B, port: 9 })));
      yield* sleep(15); // the SYN arrived at 10, the SYN-ACK arrives at 20
      const [serverEnd] = net.host(B).connections();
      net.reset(serverEnd!);
      const accepted = yield* listener.accept();
      return [yield* connecting, yield* outcome(read(accepted, new Uint8Array(1)))];
    }),
  );
  assert.deepEqual(out, ["ECONNRESET", "ECONNRESET"]);
});

test("trace: one line per delivery and per fault", async () => {
  const lines: string[] = [];
  const net = new SimNetwork({
    random: seededRandom(18),
    link: { latency: 1 },
    trace: (l) => lines.push(l),
  });
  await new Runtime({ clock: "virtual" }).run(
    future(function* () {
      const listener = yield* net.host(B).bind({ port: 9 });
      const conn = yield* net.host(A).connect({ host: B, port: 9 });
      const peer = yield* listener.accept();
      yield* writeAll(conn, new Uint8Array(3));
      yield* read(peer, new Uint8Array(3));
      net.partition(A, B);
      net.host(B).crash();
    }),
  );
  assert.deepEqual(lines, [
    `net SYN ${A} -> ${B}`,
    `net SYN-ACK ${B} -> ${A}`,
    `net DATA 3 B ${A} -> ${B}`,
    `net partition ${A} ${B}`,
    `net crash ${B}`,
  ]);
});

test("after a crash, the peer still reads what had arrived until the reset reaches it", async () => {
  const rt = new Runtime({ clock: "virtual" });
  const net = new SimNetwork({ random: seededRandom(19), link: { latency: 10 } });
  const out = await rt.run(
    future(function* () {
      const listener = yield* net.host(B).bind({ port: 9 });
      const conn = yield* net.host(A).connect({ host: B, port: 9 });
      const peer = yield* listener.accept();
      yield* writeAll(peer, new TextEncoder().encode("hi"));
      yield* sleep(15); // arrived; unread
      net.host(B).crash();
      const buf = new Uint8Array(8);
      const n = yield* read(conn, buf);
      const t = rt.time.now();
      const next = yield* outcome(read(conn, buf));
      return [n, t, next, rt.time.now()];
    }),
  );
  assert.deepEqual(out, [2, 35, "ECONNRESET", 45]);
});

test("incoming() streams the connections and ends when the listener closes; addresses match on both ends", async () => {
  const rt = new Runtime({ clock: "virtual" });
  const net = new SimNetwork({ random: seededRandom(21) });
  const out = await rt.run(
    future(function* () {
      const listener = yield* net.host(B).bind({ port: 443 });
      const collecting = rt.spawn(listener.incoming().collect());
      const a = yield* net.host(A).connect({ host: B, port: 443 });
      const c = yield* net.host("10.0.0.3").connect({ host: B, port: 443 });
      yield* sleep(100);
      listener.close();
      const accepted = yield* collecting;
      return {
        count: accepted.length,
        pairs: accepted.map((s) => [s.localAddr(), s.peerAddr()]),
        clients: [a, c].map((s) => [s.localAddr(), s.peerAddr()]),
      };
    }),
  );
  assert.equal(out.count, 2);
  for (const [i, [local, peer]] of out.pairs.entries()) {
    assert.deepEqual(local, { host: B, port: 443 });
    assert.deepEqual(peer, out.clients[i]![0]);
    assert.deepEqual(out.clients[i]![1], { host: B, port: 443 });
  }
});

test("a full backlog drops connection requests; they are retried after 1 s, 2 s... as by a real kernel", async () => {
  const rt = new Runtime({ clock: "virtual" });
  const net = new SimNetwork({ random: seededRandom(22), link: { latency: 1 }, backlog: 1 });
  const times = await rt.run(
    future(function* () {
      const listener = yield* net.host(B).bind({ port: 9 });
      const connected: number[] = [];
      const clients = [0, 1, 2].map(() =>
        rt.spawn(
          future(function* () {
            const conn = yield* net.host(A).connect({ host: B, port: 9 });
            connected.push(rt.time.now());
            return conn;
          }),
        ),
      );
      yield* sleep(100);
      for (let i = 0; i < 3; i++) (yield* listener.accept()).drop();
      for (const client of clients) yield* client;
      return connected;
    }),
  );
  assert.deepEqual(times, [2, 1003, 3004]);
});
