/**
 * Why PCT: a bug that needs one preemption at one precise point of a long task is almost never
 * hit by uniform random choice (the short task runs early with overwhelming probability), but
 * PCT (Burckhardt et al., ASPLOS 2010) hits it with probability about 1 / (2k) per run: the long
 * task must get the higher priority (1/2) and the change point must land on that step (1/k).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { type AsyncGenerator, asyncFn, future, joinAll, spawn, yieldNow } from "../../src/index.js";
import { explore } from "../../src/sim/index.js";
import { failureOf, type Program, seedsRun } from "./support.js";

const STEPS = 50;
const WINDOW = 37;

interface Shared {
  /** True only between step WINDOW and step WINDOW + 1 of the long task. */
  halfWritten: boolean;
}

/** A long task whose state is inconsistent across exactly one of its scheduling points. */
const longTask = asyncFn(function* (s: Shared): AsyncGenerator<void> {
  for (let i = 0; i < STEPS; i++) {
    if (i === WINDOW) s.halfWritten = true;
    if (i === WINDOW + 1) s.halfWritten = false;
    yield* yieldNow();
  }
});

/** A short task that reads the state once, after one yield. */
const shortTask = asyncFn(function* (s: Shared): AsyncGenerator<void> {
  yield* yieldNow();
  assert.equal(s.halfWritten, false, "read a half-written state");
});

const program: Program = () =>
  future(function* () {
    const s: Shared = { halfWritten: false };
    yield* joinAll([spawn(longTask(s)), spawn(shortTask(s))]);
  });

const SEEDS = 1000;

test(`PCT (depth 2) catches a one-step window of a ${STEPS}-step task within ${SEEDS} seeds`, () => {
  const failure = failureOf(() => explore({ seeds: SEEDS, scheduling: { pct: 2 } }, program));
  // The short task's assertion, through its JoinHandle: the JoinError's cause.
  assert.match(String((failure.cause as Error).cause), /half-written/);
  assert.match(failure.message, /caused by: AssertionError.*half-written/);
  assert.match(failure.replay, /^\d+:pct2x\d+$/);
});

test(`uniform random scheduling misses it in the same ${SEEDS} seeds`, () => {
  const report = explore({ seeds: SEEDS }, program);
  assert.equal(report.seeds, seedsRun(SEEDS));
});
