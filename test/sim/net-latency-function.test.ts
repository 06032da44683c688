/**
 * A link latency given as a function: it draws from the network's seeded `random` (so a run
 * replays), its result is the one-way delay of each segment, and a result that is not a number of
 * ms >= 0 is an InvalidArgumentError where the segment is sent, not a segment delivered at NaN.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { future, InvalidArgumentError, Runtime, seededRandom } from "../../src/index.js";
import { SimNetwork } from "../../src/sim/net/index.js";

const A = "10.0.0.1";
const B = "10.0.0.2";

/** Connects A to B over a network whose A-B link has `latency`; the virtual time it took. */
async function connectTime(latency: (random: () => number) => number): Promise<number> {
  const rt = new Runtime({ clock: "virtual" });
  const net = new SimNetwork({ random: seededRandom(3) });
  net.setLink(A, B, { latency });
  return rt.run(
    future(function* () {
      yield* net.host(B).bind({ port: 5 });
      const start = rt.time.now();
      yield* net.host(A).connect({ host: B, port: 5 });
      return rt.time.now() - start;
    }),
  );
}

test("a latency function sets each segment's delay, drawing from the network's random", async () => {
  // SYN there, SYN-ACK back: two one-way delays.
  assert.equal(Math.round(await connectTime(() => 40)), 80);
  const draws: number[] = [];
  const spiky = (random: () => number) => {
    const r = random();
    draws.push(r);
    return r < 0.5 ? 10 : 100;
  };
  const first = await connectTime(spiky);
  const firstDraws = [...draws];
  draws.length = 0;
  // The same seed draws the same numbers: the same time again.
  assert.equal(await connectTime(spiky), first);
  assert.deepEqual(draws, firstDraws);
  assert.equal(draws.length, 2);
  const expected = firstDraws.reduce((sum, r) => sum + (r < 0.5 ? 10 : 100), 0);
  assert.equal(Math.round(first), expected);
});

test("a latency function returning no valid delay is an InvalidArgumentError at the send", async () => {
  for (const bad of [-1, Number.NaN, Number.POSITIVE_INFINITY, "5"]) {
    await assert.rejects(
      connectTime(() => bad as number),
      (e: unknown) =>
        e instanceof InvalidArgumentError &&
        e.message.includes(
          "SimNetwork.setLink: the latency function must return a number of ms >= 0",
        ),
      String(bad),
    );
  }
});
