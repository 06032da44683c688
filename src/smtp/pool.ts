import { asyncFn } from "../future/async-block.js";
import type { Future } from "../future/future.js";
import { lazy } from "../future/lazy.js";
import { ready } from "../future/ready.js";
import { Semaphore } from "../sync/semaphore.js";
import { describeValue, InvalidArgumentError } from "../task/errors.js";
import { sleep } from "../time/sleep.js";
import { BodyConsumedError } from "./body.js";
import {
  checkEnvelope,
  SmtpClient,
  type SmtpEnvelope,
  type SmtpOptions,
  type SmtpSendResult,
} from "./client.js";
import { SmtpCapabilityError, SmtpError } from "./errors.js";

/**
 * Options of {@link SmtpPool}: the connection options (every connection is opened with them,
 * including `connect` and `upgrade`, so a pool runs unchanged over a simulated network) plus the
 * pool's own.
 *
 * @example
 * ```ts
 * const pool = new SmtpPool({ host: "127.0.0.1", port: 2525, maxConnections: 8, retries: 2 });
 * ```
 */
export interface SmtpPoolOptions extends SmtpOptions {
  /** Connections (and so sends) at once (default 5). */
  readonly maxConnections?: number;
  /** Messages per connection before it is closed and replaced (default 100). */
  readonly maxMessagesPerConnection?: number;
  /** Retries of a send that failed transiently before its final dot (default 3). */
  readonly retries?: number;
  /** First retry delay in ms, doubled each time (default 1000). */
  readonly retryDelay?: number;
}

/**
 * How a pooled send ended. `unknown` means the connection was lost (or timed out) after the
 * message's final dot was sent and before the server answered: the server may or may not have
 * accepted it, so it is never retried automatically (RFC 5321 4.5.3.2.6) — no email is sent twice.
 *
 * @example
 * ```ts
 * const outcome = yield* pool.send(envelope);
 * if (outcome.status === "failed") console.error(outcome.error);
 * if (outcome.status === "unknown") flagForManualCheck(envelope);
 * ```
 */
export type SmtpSendOutcome =
  | { readonly status: "ok"; readonly result: SmtpSendResult; readonly attempts: number }
  | { readonly status: "failed"; readonly error: unknown; readonly attempts: number }
  | { readonly status: "unknown"; readonly error: unknown; readonly attempts: number };

interface Idle {
  client: SmtpClient;
  sent: number;
}

function count(value: number | undefined, fallback: number, name: string, min: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < min) {
    throw new InvalidArgumentError(
      `SmtpPool: ${name} must be an integer >= ${min}, got ${describeValue(value)}`,
    );
  }
  return value;
}

/**
 * A pool of SMTP connections: at most `maxConnections` sends at once (a {@link Semaphore}),
 * connections reused for up to `maxMessagesPerConnection` messages, transient failures before the
 * final dot retried with exponential backoff on a fresh connection. `send` reports an outcome
 * instead of throwing, so a caller can account for every message.
 *
 * @example
 * ```ts
 * const pool = new SmtpPool({ host: "127.0.0.1", port: 2525, maxConnections: 8 });
 * const outcome = yield* pool.send({ from: "a@x.test", to: ["b@y.test"], data: "Subject: hi\r\n\r\n." });
 * if (outcome.status === "unknown") flagForManualCheck();
 * yield* pool.close();
 * ```
 */
export class SmtpPool {
  private readonly permits: Semaphore;
  private readonly idle: Idle[] = [];
  private readonly maxMessages: number;
  private readonly retries: number;
  private readonly retryDelay: number;
  private closed = false;

  constructor(private readonly options: SmtpPoolOptions = {}) {
    if (options === null || typeof options !== "object") {
      throw new InvalidArgumentError(
        `SmtpPool: expected an options object, got ${describeValue(options)}`,
      );
    }
    this.permits = new Semaphore(count(options.maxConnections, 5, "maxConnections", 1));
    this.maxMessages = count(options.maxMessagesPerConnection, 100, "maxMessagesPerConnection", 1);
    this.retries = count(options.retries, 3, "retries", 0);
    this.retryDelay = count(options.retryDelay, 1000, "retryDelay", 0);
  }

  /**
   * Sends one message through a pooled connection and reports how it ended.
   *
   * @throws {InvalidArgumentError} / {InvalidAddressError} for a malformed envelope (nothing is
   * sent), and `SemaphoreClosed` after `close()`.
   *
   * Cancel safety: dropping it mid-dialogue closes that connection; whether a message whose final
   * dot was already sent got delivered is then unknown.
   */
  send(envelope: SmtpEnvelope): Future<SmtpSendOutcome> {
    checkEnvelope(envelope);
    return pooledSend(this, envelope);
  }

  /**
   * Says QUIT on every idle connection and refuses further sends.
   *
   * @example
   * ```ts
   * yield* pool.close();
   * ```
   *
   * Cancel safety: the close starts at the first poll (from then on the pool refuses sends);
   * dropped after that, it closes the remaining idle connections at once (without QUIT).
   */
  close(): Future<void> {
    return lazy(() => {
      this.closed = true;
      this.permits.close();
      return closeIdle(this.idle.splice(0));
    });
  }

  /** @internal */
  acquire() {
    return this.permits.acquire();
  }

  /** @internal A connection: an idle one, or a new one. */
  connection(): Future<Idle> {
    const reused = this.idle.pop();
    if (reused !== undefined && !reused.client.isClosed) {
      return ready(reused);
    }
    return SmtpClient.connect(this.options).map((client) => ({ client, sent: 0 }));
  }

  /** @internal Puts a healthy connection back, or retires it after its message budget. */
  release(conn: Idle): Future<void> | null {
    conn.sent++;
    if (this.closed || conn.sent >= this.maxMessages || conn.client.isClosed) {
      return conn.client.quit();
    }
    this.idle.push(conn);
    return null;
  }

  /** @internal */
  get policy() {
    return { retries: this.retries, retryDelay: this.retryDelay };
  }
}

const closeIdle = asyncFn(function* closeIdle(idle: Idle[]) {
  try {
    for (const conn of idle) yield* conn.client.quit();
  } finally {
    // Dropped half-way: the connections not yet said goodbye to are closed at once.
    for (const conn of idle) conn.client.close();
  }
});

/**
 * True for failures worth a retry on a new connection: 4xx replies, lost connections, timeouts,
 * all before the final dot (a 4xx to the final dot is a failure the caller decides about, never
 * retried here: no email twice). A message the server cannot take (SIZE, 8BITMIME, SMTPUTF8) or a
 * one-shot body already sent would fail the same way again.
 */
function transient(error: unknown): boolean {
  if (error instanceof SmtpError) return error.transient && error.command !== "end of data";
  return !(error instanceof SmtpCapabilityError || error instanceof BodyConsumedError);
}

const pooledSend = asyncFn(function* pooledSend(pool: SmtpPool, envelope: SmtpEnvelope) {
  const { retries, retryDelay } = pool.policy;
  let attempts = 0;
  for (;;) {
    attempts++;
    const permit = yield* pool.acquire();
    let conn: Idle | null = null;
    try {
      conn = yield* pool.connection();
      const result = yield* conn.client.send(envelope);
      const retiring = pool.release(conn);
      conn = null;
      if (retiring !== null) yield* retiring;
      return { status: "ok", result, attempts } as SmtpSendOutcome;
    } catch (error) {
      // Bad input (InvalidArgumentError, InvalidAddressError) is the caller's bug: no outcome.
      if (error instanceof TypeError) throw error;
      const unknown = conn?.client.awaitingFinalReply === true;
      if (conn !== null) {
        if (conn.client.isClosed || unknown) conn.client.close();
        else {
          // Past its message budget or after close(): retired (QUIT), not left open.
          const retiring = pool.release(conn);
          conn = null;
          if (retiring !== null) yield* retiring;
        }
      }
      conn = null;
      if (unknown) return { status: "unknown", error, attempts } as SmtpSendOutcome;
      if (!transient(error) || attempts > retries) {
        return { status: "failed", error, attempts } as SmtpSendOutcome;
      }
    } finally {
      conn?.client.close();
      permit.release();
    }
    yield* sleep(retryDelay * 2 ** (attempts - 1));
  }
});
