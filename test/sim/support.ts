/**
 * Shared checks of the simulator tests: a broken program is caught within a stated number of
 * seeds, its seed replays the same failure (same error, same event log), and the corrected
 * program passes the same seeds.
 */
import assert from "node:assert/strict";
import type { Future } from "../../src/index.js";
import {
  type ExploreOptions,
  explore,
  parseReplay,
  replay,
  type SimulateOptions,
  type Simulation,
  SimulationFailure,
  simulate,
} from "../../src/sim/index.js";

export type Program = (sim: Simulation) => Future<unknown>;

/** The failure `fn` throws, which must be a {@link SimulationFailure}. */
export function failureOf(fn: () => unknown): SimulationFailure {
  try {
    fn();
  } catch (error) {
    if (error instanceof SimulationFailure) return error;
    throw error;
  }
  assert.fail("expected explore to report a failing seed");
}

/** Runs one simulation with the event log on: its error (or "ok") and its events. */
export function loggedRun(
  options: SimulateOptions,
  program: Program,
): { error: unknown; events: string[] } {
  let handle: Simulation | undefined;
  let error: unknown = "ok";
  try {
    simulate({ ...options, log: true }, (sim) => {
      handle = sim;
      return program(sim);
    });
  } catch (e) {
    error = e;
  }
  return { error, events: [...(handle?.events?.lines ?? [])] };
}

/** The message of an error (or the value itself). */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Checks the whole story of a deliberately broken program: `explore` catches it within `seeds`
 * seeds with an error matching `expected`; replaying the reported string twice gives that same
 * error and the same event log; and `fixed` passes all `seeds` seeds. Returns the failure.
 */
export function assertCaughtAndReplayed(
  broken: Program,
  fixed: Program,
  options: ExploreOptions & { readonly seeds: number },
  expected: RegExp,
): SimulationFailure {
  const failure = failureOf(() => explore(options, broken));
  const first = options.firstSeed ?? 1;
  assert.ok(
    failure.seed >= first && failure.seed < first + options.seeds,
    `seed ${failure.seed} within ${options.seeds}`,
  );
  assert.match(messageOf(failure.cause), expected);
  assert.match(failure.message, new RegExp(`WAKER_SEED=${failure.replay.replace(/[.]/g, "\\.")}`));
  // The replay string alone reproduces the failure, with the same event log, every time.
  assert.throws(
    () => replay(failure.replay, broken),
    (e: unknown) => messageOf(e) === messageOf(failure.cause),
  );
  const spec = parseReplay(failure.replay);
  assert.equal(spec.seed, failure.seed);
  const a = loggedRun(spec, broken);
  const b = loggedRun(spec, broken);
  assert.equal(messageOf(a.error), messageOf(failure.cause));
  assert.deepEqual(a.events, b.events);
  assert.ok(a.events.length > 0);
  // The corrected program passes every one of the same seeds.
  const report = explore(options, fixed);
  assert.equal(report.seeds, seedsRun(options.seeds));
  return failure;
}

/** How many seeds `explore({ seeds })` runs: `WAKER_SEEDS` widens the count; `WAKER_SEED` runs one. */
export function seedsRun(seeds: number): number {
  if ((process.env.WAKER_SEED ?? "").trim() !== "") return 1;
  const widened = process.env.WAKER_SEEDS;
  return widened !== undefined && widened.trim() !== "" ? Math.max(seeds, Number(widened)) : seeds;
}
