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
});
