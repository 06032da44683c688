import assert from "node:assert/strict";
import { test } from "node:test";
import { future, main, nodePlatform, type Platform, pending, Runtime } from "../../src/index.js";
import { ticks } from "../helpers.js";

/** A platform whose process hooks are recorded instead of touching the real process. */
function fakeProcess() {
  const state = {
    exitCode: undefined as number | undefined,
    exited: undefined as number | undefined,
    errors: [] as unknown[],
    interrupt: null as (() => void) | null,
  };
  const platform: Platform = {
    ...nodePlatform(),
    reportError: (_message, error) => state.errors.push(error),
    onInterrupt: (fn) => {
      state.interrupt = fn;
      return () => {
        state.interrupt = null;
      };
    },
    setExitCode: (code) => {
      state.exitCode = code;
    },
    exit: (code) => {
      state.exited = code;
    },
  };
  return { state, platform };
}

test("main: exit code 0 when the root completes", async () => {
  const { state, platform } = fakeProcess();
  await main(ticks(2), { runtime: new Runtime(), platform });
  assert.equal(state.exitCode, 0);
  assert.equal(state.interrupt, null, "stops listening for SIGINT");
});

test("main: exit code 1 and the error printed when the root throws", async () => {
  const { state, platform } = fakeProcess();
  const error = new Error("failed");
  await main(
    future(function* () {
      yield* ticks(1);
      throw error;
    }),
    { runtime: new Runtime(), platform },
  );
  assert.equal(state.exitCode, 1);
  assert.deepEqual(state.errors, [error]);
});

test("main: SIGINT cancels the root, its async finalizers run, exit code 130", async () => {
  const { state, platform } = fakeProcess();
  const log: string[] = [];
  const rt = new Runtime();
  const done = main(
    future(function* () {
      try {
        yield* ticks(1_000_000);
      } finally {
        log.push("cleanup start");
        yield* ticks(3);
        log.push("cleanup end");
      }
    }),
    { runtime: rt, platform },
  );
  await rt.run(ticks(5));
  state.interrupt!();
  await done;
  assert.deepEqual(log, ["cleanup start", "cleanup end"]);
  assert.equal(state.exitCode, 130);
  assert.equal(state.exited, undefined);
});

test("main: a second SIGINT exits at once", async () => {
  const { state, platform } = fakeProcess();
  const rt = new Runtime();
  const done = main(
    future(function* () {
      try {
        yield* ticks(1_000_000);
      } finally {
        yield* ticks(1_000_000);
      }
    }),
    { runtime: rt, platform },
  );
  await rt.run(ticks(5));
  state.interrupt!();
  await rt.run(ticks(5));
  const interrupt = state.interrupt!;
  interrupt();
  assert.equal(state.exited, 130);
  await rt.shutdown();
  await done;
});

test("main: a deadlocked root exits 1 with the dump", async () => {
  const { state, platform } = fakeProcess();
  await main(pending(), { runtime: new Runtime(), platform });
  assert.equal(state.exitCode, 1);
  assert.match(String(state.errors[0]), /DeadlockError/);
});
