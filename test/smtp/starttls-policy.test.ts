/**
 * STARTTLS policy over a scripted server: `tls: "starttls-required"` against a server that does
 * not offer STARTTLS fails the handshake before any transaction or credentials; an offered
 * STARTTLS over a transport the client cannot upgrade (not a TcpStream, no `upgrade` option) is
 * a typed error, never a silent downgrade to plain text. Either way the transport is dropped.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { future, InvalidArgumentError } from "../../src/index.js";
import { SmtpClient } from "../../src/smtp/index.js";
import { assertSmtpError, clientLines, dialogue, failed, succeeded } from "./scripted.js";

const auth = { user: "alice", pass: "s3cret", method: "PLAIN" } as const;

test("starttls-required without STARTTLS offered: SmtpError, transport dropped, no AUTH or MAIL sent", async () => {
  const { outcome, io, log } = await dialogue(
    (s) => s.hello(["PIPELINING", "AUTH PLAIN LOGIN", "8BITMIME"]),
    (io) => SmtpClient.handshake(io, { tls: "starttls-required", auth, allowInsecureAuth: true }),
  );
  const error = failed(outcome);
  assertSmtpError(error, "SMTP_PROTOCOL", 0);
  assert.equal(error.command, "STARTTLS");
  assert.match(error.message, /does not offer STARTTLS/);
  assert.equal(error.transient, false, "a policy failure: retrying the same server will not help");
  assert.equal(io.dropped, true);
  assert.deepEqual(clientLines(log), ["EHLO localhost"], "nothing after EHLO: no credentials");
});

test("the default (opportunistic) policy goes on in plain text when STARTTLS is not offered", async () => {
  const { outcome, io } = await dialogue(
    (s) => s.hello(["PIPELINING"]),
    (io) => SmtpClient.handshake(io),
  );
  const client = succeeded(outcome);
  assert.equal(client.secure, false);
  assert.equal(client.isClosed, false);
  assert.equal(io.dropped, false);
});

test("STARTTLS offered but the transport cannot be upgraded (no `upgrade` option): typed error, dropped", async () => {
  for (const tls of ["starttls", "starttls-required"] as const) {
    const { outcome, io, server } = await dialogue(
      (s) =>
        future(function* () {
          yield* s.hello(["STARTTLS", "AUTH PLAIN"]);
          yield* s.expect("STARTTLS", "220 2.0.0 ready to start TLS");
        }),
      (io) => SmtpClient.handshake(io, { tls, auth, allowInsecureAuth: true }),
    );
    const error = failed(outcome);
    assert.ok(error instanceof InvalidArgumentError, `${tls}: ${String(error)}`);
    assert.match(
      error.message,
      /STARTTLS over a transport that is not a TcpStream needs the `upgrade` option/,
    );
    assert.equal(io.dropped, true, `${tls}: the half-negotiated connection is closed`);
    assert.deepEqual(
      server.lines,
      ["EHLO localhost", "STARTTLS"],
      `${tls}: no credentials in clear`,
    );
  }
});
