/**
 * The main demo: send N emails through a small pool of SMTP connections on the waker runtime.
 *
 *   npm run demo                         # embedded SMTP server on 127.0.0.1, 200 emails
 *   npm run demo -- --count 1000 --concurrency 16
 *   npm run demo -- --smtp 127.0.0.1:2525 # a real server instead
 *   npm run demo -- --trace              # narrate one email's life: poll, Pending, wake, Ready
 *
 * Each worker task owns one connection and takes jobs from a bounded channel. Every reply the
 * client waits for is a future that stores its task's waker in the socket; the socket's data
 * event calls wake(), and the runtime polls the task again.
 */
import type { AddressInfo } from "node:net";
import { SMTPServer } from "smtp-server";
import {
  asyncFn,
  ChannelClosed,
  Context,
  channel,
  future,
  main,
  Pending,
  type Poll,
  type Receiver,
  scope,
  Waker,
} from "../src/index.js";
import { TcpStream } from "../src/node/index.js";
import { SmtpClient, type SmtpTransport } from "../src/smtp/index.js";

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

const start = performance.now();
const stamp = () => `[${(performance.now() - start).toFixed(1).padStart(7)} ms]`;

/**
 * Wraps a transport so that one email's reads are narrated: each poll of the socket, the
 * Pending that leaves the waker with the socket, the wake() when the server's reply arrives, and
 * the poll that finds the bytes Ready.
 */
class TracedTransport implements SmtpTransport {
  tracing = false;
  private woken = false;
  constructor(private readonly inner: SmtpTransport) {}

  pollRead(cx: Context, buf: Uint8Array): Poll<number> {
    if (!this.tracing) return this.inner.pollRead(cx, buf);
    if (this.woken) {
      this.woken = false;
      console.log(`${stamp()}   executor: polls the task again`);
    }
    const task = cx.waker;
    const traced = Context.fromWaker(
      Waker.from(() => {
        this.woken = true;
        console.log(`${stamp()}   socket: the server's reply arrived -> waker.wake()`);
        task.wakeByRef();
      }),
    );
    const r = this.inner.pollRead(traced, buf);
    if (r === Pending) {
      console.log(`${stamp()}   poll -> Pending: the socket stored the task's waker`);
    } else {
      const text = new TextDecoder().decode(buf.subarray(0, r)).trim().split("\r\n")[0];
      console.log(`${stamp()}   poll -> Ready: ${JSON.stringify(text)}`);
    }
    return r;
  }
  pollWrite(cx: Context, data: Uint8Array): Poll<number> {
    if (this.tracing) {
      const text = new TextDecoder().decode(data).trim().split("\r\n")[0];
      console.log(
        `${stamp()} client sends ${JSON.stringify(text)}${data.length > 80 ? " ..." : ""}`,
      );
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

interface Stats {
  sent: number;
  failed: number;
  latencies: number[];
}

function message(i: number): { from: string; to: string[]; data: string } {
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

const worker = asyncFn(function* worker(
  id: number,
  jobs: Receiver<number>,
  server: { host: string; port: number },
  stats: Stats,
  trace: boolean,
) {
  const socket = yield* TcpStream.connect(server, { timeout: 10_000 });
  const transport = new TracedTransport(socket);
  const client = yield* SmtpClient.handshake(transport, { name: `worker-${id}.waker.test` });
  try {
    for (;;) {
      const job = yield* jobs.recv().catch((e: unknown) => {
        if (e instanceof ChannelClosed) return -1;
        throw e;
      });
      if (job < 0) break;
      const tracing = trace && job === 0;
      if (tracing) console.log(`${stamp()} the life of email #0:`);
      transport.tracing = tracing;
      const t0 = performance.now();
      try {
        yield* client.send(message(job));
        stats.sent++;
        stats.latencies.push(performance.now() - t0);
      } catch (error) {
        stats.failed++;
        if (client.isClosed) throw error;
      } finally {
        transport.tracing = false;
        if (tracing) console.log(`${stamp()} email #0 accepted by the server (Ready)\n`);
      }
    }
  } finally {
    yield* client.quit();
  }
});

const progressBar = (done: number, total: number) => {
  const width = 30;
  const filled = Math.round((done / total) * width);
  return `[${"#".repeat(filled)}${".".repeat(width - filled)}] ${done}/${total}`;
};

async function run(): Promise<void> {
  const options = parseArgs(process.argv.slice(2));
  const embedded = options.smtp === null ? await embeddedServer() : null;
  const server = options.smtp ?? { host: "127.0.0.1", port: embedded!.port };
  console.log(
    `waker SMTP demo: ${options.count} emails, ${options.concurrency} connections, ` +
      `${embedded ? `embedded server on 127.0.0.1:${server.port}` : `server ${server.host}:${server.port}`}`,
  );
  const stats: Stats = { sent: 0, failed: 0, latencies: [] };
  const tty = process.stdout.isTTY === true;
  const started = performance.now();
  let lastShown = -1;
  const show = (final: boolean) => {
    const done = stats.sent + stats.failed;
    if (tty) process.stdout.write(`\r${progressBar(done, options.count)}${final ? "\n" : ""}`);
    else if (final || Math.floor((done * 10) / options.count) > lastShown) {
      lastShown = Math.floor((done * 10) / options.count);
      console.log(progressBar(done, options.count));
    }
  };
  const ticker = setInterval(() => show(false), tty ? 100 : 250);
  try {
    await main(
      future(function* demo() {
        const [tx, rx] = channel<number>(options.concurrency * 2);
        yield* scope(function* (s) {
          for (let id = 0; id < options.concurrency; id++) {
            s.spawn(worker(id, rx, server, stats, options.trace), { name: `smtp worker ${id}` });
          }
          for (let i = 0; i < options.count; i++) yield* tx.send(i);
          tx.drop();
        });
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
    `sent ${stats.sent}, failed ${stats.failed}, unknown 0 | ${(stats.sent / seconds).toFixed(0)} emails/s | ` +
      `latency p50 ${pct(0.5).toFixed(2)} ms, p99 ${pct(0.99).toFixed(2)} ms`,
  );
  if (embedded) console.log(`the embedded server received ${embedded.received()} emails`);
}

await run();
