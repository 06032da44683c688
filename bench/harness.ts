/**
 * Timing, rounds and medians: runs every implementation of a workload side by side in this one
 * process, rotating the run order from round to round, with a full GC before each run.
 */

/** The four implementations every workload is written for, native first (the baseline). */
export const IMPLEMENTATIONS = ["native", "waker", "effect", "effection"] as const;

/** One of {@link IMPLEMENTATIONS}. */
export type ImplName = (typeof IMPLEMENTATIONS)[number];

/** What one run of an implementation reports. */
export interface Sample {
  /** The measurement, in the workload's unit (ns/op, bytes/task). */
  readonly value: number;
  /** A count of completed work, compared against the workload's `expected(n)`. */
  readonly check: number;
  /**
   * For timed workloads: the process CPU time (user + system, all threads) per operation, in ns.
   * Unlike wall time it does not grow while other processes hold the shared cores; GC helper
   * threads can make it exceed wall time.
   */
  readonly cpu?: number;
  /**
   * Further measurements of the run, keyed by the names in the workload's `extras` (for example a
   * mean lateness in ms); printed in a second table.
   */
  readonly extra?: Readonly<Record<string, number>>;
}

/** Runs the workload once at size `n` and reports one {@link Sample}. */
export type Implementation = (n: number) => Promise<Sample>;

/** An implementation a workload leaves out on purpose, with the reason printed as a footnote. */
export interface Omitted {
  readonly omitted: string;
}

/** A benchmark: one idea, one implementation per runtime. */
export interface Workload {
  readonly name: string;
  /** One line saying what is measured. */
  readonly description: string;
  /** Unit of {@link Sample.value}. */
  readonly unit: string;
  /** Sizes for a full run, ascending. */
  readonly sizes: readonly number[];
  /** Sizes for `--quick`, ascending. */
  readonly quickSizes: readonly number[];
  /** The `check` every implementation must report at size `n`. */
  expected(n: number): number;
  /** Every implementation, or the reason it is left out (never silently). */
  readonly implementations: Readonly<Record<ImplName, Implementation | Omitted>>;
  /**
   * Names (with units) of the further values each {@link Sample} reports in `extra`, in column
   * order; the median over the rounds of each is printed in a second table.
   */
  readonly extras?: readonly string[];
  /**
   * Seconds of every run that do not grow with `n` (timers that sleep up to 1 s whatever their
   * number): the round-time prediction extrapolates only the rest. Default 0.
   */
  readonly fixedSeconds?: number;
  /** Largest `n` an implementation is run at, with the reason printed when it is capped. */
  readonly caps?: Readonly<Partial<Record<ImplName, { readonly n: number; readonly why: string }>>>;
  /** How each implementation is written, printed under the table. */
  readonly notes?: Readonly<Partial<Record<ImplName, string>>>;
}

/** The outcome for one implementation at one size. */
export interface Result {
  readonly workload: string;
  readonly unit: string;
  readonly n: number;
  readonly impl: ImplName;
  /** One value per counted round (empty when skipped). */
  readonly values: number[];
  /** CPU ns per operation of each counted round, for timed workloads. */
  readonly cpuValues: number[];
  /** Per name of the workload's `extras`: the value of each counted round. */
  readonly extraValues: Readonly<Record<string, number[]>>;
  /** Wall-clock seconds of each counted round, setup and teardown included. */
  readonly seconds: number[];
  /** Why the implementation was not run (or stopped) at this size. */
  skipped?: string;
  /** Set when a run reported the wrong `check`. */
  failed?: string;
}

/** How much to run. */
export interface RunOptions {
  readonly rounds: number;
  readonly quick: boolean;
  /** A single round predicted or measured above this many seconds is not run (again). */
  readonly roundLimitSeconds: number;
  /**
   * Seconds one implementation may spend on one size: it runs fewer rounds (at least one, noted)
   * when the next round would go past this.
   */
  readonly sizeBudgetSeconds: number;
  /** Called when a result is final, to show progress. */
  readonly onResult?: (result: Result) => void;
}

type Gc = () => void;

/** Size of the untimed run before each timed sample (see `runWorkload`). */
const REWARM_SIZE = 1000;

/** A timed sample repeats the workload until it has run this long (one run if it takes longer). */
const MIN_SAMPLE_SECONDS = 0.2;

/**
 * Runs a full (major) garbage collection, twice so that objects freed by finalizers go too.
 *
 * @throws {Error} when Node was started without `--expose-gc`.
 */
export function collectGarbage(): void {
  const gc = (globalThis as { gc?: Gc }).gc;
  if (gc === undefined) {
    throw new Error("the benchmark needs `node --expose-gc` (npm run bench passes it)");
  }
  gc();
  gc();
}

/** Bytes of the V8 heap in use now (`process.memoryUsage().heapUsed`). */
export function heapUsed(): number {
  return process.memoryUsage().heapUsed;
}

/** Monotonic time in nanoseconds. */
export function nowNs(): bigint {
  return process.hrtime.bigint();
}

/**
 * Times `body` (setup belongs outside it) and reports ns per operation; `body` resolves to the
 * completed-work count used as the {@link Sample.check}.
 */
export async function timed(ops: number, body: () => Promise<number>): Promise<Sample> {
  const cpuStart = process.cpuUsage();
  const start = nowNs();
  const check = await body();
  const elapsed = Number(nowNs() - start);
  const cpu = process.cpuUsage(cpuStart);
  return { value: elapsed / ops, check, cpu: ((cpu.user + cpu.system) * 1000) / ops };
}

/** The middle value (mean of the two middle values for an even count); NaN when empty. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** `items` rotated left by `by` places: round `r` starts with a different implementation. */
export function rotate<T>(items: readonly T[], by: number): T[] {
  const k = ((by % items.length) + items.length) % items.length;
  return [...items.slice(k), ...items.slice(0, k)];
}

/**
 * Runs one workload at all its sizes: a warm-up run per implementation at the smallest size, then
 * for each size `rounds` rounds, each round running every implementation once in an order rotated
 * by the round number, with a full GC and a small untimed run (1,000 operations) before each
 * timed sample; a sample repeats the workload until it has run for 200 ms (the mean per run, also
 * of each `extra` value). An implementation is skipped at a size (with the reason recorded) when
 * the workload leaves it out, when it is capped there, or when a round is predicted to exceed the
 * round limit (extrapolated from the sizes measured before, beyond the workload's
 * `fixedSeconds`: linearly, or with the measured exponent when the cost already grew faster than
 * linearly). It stops early (noted) after a round that exceeded the round limit, or when the
 * next round would exceed its time budget for the size.
 */
export async function runWorkload(workload: Workload, options: RunOptions): Promise<Result[]> {
  const sizes = options.quick ? workload.quickSizes : workload.sizes;
  const results: Result[] = [];
  const smallest = sizes[0];
  if (smallest === undefined) return results;
  for (const impl of IMPLEMENTATIONS) {
    const run = implementationOf(workload, impl);
    if (run === null) continue;
    const cap = workload.caps?.[impl];
    const n = Math.min(smallest, cap?.n ?? smallest, 10_000);
    // Warm up (JIT): at least one run, up to three within half a second.
    const start = nowNs();
    for (let i = 0; i < 3 && (i === 0 || Number(nowNs() - start) < 5e8); i++) {
      collectGarbage();
      await run(n);
    }
  }
  /** Per implementation: (n, median seconds per round) at the sizes measured so far. */
  const history = new Map<ImplName, { n: number; seconds: number }[]>();
  for (const n of sizes) {
    const sizeResults = new Map<ImplName, Result>();
    const active: ImplName[] = [];
    for (const impl of IMPLEMENTATIONS) {
      const result: Result = {
        workload: workload.name,
        unit: workload.unit,
        n,
        impl,
        values: [],
        cpuValues: [],
        extraValues: Object.fromEntries((workload.extras ?? []).map((name) => [name, []])),
        seconds: [],
      };
      sizeResults.set(impl, result);
      results.push(result);
      const implementation = workload.implementations[impl];
      if (typeof implementation !== "function") {
        result.skipped = `not implemented: ${implementation.omitted}`;
        continue;
      }
      const cap = workload.caps?.[impl];
      if (cap !== undefined && n > cap.n) {
        result.skipped = `capped at n=${formatCount(cap.n)}: ${cap.why}`;
        continue;
      }
      const predicted = predictSeconds(history.get(impl) ?? [], n, workload.fixedSeconds ?? 0);
      if (predicted > options.roundLimitSeconds) {
        result.skipped = `skipped: one round predicted to take ~${predicted.toFixed(0)} s (limit ${options.roundLimitSeconds} s)`;
        continue;
      }
      active.push(impl);
    }
    for (let round = 0; round < options.rounds && active.length > 0; round++) {
      for (const impl of rotate([...active], round)) {
        const result = sizeResults.get(impl)!;
        const run = implementationOf(workload, impl)!;
        if (result.skipped !== undefined || result.failed !== undefined) continue;
        const spent = result.seconds.reduce((a, b) => a + b, 0);
        const last = result.seconds[result.seconds.length - 1] ?? 0;
        if (spent + last > options.sizeBudgetSeconds) {
          result.skipped = `${result.values.length} of ${options.rounds} rounds: ~${last.toFixed(1)} s per round, budget ${options.sizeBudgetSeconds} s per implementation and size`;
          continue;
        }
        // Every implementation gets the same preparation: a full GC (so no run pays for the
        // previous one's garbage), then a small untimed run, because a forced full GC can throw
        // away optimized code and type feedback that a running program would keep.
        collectGarbage();
        try {
          await run(Math.min(n, REWARM_SIZE));
        } catch {
          // A failure shows in the timed run below.
        }
        // One sample repeats the workload until it has run for MIN_SAMPLE_SECONDS, so that a
        // size that takes a few milliseconds is not measured by one cold run and the timer's noise.
        const start = nowNs();
        let reps = 0;
        let valueSum = 0;
        let cpuSum = 0;
        let cpuCount = 0;
        const extraSums = new Map<string, number>();
        const expected = workload.expected(n);
        do {
          let sample: Sample;
          try {
            sample = await run(n);
          } catch (error) {
            result.failed = `threw: ${error instanceof Error ? error.message : String(error)}`;
            break;
          }
          if (sample.check !== expected) {
            result.failed = `check failed: reported ${sample.check}, expected ${expected}`;
            break;
          }
          reps++;
          valueSum += sample.value;
          if (sample.cpu !== undefined) {
            cpuSum += sample.cpu;
            cpuCount++;
          }
          for (const name of workload.extras ?? []) {
            extraSums.set(name, (extraSums.get(name) ?? 0) + (sample.extra?.[name] ?? Number.NaN));
          }
        } while (Number(nowNs() - start) / 1e9 < MIN_SAMPLE_SECONDS);
        if (result.failed !== undefined) continue;
        const seconds = Number(nowNs() - start) / 1e9 / reps;
        result.values.push(valueSum / reps);
        if (cpuCount > 0) result.cpuValues.push(cpuSum / cpuCount);
        for (const [name, sum] of extraSums) result.extraValues[name]!.push(sum / reps);
        result.seconds.push(seconds);
        if (seconds > options.roundLimitSeconds && round + 1 < options.rounds) {
          result.skipped = `stopped after ${result.values.length} round(s): a round took ${seconds.toFixed(1)} s (limit ${options.roundLimitSeconds} s)`;
        }
      }
    }
    collectGarbage();
    for (const impl of IMPLEMENTATIONS) {
      const result = sizeResults.get(impl)!;
      if (result.seconds.length > 0) {
        const list = history.get(impl) ?? [];
        list.push({ n, seconds: median(result.seconds) });
        history.set(impl, list);
      }
      options.onResult?.(result);
    }
  }
  return results;
}

/** The implementation of `impl`, or `null` when the workload leaves it out. */
function implementationOf(workload: Workload, impl: ImplName): Implementation | null {
  const implementation = workload.implementations[impl];
  return typeof implementation === "function" ? implementation : null;
}

/**
 * Seconds one round at `n` should take, from the rounds measured at smaller sizes: `fixed`
 * seconds plus the rest, extrapolated.
 */
function predictSeconds(
  history: readonly { n: number; seconds: number }[],
  n: number,
  fixed: number,
): number {
  const last = history[history.length - 1];
  if (last === undefined) return 0;
  const growth = n / last.n;
  const lastVariable = Math.max(last.seconds - fixed, 0);
  const before = history[history.length - 2];
  if (before !== undefined) {
    // Superlinear so far: extrapolate with the measured exponent (at least 1).
    const beforeVariable = Math.max(before.seconds - fixed, 0);
    const exponent = Math.log(lastVariable / beforeVariable) / Math.log(last.n / before.n);
    if (Number.isFinite(exponent) && exponent > 1) return fixed + lastVariable * growth ** exponent;
  }
  return fixed + lastVariable * growth;
}

/** `1e6` as "1,000,000". */
export function formatCount(n: number): string {
  return n.toLocaleString("en-US");
}
