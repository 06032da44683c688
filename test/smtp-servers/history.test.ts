/**
 * A history check: 1,000 sends through `SmtpPool` to smtp-sink behind a proxy that breaks the
 * dialogue at chosen points — resets and closes before the final dot, a close just before the
 * dot (the server never gets it), a lost reply after the dot (the server has the message), a
 * refusal or deferral of the dot. The choice is a seeded hash of the message and its attempt,
 * so it does not depend on timing. Whatever happened, every send reports ok, failed or unknown;
 * the server has every ok message, no failed one, and nothing twice.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { SmtpEnvelope, SmtpSendOutcome } from "../../src/smtp/index.js";
import { headerOf, normalisedLf } from "./corpus.js";
import { type DotFault, type Fault, startProxy } from "./proxy.js";
import { needs, startSmtpSink } from "./servers.js";
import { plain, poolSendAll } from "./session.js";

const SENDS = 1000;
const SEED = Number(process.env.HISTORY_SEED ?? 0x5eed_2026);

type Plan =
  | "pass"
  | "reset-at-mail"
  | "close-at-rcpt"
  | "reset-in-data"
  | "close-before-dot"
  | "lose-reply"
  | "refuse-dot"
  | "defer-dot";

/** Cumulative odds of each fault (the rest passes). */
const PLANS: readonly [Plan, number][] = [
  ["reset-at-mail", 0.05],
  ["close-at-rcpt", 0.09],
  ["reset-in-data", 0.13],
  ["close-before-dot", 0.17],
  ["lose-reply", 0.22],
  ["refuse-dot", 0.26],
  ["defer-dot", 0.3],
];

/** A uniform number in [0, 1) from the seed, the message and its attempt (a 32-bit mix). */
function draw(message: number, attempt: number): number {
  let h = (SEED ^ Math.imul(message + 1, 0x9e3779b1) ^ Math.imul(attempt, 0x85ebca77)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x21f0aaad);
  h = Math.imul(h ^ (h >>> 15), 0x735a2d97);
  return ((h ^ (h >>> 15)) >>> 0) / 2 ** 32;
}

function planFor(message: number, attempt: number): Plan {
  const r = draw(message, attempt);
  for (const [plan, upTo] of PLANS) if (r < upTo) return plan;
  return "pass";
}

function envelope(i: number): SmtpEnvelope {
  return {
    from: `h-${i}@waker.test`,
    to: [`rcpt-${i % 7}@waker.test`],
    data: `From: h-${i}@waker.test\r\nSubject: history ${i}\r\nX-Test-Id: h-${i}\r\n\r\n.line ${i}\r\nbody\r\n`,
  };
}

describe("history check", needs("smtp-sink"), () => {
  test(`${SENDS} pooled sends through faults (seed ${SEED}): ok, failed or unknown; ok delivered once, failed never`, async (t) => {
    /** Per message: how many attempts reached the proxy. */
    const attempts = new Map<number, number>();
    /** Per connection index: the plan of the transaction in progress. */
    const plans = new Map<number, Plan>();
    const seen = new Map<Plan, number>();
    const sink = await startSmtpSink();
    let proxy: Awaited<ReturnType<typeof startProxy>> | undefined;
    let outcomes: SmtpSendOutcome[];
    let received: Awaited<ReturnType<typeof sink.messages>>;
    try {
      proxy = await startProxy(sink.port, {
        command(conn, line): Fault {
          const m = /^MAIL FROM:<h-(\d+)@/.exec(line);
          if (m !== null) {
            const message = Number(m[1]);
            const attempt = (attempts.get(message) ?? 0) + 1;
            attempts.set(message, attempt);
            const plan = planFor(message, attempt);
            seen.set(plan, (seen.get(plan) ?? 0) + 1);
            conn.tag = `h-${message}`;
            plans.set(conn.index, plan);
            if (plan === "reset-at-mail") return "reset";
          }
          if (line.startsWith("RCPT TO:") && plans.get(conn.index) === "close-at-rcpt")
            return "close";
          return "forward";
        },
        data(conn): Fault {
          return plans.get(conn.index) === "reset-in-data" ? "reset" : "forward";
        },
        dot(conn): DotFault {
          const plan = plans.get(conn.index);
          plans.delete(conn.index);
          if (plan === "close-before-dot") return "close";
          if (plan === "lose-reply") return "lose-reply";
          if (plan === "refuse-dot") return { reply: "554 5.7.1 refused by the test proxy" };
          if (plan === "defer-dot") return { reply: "451 4.3.0 deferred by the test proxy" };
          return "forward";
        },
      });
      outcomes = await poolSendAll(
        {
          ...plain(proxy.port),
          maxConnections: 8,
          maxMessagesPerConnection: 25,
          retries: 2,
          retryDelay: 1,
        },
        Array.from({ length: SENDS }, (_, i) => envelope(i)),
      );
      received = await sink.messages();
    } finally {
      await proxy?.close();
      await sink.stop();
    }

    // Every send has an outcome, of one of the three kinds.
    assert.equal(outcomes.length, SENDS);
    const byStatus = {
      ok: new Set<string>(),
      failed: new Set<string>(),
      unknown: new Set<string>(),
    };
    outcomes.forEach((outcome, i) => {
      assert.ok(outcome.status in byStatus, `send ${i}: ${JSON.stringify(outcome)}`);
      byStatus[outcome.status].add(`h-${i}`);
      assert.ok(outcome.attempts >= 1 && outcome.attempts <= 3, `send ${i}: ${outcome.attempts}`);
    });

    // The server: nothing twice, every ok, no failed; each message byte for byte.
    const delivered = new Map<string, number>();
    for (const m of received) {
      const id = headerOf(m.data, "X-Test-Id")!;
      delivered.set(id, (delivered.get(id) ?? 0) + 1);
      const i = Number(id.slice(2));
      assert.ok(m.data.equals(normalisedLf(envelope(i).data as string)), `${id}: bytes differ`);
      assert.equal(m.mailArgs, `<h-${i}@waker.test>`);
    }
    for (const [id, count] of delivered) assert.equal(count, 1, `${id} delivered ${count} times`);
    for (const id of byStatus.ok) assert.ok(delivered.has(id), `${id} ok but not delivered`);
    for (const id of byStatus.failed) assert.ok(!delivered.has(id), `${id} failed but delivered`);
    for (const id of delivered.keys()) {
      assert.ok(byStatus.ok.has(id) || byStatus.unknown.has(id), `${id} delivered unannounced`);
    }
    // Each delivered message got through the proxy's dot exactly once.
    const dots = new Map<string, number>();
    for (const tag of proxy.dotsForwarded) dots.set(tag!, (dots.get(tag!) ?? 0) + 1);
    for (const id of delivered.keys()) assert.equal(dots.get(id), 1, id);

    const retried = outcomes.filter((o) => o.attempts > 1).length;
    t.diagnostic(
      `ok ${byStatus.ok.size}, failed ${byStatus.failed.size}, unknown ${byStatus.unknown.size} ` +
        `(${[...byStatus.unknown].filter((id) => delivered.has(id)).length} of them delivered); ` +
        `${retried} retried; ${proxy.connections} connections; faults drawn: ` +
        PLANS.map(([plan]) => `${plan} ${seen.get(plan) ?? 0}`).join(", "),
    );
    // The run exercised every path: each fault, retries, and both kinds of unknown.
    for (const [plan] of PLANS) assert.ok((seen.get(plan) ?? 0) > 0, `no ${plan} drawn`);
    assert.ok(byStatus.failed.size > 0 && byStatus.unknown.size > 0);
    const unknownDelivered = [...byStatus.unknown].filter((id) => delivered.has(id)).length;
    assert.ok(unknownDelivered > 0, "some unknown sends were in fact delivered");
    assert.ok(unknownDelivered < byStatus.unknown.size, "and some were not");
    assert.ok(
      outcomes.some((o) => o.status === "ok" && o.attempts > 1),
      "some sends succeeded on a retry",
    );
  });
});
