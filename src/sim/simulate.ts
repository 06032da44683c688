import { Future } from "../future/future.js";
import { setRandomSource } from "../future/random-source.js";
import { seededRandom } from "../platform/seeded-random.js";
import { enterRuntime } from "../runtime/current.js";
import { DeadlockError } from "../runtime/errors.js";
import { Runtime, type SchedulingPolicy } from "../runtime/runtime.js";
import type { Context } from "../task/context.js";
import { debugMode, setDebugMode } from "../task/debug.js";
import { describeValue, InvalidArgumentError } from "../task/errors.js";
import { Pending, type Poll } from "../task/poll.js";
import { enterSimulation, type FaultSource } from "./current.js";
import { SimulationLimitError, UnhandledTaskError } from "./errors.js";
import { EventLog, formatLogArgs } from "./event-log.js";
import { SimNetwork, type SimNetworkOptions } from "./net/index.js";
import {
  DEFAULT_PCT_STEPS,
  DEFAULT_POLL_COST,
  formatReplay,
  type SimScheduling,
} from "./replay-string.js";
import { FifoScheduler, PctScheduler, RandomScheduler } from "./schedulers.js";
import {
  checkSeed,
  deriveSeed,
  hashString,
  mix,
  STREAM_FAULT,
  STREAM_NETWORK,
  STREAM_PLATFORM,
  STREAM_SCHEDULER,
  STREAM_SELECT,
  STREAM_USER,
  unitOf,
} from "./seeds.js";
import { formatTime, SimPlatform, type StopReason } from "./sim-platform.js";

/** Options of {@link simulate}. */
export interface SimulateOptions {
  /** The run's seed (a non-negative safe integer); default 0. Every random choice derives from it. */
  readonly seed?: number;
  /**
   * How ready tasks are ordered: `"random"` (default: uniformly among the ready tasks),
   * `{ pct: depth }` (PCT, probabilistic concurrency testing, for bugs that need several
   * preemptions at the right points; `steps` is its estimate of polls per run) or `"fifo"` (the
   * production order).
   */
  readonly scheduling?: SimScheduling;
  /**
   * Virtual milliseconds each task poll takes: a finite number >= 0 (default 0.001, one
   * microsecond).
   */
  readonly pollCost?: number;
  /** Steps (task polls plus timer and host callbacks) before the run fails (default 1,000,000). */
  readonly maxSteps?: number;
  /**
   * Virtual milliseconds before the run fails (default 7 days): a timer due later, or polls whose
   * cost takes the clock past it.
   */
  readonly maxTime?: number;
  /**
   * Record the event log (`sim.events`): polls, wakes, time jumps, the deliveries and faults of the
   * run's simulated networks, and `sim.log` lines. Default off.
   */
  readonly log?: boolean;
  /** Let `fault()` points fire (default `true`); `false` turns every one off. */
  readonly faults?: boolean;
  /**
   * A task that failed with nobody to join it: `"fail"` (default) ends the run with
   * {@link UnhandledTaskError}; `"ignore"` lets the run go on.
   */
  readonly unhandledErrors?: "fail" | "ignore";
  /**
   * Debug mode for the run (waker contract checks, spawn sites in dumps); the process-wide setting
   * is restored afterwards.
   */
  readonly debug?: boolean;
}

/** Default {@link SimulateOptions.maxSteps}. */
export const DEFAULT_MAX_STEPS = 1_000_000;
/** Default {@link SimulateOptions.maxTime}: 7 days of virtual time. */
export const DEFAULT_MAX_TIME = 7 * 24 * 60 * 60 * 1000;
/** What `Date.now()` reads at virtual time 0 inside a simulation: 2026-01-01T00:00:00Z. */
export const SIM_EPOCH = Date.UTC(2026, 0, 1);

/**
 * The handle a simulated program gets: its seed, seeded randomness, virtual time, an output log
 * that is part of the event log, and the runtime it runs on.
 *
 * @example
 * ```ts
 * simulate({ seed: 7 }, (sim) => future(function* () {
 *   const jitter = Math.floor(sim.random() * 100);
 *   yield* sleep(jitter);
 *   sim.log("woke at", sim.now());
 * }));
 * ```
 */
export class Simulation implements FaultSource {
  /** The run's seed. */
  readonly seed: number;
  /** The string that replays this run exactly (`WAKER_SEED=...` or `replay(...)`). */
  readonly replay: string;
  /** The runtime the program runs on (`spawn` inside the program uses it too). */
  readonly runtime: Runtime;
  /** The event log, when the run keeps one (option `log`); else `null`. */
  readonly events: EventLog | null;
  /** @internal */
  readonly host: SimPlatform;
  /** A seeded number in [0, 1) (the same stream as `Math.random` inside the run). */
  readonly random: () => number;
  private readonly faultRandom: () => number;
  private readonly faultsOn: boolean;
  private readonly active = new Map<string, boolean>();
  private defaultNetwork: SimNetwork | null = null;
  private networks = 0;

  /** @internal */
  constructor(
    seed: number,
    replay: string,
    runtime: Runtime,
    host: SimPlatform,
    events: EventLog | null,
    faults: boolean,
  ) {
    this.seed = seed;
    this.replay = replay;
    this.runtime = runtime;
    this.host = host;
    this.events = events;
    this.faultsOn = faults;
    this.random = seededRandom(deriveSeed(seed, STREAM_USER));
    this.faultRandom = seededRandom(deriveSeed(seed, STREAM_FAULT));
  }

  /** Virtual milliseconds since the start of the run. */
  now(): number {
    return this.host.time;
  }

  /**
   * Records one line of output in the event log (when the run keeps one): it is compared between
   * the two runs of a determinism check and shown at the end of a failure report.
   */
  log(...values: unknown[]): void {
    this.events?.push(`log ${formatLogArgs(values)}`);
  }

  /**
   * The run's simulated network (created on first use, with default links): hosts, listeners and
   * connections with the interfaces of `TcpListener`/`TcpStream`, latency, loss, partitions,
   * resets and crashes. Its random choices come from their own stream of the seed.
   *
   * @example
   * ```ts
   * const server = sim.network.host("10.0.0.2");
   * ```
   */
  get network(): SimNetwork {
    this.defaultNetwork ??= this.createNetwork();
    return this.defaultNetwork;
  }

  /**
   * A further simulated network with its own options (link latency, loss, buffer sizes), seeded
   * from the run's seed: the n-th network created in a run always gets the same stream.
   *
   * @example
   * ```ts
   * const net = sim.createNetwork({ link: { latency: { min: 1, max: 200 } } });
   * ```
   */
  createNetwork(options: Omit<SimNetworkOptions, "random"> = {}): SimNetwork {
    const stream = STREAM_NETWORK + 16 * this.networks++;
    const random = seededRandom(deriveSeed(this.seed, stream));
    const events = this.events;
    if (events === null) return new SimNetwork({ ...options, random });
    // The run keeps an event log: every delivery and fault goes into it too, so a determinism
    // check compares the network's events, not only the polls they cause.
    const userTrace = options.trace;
    const trace = (line: string): void => {
      events.push(line);
      userTrace?.(line);
    };
    return new SimNetwork({ ...options, trace, random });
  }

  /** @internal See `fault()`. */
  fault(name: string, p: number, q: number): boolean {
    if (!this.faultsOn) return false;
    let active = this.active.get(name);
    if (active === undefined) {
      // A hash of (seed, name), not a draw: each point's activation is independent of the
      // others and of the order in which points are first reached.
      active = unitOf(mix(deriveSeed(this.seed, STREAM_FAULT), hashString(name))) < p;
      this.active.set(name, active);
    }
    if (!active || !(this.faultRandom() < q)) return false;
    this.events?.push(`fault ${name}`);
    return true;
  }
}

/** @internal Everything one run produced, for `explore`. */
export interface RunRecord<T> {
  readonly ok: boolean;
  readonly value: T | undefined;
  readonly error: unknown;
  /** The task dump at the failure; "" when the run succeeded. */
  readonly dump: string;
  readonly events: EventLog | null;
  readonly polls: number;
  readonly steps: number;
  /** Virtual ms at the end. */
  readonly time: number;
  readonly replay: string;
}

/**
 * Runs the future `fn(sim)` returns in a deterministic simulation and returns its output (or
 * throws its error). The runtime's clock is virtual (it jumps to the next timer when every task
 * is idle, and each poll costs `pollCost`), the next ready task is chosen by a seeded scheduler
 * (`random` or PCT), `select`'s start branches, `sim.random()`, `Math.random`, `fault()` and the
 * simulated network draw from streams of the same seed, and `Date.now()` reads virtual time (from
 * 2026-01-01; `new Date()` and `performance.now()` still read the host's clock). The run is
 * synchronous — no host event loop is involved — so the same seed gives the same sequence
 * of polls, wakes and outputs, in microseconds per step.
 *
 * When the root completes, the remaining tasks are cancelled and their finalizers run before
 * `simulate` returns. The program must not wait for the host (a real socket, a host promise):
 * nothing outside the simulation runs while it does, so such a wait ends as a deadlock.
 *
 * @example
 * ```ts
 * const total = simulate({ seed: 42 }, () => future(function* () {
 *   const [tx, rx] = channel<number>(4);
 *   spawn(future(function* () { for (let i = 1; i <= 3; i++) yield* tx.send(i); tx.drop(); }));
 *   let sum = 0;
 *   for (;;) { try { sum += yield* rx.recv(); } catch { return sum; } }
 * }));
 * ```
 * @throws the program's error.
 * @throws {DeadlockError} when the root is pending and nothing can happen any more (no ready
 * task, no timer, no network event in flight); the message has the task dump, and idle tasks with
 * no live waker point at a lost wakeup.
 * @throws {SimulationLimitError} past `maxSteps` steps or `maxTime` of virtual time.
 * @throws {UnhandledTaskError} when a task nobody joins fails (unless `unhandledErrors: "ignore"`).
 * @throws {InvalidArgumentError} for bad options, or when `fn` does not return a future.
 */
export function simulate<T>(options: SimulateOptions, fn: (sim: Simulation) => Future<T>): T {
  const record = runSimulation(options, fn);
  if (record.ok) return record.value as T;
  throw record.error;
}

/** @internal One run, with everything `explore` needs to report on it. */
export function runSimulation<T>(
  options: SimulateOptions,
  fn: (sim: Simulation) => Future<T>,
): RunRecord<T> {
  const o = checkOptions(options);
  if (typeof fn !== "function") {
    throw new InvalidArgumentError(
      `simulate: expected a function (sim) => Future, got ${describeValue(fn)}`,
    );
  }
  const events = o.log ? new EventLog() : null;
  const previousDebug = debugMode;
  let unhandled: { error: unknown; id: number; name: string | undefined } | null = null;
  let running = false;
  let shuttingDown = false;
  const host = new SimPlatform(seededRandom(deriveSeed(o.seed, STREAM_PLATFORM)), events);
  const replay = formatReplay(
    { seed: o.seed, scheduling: o.scheduling, pollCost: o.pollCost },
    DEFAULT_POLL_COST,
  );
  const runtime = new Runtime({
    platform: host,
    seed: deriveSeed(o.seed, STREAM_SELECT),
    scheduling: schedulerFor(o, host, events),
    ...(o.debug ? { debug: true } : {}),
    onUnhandledError: (error, info) => {
      // Reports from garbage collection (a handle collected unread) come from the host, outside
      // the synchronous run: they are not part of any run, so they are ignored.
      if (!running) return;
      events?.push(`unhandled ${info.id}`);
      if (o.unhandledErrors === "ignore" || unhandled !== null) return;
      unhandled = { error, id: info.id, name: info.name };
      // The cleanup after the root completed runs to its end (the other tasks' finalizers too).
      if (!shuttingDown) host.stopRequested = true;
    },
  });
  const sim = new Simulation(o.seed, replay, runtime, host, events, o.faults);
  const root = new SimRoot(sim, fn);

  const previousRuntime = enterRuntime(runtime);
  const previousRandom = setRandomSource(sim.random);
  const previousSim = enterSimulation(sim);
  const mathRandom = Math.random;
  const dateNow = Date.now;
  Math.random = sim.random;
  Date.now = () => SIM_EPOCH + Math.floor(host.time);
  running = true;
  let ok = false;
  let error: unknown;
  let dump = "";
  try {
    runtime.spawn(root, { name: "simulation root" });
    const limits = { maxSteps: o.maxSteps, maxTime: o.maxTime };
    const reason: StopReason = host.runUntil(() => root.done, limits);
    if (reason === "done" && root.failed) {
      error = root.error;
      dump = runtime.dump().toString();
    } else if (reason === "done") {
      ok = true;
    } else {
      dump = runtime.dump().toString();
      error = stopError(reason, o, host, runtime, dump, unhandled);
    }
    events?.push(`end ${ok ? "ok" : reason === "done" ? "error" : reason}`);
    // Cancel what is left and run its finalizers (bounded: a finalizer may hang or spin).
    host.stopRequested = false;
    shuttingDown = true;
    void runtime.shutdown();
    host.runUntil(() => false, {
      maxSteps: host.steps + Math.min(o.maxSteps, 100_000),
      maxTime: host.time + 60_000,
    });
    // A task that failed unjoined fails the run, also in the step the root completed in, or
    // while the remaining tasks were being cancelled (a finalizer that threw).
    if (ok && unhandled !== null && o.unhandledErrors === "fail") {
      ok = false;
      error = unhandledError(unhandled);
    }
  } finally {
    running = false;
    setDebugMode(previousDebug);
    Math.random = mathRandom;
    Date.now = dateNow;
    enterSimulation(previousSim);
    setRandomSource(previousRandom);
    enterRuntime(previousRuntime);
  }
  return {
    ok,
    value: ok ? root.value : undefined,
    error,
    dump,
    events,
    polls: host.polls,
    steps: host.steps,
    time: host.time,
    replay,
  };
}

/** The error for a run that stopped before its root completed. */
function stopError(
  reason: Exclude<StopReason, "done">,
  o: CheckedOptions,
  host: SimPlatform,
  runtime: Runtime,
  dump: string,
  unhandled: { error: unknown; id: number; name: string | undefined } | null,
): unknown {
  const at = `at virtual time ${formatTime(host.time)} ms after ${host.polls} polls (seed ${o.seed})`;
  if (reason === "stopped" && unhandled !== null) return unhandledError(unhandled);
  if (reason === "steps") {
    return new SimulationLimitError(
      `simulation: the root did not complete within maxSteps = ${o.maxSteps} steps, ${at}: a livelock or a program that never ends (raise maxSteps if it is just long)`,
      dump,
    );
  }
  if (reason === "time") {
    return new SimulationLimitError(
      `simulation: the run went past maxTime = ${o.maxTime} ms of virtual time (its polls, or its next event), ${at}: a program that never ends (raise maxTime if it is just long)`,
      dump,
    );
  }
  const lost = runtime.dump().tasks.filter((t) => t.state === "idle" && t.wakers === 0);
  const lostText =
    lost.length === 0
      ? ""
      : ` ${lost.length} idle task(s) hold no live waker (${lost
          .slice(0, 5)
          .map((t) => t.id)
          .join(
            ", ",
          )}${lost.length > 5 ? ", ..." : ""}): a future returned Pending without keeping cx.waker where a wake could reach it — a lost wakeup?`;
  const held =
    runtime.externalWakers > 0
      ? ` ${runtime.externalWakers} waker(s) are held where no event will reach them: in wait lists (locks, user futures, simulated sockets) that no task will signal, or outside the simulation (a host promise, a real socket or timer), which a simulation never waits for.`
      : "";
  return new DeadlockError(
    `deadlock in the simulation ${at}: the root is pending and nothing can happen any more (no ready task, no timer, no network event in flight).${lostText}${held}`,
    dump,
  );
}

function unhandledError(u: { error: unknown; id: number; name: string | undefined }): Error {
  const label = u.name === undefined ? `task ${u.id}` : `task ${u.id} (${u.name})`;
  const message = u.error instanceof Error ? u.error.message : String(u.error);
  return new UnhandledTaskError(`${label} failed and nobody joined it: ${message}`, {
    cause: u.error,
  });
}

/**
 * The root of a run: calls `fn(sim)` on its first poll (inside the runtime, so `spawn` there uses
 * the simulated runtime) and records the outcome instead of letting the task fail.
 */
class SimRoot<T> extends Future<void> {
  done = false;
  failed = false;
  value: T | undefined = undefined;
  error: unknown = undefined;
  private inner: Future<T> | null = null;

  constructor(
    private readonly sim: Simulation,
    private readonly fn: (sim: Simulation) => Future<T>,
  ) {
    super();
  }

  poll(cx: Context): Poll<void> {
    try {
      if (this.inner === null) {
        const made: unknown = this.fn(this.sim);
        if (!(made instanceof Future)) {
          throw new InvalidArgumentError(
            `simulate: fn must return a Future, got ${describeValue(made)}${made instanceof Promise ? " (wrap a Promise with fromPromise, or write the program as future(function* () {...}))" : ""}`,
          );
        }
        this.inner = made as Future<T>;
      }
      const result = this.inner.poll(cx);
      if (result === Pending) return Pending;
      this.value = result as T;
    } catch (error) {
      this.failed = true;
      this.error = error;
    }
    this.done = true;
    return undefined;
  }

  override drop(): void {
    this.inner?.drop();
  }

  override pollDrop(cx: Context): Poll<void> {
    return this.inner === null ? undefined : this.inner.pollDrop(cx);
  }

  override describe(): string {
    return this.inner === null ? "simulation root (not started)" : this.inner.describe();
  }
}

interface CheckedOptions {
  readonly seed: number;
  readonly scheduling: SimScheduling;
  readonly pollCost: number;
  readonly maxSteps: number;
  readonly maxTime: number;
  readonly log: boolean;
  readonly faults: boolean;
  readonly unhandledErrors: "fail" | "ignore";
  readonly debug: boolean;
}

/** @internal Validates and completes options. */
export function checkOptions(options: SimulateOptions): CheckedOptions {
  if (options === null || typeof options !== "object") {
    throw new InvalidArgumentError(
      `simulate: options must be an object, got ${describeValue(options)}`,
    );
  }
  const seed = checkSeed(options.seed ?? 0, "simulate");
  const scheduling = checkScheduling(options.scheduling ?? "random");
  const pollCost = nonNegative(options.pollCost, DEFAULT_POLL_COST, "pollCost");
  if (pollCost === Number.POSITIVE_INFINITY) {
    // Virtual time would be infinite after one poll, and the replay string would not parse.
    throw new InvalidArgumentError("simulate: pollCost must be a finite number >= 0, got Infinity");
  }
  const maxSteps = nonNegative(options.maxSteps, DEFAULT_MAX_STEPS, "maxSteps");
  const maxTime = nonNegative(options.maxTime, DEFAULT_MAX_TIME, "maxTime");
  const unhandledErrors = options.unhandledErrors ?? "fail";
  if (unhandledErrors !== "fail" && unhandledErrors !== "ignore") {
    throw new InvalidArgumentError(
      `simulate: unhandledErrors must be "fail" or "ignore", got ${describeValue(unhandledErrors)}`,
    );
  }
  return {
    seed,
    scheduling,
    pollCost,
    maxSteps,
    maxTime,
    log: options.log === true,
    faults: options.faults !== false,
    unhandledErrors,
    debug: options.debug === true,
  };
}

function checkScheduling(s: unknown): SimScheduling {
  if (s === "random" || s === "fifo") return s;
  if (s !== null && typeof s === "object" && "pct" in s) {
    const { pct, steps } = s as { pct: unknown; steps?: unknown };
    if (
      typeof pct === "number" &&
      Number.isInteger(pct) &&
      pct >= 1 &&
      (steps === undefined || (typeof steps === "number" && Number.isInteger(steps) && steps >= 1))
    ) {
      return steps === undefined ? { pct } : { pct, steps };
    }
  }
  throw new InvalidArgumentError(
    `simulate: scheduling must be "random", "fifo" or { pct: depth >= 1, steps?: k >= 1 }, got ${describeValue(s)}`,
  );
}

function nonNegative(value: unknown, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !(value >= 0)) {
    throw new InvalidArgumentError(
      `simulate: ${name} must be a number >= 0, got ${describeValue(value)}`,
    );
  }
  return value;
}

function schedulerFor(
  o: CheckedOptions,
  host: SimPlatform,
  events: EventLog | null,
): SchedulingPolicy {
  const s = o.scheduling;
  if (s === "fifo") return new FifoScheduler(host, o.pollCost, events);
  const random = seededRandom(deriveSeed(o.seed, STREAM_SCHEDULER));
  if (s === "random") return new RandomScheduler(host, o.pollCost, events, random);
  return new PctScheduler(host, o.pollCost, events, random, s.pct, s.steps ?? DEFAULT_PCT_STEPS);
}
