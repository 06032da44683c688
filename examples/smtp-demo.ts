/**
 * The main demo: send N emails through an SmtpPool on the waker runtime.
 *
 *   npm run demo                          # embedded SMTP server on 127.0.0.1, 200 emails
 *   npm run demo -- --count 1000 --concurrency 16
 *   npm run demo -- --smtp 127.0.0.1:2525 # a real server instead
 *   npm run demo -- --trace               # narrate one email's life: polled, Pending, wake, Ready
 *
 * `concurrency` worker tasks take email numbers one after another and send each through one
 * shared SmtpPool (at most `concurrency` connections, each reused for many emails). Every reply
 * the client waits for is a future that leaves its task's waker with the socket; the socket's
 * data event calls wake(), and the runtime polls the task again: the seed's example, for real.
 */
import type { AddressInfo } from "node:net";
import { SMTPServer } from "smtp-server";
import {
  asyncFn,
  Context,
  type Future,
  future,
  main,
  Pending,
  type Poll,
  pollFn,
  scope,
  Waker,
} from "../src/index.js";
import { TcpStream } from "../src/node/index.js";
import {
  type SmtpEnvelope,
  SmtpPool,
  type SmtpSendOutcome,
  type SmtpTransport,
} from "../src/smtp/index.js";

interface Options {
  count: number;
  concurrency: number;
  smtp: { host: string; port: number } | null;
  trace: boolean;
}

function parseArgs(argv: string[]): Options {
  const options: Options = { count: 200, concurrency: 8, smtp: null, trace: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const next = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${arg} needs a value`);
      return v;
    };
    if (arg === "--count") options.count = positive(next(), "--count");
    else if (arg === "--concurrency") options.concurrency = positive(next(), "--concurrency");
    else if (arg === "--trace") options.trace = true;
    else if (arg === "--smtp") {
      const [host, port] = next().split(":");
      options.smtp = { host: host || "127.0.0.1", port: positive(port ?? "", "--smtp port") };
    } else throw new Error(`unknown option ${arg} (try --count, --concurrency, --smtp, --trace)`);
  }
  return options;
}

function positive(value: string, name: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1)
    throw new Error(`${name} must be a positive integer, got ${value}`);
  return n;
}

/** An embedded SMTP server on 127.0.0.1 that accepts everything (the default: no setup). */
async function embeddedServer(): Promise<{
  port: number;
  received: () => number;
  close: () => Promise<void>;
}> {
  let received = 0;
  const server = new SMTPServer({
    disabledCommands: ["STARTTLS", "AUTH"],
    disableReverseLookup: true,
    logger: false,
    onData(stream, _session, callback) {
      stream.on("data", () => {});
      stream.on("end", () => {
        received++;
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.server.address() as AddressInfo).port,
    received: () => received,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

// ---------------------------------------------------------------------------------------------
// --trace: the life of one email, told by the futures and the socket themselves.

const start = performance.now();
const stamp = () => `[${(performance.now() - start).toFixed(1).padStart(7)} ms]`;
const firstLine = (bytes: Uint8Array) =>
  new TextDecoder().decode(bytes).trim().split("\r\n")[0] ?? "";

/** The waker of the task sending the traced email while it is in flight (null otherwise). */
let traced: Waker | null = null;
/** Set when the traced task's waker fired: its next poll is "polled again". */
let woken = false;

/**
 * Wraps one email's send so that each poll of it is narrated: polled, Pending (the task goes to
 * sleep), polled again after a wake, Ready.
 */
function narrate(send: Future<SmtpSendOutcome>): Future<SmtpSendOutcome> {
  let polls = 0;
  return pollFn(
    (cx) => {
      polls++;
      console.log(
        polls === 1
          ? `${stamp()} executor: polls send_email(#0) for the first time`
          : `${stamp()} executor: polls send_email(#0) again (poll ${polls})`,
      );
      woken = false;
      // The task's waker, wrapped to tell wakes that do not come from a socket read (the TCP
      // connection being established); the socket wrapper below narrates the others itself.
      const task = cx.waker;
      traced = Waker.from(() => {
        if (!woken) console.log(`${stamp()}   a waker fired: the connection is ready -> wake()`);
        woken = true;
        task.wakeByRef();
      });
      const r = send.poll(Context.fromWaker(traced));
      if (r === Pending) {
        console.log(`${stamp()} send_email(#0) -> Pending: the task sleeps, other tasks run`);
        return Pending;
      }
      traced = null;
      const reply = r.status === "ok" ? r.result.reply.lines.join(" ") : String(r.status);
      console.log(
        `${stamp()} send_email(#0) -> Ready(${r.status}: ${reply}) after ${polls} polls\n`,
      );
      return r;
    },
    {
      onDrop: () => {
        traced = null;
        send.drop();
      },
    },
  );
}

/** True when `cx` belongs to the task sending the traced email. */
const tracing = (cx: Context) => traced?.willWake(cx.waker) === true;

/**
 * A transport that narrates the traced task's socket operations: each write, each read that
 * finds nothing (the socket keeps the task's waker: Pending), the wake() when the server's reply
 * arrives, and the read that finds it (Ready). Other tasks pass straight through.
 */
class TracedTransport implements SmtpTransport {
  constructor(private readonly inner: SmtpTransport) {}

  pollRead(cx: Context, buf: Uint8Array): Poll<number> {
    if (!tracing(cx)) return this.inner.pollRead(cx, buf);
    const task = cx.waker;
    const watched = Context.fromWaker(
      Waker.from(() => {
        if (!woken) console.log(`${stamp()}   socket: the server's reply arrived -> waker.wake()`);
        woken = true;
        task.wakeByRef();
      }),
    );
    const r = this.inner.pollRead(watched, buf);
    if (r === Pending) {
      console.log(
        `${stamp()}   socket: nothing to read yet, poll -> Pending: the socket stored the task's waker`,
      );
    } else {
      console.log(
        `${stamp()}   socket: poll -> Ready: ${JSON.stringify(firstLine(buf.subarray(0, r)))}`,
      );
    }
    return r;
  }
  pollWrite(cx: Context, data: Uint8Array): Poll<number> {
    if (tracing(cx)) {
      const more = data.length > 80 || firstLine(data).length < data.length - 2 ? " ..." : "";
      console.log(`${stamp()}   client writes ${JSON.stringify(firstLine(data))}${more}`);
    }
    return this.inner.pollWrite(cx, data);
  }
  pollFlush(cx: Context): Poll<void> {
    return this.inner.pollFlush(cx);
  }
  pollShutdown(cx: Context): Poll<void> {
    return this.inner.pollShutdown(cx);
  }
  drop(): void {
    this.inner.drop?.();
  }
}

// ---------------------------------------------------------------------------------------------

interface Stats {
  sent: number;
  failed: number;
  unknown: number;
  latencies: number[];
  firstError: unknown;
}

function message(i: number): SmtpEnvelope {
  return {
    from: "demo@waker.test",
    to: [`user${i}@example.test`],
    data: [
      "From: demo@waker.test",
      `To: user${i}@example.test`,
      `Subject: message ${i}`,
      `Message-ID: <${i}.${Date.now()}@waker.test>`,
      "",
      `Hello user ${i}, this email was polled, woke up and got sent by waker.`,
      ".a line starting with a dot travels dot-stuffed",
      "",
    ].join("\r\n"),
  };
}

/** One worker: takes the next email number and sends it through the pool, until none is left. */
const worker = asyncFn(function* worker(
  pool: SmtpPool,
  next: () => number,
  count: number,
  stats: Stats,
  trace: boolean,
) {
  for (let job = next(); job < count; job = next()) {
    const t0 = performance.now();
    const send = pool.send(message(job));
    const outcome = yield* trace && job === 0 ? narrate(send) : send;
    if (outcome.status === "ok") {
      stats.sent++;
      stats.latencies.push(performance.now() - t0);
    } else {
      if (outcome.status === "failed") stats.failed++;
      else stats.unknown++;
      stats.firstError ??= outcome.error;
    }
  }
});

const progressBar = (stats: Stats, total: number, seconds: number) => {
  const done = stats.sent + stats.failed + stats.unknown;
  const width = 30;
  const filled = Math.round((done / total) * width);
  const rate = seconds > 0 ? ` ${(stats.sent / seconds).toFixed(0)} emails/s` : "";
  return `[${"#".repeat(filled)}${".".repeat(width - filled)}] ${done}/${total} (sent ${stats.sent}, failed ${stats.failed}, unknown ${stats.unknown})${rate}`;
};

async function run(): Promise<void> {
  const options = parseArgs(process.argv.slice(2));
  const embedded = options.smtp === null ? await embeddedServer() : null;
  const server = options.smtp ?? { host: "127.0.0.1", port: embedded!.port };
  console.log(
    `waker SMTP demo: ${options.count} emails through an SmtpPool of ${options.concurrency} connections, ` +
      `${embedded ? `embedded server on 127.0.0.1:${server.port}` : `server ${server.host}:${server.port}`}`,
  );
  const pool = new SmtpPool({
    ...server,
    tls: "none",
    name: "demo.waker.test",
    maxConnections: options.concurrency,
    maxMessagesPerConnection: 1000,
    retryDelay: 100,
    // Every connection goes through the tracing wrapper (silent unless --trace picks a task).
    connect: (addr, { timeout }) =>
      TcpStream.connect(addr, { timeout }).map((socket) => {
        socket.setNoDelay(true);
        return new TracedTransport(socket);
      }),
  });
  if (options.trace) {
    console.log("\nthe life of email #0 (send_email in the seed), as the runtime sees it:");
  }
  const stats: Stats = { sent: 0, failed: 0, unknown: 0, latencies: [], firstError: undefined };
  const tty = process.stdout.isTTY === true && !options.trace;
  const started = performance.now();
  let lastShown = -1;
  const show = (final: boolean) => {
    const done = stats.sent + stats.failed + stats.unknown;
    const bar = progressBar(stats, options.count, (performance.now() - started) / 1000);
    if (tty) process.stdout.write(`\r${bar}\x1b[K${final ? "\n" : ""}`);
    else if (final || Math.floor((done * 10) / options.count) > lastShown) {
      lastShown = Math.floor((done * 10) / options.count);
      console.log(bar);
    }
  };
  const ticker = setInterval(() => show(false), tty ? 100 : 250);
  let taken = 0;
  try {
    await main(
      future(function* demo() {
        try {
          yield* scope(function* (s) {
            for (let id = 0; id < options.concurrency; id++) {
              s.spawn(
                worker(pool, () => taken++, options.count, stats, options.trace),
                {
                  name: `smtp worker ${id}`,
                },
              );
            }
          });
        } finally {
          yield* pool.close();
        }
      }),
    );
  } finally {
    clearInterval(ticker);
    show(true);
    await embedded?.close();
  }
  const seconds = (performance.now() - started) / 1000;
  const sorted = [...stats.latencies].sort((a, b) => a - b);
  const pct = (p: number) =>
    sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? 0;
  console.log(
    `sent ${stats.sent}, failed ${stats.failed}, unknown ${stats.unknown} | ` +
      `${(stats.sent / seconds).toFixed(0)} emails/s | ` +
      `latency p50 ${pct(0.5).toFixed(2)} ms, p99 ${pct(0.99).toFixed(2)} ms`,
  );
  if (stats.firstError !== undefined) console.log("first error:", String(stats.firstError));
  if (embedded) {
    console.log(`the embedded server received ${embedded.received()} emails`);
    console.log(
      "(smtp-server waits 100 ms before greeting a new connection, to catch early talkers: the first email of each connection includes it)",
    );
  }
}

await run();
