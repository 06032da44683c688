/**
 * Real SMTP servers for the tests in this folder, each started on 127.0.0.1 by the test that
 * needs it and always stopped by it: postfix's `smtp-sink` (with its fault switches) and
 * aiosmtpd (through `aiosmtpd-server.py`, run with /usr/bin/python3). `.ci/install-servers`
 * installs both; when one is missing the tests that need it are skipped with the reason, except
 * under `CI=true`, where they fail.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { chmod, mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import * as net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** The Python with Debian's python3-aiosmtpd (`python3` on PATH may be a pyenv shim). */
export const PYTHON = "/usr/bin/python3";

function findSmtpSink(): string | null {
  for (const dir of [...(process.env.PATH ?? "").split(":"), "/usr/sbin", "/usr/local/sbin"]) {
    if (dir !== "" && existsSync(join(dir, "smtp-sink"))) return join(dir, "smtp-sink");
  }
  return null;
}

/** Path of `smtp-sink`, or null when postfix is not installed. */
export const SMTP_SINK: string | null = findSmtpSink();

const HAS_AIOSMTPD =
  existsSync(PYTHON) && spawnSync(PYTHON, ["-c", "import aiosmtpd"]).status === 0;

const IS_ROOT = typeof process.getuid === "function" && process.getuid() === 0;

/** Why a server cannot be run here, or undefined when it can. */
export function unavailable(server: "smtp-sink" | "aiosmtpd"): string | undefined {
  if (server === "smtp-sink" && SMTP_SINK === null) {
    return "smtp-sink is not installed (Debian package postfix; run bash .ci/install-servers as root)";
  }
  if (server === "aiosmtpd" && !HAS_AIOSMTPD) {
    return `${PYTHON} cannot import aiosmtpd (Debian package python3-aiosmtpd; run bash .ci/install-servers as root)`;
  }
  return undefined;
}

/**
 * `node:test` options for a suite that needs `server`: skipped with the reason when it is
 * missing, except under CI=true, where the suite runs and fails on the missing server.
 */
export function needs(server: "smtp-sink" | "aiosmtpd"): { skip?: string } {
  const reason = unavailable(server);
  if (reason === undefined || process.env.CI === "true") return {};
  return { skip: reason };
}

/** Thrown when a server is missing (under CI=true) or does not start. */
export class ServerStartError extends Error {
  readonly code = "SERVER_START";
  override name = "ServerStartError";
}

/** Every server started and not yet stopped, killed if the test process exits early. */
const running = new Set<ChildProcess>();
process.on("exit", () => {
  for (const child of running) child.kill("SIGKILL");
});

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once("exit", () => resolve()));
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
  await exited(child);
  running.delete(child);
}

/** A port that was free a moment ago (the OS picks it). */
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

/**
 * Resolves once a TCP connection to `port` succeeds, retrying on each refusal (the next attempt
 * starts from the error event, no timer); rejects when `child` exits first or after `limitMs`.
 */
function whenAccepting(port: number, child: ChildProcess, limitMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const deadline = Date.now() + limitMs;
    let done = false;
    const finish = (error?: Error) => {
      if (done) return;
      done = true;
      child.off("exit", onExit);
      if (error === undefined) resolve();
      else reject(error);
    };
    const onExit = () => finish(new ServerStartError("the server exited before accepting"));
    child.once("exit", onExit);
    const attempt = () => {
      if (done) return;
      const socket = net.connect({ port, host: "127.0.0.1" });
      socket.once("connect", () => {
        socket.destroy();
        finish();
      });
      socket.once("error", (error) => {
        socket.destroy();
        if (Date.now() > deadline) {
          finish(new ServerStartError(`nothing accepts on port ${port}: ${error.message}`));
        } else {
          attempt();
        }
      });
    };
    attempt();
  });
}

/** A message as smtp-sink dumped it (`-D`). */
export interface SinkMessage {
  /** Which message of the dump ("message 0", ...). */
  readonly file: string;
  /** "SMTP" (after HELO) or "ESMTP" (after EHLO). */
  readonly proto: string;
  readonly helo: string | undefined;
  /** What followed "MAIL FROM:" (the path in angle brackets and any parameters). */
  readonly mailArgs: string;
  /** What followed each "RCPT TO:". */
  readonly rcptArgs: readonly string[];
  /**
   * The message data as received, with smtp-sink's transformations: dot-stuffing undone, every
   * CR dropped (CRLF became LF), the final "." line removed.
   */
  readonly data: Buffer;
}

/** A running smtp-sink. */
export interface SmtpSink {
  readonly port: number;
  /** The arguments it was started with. */
  readonly args: readonly string[];
  /** The messages received so far: complete transactions only, in the order they ended. */
  messages(): Promise<SinkMessage[]>;
  /** Stops it (SIGTERM, waits for the exit) and removes its dump directory. Idempotent. */
  stop(): Promise<void>;
  /** Its standard error so far (for failure messages). */
  stderr(): string;
}

/** Options of {@link startSmtpSink}. */
export interface SinkOptions {
  /** smtp-sink switches (see `man smtp-sink`), e.g. ["-q", "MAIL"] or ["-e"]. */
  readonly flags?: readonly string[];
  /** Dump each message to a file (default true). */
  readonly dump?: boolean;
}

const PREFIX_FIELD = /^(X-Client-Addr|X-Client-Proto|X-Helo-Args|X-Mail-Args|X-Rcpt-Args): ?(.*)$/;

/**
 * Parses one smtp-sink dump file: its own header records (X-Client-Addr ... and a three-line
 * Received header), then the message, then an empty line (the LF of the CRLF before the dot).
 */
export function parseSinkDump(file: string, bytes: Buffer): SinkMessage {
  let offset = 0;
  let proto = "";
  let helo: string | undefined;
  let mailArgs = "";
  const rcptArgs: string[] = [];
  const nextLine = (): string => {
    const end = bytes.indexOf(10, offset);
    if (end < 0) throw new Error(`${file}: truncated smtp-sink dump`);
    const line = bytes.subarray(offset, end).toString("latin1");
    offset = end + 1;
    return line;
  };
  for (;;) {
    const line = nextLine();
    if (line.startsWith("Received: ")) {
      // Two continuation lines: "\tby ... id ...;" and "\t<date>".
      if (!nextLine().startsWith("\t") || !nextLine().startsWith("\t")) {
        throw new Error(`${file}: unexpected Received header in an smtp-sink dump`);
      }
      break;
    }
    const m = PREFIX_FIELD.exec(line);
    if (m === null) throw new Error(`${file}: unexpected smtp-sink record ${JSON.stringify(line)}`);
    const value = m[2]!;
    if (m[1] === "X-Client-Proto") proto = value;
    else if (m[1] === "X-Helo-Args") helo = value;
    else if (m[1] === "X-Mail-Args") mailArgs = value;
    else if (m[1] === "X-Rcpt-Args") rcptArgs.push(value);
  }
  if (bytes[bytes.length - 1] !== 10) throw new Error(`${file}: dump does not end with LF`);
  return { file, proto, helo, mailArgs, rcptArgs, data: bytes.subarray(offset, bytes.length - 1) };
}

/**
 * Starts smtp-sink on 127.0.0.1 (a free port; it is run as `-u nobody` when we are root) and
 * resolves once it accepts connections.
 *
 * @throws {ServerStartError} when smtp-sink is missing or does not start.
 */
export async function startSmtpSink(options: SinkOptions = {}): Promise<SmtpSink> {
  if (SMTP_SINK === null) throw new ServerStartError(unavailable("smtp-sink"));
  const dir = await mkdtemp(join(tmpdir(), "waker-smtp-sink-"));
  // smtp-sink drops to `nobody` before it writes dumps.
  if (IS_ROOT) await chmod(dir, 0o777);
  const dump = options.dump ?? true;
  // -D appends each complete message to one file (an aborted transaction never gets there),
  // after the -S separator; -d would leave half-written files of sessions still open at stop.
  const separator = `==waker-smtp-sink-${Math.random().toString(36).slice(2)}==`;
  const dumpFile = join(dir, "dump");
  let lastError: unknown;
  // The free port may be taken between our probe and smtp-sink's bind: then try another one.
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort();
    const args = [
      ...(IS_ROOT ? ["-u", "nobody"] : []),
      ...(options.flags ?? []),
      ...(dump ? ["-D", dumpFile, "-S", `\\n${separator}\\n`] : []),
      `127.0.0.1:${port}`,
      "256",
    ];
    const child = spawn(SMTP_SINK, args, { stdio: ["ignore", "ignore", "pipe"] });
    running.add(child);
    let stderr = "";
    child.stderr!.setEncoding("utf8");
    child.stderr!.on("data", (chunk: string) => {
      stderr += chunk;
    });
    try {
      await whenAccepting(port, child, 10_000);
    } catch (error) {
      await stopChild(child);
      lastError = new ServerStartError(
        `smtp-sink ${args.join(" ")} did not start: ${(error as Error).message}; stderr: ${stderr.trim()}`,
      );
      continue;
    }
    let stopped = false;
    return {
      port,
      args,
      stderr: () => stderr,
      async messages() {
        if (!existsSync(dumpFile)) return [];
        const all = await readFile(dumpFile);
        const sep = Buffer.from(`\n${separator}\n`);
        const messages: SinkMessage[] = [];
        let at = all.indexOf(sep);
        while (at >= 0) {
          const start = at + sep.length;
          const next = all.indexOf(sep, start);
          const end = next < 0 ? all.length : next;
          messages.push(parseSinkDump(`message ${messages.length}`, all.subarray(start, end)));
          at = next;
        }
        return messages;
      },
      async stop() {
        if (stopped) return;
        stopped = true;
        await stopChild(child);
        await rm(dir, { recursive: true, force: true });
      },
    };
  }
  await rm(dir, { recursive: true, force: true });
  throw lastError;
}

/** A message as the aiosmtpd handler saved it. */
export interface AiosmtpdMessage {
  readonly mailFrom: string;
  readonly rcptTos: readonly string[];
  readonly mailOptions: readonly string[];
  readonly helo: string;
  /** The data as aiosmtpd stores it: dot-stuffing undone, CRLF kept, the final "." removed. */
  readonly data: Buffer;
}

/** A running aiosmtpd. */
export interface Aiosmtpd {
  readonly port: number;
  /** The messages saved so far, in the order they were accepted. */
  messages(): Promise<AiosmtpdMessage[]>;
  /** Stops it and removes its directory. Idempotent. */
  stop(): Promise<void>;
}

/** Where the handler script is: next to this file's source (from dist/ or a build elsewhere). */
function aiosmtpdScript(): string {
  const name = "aiosmtpd-server.py";
  const candidates = [
    fileURLToPath(new URL(`./${name}`, import.meta.url)),
    fileURLToPath(new URL(`../../../test/smtp-servers/${name}`, import.meta.url)),
    join(process.cwd(), "test", "smtp-servers", name),
  ];
  const found = candidates.find((path) => existsSync(path));
  if (found === undefined)
    throw new ServerStartError(`${name} not found (${candidates.join(", ")})`);
  return found;
}

/**
 * Starts aiosmtpd (`aiosmtpd-server.py`) on 127.0.0.1; it picks a free port itself and reports
 * it on stdout once it listens. It exits when our end of its stdin closes.
 *
 * @throws {ServerStartError} when aiosmtpd is missing or does not start.
 */
export async function startAiosmtpd(): Promise<Aiosmtpd> {
  const reason = unavailable("aiosmtpd");
  if (reason !== undefined) throw new ServerStartError(reason);
  const dir = await mkdtemp(join(tmpdir(), "waker-aiosmtpd-"));
  const child = spawn(PYTHON, [aiosmtpdScript(), dir], { stdio: ["pipe", "pipe", "pipe"] });
  running.add(child);
  let stderr = "";
  child.stderr!.setEncoding("utf8");
  child.stderr!.on("data", (chunk: string) => {
    stderr += chunk;
  });
  let port: number;
  try {
    port = await new Promise<number>((resolve, reject) => {
      let out = "";
      child.stdout!.setEncoding("utf8");
      child.stdout!.on("data", (chunk: string) => {
        out += chunk;
        const m = /READY (\d+)/.exec(out);
        if (m !== null) resolve(Number(m[1]));
      });
      child.once("exit", (code) =>
        reject(new ServerStartError(`aiosmtpd exited (${code}) before listening: ${stderr}`)),
      );
      child.once("error", reject);
    });
  } catch (error) {
    await stopChild(child);
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  let stopped = false;
  return {
    port,
    async messages() {
      const names = (await readdir(dir)).filter((name) => name.endsWith(".json")).sort();
      return Promise.all(
        names.map(async (name) => {
          const meta = JSON.parse(await readFile(join(dir, name), "utf8")) as {
            mail_from: string;
            rcpt_tos: string[];
            mail_options: string[];
            helo: string;
          };
          return {
            mailFrom: meta.mail_from,
            rcptTos: meta.rcpt_tos,
            mailOptions: meta.mail_options,
            helo: meta.helo,
            data: await readFile(join(dir, name.replace(/\.json$/, ".eml"))),
          };
        }),
      );
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      child.stdin!.end();
      await stopChild(child);
      await rm(dir, { recursive: true, force: true });
    },
  };
}
