/**
 * Handing a TcpStream's socket over (`detach`, what a STARTTLS upgrade does): every byte that
 * arrived before the handover is discarded, both those queued for reading and those Node kept in
 * the socket's own buffer while reading was paused (RFC 3207 section 6: nothing received before
 * the TLS handshake may be trusted). The socket stays open; what arrives afterwards is delivered.
 */
import assert from "node:assert/strict";
import type * as net from "node:net";
import { test } from "node:test";
import { future, Runtime, read } from "../../src/index.js";
import { TcpListener, TcpStream } from "../../src/node/index.js";
import { MockTask } from "../../src/testing/index.js";

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

test("detach discards what arrived before the handover, including Node's paused buffer", async () => {
  const rt = new Runtime();
  const { client, server } = await rt.run(
    future(function* () {
      const listener = yield* TcpListener.bind({ port: 0 });
      const client = yield* TcpStream.connect({ port: listener.localAddr().port });
      const server = yield* listener.accept();
      listener.close();
      return { client, server };
    }),
  );
  const raw = (client as unknown as { socket: net.Socket }).socket;
  // More than the read queue holds (16 KiB at least): the stream pauses and Node keeps the rest.
  const serverSocket = (server as unknown as { socket: net.Socket }).socket;
  serverSocket.write(Buffer.alloc(256 * 1024, 0x41));
  for (let i = 0; i < 5000 && raw.readableLength === 0; i++) await turn();
  assert.ok(raw.readableLength > 0, "bytes wait in Node's own buffer while the stream is paused");

  const socket = client.detach();
  assert.equal(socket, raw);
  assert.equal(socket.readableLength, 0, "Node's buffer was emptied");
  assert.equal(socket.destroyed, false, "the socket is handed over, not closed");
  assert.equal(new MockTask(read(client, new Uint8Array(8))).poll(), 0, "the old stream reads end");

  // The rest of the 256 KiB still in flight is the new owner's to read; after it, "after".
  serverSocket.write("after");
  let received = "";
  socket.on("data", (chunk: Buffer) => {
    received += chunk.toString("latin1");
  });
  socket.resume();
  for (let i = 0; i < 5000 && !received.endsWith("after"); i++) await turn();
  assert.ok(received.endsWith("after"));
  assert.ok(
    received.length - 5 < 256 * 1024 - 16 * 1024,
    "at least the queued bytes and Node's buffer were not delivered again",
  );
  socket.destroy();
  server.drop();
});
