import assert from "node:assert/strict";
import type { AddressInfo } from "node:net";
import { test } from "node:test";
import { SMTPServer } from "smtp-server";
import { future, Runtime } from "../../src/index.js";
import { IoError } from "../../src/node/index.js";
import { SmtpClient, SmtpError } from "../../src/smtp/index.js";

interface Seen {
  secure: boolean[];
  users: string[];
  messages: number;
}

/** smtp-server with STARTTLS (its built-in self-signed certificate) and AUTH PLAIN/LOGIN. */
async function secureServer(options: { implicit?: boolean } = {}) {
  const seen: Seen = { secure: [], users: [], messages: 0 };
  const server = new SMTPServer({
    logger: false,
    secure: options.implicit === true,
    authMethods: ["PLAIN", "LOGIN"],
    onAuth(auth, _session, callback) {
      if (auth.username === "alice" && auth.password === "s3cret ünï") {
        seen.users.push(auth.username);
        callback(null, { user: auth.username });
      } else {
        callback(new Error("invalid credentials"));
      }
    },
    onData(stream, session, callback) {
      stream.on("data", () => {});
      stream.on("end", () => {
        seen.secure.push(session.secure);
        seen.messages++;
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.server.address() as AddressInfo).port;
  return { port, seen, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

const insecureCert = { rejectUnauthorized: false } as const;
const envelope = {
  from: "alice@example.com",
  to: ["bob@example.com"],
  data: "Subject: tls\r\n\r\nsecret\r\n",
};

for (const method of ["PLAIN", "LOGIN"] as const) {
  test(`STARTTLS then AUTH ${method}, then a message over the secure channel`, async () => {
    const server = await secureServer();
    try {
      await new Runtime().run(
        future(function* () {
          const client = yield* SmtpClient.connect({
            port: server.port,
            tls: "starttls-required",
            tlsOptions: insecureCert,
            auth: { user: "alice", pass: "s3cret ünï", method },
          });
          assert.equal(client.secure, true);
          assert.ok(client.extensions.has("AUTH"), "EHLO was issued again after STARTTLS");
          yield* client.send(envelope);
          yield* client.quit();
        }),
      );
      assert.deepEqual(server.seen.users, ["alice"]);
      assert.deepEqual(server.seen.secure, [true]);
    } finally {
      await server.close();
    }
  });
}

test("implicit TLS (port 465 style)", async () => {
  const server = await secureServer({ implicit: true });
  try {
    await new Runtime().run(
      future(function* () {
        const client = yield* SmtpClient.connect({
          port: server.port,
          tls: "implicit",
          tlsOptions: insecureCert,
          auth: { user: "alice", pass: "s3cret ünï" },
        });
        yield* client.send(envelope);
        yield* client.quit();
      }),
    );
    assert.deepEqual(server.seen.secure, [true]);
  } finally {
    await server.close();
  }
});

test("certificate verification is on by default: a self-signed certificate is refused", async () => {
  const server = await secureServer();
  try {
    const error = await new Runtime()
      .run(SmtpClient.connect({ port: server.port, tls: "starttls-required" }))
      .catch((e: unknown) => e);
    assert.ok(error instanceof IoError, String(error));
    assert.match(error.code, /SELF_SIGNED|UNABLE_TO_VERIFY|CERT/);
  } finally {
    await server.close();
  }
});

test("wrong credentials: SmtpError 535; credentials are never sent without TLS", async () => {
  const server = await secureServer();
  try {
    const rt = new Runtime();
    const wrong = await rt
      .run(
        SmtpClient.connect({
          port: server.port,
          tls: "starttls-required",
          tlsOptions: insecureCert,
          auth: { user: "alice", pass: "nope" },
        }),
      )
      .catch((e: unknown) => e);
    assert.ok(wrong instanceof SmtpError);
    assert.equal(wrong.replyCode, 535);
    assert.equal(wrong.command, "AUTH PLAIN", "the command label never carries the secret");
    const insecure = await rt
      .run(
        SmtpClient.connect({ port: server.port, tls: "none", auth: { user: "alice", pass: "x" } }),
      )
      .catch((e: unknown) => e);
    assert.ok(insecure instanceof SmtpError);
    assert.match(insecure.message, /unencrypted/);
    assert.deepEqual(server.seen.users, []);
  } finally {
    await server.close();
  }
});
