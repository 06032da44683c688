import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

const demo = fileURLToPath(new URL("../../examples/smtp-demo.js", import.meta.url));

test("the main demo sends its emails through the embedded server and narrates one with --trace", async () => {
  const output = await new Promise<string>((resolve, reject) => {
    execFile(
      process.execPath,
      [demo, "--count", "30", "--concurrency", "4", "--trace"],
      (error, stdout) => {
        if (error) reject(error);
        else resolve(stdout);
      },
    );
  });
  assert.match(output, /sent 30, failed 0, unknown 0/);
  assert.match(output, /the embedded server received 30 emails/);
  assert.match(output, /poll -> Pending: the socket stored the task's waker/);
  assert.match(output, /socket: the server's reply arrived -> waker\.wake\(\)/);
  assert.match(output, /poll -> Ready: "250/);
  // The seed's words, in order: polled, Pending, waker stored, wake, polled again, Ready.
  assert.match(
    output,
    /polls send_email\(#0\) for the first time[\s\S]*-> Pending[\s\S]*stored the task's waker[\s\S]*waker\.wake\(\)[\s\S]*polls send_email\(#0\) again[\s\S]*send_email\(#0\) -> Ready\(ok/,
  );
  assert.match(output, /\d+ emails\/s \| latency p50 [\d.]+ ms, p99 [\d.]+ ms/);
  assert.match(
    output,
    /\] 30\/30 \(sent 30, failed 0, unknown 0\)/,
    "plain progress lines off a TTY",
  );
});
