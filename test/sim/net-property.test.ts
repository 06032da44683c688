/**
 * Properties of the simulated network: the event queue delivers in (time, seq) order, and over
 * any links and any fault schedule a connection never loses, duplicates or reorders a byte
 * silently: each direction either arrives whole and in order or ends in an IoError.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import {
  future,
  join,
  joinAll,
  Runtime,
  readToEnd,
  seededRandom,
  shutdown,
  sleep,
  writeAll,
} from "../../src/index.js";
import { IoError } from "../../src/node/io-error.js";
import { EventQueue } from "../../src/sim/net/event-queue.js";
import { SimNetwork, type SimStream } from "../../src/sim/net/index.js";

test("EventQueue pops items in (time, seq) order", () => {
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 50 }), fc.boolean())), (ops) => {
      const q = new EventQueue<{ time: number; seq: number }>();
      const model: { time: number; seq: number }[] = [];
      let seq = 0;
      for (const [time, pop] of ops) {
        if (pop) {
          model.sort((a, b) => a.time - b.time || a.seq - b.seq);
          assert.deepEqual(q.pop(), model.shift());
        } else {
          const item = { time, seq: seq++ };
          q.push(item);
          model.push(item);
        }
        assert.equal(q.size, model.length);
      }
    }),
  );
});

const tally: string[] = [];
const HOSTS = ["10.0.0.1", "10.0.0.2", "10.0.0.3"];

const fault = fc.oneof(
  fc.record({
    kind: fc.constant("partition" as const),
    a: fc.nat(2),
    b: fc.nat(2),
    ms: fc.nat(300),
  }),
  fc.record({ kind: fc.constant("hold" as const), a: fc.nat(2), b: fc.nat(2), ms: fc.nat(300) }),
  fc.record({ kind: fc.constant("reset" as const), a: fc.nat(2) }),
  fc.record({ kind: fc.constant("wait" as const), ms: fc.nat(100) }),
);

test("over any links and faults, each direction of a connection arrives whole and in order, or fails with an IoError", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.record({
        seed: fc.nat(),
        min: fc.nat(20),
        spread: fc.nat(100),
        loss: fc.double({ min: 0, max: 0.3, noNaN: true }),
        bandwidth: fc.oneof(
          fc.constant(Number.POSITIVE_INFINITY),
          fc.integer({ min: 5, max: 200 }),
        ),
        mss: fc.integer({ min: 16, max: 3000 }),
        window: fc.integer({ min: 16, max: 100_000 }),
        sizes: fc.array(fc.nat(8000), { minLength: 1, maxLength: 6 }),
        faults: fc.array(fault, { maxLength: 8 }),
      }),
      async (c) => {
        const rt = new Runtime({ clock: "virtual", scheduling: { random: c.seed } });
        const net = new SimNetwork({
          random: seededRandom(c.seed),
          link: {
            latency: { min: c.min, max: c.min + c.spread },
            loss: c.loss,
            bandwidth: c.bandwidth,
          },
          mss: c.mss,
          receiveWindow: c.window,
          sendBuffer: c.window,
        });
        const outcomes = await rt.run(
          future(function* () {
            // Each side sends its payload and reads the other's; the server is a peer, not an echo.
            const sessions = c.sizes.map((size, i) =>
              future(function* () {
                const up = new Uint8Array(size).map((_, k) => (k * 31 + i) & 255);
                const down = new Uint8Array(size).map((_, k) => (k * 17 + i) & 255);
                const client = net.host(HOSTS[1 + (i % 2)]!);
                // A listener per session, so that each accept gets its own session's connection.
                const listener = yield* net.host(HOSTS[0]!).bind({ port: 7 + i });
                let conn: SimStream;
                try {
                  conn = yield* client.connect({ host: HOSTS[0]!, port: 7 + i });
                } catch (error) {
                  // A reset can hit a connection whose accept is still on its way.
                  if (error instanceof IoError) return [`connect ${error.code}`];
                  throw error;
                }
                const peer = yield* listener.accept();
                const side = (self: SimStream, send: Uint8Array, expect: Uint8Array) =>
                  future(function* () {
                    try {
                      const [, got] = yield* join(
                        future(function* () {
                          yield* writeAll(self, send);
                          yield* shutdown(self);
                        }),
                        readToEnd(self),
                      );
                      return Buffer.from(got).equals(Buffer.from(expect)) ? "intact" : "CORRUPT";
                    } catch (error) {
                      if (error instanceof IoError) return error.code;
                      throw error;
                    } finally {
                      self.drop();
                    }
                  });
                return yield* join(side(conn, up, down), side(peer, down, up));
              }),
            );
            const chaos = rt.spawn(
              future(function* () {
                for (const f of c.faults) {
                  if (f.kind === "wait") {
                    yield* sleep(f.ms);
                    continue;
                  }
                  const a = HOSTS[f.a]!;
                  if (f.kind === "reset") {
                    const [victim] = net.host(a).connections();
                    if (victim !== undefined) net.reset(victim);
                  } else {
                    const b = HOSTS[f.b]!;
                    if (f.kind === "partition") net.partition(a, b);
                    else net.hold(a, b);
                    yield* sleep(f.ms);
                    if (f.kind === "partition") net.repair(a, b);
                    else net.release(a, b);
                  }
                }
              }),
            );
            const results = yield* joinAll(sessions);
            yield* chaos;
            return results.flat();
          }),
        );
        tally.push(outcomes.join(","));
        for (const o of outcomes) {
          assert.ok(
            ["intact", "ECONNRESET", "EPIPE", "connect ECONNRESET"].includes(o),
            `outcome ${o}`,
          );
        }
        if (!c.faults.some((f) => f.kind === "reset")) {
          assert.deepEqual(outcomes, Array(outcomes.length).fill("intact"));
        }
      },
    ),
    { numRuns: 100 },
  );
});

test("the property above ran real traffic, with faults that bit", (t) => {
  const all = tally.join(",").split(",");
  const count = (what: string) => all.filter((o) => o === what).length;
  t.diagnostic(
    `${tally.length} runs, ${all.length} directions: ${count("intact")} intact, ${count("ECONNRESET")} ECONNRESET, ${count("EPIPE")} EPIPE, ${count("connect ECONNRESET")} connect ECONNRESET`,
  );
  assert.ok(count("intact") > 100);
  assert.ok(count("ECONNRESET") > 0);
});
