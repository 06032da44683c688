/**
 * An SMTP-aware TCP proxy on 127.0.0.1 in front of a real server. It follows the dialogue (command
 * lines, the DATA phase up to the final dot, the server's replies) so that a test can:
 * - check how the client uses the connection: the most commands it ever had in flight (1 without
 *   PIPELINING, more with it);
 * - inject faults at exact points of the dialogue: close or reset the connection on a command,
 *   in the middle of the message data, just before the final dot (the server never sees it),
 *   or after the final dot (the server accepted the message; its reply is lost), or answer the
 *   final dot itself with a refusal the server never sent.
 */
import * as net from "node:net";

/** What to do with a command line, the message data or the final dot. */
export type Fault =
  | "forward"
  /** Close both connections (the client sees a clean end of stream). */
  | "close"
  /** Reset the client's connection (it sees ECONNRESET) and close the server's. */
  | "reset";

/** What to do at the final dot of a message. */
export type DotFault =
  | Fault
  /** Forward the dot; when the server answers, reset the client's connection instead. */
  | "lose-reply"
  /** Answer the client with this reply (e.g. "554 5.7.1 no") and close both connections; the server never sees the dot. */
  | { readonly reply: string };

/** One proxied connection, as the hooks see it. */
export interface ProxyConnection {
  /** Sequence number of the connection (0, 1, ...). */
  readonly index: number;
  /** Free for the hooks: e.g. the id of the message in progress. */
  tag: string | undefined;
}

/** Decisions a test takes; each defaults to "forward". */
export interface ProxyHooks {
  /** On each complete command line from the client (without its CRLF). */
  command?(conn: ProxyConnection, line: string): Fault;
  /** On the first chunk of message data (half of it is forwarded before a close or reset). */
  data?(conn: ProxyConnection): Fault;
  /** On the final dot of a message. */
  dot?(conn: ProxyConnection): DotFault;
}

/** A running proxy. */
export interface SmtpProxy {
  readonly port: number;
  /** The most commands the client had sent and not yet seen answered, over all connections. */
  readonly maxInFlight: number;
  /** Connections accepted so far. */
  readonly connections: number;
  /** Final dots forwarded to the server, with the connection's tag at that moment. */
  readonly dotsForwarded: readonly (string | undefined)[];
  /** Stops listening and destroys every open connection. */
  close(): Promise<void>;
}

/** Data-phase scanner states (looking for CRLF "." CRLF; the data starts as if after a CRLF). */
const Scan = { Any: 0, Cr: 1, CrLf: 2, CrLfDot: 3, CrLfDotCr: 4 } as const;

/**
 * Starts a proxy on 127.0.0.1 (a free port) that forwards to `upstreamPort`.
 */
export async function startProxy(upstreamPort: number, hooks: ProxyHooks = {}): Promise<SmtpProxy> {
  const sockets = new Set<net.Socket>();
  let maxInFlight = 0;
  let connections = 0;
  const dotsForwarded: (string | undefined)[] = [];

  const server = net.createServer((client) => {
    const conn: ProxyConnection = { index: connections++, tag: undefined };
    const upstream = net.connect({ port: upstreamPort, host: "127.0.0.1" });
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    sockets.add(client);
    sockets.add(upstream);
    let finished = false;
    /** Commands sent and not answered; the greeting counts as one. */
    let inFlight = 1;
    let mode: "command" | "data" = "command";
    let line = Buffer.alloc(0);
    let scan: number = Scan.CrLf;
    let firstData = true;
    let awaitingDotReply = false;
    let loseDotReply = false;
    let replyLine = Buffer.alloc(0);

    const end = (how: "close" | "reset") => {
      if (finished) return;
      finished = true;
      upstream.destroy();
      if (how === "reset") client.resetAndDestroy();
      else client.end(() => client.destroy());
    };
    const onClientBytes = (chunk: Buffer) => {
      let at = 0;
      while (at < chunk.length && !finished) {
        if (mode === "command") {
          const nl = chunk.indexOf(10, at);
          if (nl < 0) {
            line = Buffer.concat([line, chunk.subarray(at)]);
            return;
          }
          const full = Buffer.concat([line, chunk.subarray(at, nl + 1)]);
          line = Buffer.alloc(0);
          at = nl + 1;
          inFlight++;
          maxInFlight = Math.max(maxInFlight, inFlight);
          const text = full.toString("latin1").replace(/\r?\n$/, "");
          const fault = hooks.command?.(conn, text) ?? "forward";
          if (fault !== "forward") return end(fault);
          upstream.write(full);
          continue;
        }
        // Data: forward up to the final dot, which ends the data phase.
        if (firstData) {
          firstData = false;
          const fault = hooks.data?.(conn) ?? "forward";
          if (fault !== "forward") {
            const half = at + Math.max(1, (chunk.length - at) >> 1);
            upstream.write(chunk.subarray(at, half));
            return end(fault);
          }
        }
        const start = at;
        let dotAt = -1;
        for (; at < chunk.length; at++) {
          const b = chunk[at]!;
          if (scan === Scan.CrLf && b === 46) scan = Scan.CrLfDot;
          else if (scan === Scan.CrLfDot && b === 13) scan = Scan.CrLfDotCr;
          else if (scan === Scan.CrLfDotCr && b === 10) {
            // `at` ends the final ".\r\n"; it started two bytes before.
            dotAt = at - 2;
            at++;
            break;
          } else if (scan === Scan.Cr && b === 10) scan = Scan.CrLf;
          else scan = b === 13 ? Scan.Cr : Scan.Any;
        }
        if (dotAt < 0) {
          upstream.write(chunk.subarray(start, at));
          continue;
        }
        // The dot may have started in an earlier chunk (already forwarded): forward what remains.
        upstream.write(chunk.subarray(start, Math.max(start, dotAt)));
        const fault = hooks.dot?.(conn) ?? "forward";
        if (typeof fault === "object") {
          finished = true;
          upstream.destroy();
          client.end(`${fault.reply}\r\n`, () => client.destroy());
          return;
        }
        if (fault === "close" || fault === "reset") return end(fault);
        upstream.write(chunk.subarray(Math.max(start, dotAt), at));
        dotsForwarded.push(conn.tag);
        inFlight++;
        mode = "command";
        scan = Scan.CrLf;
        firstData = true;
        awaitingDotReply = true;
        loseDotReply = fault === "lose-reply";
      }
    };
    const onServerBytes = (chunk: Buffer) => {
      let at = 0;
      while (at < chunk.length && !finished) {
        const nl = chunk.indexOf(10, at);
        if (nl < 0) {
          replyLine = Buffer.concat([replyLine, chunk.subarray(at)]);
          return;
        }
        const full = Buffer.concat([replyLine, chunk.subarray(at, nl + 1)]);
        replyLine = Buffer.alloc(0);
        at = nl + 1;
        const final = full.length < 4 || full[3] !== 45; // not "NNN-"
        if (final) {
          inFlight--;
          if (awaitingDotReply) {
            awaitingDotReply = false;
            if (loseDotReply) return end("reset");
          }
          if (full.subarray(0, 3).toString("latin1") === "354") mode = "data";
        }
        client.write(full);
      }
    };
    client.on("data", onClientBytes);
    upstream.on("data", onServerBytes);
    client.on("end", () => {
      if (!finished) upstream.end();
    });
    upstream.on("end", () => {
      if (finished) return;
      finished = true;
      client.end(() => client.destroy());
    });
    client.on("error", () => upstream.destroy());
    upstream.on("error", () => client.destroy());
    client.on("close", () => {
      sockets.delete(client);
      upstream.destroy();
    });
    upstream.on("close", () => {
      sockets.delete(upstream);
      if (!finished) client.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as net.AddressInfo;
  return {
    port,
    get maxInFlight() {
      return maxInFlight;
    },
    get connections() {
      return connections;
    },
    dotsForwarded,
    close() {
      for (const socket of sockets) socket.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
