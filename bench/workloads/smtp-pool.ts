/**
 * smtp-pool: N small emails through a pool of 8 SMTP connections to postfix's `smtp-sink` on
 * 127.0.0.1 (one sink per benchmark process, started on first use, run as `-u nobody` under
 * root, killed when the process exits; it accepts and discards, so the client side is what is
 * measured). waker's `SmtpPool` is compared with nodemailer's pooled SMTP transport
 * (`pool: true`) at the same `maxConnections` and messages per connection, in the same run.
 * Both send the same prebuilt ~400-byte message (nodemailer as `raw`, so neither builds MIME)
 * to two recipients. Eight sender loops, one per connection, each send their share of the N
 * messages one after another: the latency of a message is the time from the call to its
 * outcome. The timed part starts before the pool is created (both connect lazily) and ends when
 * the last message is acknowledged; closing the pool is outside it. The check is the number of
 * messages the server acknowledged with 250. smtp-sink offers PIPELINING: nodemailer 10 sends
 * MAIL, the RCPTs and DATA in one batch (two round trips per message), waker's client MAIL and
 * the RCPTs, then DATA (three).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import * as net from "node:net";
import { join } from "node:path";
import { createTransport } from "nodemailer";
import { type AsyncGenerator, asyncFn, future, type JoinHandle } from "../../src/index.js";
import { type SmtpEnvelope, SmtpPool } from "../../src/smtp/index.js";
import type { Omitted, Sample, Workload } from "../harness.js";
import { wakerRuntime } from "../support/residents.js";
import { percentileInPlace, type Span, startSpan } from "../support/span.js";

/** Connections in each pool, and sender loops. */
const CONNECTIONS = 8;

/** Messages per connection before the pool replaces it (both pools' default). */
const MESSAGES_PER_CONNECTION = 100;

const FROM = "bench@waker.test";
const TO = ["alice@waker.test", "bob@waker.test"];

/** The message every implementation sends: headers, and a short body with a dot line. */
const MESSAGE = [
  `From: Bench <${FROM}>`,
  "To: alice@waker.test, bob@waker.test",
  "Subject: smtp-pool benchmark",
  "Date: Thu, 26 Nov 2026 12:00:00 +0000",
  "Message-ID: <bench@waker.test>",
  "MIME-Version: 1.0",
  "Content-Type: text/plain; charset=us-ascii",
  "",
  "Hello,",
  ".a line that starts with a dot (stuffed on the wire)",
  "This is a small message of a few hundred bytes, as a notification email would be.",
  "Regards,",
  "the benchmark",
  "",
].join("\r\n");

const ENVELOPE: SmtpEnvelope = { from: FROM, to: TO, data: MESSAGE };

/** The extra values each sample reports, in column order. */
const EXTRAS = ["emails/s", "latency p50 µs", "latency p99 µs"] as const;

/** The sample of a run: ns per email, emails/s, latency percentiles (`latency` in ms). */
function sampleOf(n: number, span: Span, latency: Float64Array, check: number): Sample {
  const extra: Record<(typeof EXTRAS)[number], number> = {
    "emails/s": n / (span.wallNs / 1e9),
    "latency p50 µs": percentileInPlace(latency, 0.5) * 1000,
    "latency p99 µs": percentileInPlace(latency, 0.99) * 1000,
  };
  return { value: span.wallNs / n, cpu: span.cpuNs / n, check, extra };
}

/** The number of the `n` messages that sender loop `i` sends (an even share). */
function shareOf(n: number, i: number): number {
  return Math.floor(n / CONNECTIONS) + (i < n % CONNECTIONS ? 1 : 0);
}

// --- the server ---

function findSmtpSink(): string | null {
  for (const dir of [...(process.env.PATH ?? "").split(":"), "/usr/sbin"]) {
    if (dir !== "" && existsSync(join(dir, "smtp-sink"))) return join(dir, "smtp-sink");
  }
  return null;
}

const SMTP_SINK = findSmtpSink();

let sinkPort: Promise<number> | null = null;

/** The port of this process's smtp-sink, started on first use. */
function sink(): Promise<number> {
  sinkPort ??= startSink(SMTP_SINK!);
  return sinkPort;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Resolves once `port` accepts a connection (retrying on each refusal), or rejects on exit. */
function whenAccepting(port: number, child: ChildProcess): Promise<void> {
  return new Promise((resolve, reject) => {
    let done = false;
    child.once("exit", (code) => {
      if (!done) reject(new Error(`smtp-sink exited (${code}) before accepting on ${port}`));
      done = true;
    });
    const attempt = () => {
      const socket = net.connect({ port, host: "127.0.0.1" });
      socket.once("connect", () => {
        socket.destroy();
        done = true;
        resolve();
      });
      socket.once("error", () => {
        socket.destroy();
        if (!done) attempt();
      });
    };
    attempt();
  });
}

async function startSink(path: string): Promise<number> {
  const port = await freePort();
  const root = typeof process.getuid === "function" && process.getuid() === 0;
  const args = [...(root ? ["-u", "nobody"] : []), `127.0.0.1:${port}`, "1024"];
  const child = spawn(path, args, { stdio: "ignore" });
  // Not a reason for the benchmark to stay alive; gone with it.
  child.unref();
  process.on("exit", () => child.kill());
  await whenAccepting(port, child);
  return port;
}

// --- waker ---

const wakerSender = asyncFn(function* (
  pool: SmtpPool,
  count: number,
  latency: Float64Array,
  offset: number,
): AsyncGenerator<number> {
  let ok = 0;
  for (let j = 0; j < count; j++) {
    const t0 = performance.now();
    const outcome = yield* pool.send(ENVELOPE);
    latency[offset + j] = performance.now() - t0;
    if (outcome.status === "ok" && outcome.result.reply.code === 250) ok++;
  }
  return ok;
});

/**
 * waker: one `SmtpPool` (8 connections, 100 messages each), 8 `rt.spawn`ed `asyncFn` sender
 * loops, each `yield* pool.send(envelope)` in turn; on the shared runtime.
 */
export async function smtpPoolWaker(n: number): Promise<Sample> {
  const port = await sink();
  const rt = wakerRuntime;
  return rt.run(
    future(function* () {
      const latency = new Float64Array(n);
      const end = startSpan();
      const pool = new SmtpPool({
        port,
        tls: "none",
        maxConnections: CONNECTIONS,
        maxMessagesPerConnection: MESSAGES_PER_CONNECTION,
      });
      const senders: JoinHandle<number>[] = [];
      let offset = 0;
      for (let i = 0; i < CONNECTIONS; i++) {
        const count = shareOf(n, i);
        senders.push(rt.spawn(wakerSender(pool, count, latency, offset)));
        offset += count;
      }
      let ok = 0;
      for (const h of senders) ok += yield* h;
      const span = end();
      yield* pool.close();
      return sampleOf(n, span, latency, ok);
    }),
  );
}

// --- nodemailer ---

type Transport = ReturnType<typeof createTransport>;

async function nodemailerSender(
  transport: Transport,
  count: number,
  latency: Float64Array,
  offset: number,
): Promise<number> {
  let ok = 0;
  for (let j = 0; j < count; j++) {
    const t0 = performance.now();
    const info = await transport.sendMail({ envelope: { from: FROM, to: TO }, raw: MESSAGE });
    latency[offset + j] = performance.now() - t0;
    if (info.accepted.length === TO.length && /^250 /.test(info.response)) ok++;
  }
  return ok;
}

/**
 * nodemailer: `createTransport({ pool: true, maxConnections: 8, maxMessages: 100 })` and 8
 * async sender loops, each `await transport.sendMail({ envelope, raw })` in turn.
 */
export async function smtpPoolNodemailer(n: number): Promise<Sample> {
  const port = await sink();
  const latency = new Float64Array(n);
  const end = startSpan();
  const transport = createTransport({
    pool: true,
    host: "127.0.0.1",
    port,
    secure: false,
    ignoreTLS: true,
    maxConnections: CONNECTIONS,
    maxMessages: MESSAGES_PER_CONNECTION,
  });
  const senders: Promise<number>[] = [];
  let offset = 0;
  for (let i = 0; i < CONNECTIONS; i++) {
    const count = shareOf(n, i);
    senders.push(nodemailerSender(transport, count, latency, offset));
    offset += count;
  }
  let ok = 0;
  for (const v of await Promise.all(senders)) ok += v;
  const span = end();
  transport.close();
  return sampleOf(n, span, latency, ok);
}

const NO_SINK: Omitted = {
  omitted: "smtp-sink is not installed (Debian package postfix; bash .ci/install-servers)",
};

/** The smtp-pool workload: emails through 8 pooled SMTP connections to a local smtp-sink. */
export const smtpPool: Workload = {
  name: "smtp-pool",
  description:
    "N small emails (~400 bytes, 2 recipients) through a pool of 8 SMTP connections (100 messages each) to postfix's smtp-sink on 127.0.0.1, 8 sender loops each sending its share one after another; native = nodemailer's pooled SMTP transport; value: wall ns per email from creating the pool to the last 250 (closing excluded); extras: emails/s and per-email latency (call to outcome) p50 and p99 in µs",
  unit: "ns/email",
  sizes: [2_000],
  quickSizes: [2_000],
  expected: (n) => n,
  extras: EXTRAS,
  implementations: {
    native: SMTP_SINK === null ? NO_SINK : smtpPoolNodemailer,
    waker: SMTP_SINK === null ? NO_SINK : smtpPoolWaker,
    effect: { omitted: "no SMTP client for Effect in this benchmark" },
    effection: { omitted: "no SMTP client for Effection in this benchmark" },
  },
  notes: {
    native:
      "nodemailer pooled transport (pool: true, maxConnections 8, maxMessages 100), sendMail({ envelope, raw }) in 8 async loops",
    waker:
      "SmtpPool (maxConnections 8, maxMessagesPerConnection 100), 8 asyncFn tasks looping pool.send",
  },
};
