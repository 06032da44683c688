/**
 * Running the SMTP client and pool against a server port from a test: one fresh `Runtime` per
 * call, every failure captured as a value so that tests can assert on its type.
 */
import assert from "node:assert/strict";
import { future, Runtime, TimeoutError } from "../../src/index.js";
import { IoError } from "../../src/node/index.js";
import {
  SmtpClient,
  type SmtpEnvelope,
  SmtpError,
  type SmtpOptions,
  SmtpPool,
  type SmtpPoolOptions,
  type SmtpSendOutcome,
  type SmtpSendResult,
} from "../../src/smtp/index.js";

/** Time limits for tests: a server that never answers fails the test in seconds, not minutes. */
export const TEST_TIMEOUTS = {
  greeting: 5_000,
  mail: 5_000,
  rcpt: 5_000,
  data: 5_000,
  dataBlock: 5_000,
  dataEnd: 5_000,
  command: 5_000,
} as const;

/** Connection options for a plain-text server on 127.0.0.1:`port`. */
export function plain(port: number, extra: SmtpOptions = {}): SmtpOptions {
  return { port, tls: "none", name: "client.waker.test", timeouts: TEST_TIMEOUTS, ...extra };
}

/** How one send on a fresh connection went. */
export interface SendReport {
  /** The error of the connect or the send, if any. */
  readonly error: unknown;
  /** Where it failed: "connect" or "send" (undefined on success). */
  readonly stage: "connect" | "send" | undefined;
  readonly result: SmtpSendResult | undefined;
  /** The client's extensions (undefined when the connection failed). */
  readonly extensions: ReadonlyMap<string, string> | undefined;
  /** `isClosed` after the send. */
  readonly closed: boolean;
  /** `awaitingFinalReply` after the send (true: the final dot went out and no reply came). */
  readonly awaitingFinalReply: boolean;
  /** Whether RSET worked after a failed send (the session was still usable), if tried. */
  readonly usableAfter: boolean | undefined;
}

/**
 * Connects, sends each envelope in turn (stopping at the first failure), then, after a
 * failure on an open connection, tries RSET to see whether the session is still usable; quits.
 */
export function sendAll(
  options: SmtpOptions,
  envelopes: readonly SmtpEnvelope[],
): Promise<SendReport> {
  const rt = new Runtime();
  return rt.run(
    future(function* () {
      let client: SmtpClient;
      try {
        client = yield* SmtpClient.connect(options);
      } catch (error) {
        return {
          error,
          stage: "connect",
          result: undefined,
          extensions: undefined,
          closed: true,
          awaitingFinalReply: false,
          usableAfter: undefined,
        } as SendReport;
      }
      let result: SmtpSendResult | undefined;
      let error: unknown;
      try {
        for (const envelope of envelopes) result = yield* client.send(envelope);
      } catch (e) {
        error = e;
      }
      const closed = client.isClosed;
      const awaitingFinalReply = client.awaitingFinalReply;
      let usableAfter: boolean | undefined;
      if (error !== undefined && !closed) {
        usableAfter = yield* client
          .reset()
          .map(() => true)
          .catch(() => false);
      }
      yield* client.quit();
      return {
        error,
        stage: error === undefined ? undefined : "send",
        result,
        extensions: client.extensions,
        closed,
        awaitingFinalReply,
        usableAfter,
      } as SendReport;
    }),
  );
}

/** Sends every envelope through one `SmtpPool` (all at once) and reports each outcome, in order. */
export function poolSendAll(
  options: SmtpPoolOptions,
  envelopes: readonly SmtpEnvelope[],
): Promise<SmtpSendOutcome[]> {
  const rt = new Runtime();
  return rt.run(
    future(function* () {
      const pool = new SmtpPool(options);
      const handles = envelopes.map((envelope) => rt.spawn(pool.send(envelope)));
      const outcomes: SmtpSendOutcome[] = [];
      for (const handle of handles) outcomes.push(yield* handle);
      yield* pool.close();
      return outcomes;
    }),
  );
}

/** Asserts that `error` is an `SmtpError` with this reply code and category. */
export function assertSmtpError(
  error: unknown,
  replyCode: number,
  command: RegExp,
): asserts error is SmtpError {
  assert.ok(error instanceof SmtpError, `expected an SmtpError, got ${String(error)}`);
  assert.equal(error.replyCode, replyCode, error.message);
  assert.equal(error.transient, replyCode >= 400 && replyCode < 500);
  assert.equal(error.permanent, replyCode >= 500);
  assert.equal(
    error.code,
    replyCode >= 500 ? "SMTP_PERMANENT" : replyCode >= 400 ? "SMTP_TRANSIENT" : "SMTP_PROTOCOL",
  );
  assert.match(error.command, command);
}

/**
 * Asserts that `error` says the connection was lost: the server's end of stream (an
 * `SmtpError` 421 "closed the connection", transient) or a reset/broken pipe (`IoError`).
 */
export function assertConnectionLost(error: unknown): void {
  if (error instanceof SmtpError) {
    assert.equal(error.replyCode, 421, error.message);
    assert.equal(error.transient, true);
    assert.match(error.message, /closed the connection/);
    return;
  }
  assert.ok(error instanceof IoError, `expected SmtpError 421 or IoError, got ${String(error)}`);
  assert.match(error.code, /^(ECONNRESET|EPIPE)$/);
}

/** Asserts that `error` is the `TimeoutError` of a `ms` limit. */
export function assertTimeout(error: unknown, ms: number): void {
  assert.ok(error instanceof TimeoutError, `expected a TimeoutError, got ${String(error)}`);
  assert.equal(error.ms, ms);
}
