/**
 * The real SmtpPool against a small SMTP server written on the runtime, over the simulated
 * network, under partitions, resets and slow links, for many seeds, with the history check:
 * every send ends ok, failed or unknown; every ok message is in the server's log; no message is
 * logged twice; no failed message is logged; logged bodies arrive intact (dot-unstuffed).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  type AsyncGenerator,
  asyncFn,
  BufReader,
  future,
  joinAll,
  sleep,
  spawn,
  writeAll,
} from "../../src/index.js";
import { IoError } from "../../src/node/io-error.js";
import { explore, type SimNetwork, type SimStream, type Simulation } from "../../src/sim/index.js";
import { SmtpPool, type SmtpSendOutcome } from "../../src/smtp/index.js";
import { seedsRun } from "./support.js";

const CLIENT = "10.0.0.1";
const SERVER = "10.0.0.25";
const MESSAGES = 20;
const encode = (s: string) => new TextEncoder().encode(s);

/** The body of message `k`: lines that start with a dot test dot-stuffing both ways. */
function bodyOf(k: number): string {
  return `Subject: m${k}\r\nX-Seq: ${k}\r\n\r\nhello ${k}\r\n.a line with a leading dot\r\n..two\r\n.\r\nend`;
}

/**
 * A minimal RFC 5321 server: 220 greeting, EHLO (PIPELINING), HELO, MAIL, RCPT, DATA with
 * dot-unstuffing, RSET, NOOP, QUIT. Each accepted message's X-Seq is logged before the 250 goes
 * out (so a connection lost after that makes the send "unknown", never lost).
 */
const smtpSession = asyncFn(function* (
  conn: SimStream,
  log: number[],
  bodies: Map<number, string>,
) {
  const reader = new BufReader(conn);
  const reply = (text: string) => writeAll(conn, encode(`${text}\r\n`));
  let rcpts = 0;
  let mail = false;
  try {
    yield* reply("220 mx.sim ESMTP");
    for (;;) {
      const line = yield* reader.readLine();
      if (line === undefined) return;
      const verb = line.slice(0, 4).toUpperCase();
      if (verb === "EHLO") yield* reply("250-mx.sim\r\n250 PIPELINING");
      else if (verb === "HELO") yield* reply("250 mx.sim");
      else if (verb === "MAIL") {
        mail = true;
        rcpts = 0;
        yield* reply("250 sender ok");
      } else if (verb === "RCPT") {
        if (!mail) yield* reply("503 need MAIL first");
        else {
          rcpts++;
          yield* reply("250 recipient ok");
        }
      } else if (verb === "DATA") {
        if (rcpts === 0) {
          yield* reply("503 need RCPT first");
          continue;
        }
        yield* reply("354 end with <CRLF>.<CRLF>");
        const lines: string[] = [];
        for (;;) {
          const data = yield* reader.readLine();
          if (data === undefined) return; // lost mid-DATA: nothing accepted
          if (data === ".") break;
          lines.push(data.startsWith(".") ? data.slice(1) : data);
        }
        const body = lines.join("\r\n");
        const seq = Number(/^X-Seq: (\d+)$/m.exec(body)?.[1]);
        log.push(seq);
        bodies.set(seq, body);
        mail = false;
        rcpts = 0;
        yield* reply(`250 OK queued as ${seq}`);
      } else if (verb === "RSET") {
        mail = false;
        rcpts = 0;
        yield* reply("250 reset");
      } else if (verb === "NOOP") yield* reply("250 ok");
      else if (verb === "QUIT") {
        yield* reply("221 bye");
        return;
      } else yield* reply("500 unknown command");
    }
  } catch (error) {
    if (!(error instanceof IoError)) throw error;
  } finally {
    conn.drop();
  }
});

/** Partitions, repairs, resets of server connections and slow spells, drawn from the seed. */
const chaos = asyncFn(function* (sim: Simulation, net: SimNetwork) {
  const server = net.host(SERVER);
  for (;;) {
    yield* sleep(Math.floor(sim.random() * 800));
    const roll = sim.random();
    if (roll < 0.35) {
      net.partition(CLIENT, SERVER);
      yield* sleep(Math.floor(sim.random() * 6000)); // sometimes past the SMTP timeouts
      net.repair(CLIENT, SERVER);
    } else if (roll < 0.7) {
      const conns = server.connections();
      if (conns.length > 0) net.reset(conns[Math.floor(sim.random() * conns.length)]!);
    } else {
      net.setLink(CLIENT, SERVER, { latency: { min: 50, max: 400 }, bandwidth: 5 });
      yield* sleep(Math.floor(sim.random() * 3000));
      net.setLink(CLIENT, SERVER, { latency: { min: 1, max: 30 } });
    }
  }
});

interface History {
  outcomes: SmtpSendOutcome["status"][];
}

const program = (sim: Simulation) =>
  future(function* (): AsyncGenerator<History> {
    const net = sim.createNetwork({ link: { latency: { min: 1, max: 30 }, resetRate: 0.002 } });
    const log: number[] = [];
    const bodies = new Map<number, string>();
    const listener = yield* net.host(SERVER).bind({ port: 25 });
    spawn(
      future(function* () {
        for (;;) spawn(smtpSession(yield* listener.accept(), log, bodies));
      }),
    );
    const faults = spawn(chaos(sim, net));
    const client = net.host(CLIENT);
    const limit = 3000;
    const pool = new SmtpPool({
      host: SERVER,
      port: 25,
      tls: "none",
      maxConnections: 3,
      maxMessagesPerConnection: 5,
      retries: 3,
      retryDelay: 200,
      connectTimeout: limit,
      timeouts: {
        greeting: limit,
        mail: limit,
        rcpt: limit,
        data: limit,
        dataBlock: limit,
        dataEnd: limit,
        command: limit,
      },
      connect: (addr, { timeout }) => client.connect(addr, { timeout }),
    });
    const outcomes = yield* joinAll(
      Array.from({ length: MESSAGES }, (_, k) =>
        pool.send({ from: "a@x.test", to: [`r${k}@y.test`], data: bodyOf(k) }),
      ),
    );
    faults.abort();
    yield* pool.close();
    // The history check.
    const seen = new Set<number>();
    for (const seq of log) {
      assert.ok(!seen.has(seq), `message ${seq} was delivered twice`);
      seen.add(seq);
      assert.equal(bodies.get(seq), bodyOf(seq), `message ${seq} arrived altered`);
    }
    for (const [k, outcome] of outcomes.entries()) {
      assert.ok(["ok", "failed", "unknown"].includes(outcome.status), outcome.status);
      if (outcome.status === "ok") assert.ok(seen.has(k), `message ${k} is ok but not delivered`);
      if (outcome.status === "failed") {
        assert.ok(!seen.has(k), `message ${k} failed but was delivered`);
      }
    }
    return { outcomes: outcomes.map((o) => o.status) };
  });

/** The issue asks for 1,000 seeds (WAKER_SEEDS may widen the run, never narrow it). */
const SMTP_SEEDS = 1000;

test("SmtpPool against a simulated SMTP server under partitions, resets and slow links: the history check holds for every seed", (t) => {
  const totals = { ok: 0, failed: 0, unknown: 0 };
  const counting = (sim: Simulation) =>
    program(sim).map((history) => {
      for (const status of history.outcomes) totals[status]++;
      return history;
    });
  const report = explore({ seeds: SMTP_SEEDS }, counting);
  t.diagnostic(
    `${report.seeds} seeds in ${report.wallMs.toFixed(0)} ms; outcomes ${JSON.stringify(totals)}`,
  );
  // Every one of the seeds ran (explore stops at the first failing seed and throws).
  assert.equal(report.seeds, seedsRun(SMTP_SEEDS));
  // The faults matter: some sends fail or end unknown, and most succeed.
  assert.ok(totals.ok > totals.failed + totals.unknown, JSON.stringify(totals));
  assert.ok(totals.failed + totals.unknown > 0, JSON.stringify(totals));
});
