/**
 * The simulated host platform (SimPlatform) on its own: the Node event-loop order of its queues
 * (microtasks, then due timers, then immediates, then a jump to the next timer), what counts as
 * idle and as a pending timer once timers are cancelled, and its host seams (error reports,
 * interrupts).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { seededRandom } from "../../src/index.js";
import type { Platform } from "../../src/platform/platform.js";
import { EventLog } from "../../src/sim/event-log.js";
import { SimPlatform } from "../../src/sim/sim-platform.js";

const LIMITS = { maxSteps: 1_000, maxTime: 1e9 };

test("a timer due now runs after the microtasks and before the immediates, without a time jump", () => {
  const log = new EventLog();
  const host = new SimPlatform(seededRandom(1), log);
  const order: string[] = [];
  host.setImmediate(() => order.push("immediate"));
  host.setTimer(() => order.push("timer 0"), 0);
  host.setTimer(() => order.push("timer NaN"), Number.NaN);
  host.setTimer(() => order.push("timer 5"), 5);
  host.queueMicrotask(() => {
    order.push("microtask");
    host.queueMicrotask(() => order.push("nested microtask"));
  });
  assert.equal(
    host.runUntil(() => false, LIMITS),
    "idle",
  );
  assert.deepEqual(order, [
    "microtask",
    "nested microtask",
    "timer 0",
    "timer NaN",
    "immediate",
    "timer 5",
  ]);
  // Only the timer in the future moved the clock.
  assert.deepEqual(log.lines, ["time 5"]);
  assert.equal(host.now(), 5);
  assert.equal(host.steps, 6);
});

test("cancelled timers are neither pending nor keep the host busy, and never run", () => {
  const host = new SimPlatform(seededRandom(1), null);
  assert.equal(host.isIdle(), true);
  assert.equal(host.pendingTimers, 0);
  const ran: number[] = [];
  const t1 = host.setTimer(() => ran.push(1), 10);
  const t2 = host.setTimer(() => ran.push(2), 20);
  const t3 = host.setTimer(() => ran.push(3), 30);
  assert.equal(host.pendingTimers, 3);
  assert.equal(host.isIdle(), false);
  // Cancelled in the middle of the heap, then at its top.
  t2.clear();
  assert.equal(host.pendingTimers, 2);
  t1.clear();
  assert.equal(host.pendingTimers, 1);
  assert.equal(host.isIdle(), false);
  t3.clear();
  assert.equal(host.pendingTimers, 0);
  assert.equal(host.isIdle(), true);
  assert.equal(
    host.runUntil(() => false, LIMITS),
    "idle",
  );
  assert.deepEqual(ran, []);
  assert.equal(host.now(), 0);
  // A queued immediate is not idle either.
  host.setImmediate(() => {});
  assert.equal(host.isIdle(), false);
});

test("error reports go to the run's handler; interrupts and exit are inert", () => {
  const reports: [string, unknown][] = [];
  const host = new SimPlatform(seededRandom(1), null, (message, error) =>
    reports.push([message, error]),
  );
  const error = new Error("x");
  host.reportError("a task failed", error);
  assert.deepEqual(reports, [["a task failed", error]]);
  // The default handler ignores reports.
  new SimPlatform(seededRandom(1), null).reportError("ignored", error);
  let interrupted = false;
  const platform: Platform = host;
  const remove = platform.onInterrupt(() => {
    interrupted = true;
  });
  assert.equal(typeof remove, "function");
  remove();
  platform.setExitCode(1);
  platform.exit(1);
  assert.equal(interrupted, false);
  assert.equal(host.isIdle(), true);
});
