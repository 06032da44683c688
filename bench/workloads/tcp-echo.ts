/**
 * tcp-echo: 100 connections on 127.0.0.1 to an echo server in this same process; each client
 * sends a 1 KiB message, reads its 1 KiB echo back, and repeats, one message in flight per
 * connection; the N messages of a run are shared out evenly over the connections. Each
 * implementation has its own server and its own clients. The server reads whole 1 KiB messages
 * (reassembled from however TCP splits or merges them) and writes each back. Binding the
 * listener and connecting the clients are setup, outside the timed part; the timed part runs from
 * the first send to the last echo. Every message carries its index and connection id; a client
 * counts an echo as correct when it is exactly 1 KiB with those stamps, and each server counts
 * the bytes it echoed: the check is the lesser of correct echoes and echoed bytes / 1 KiB.
 * All sockets have Nagle's algorithm off (TCP_NODELAY).
 */
import { once } from "node:events";
import * as net from "node:net";
import {
  type AsyncGenerator,
  asyncFn,
  future,
  type JoinHandle,
  type Runtime,
  read,
  readExact,
  UnexpectedEof,
  writeAll,
} from "../../src/index.js";
import { TcpListener, TcpStream } from "../../src/node/index.js";
import type { Sample, Workload } from "../harness.js";
import { wakerRuntime } from "../support/residents.js";
import { percentileInPlace, type Span, startSpan } from "../support/span.js";

/** Concurrent connections per run. */
const CONNECTIONS = 100;

/** Bytes per message. */
const MSG = 1024;

/** The number of the `n` messages that connection `i` exchanges (an even share). */
function shareOf(n: number, i: number): number {
  return Math.floor(n / CONNECTIONS) + (i < n % CONNECTIONS ? 1 : 0);
}

/** Writes message index `j` into the first three bytes of `msg` (its last byte is the client id). */
function stamp(msg: Uint8Array, j: number): void {
  msg[0] = j & 0xff;
  msg[1] = (j >>> 8) & 0xff;
  msg[2] = (j >>> 16) & 0xff;
}

/** Whether `echo` is exactly 1 KiB and carries the stamps of `msg`. */
function matches(echo: Uint8Array, msg: Uint8Array): boolean {
  return (
    echo.length === MSG &&
    echo[0] === msg[0] &&
    echo[1] === msg[1] &&
    echo[2] === msg[2] &&
    echo[MSG - 1] === msg[MSG - 1]
  );
}

/** The extra values each sample reports, in column order. */
const EXTRAS = ["msg/s", "RTT p50 µs", "RTT p99 µs"] as const;

/** The sample of a run: ns per message, messages/s, round-trip percentiles (`rtt` in ms). */
function sampleOf(n: number, span: Span, rtt: Float64Array, check: number): Sample {
  const extra: Record<(typeof EXTRAS)[number], number> = {
    "msg/s": n / (span.wallNs / 1e9),
    "RTT p50 µs": percentileInPlace(rtt, 0.5) * 1000,
    "RTT p99 µs": percentileInPlace(rtt, 0.99) * 1000,
  };
  return { value: span.wallNs / n, cpu: span.cpuNs / n, check, extra };
}

// waker: every task body is defined once, at module scope, with asyncFn.

/**
 * Reads one whole message into `buf` (reused for every message of a connection, as the native
 * client reuses its message buffer): `false` at the end of the stream before any byte of it.
 */
const readMessage = asyncFn(function* (conn: TcpStream, buf: Uint8Array): AsyncGenerator<boolean> {
  let filled = yield* read(conn, buf);
  if (filled === 0) return false;
  while (filled < buf.length) {
    const n = yield* read(conn, buf.subarray(filled));
    if (n === 0) throw new UnexpectedEof(filled, buf.length);
    filled += n;
  }
  return true;
});

const wakerServer = asyncFn(function* (conn: TcpStream): AsyncGenerator<number> {
  const msg = new Uint8Array(MSG);
  let echoed = 0;
  try {
    // The client closing between messages is the normal end.
    while (yield* readMessage(conn, msg)) {
      yield* writeAll(conn, msg);
      echoed += msg.length;
    }
  } finally {
    conn.drop();
  }
  return echoed;
});

const wakerAcceptor = asyncFn(function* (
  rt: Runtime,
  listener: TcpListener,
): AsyncGenerator<JoinHandle<number>[]> {
  const servers: JoinHandle<number>[] = [];
  for (let i = 0; i < CONNECTIONS; i++) {
    const conn = yield* listener.accept();
    conn.setNoDelay();
    servers.push(rt.spawn(wakerServer(conn)));
  }
  listener.close();
  return servers;
});

const wakerClient = asyncFn(function* (
  conn: TcpStream,
  id: number,
  count: number,
  rtt: Float64Array,
  offset: number,
): AsyncGenerator<number> {
  const msg = new Uint8Array(MSG).fill(id & 0xff);
  const echo = new Uint8Array(MSG);
  let ok = 0;
  for (let j = 0; j < count; j++) {
    stamp(msg, j);
    const t0 = performance.now();
    yield* writeAll(conn, msg);
    yield* readExact(conn, echo);
    rtt[offset + j] = performance.now() - t0;
    if (matches(echo, msg)) ok++;
    echo[0] = echo[1] = echo[2] = echo[MSG - 1] = 0;
  }
  conn.drop();
  return ok;
});

/**
 * waker: `TcpListener` + one `rt.spawn`ed server task per connection (a whole 1 KiB message
 * read into its buffer, then `writeAll` it back), 100 `TcpStream` clients, each an `rt.spawn`ed
 * `asyncFn` task looping `writeAll` + `readExact(conn, echo)`; all on the shared runtime. Each
 * connection reuses one message buffer, as the native client does (`readExact(conn, n)`, which
 * returns a fresh array per message, costs about 1.5-2 µs more per message on each side, mostly
 * the ArrayBuffer's allocation and sweeping).
 */
export function tcpEchoWaker(n: number): Promise<Sample> {
  const rt = wakerRuntime;
  return rt.run(
    future(function* () {
      const listener = yield* TcpListener.bind({ port: 0 });
      const { port } = listener.localAddr();
      const acceptor = rt.spawn(wakerAcceptor(rt, listener));
      const conns: TcpStream[] = [];
      for (let i = 0; i < CONNECTIONS; i++) {
        const conn = yield* TcpStream.connect({ port });
        conn.setNoDelay();
        conns.push(conn);
      }
      const servers = yield* acceptor;
      const rtt = new Float64Array(n);
      const end = startSpan();
      const clients: JoinHandle<number>[] = [];
      let offset = 0;
      for (let i = 0; i < CONNECTIONS; i++) {
        const count = shareOf(n, i);
        clients.push(rt.spawn(wakerClient(conns[i]!, i, count, rtt, offset)));
        offset += count;
      }
      let ok = 0;
      for (const h of clients) ok += yield* h;
      const span = end();
      let echoed = 0;
      for (const h of servers) echoed += yield* h;
      return sampleOf(n, span, rtt, Math.min(ok, echoed / MSG));
    }),
  );
}

/**
 * Native reading of whole messages from a socket: its async iterator, with the bytes past the
 * message kept for the next read (TCP may split a message or merge several).
 */
class SocketReader {
  private readonly chunks: AsyncIterator<Buffer>;
  private leftover: Buffer | null = null;

  constructor(socket: net.Socket) {
    this.chunks = socket[Symbol.asyncIterator]();
  }

  /** Exactly `n` bytes, or `null` at the end of the stream before any of them. */
  async readExact(n: number): Promise<Buffer | null> {
    let first = this.leftover;
    this.leftover = null;
    if (first === null) {
      const r = await this.chunks.next();
      if (r.done === true) return null;
      first = r.value;
    }
    if (first.length === n) return first;
    const parts = [first];
    let length = first.length;
    while (length < n) {
      const r = await this.chunks.next();
      if (r.done === true) throw new Error(`the stream ended after ${length} of ${n} bytes`);
      parts.push(r.value);
      length += r.value.length;
    }
    const all = parts.length === 1 ? first : Buffer.concat(parts, length);
    if (length > n) this.leftover = all.subarray(n);
    return all.subarray(0, n);
  }
}

async function nativeServer(socket: net.Socket): Promise<number> {
  const reader = new SocketReader(socket);
  let echoed = 0;
  try {
    for (;;) {
      const msg = await reader.readExact(MSG);
      if (msg === null) break;
      if (!socket.write(msg)) await once(socket, "drain");
      echoed += msg.length;
    }
  } finally {
    socket.destroy();
  }
  return echoed;
}

async function nativeClient(
  socket: net.Socket,
  id: number,
  count: number,
  rtt: Float64Array,
  offset: number,
): Promise<number> {
  const reader = new SocketReader(socket);
  // Reused: a message is fully sent once its echo is back.
  const msg = Buffer.alloc(MSG, id & 0xff);
  let ok = 0;
  for (let j = 0; j < count; j++) {
    stamp(msg, j);
    const t0 = performance.now();
    if (!socket.write(msg)) await once(socket, "drain");
    const echo = await reader.readExact(MSG);
    rtt[offset + j] = performance.now() - t0;
    if (echo === null) break;
    if (matches(echo, msg)) ok++;
  }
  socket.destroy();
  return ok;
}

/**
 * Native: a `node:net` server with one async handler per connection and 100 `net.connect`
 * clients, each an async function; both read whole messages through the socket's async iterator
 * and write with `socket.write` (awaiting `drain` when it asks to).
 */
export async function tcpEchoNative(n: number): Promise<Sample> {
  const servers: Promise<number>[] = [];
  let allAccepted!: () => void;
  const accepted = new Promise<void>((resolve) => {
    allAccepted = resolve;
  });
  const server = net.createServer((socket) => {
    socket.setNoDelay(true);
    servers.push(nativeServer(socket));
    if (servers.length === CONNECTIONS) allAccepted();
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as net.AddressInfo;
  const sockets: net.Socket[] = [];
  for (let i = 0; i < CONNECTIONS; i++) {
    const socket = net.connect({ port, host: "127.0.0.1" });
    await once(socket, "connect");
    socket.setNoDelay(true);
    sockets.push(socket);
  }
  await accepted;
  server.close();
  const rtt = new Float64Array(n);
  const end = startSpan();
  const clients: Promise<number>[] = [];
  let offset = 0;
  for (let i = 0; i < CONNECTIONS; i++) {
    const count = shareOf(n, i);
    clients.push(nativeClient(sockets[i]!, i, count, rtt, offset));
    offset += count;
  }
  let ok = 0;
  for (const v of await Promise.all(clients)) ok += v;
  const span = end();
  let echoed = 0;
  for (const v of await Promise.all(servers)) echoed += v;
  return sampleOf(n, span, rtt, Math.min(ok, echoed / MSG));
}

/** The tcp-echo workload: 100 loopback connections exchanging 1 KiB messages with an echo server. */
export const tcpEcho: Workload = {
  name: "tcp-echo",
  description:
    "100 TCP connections on 127.0.0.1 to an in-process echo server, each sending a 1 KiB message and reading its echo before the next (N messages in all, shared evenly); each implementation has its own server and clients; value: wall ns per message from the first send to the last echo (connection setup excluded); extras: messages/s and round-trip time (write to echo fully read) p50 and p99 in µs",
  unit: "ns/msg",
  // About 40k messages/s on a 2-core machine: N = 1e6 would take ~25 s per round and
  // implementation (over the default 20 s round limit), so a full run stops at 3e5.
  sizes: [100_000, 300_000],
  quickSizes: [10_000, 100_000],
  expected: (n) => n,
  extras: EXTRAS,
  implementations: {
    native: tcpEchoNative,
    waker: tcpEchoWaker,
    effect: {
      omitted:
        "Effect's Node sockets live in @effect/platform-node, which the benchmark does not install",
    },
    effection: { omitted: "Effection 4 has no socket API (it would wrap node:net)" },
  },
  notes: {
    native:
      "node:net server + clients, async functions; whole messages via the socket's async iterator, socket.write",
    waker:
      "TcpListener + TcpStream, asyncFn tasks (rt.spawn) server: a whole-message read (yield* read into one reused 1 KiB buffer) then writeAll; client: writeAll then yield* readExact(conn, buf) into one reused buffer",
  },
};
