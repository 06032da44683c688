import type { Future } from "../future/future.js";
import { describeValue, InvalidArgumentError } from "../task/errors.js";
import { NondeterminismError, SimulationFailure } from "./errors.js";
import { firstDivergence, formatLogArgs, numbered } from "./event-log.js";
import {
  DEFAULT_PCT_STEPS,
  parseReplay,
  type ReplaySpec,
  type SimScheduling,
} from "./replay-string.js";
import { checkSeed } from "./seeds.js";
import {
  type RunRecord,
  runSimulation,
  type SimulateOptions,
  type Simulation,
  simulate,
} from "./simulate.js";

/** Options of {@link explore}: those of `simulate` (except `seed`), and how many seeds to try. */
export interface ExploreOptions extends Omit<SimulateOptions, "seed"> {
  /** How many seeds to run (default 100; `WAKER_SEEDS=<n>` raises it to n). */
  readonly seeds?: number;
  /** The first seed; seeds are consecutive from it (default 1). */
  readonly firstSeed?: number;
  /** Stop after this many wall-clock milliseconds (after at least one seed), whatever `seeds` says. */
  readonly timeLimitMs?: number;
  /**
   * Run every seed twice, keeping the event log, and fail with {@link NondeterminismError} at the
   * first difference (default `false`).
   */
  readonly determinism?: boolean;
  /** Events shown at the end of a failure report (default 30). */
  readonly tailEvents?: number;
}

/** What an {@link explore} that found nothing ran. */
export interface ExploreReport {
  /** Seeds run. */
  readonly seeds: number;
  /** Runs (twice the seeds with `determinism`). */
  readonly runs: number;
  /** Task polls over every run. */
  readonly polls: number;
  /** The largest number of polls in one run. */
  readonly maxPolls: number;
  /** Wall-clock milliseconds. */
  readonly wallMs: number;
}

/**
 * Runs `fn` under many seeds (`seeds` consecutive ones from `firstSeed`, or as many as fit in
 * `timeLimitMs`), each a {@link simulate} run, and throws on the first failure a
 * {@link SimulationFailure} whose message has the seed, the replay string, the original error (its
 * `cause`), the task dump and the last events of the failing run (run again, deterministically,
 * with the event log on). With `determinism: true` every seed runs twice and any difference in the
 * event logs is a {@link NondeterminismError} showing the first diverging event.
 *
 * Environment: `WAKER_SEED=<seed or replay string>` runs exactly that one run (the schedule in the
 * replay string wins over the options); `WAKER_SEEDS=<n>` widens every run to at least `n` seeds
 * (and ignores `timeLimitMs`), for a longer search in CI or at night. With PCT and no `steps`, the step estimate k starts at 1,000 and then
 * follows the longest run seen so far; the replay string records the k used (so replay PCT runs
 * by their replay string: a bare seed would run with the default k).
 *
 * Synchronous; use it as a test body: `test("no lost update", () => explore({ seeds: 200 }, prog))`.
 *
 * @example
 * ```ts
 * test("the counter is exact under every schedule", () =>
 *   explore({ seeds: 500, scheduling: { pct: 3 } }, () => future(function* () {
 *     const counter = new Counter();
 *     yield* joinAll([incrementer(counter), incrementer(counter)]);
 *     assert.equal(counter.value, 2);
 *   })));
 * ```
 * @throws {SimulationFailure} on the first failing seed.
 * @throws {NondeterminismError} with `determinism: true`, when two runs of a seed differ.
 * @throws {InvalidArgumentError} for bad options or a bad `WAKER_SEED`.
 */
export function explore<T>(
  options: ExploreOptions,
  fn: (sim: Simulation) => Future<T>,
): ExploreReport {
  if (options === null || typeof options !== "object") {
    throw new InvalidArgumentError(
      `explore: options must be an object, got ${describeValue(options)}`,
    );
  }
  const started = performance.now();
  const env = environment();
  const tail = options.tailEvents ?? 30;
  const {
    seeds: _seeds,
    firstSeed: _first,
    timeLimitMs,
    determinism,
    tailEvents: _tail,
    ...simOptions
  } = options;
  if (env.seed !== undefined) {
    const spec = parseReplay(env.seed);
    const record = runSimulation({ ...simOptions, ...specOptions(spec), log: true }, fn);
    if (!record.ok) throw failure(record, spec.seed, 1, 1, tail, record);
    return report(1, 1, record.polls, record.polls, started);
  }
  const asked = positiveInteger(options.seeds, 100, "seeds");
  const count = env.seeds === undefined ? asked : Math.max(asked, env.seeds);
  const first = checkSeed(options.firstSeed ?? 1, "explore (firstSeed)");
  const budget = env.seeds === undefined ? timeLimitMs : undefined;
  if (budget !== undefined && !(typeof budget === "number" && budget > 0)) {
    throw new InvalidArgumentError(
      `explore: timeLimitMs must be a positive number, got ${describeValue(budget)}`,
    );
  }
  const pct = typeof options.scheduling === "object" ? options.scheduling : null;
  /** PCT's k: given, else the default for the first seed and then the longest run so far. */
  let learnedSteps = pct?.steps ?? DEFAULT_PCT_STEPS;
  let longest = 0;
  let polls = 0;
  let maxPolls = 0;
  let runs = 0;
  let i = 0;
  for (; i < count; i++) {
    if (i > 0 && budget !== undefined && performance.now() - started > budget) break;
    const seed = first + i;
    const scheduling: SimScheduling | undefined =
      pct === null ? options.scheduling : { pct: pct.pct, steps: learnedSteps };
    const runOptions: SimulateOptions = {
      ...simOptions,
      seed,
      ...(scheduling === undefined ? {} : { scheduling }),
      ...(determinism === true ? { log: true } : {}),
    };
    const record = runSimulation(runOptions, fn);
    runs++;
    polls += record.polls;
    if (record.polls > maxPolls) maxPolls = record.polls;
    if (determinism === true) {
      const again = runSimulation(runOptions, fn);
      runs++;
      checkSame(record, again, seed);
    }
    if (!record.ok) {
      const logged =
        record.events !== null ? record : runSimulation({ ...runOptions, log: true }, fn);
      throw failure(record, seed, i + 1, count, tail, logged);
    }
    // PCT's k follows the longest run so far (the replay string records the k each run used).
    if (pct !== null && pct.steps === undefined) {
      longest = Math.max(longest, record.polls);
      learnedSteps = Math.max(longest, 1);
    }
  }
  return report(i, runs, polls, maxPolls, started);
}

/**
 * Runs the one simulation a replay string (or a bare seed) names, as {@link simulate} does: the
 * seed and the schedule from the string, the rest from `options`. Returns the output or throws
 * the run's error.
 *
 * @example
 * ```ts
 * // explore reported: replay "17:pct3x412"
 * replay("17:pct3x412", program, { log: true });
 * ```
 * @throws the program's error, or `simulate`'s errors.
 * @throws {InvalidArgumentError} for a malformed replay string.
 */
export function replay<T>(
  replayString: string | number,
  fn: (sim: Simulation) => Future<T>,
  options: Omit<SimulateOptions, "seed"> = {},
): T {
  const spec = parseReplay(String(replayString));
  return simulate({ ...options, ...specOptions(spec) }, fn);
}

function specOptions(spec: ReplaySpec): SimulateOptions {
  return {
    seed: spec.seed,
    ...(spec.scheduling === undefined ? {} : { scheduling: spec.scheduling }),
    ...(spec.pollCost === undefined ? {} : { pollCost: spec.pollCost }),
  };
}

function checkSame(a: RunRecord<unknown>, b: RunRecord<unknown>, seed: number): void {
  const x = a.events?.lines ?? [];
  const y = b.events?.lines ?? [];
  let index = firstDivergence(x, y);
  let what = "event";
  if (index < 0 && (a.ok !== b.ok || describeOutcome(a) !== describeOutcome(b))) {
    index = x.length;
    what = "outcome";
  }
  if (index < 0) return;
  throw new NondeterminismError(
    `explore: seed ${seed} (replay ${a.replay}) ran twice with different results: first different ${what} at #${index}\n` +
      `first run:\n${numbered(x, index - 5, index + 3)}\n  outcome: ${describeOutcome(a)}\n` +
      `second run:\n${numbered(y, index - 5, index + 3)}\n  outcome: ${describeOutcome(b)}\n` +
      "something in the program depends on more than the seed: Math.random or Date captured before the run, performance.now(), a real socket or timer, garbage collection, or state left by an earlier run",
    seed,
    index,
  );
}

function describeOutcome(r: RunRecord<unknown>): string {
  if (r.ok) return `completed with ${formatLogArgs([r.value]).slice(0, 200)}`;
  const e = r.error;
  return `failed: ${e instanceof Error ? `${e.name}: ${e.message.split("\n")[0]}` : String(e)}`;
}

function failure(
  record: RunRecord<unknown>,
  seed: number,
  index: number,
  count: number,
  tail: number,
  logged: RunRecord<unknown>,
): SimulationFailure {
  const e = record.error;
  let errorText =
    e instanceof Error ? (e.stack ?? `${e.name}: ${e.message}`) : `thrown: ${String(e)}`;
  // A task's error reaches the root wrapped (JoinError): show the chain of causes.
  let cause = e instanceof Error ? e.cause : undefined;
  for (let depth = 0; cause !== undefined && depth < 4; depth++) {
    errorText +=
      cause instanceof Error
        ? `\ncaused by: ${cause.stack ?? `${cause.name}: ${cause.message}`}`
        : `\ncaused by: ${String(cause)}`;
    cause = cause instanceof Error ? cause.cause : undefined;
  }
  const dumpText = record.dump === "" || errorText.includes(record.dump) ? "" : `\n${record.dump}`;
  const events = logged.events;
  const tailText =
    events === null ? "" : `\nlast events of the run (of ${events.length}):\n${events.tail(tail)}`;
  return new SimulationFailure(
    `explore: seed ${seed} failed (seed ${index} of ${count}); replay it with WAKER_SEED=${record.replay} or replay("${record.replay}", fn)\n` +
      `${errorText}${dumpText}${tailText}`,
    seed,
    record.replay,
    record.dump,
    { cause: e },
  );
}

function report(
  seeds: number,
  runs: number,
  polls: number,
  maxPolls: number,
  started: number,
): ExploreReport {
  return { seeds, runs, polls, maxPolls, wallMs: performance.now() - started };
}

function positiveInteger(value: unknown, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1) {
    throw new InvalidArgumentError(
      `explore: ${name} must be a positive integer, got ${describeValue(value)}`,
    );
  }
  return value;
}

/** `WAKER_SEED` and `WAKER_SEEDS`, read without importing `node:process` (browsers have none). */
function environment(): { seed?: string; seeds?: number } {
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process
    ?.env;
  const seed = env?.WAKER_SEED;
  const seeds = env?.WAKER_SEEDS;
  const out: { seed?: string; seeds?: number } = {};
  if (seed !== undefined && seed.trim() !== "") out.seed = seed;
  if (seeds !== undefined && seeds.trim() !== "") {
    const n = Number(seeds);
    if (!Number.isInteger(n) || n < 1) {
      throw new InvalidArgumentError(
        `explore: WAKER_SEEDS must be a positive integer, got ${JSON.stringify(seeds)}`,
      );
    }
    out.seeds = n;
  }
  return out;
}
