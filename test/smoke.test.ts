import assert from "node:assert/strict";
import { test } from "node:test";
import { future, Runtime } from "../src/index.js";

test("a runtime runs an async block to its value", async () => {
  const rt = new Runtime();
  assert.equal(
    await rt.run(
      future(function* () {
        return 42;
      }),
    ),
    42,
  );
});
