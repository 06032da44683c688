/**
 * Shared helpers of the sync tests: outcomes of a poll, fast-check commands made from closures,
 * scheduling arbitraries, and ways to drive a Runtime to quiescence without sleeping.
 */
import assert from "node:assert/strict";
import { before } from "node:test";
import fc from "fast-check";
import {
  BlockOnError,
  Cancelled,
  type Context,
  DeadlockError,
  Future,
  future,
  type JoinHandle,
  Pending,
  type Poll,
  pending,
  Runtime,
  setDebugMode,
} from "../../src/index.js";

/** Runs `body` as the root task of a fresh runtime. */
export function runBlock<T>(body: () => Generator<Future<unknown>, T, unknown>): Promise<T> {
  return new Runtime().run(future(body));
}

/**
 * For a test file about reusing spent futures, which debug mode turns off: runs its tests with
 * debug mode off even under `WAKER_DEBUG=1` (a test of debug mode turns it on and back off).
 */
export function reuseTestsWithoutDebugMode(): void {
  before(() => setDebugMode(false));
}

/** Callbacks of a {@link Probe}. */
export interface ProbeHooks<T> {
  pending?(): void;
  ready?(value: T): void;
  error?(error: unknown): void;
  dropped?(): void;
}

/** Wraps a future to observe its polls and its drop (e.g. queue order for FIFO checks). */
export class Probe<T> extends Future<T> {
  constructor(
    readonly inner: Future<T>,
    private readonly hooks: ProbeHooks<T>,
  ) {
    super();
  }
  poll(cx: Context): Poll<T> {
    let r: Poll<T>;
    try {
      r = this.inner.poll(cx);
    } catch (error) {
      this.hooks.error?.(error);
      throw error;
    }
    if (r === Pending) this.hooks.pending?.();
    else this.hooks.ready?.(r as T);
    return r;
  }
  override drop(): void {
    this.hooks.dropped?.();
    this.inner.drop();
  }
  override describe(): string {
    return `probe(${this.inner.describe()})`;
  }
}

/** What one poll (or synchronous call) did. */
export type Outcome<T> =
  | { readonly kind: "ready"; readonly value: T }
  | { readonly kind: "pending" }
  | { readonly kind: "error"; readonly error: unknown };

/** Runs `fn` and records whether it returned a value, `Pending`, or threw. */
export function attempt<T>(fn: () => Poll<T>): Outcome<T> {
  try {
    const value = fn();
    return value === Pending ? { kind: "pending" } : { kind: "ready", value: value as T };
  } catch (error) {
    return { kind: "error", error };
  }
}

export function show(outcome: Outcome<unknown>): string {
  if (outcome.kind === "pending") return "Pending";
  if (outcome.kind === "ready") return `ready(${String(outcome.value)})`;
  const e = outcome.error as { name?: string; message?: string; value?: unknown };
  return `threw ${e?.name}(${String(e?.message)}, value=${String(e?.value)})`;
}

export function expectReady<T>(outcome: Outcome<T>, what: string): T {
  assert.equal(outcome.kind, "ready", `${what}: expected ready, got ${show(outcome)}`);
  return (outcome as { value: T }).value;
}

export function expectPending(outcome: Outcome<unknown>, what: string): void {
  assert.equal(outcome.kind, "pending", `${what}: expected Pending, got ${show(outcome)}`);
}

/** Asserts a thrown error of class `ctor` and returns it. */
export function expectError<E>(
  outcome: Outcome<unknown>,
  ctor: abstract new (...args: never[]) => E,
  what: string,
): E {
  assert.equal(outcome.kind, "error", `${what}: expected ${ctor.name}, got ${show(outcome)}`);
  const error = (outcome as { error: unknown }).error;
  assert.ok(error instanceof ctor, `${what}: expected ${ctor.name}, got ${show(outcome)}`);
  return error;
}

/** The error `fn` throws (asserting it is an instance of `ctor`). */
export function thrown<E>(fn: () => unknown, ctor: abstract new (...args: never[]) => E): E {
  return expectError(
    attempt(() => fn() as Poll<unknown>),
    ctor,
    "call",
  );
}

/**
 * A fast-check command from closures: `guard` says whether it applies to the current state,
 * `body` runs it against the system (which also holds the model) and asserts.
 */
export class Step<W extends object> implements fc.Command<W, W> {
  constructor(
    private readonly name: string,
    private readonly body: (w: W) => void,
    private readonly guard: (w: W) => boolean = () => true,
  ) {}
  check(w: Readonly<W>): boolean {
    return this.guard(w as W);
  }
  run(_model: W, w: W): void {
    this.body(w);
  }
  toString(): string {
    return this.name;
  }
}

/** A command without a parameter. */
export function plain<W extends object>(
  name: string,
  body: (w: W) => void,
  guard?: (w: W) => boolean,
): fc.Arbitrary<fc.Command<W, W>> {
  return fc.constant(new Step<W>(name, body, guard));
}

/** A command with a parameter drawn from `arb`. */
export function withArg<W extends object, A>(
  name: string,
  arb: fc.Arbitrary<A>,
  body: (w: W, a: A) => void,
  guard?: (w: W) => boolean,
): fc.Arbitrary<fc.Command<W, W>> {
  return arb.map((a) => new Step<W>(`${name}(${JSON.stringify(a)})`, (w) => body(w, a), guard));
}

/** Runs a command sequence against one object that is both the model and the system. */
export function runSteps<W extends object>(world: W, cmds: Iterable<fc.Command<W, W>>): void {
  fc.modelRun(() => ({ model: world, real: world }), cmds);
}

/** The scheduling policy of a runtime under test. */
export type Scheduling = "fifo" | { readonly random: number };

/** FIFO or a seeded random order. */
export const schedulingArb: fc.Arbitrary<Scheduling> = fc.oneof(
  fc.constant("fifo" as const),
  fc.integer({ min: 0, max: 2 ** 31 - 1 }).map((seed) => ({ random: seed })),
);

export function describeScheduling(s: Scheduling): string {
  return s === "fifo" ? "scheduling fifo" : `scheduling { random: ${s.random} }`;
}

export function runtimeFor(s: Scheduling): Runtime {
  return new Runtime({ scheduling: s, seed: 1 });
}

/**
 * Polls every ready task of `rt` until none is left (quiescence), synchronously: `blockOn` of a
 * future that never completes drains the queue, then gives up with `BlockOnError` (tasks wait on
 * something outside, e.g. a channel) or `DeadlockError` (nothing at all can wake a task).
 */
export function settle(rt: Runtime): void {
  try {
    rt.blockOn(pending());
  } catch (error) {
    if (!(error instanceof BlockOnError) && !(error instanceof DeadlockError)) throw error;
  }
}

/**
 * After {@link settle}: every task must have finished (else it is stuck: a lost wakeup), and
 * each one either returned or was cancelled; any other error is rethrown with the label.
 */
export function expectFinished(
  rt: Runtime,
  handles: readonly JoinHandle<unknown>[],
  label: string,
): void {
  for (const [i, h] of handles.entries()) {
    assert.ok(h.isFinished(), `${label}: task #${i} is stuck (lost wakeup?)\n${rt.dump()}`);
  }
  for (const [i, h] of handles.entries()) {
    try {
      rt.blockOn(h);
    } catch (error) {
      if (error instanceof Cancelled) continue;
      throw new Error(`${label}: task #${i} failed: ${String(error)}`, { cause: error });
    }
  }
}

/**
 * `rt.run(root)` with a watchdog instead of a timeout: when the runtime has sat idle (no ready
 * task, every task waiting) for three host turns and the root has not completed, the run is stuck
 * (a lost wakeup: channel and lock waits count as host wakes, so the runtime cannot report it).
 */
export async function runWatched<T>(rt: Runtime, root: Future<T>, label: string): Promise<T> {
  let result: { ok: true; value: T } | { ok: false; error: unknown } | null = null;
  rt.run(root).then(
    (value) => {
      result = { ok: true, value };
    },
    (error: unknown) => {
      result = { ok: false, error };
    },
  );
  let idle = 0;
  for (;;) {
    await new Promise<void>((resolve) => setImmediate(resolve));
    const r = result as { ok: true; value: T } | { ok: false; error: unknown } | null;
    if (r !== null) {
      if (r.ok) return r.value;
      throw r.error;
    }
    const dump = rt.dump();
    if (dump.readyQueueLength === 0 && dump.tasks.every((t) => t.state === "idle")) {
      if (++idle >= 3) {
        throw new Error(`${label}: stuck, nothing runs and the root is pending\n${dump}`);
      }
    } else {
      idle = 0;
    }
  }
}

/**
 * fast-check parameters: `runs` runs unless FC_RUNS is set; FC_SEED replays a printed seed. The
 * failure report includes the seed, the counterexample and the assertion (which names the
 * runtime's scheduling seed for the Runtime properties).
 */
export function fcParams(runs: number): {
  numRuns: number;
  includeErrorInReport: boolean;
  seed?: number;
} {
  const n = Number(process.env.FC_RUNS);
  const seed = Number(process.env.FC_SEED);
  return {
    numRuns: Number.isInteger(n) && n > 0 ? n : runs,
    includeErrorInReport: true,
    ...(process.env.FC_SEED !== undefined && Number.isInteger(seed) ? { seed } : {}),
  };
}

/**
 * Wraps a command body so that `check` (the model's invariants) runs after it:
 * `const step = checkedBy(checkInvariants)`, then `step((w, arg) => ...)`.
 */
export function checkedBy<W>(check: (w: W) => void) {
  return <A extends unknown[]>(body: (w: W, ...a: A) => void) =>
    (w: W, ...a: A): void => {
      body(w, ...a);
      check(w);
    };
}

/** The `k`-th item, wrapping around (`items` is not empty). */
export function pick<T>(items: readonly T[], k: number): T {
  return items[k % items.length]!;
}

/**
 * A command on one of `items(w)` (the `k`-th, wrapping around), run only while `has(w)` says there
 * is one.
 */
function onSomeOf<W extends object, T>(
  name: string,
  items: (w: W) => readonly T[],
  has: (w: W) => boolean,
  body: (w: W, item: T) => void,
): fc.Arbitrary<fc.Command<W, W>> {
  return withArg<W, number>(name, fc.nat(), (w, k) => body(w, pick(items(w), k)), has);
}

/** A command on one of the pending ops of the world (`k % ops.length`), when there is one. */
export function onSomeOp<W extends { readonly ops: readonly O[] }, O>(
  name: string,
  body: (w: W, op: O) => void,
): fc.Arbitrary<fc.Command<W, W>> {
  return onSomeOf<W, O>(
    name,
    (w) => w.ops,
    (w) => w.ops.length > 0,
    body,
  );
}

/** The sender handles of a channel model: each one's liveness, and how many are alive. */
export interface SenderPool<S> {
  readonly senders: S[];
  readonly alive: boolean[];
  sendersAlive: number;
  readonly log: string[];
}

/** Indexes of the senders not dropped yet. */
export function liveSenders(w: SenderPool<unknown>): number[] {
  const out: number[] = [];
  for (let i = 0; i < w.senders.length; i++) if (w.alive[i]) out.push(i);
  return out;
}

/** True while some sender is alive. */
export function hasLiveSender(w: SenderPool<unknown>): boolean {
  return w.sendersAlive > 0;
}

/** A command on one of the live senders (its index, `k`-th wrapping around), when there is one. */
export function onSomeSender<W extends SenderPool<unknown>>(
  name: string,
  body: (w: W, sender: number) => void,
): fc.Arbitrary<fc.Command<W, W>> {
  return onSomeOf<W, number>(name, liveSenders, hasLiveSender, body);
}

/** `cloneSender`: clones a live sender (the clone is alive), then runs the model's `check`. */
export function cloneSenderCommand<W extends SenderPool<S>, S extends { clone(): S }>(
  check: (w: W) => void,
): fc.Arbitrary<fc.Command<W, W>> {
  return onSomeSender<W>("cloneSender", (w, s) => {
    w.senders.push((w.senders[s] as S).clone());
    w.alive.push(true);
    w.sendersAlive++;
    w.log.push(`clone sender ${s} -> ${w.senders.length - 1}`);
    check(w);
  });
}

/** An operation of a step-by-step model: a future polled by hand through a MockTask. */
export interface TaskOp {
  readonly id: number;
  readonly task: { readonly wakerRefCount: number };
  parked: boolean;
}

/**
 * The op is over (completed or dropped): it leaves `w.ops`, is no longer parked, and (unless
 * `keepsWaker`) must not hold a waker any more.
 */
export function finishOp<O extends TaskOp>(
  w: { ops: O[] },
  op: O,
  name = `op ${op.id}`,
  keepsWaker = false,
): void {
  w.ops = w.ops.filter((o) => o !== op);
  op.parked = false;
  if (!keepsWaker) assert.equal(op.task.wakerRefCount, 0, `${name} finished holding a waker`);
}

/** The last lines of a model's log, for assertion messages. */
export function recent(log: readonly string[]): string {
  return log.slice(-8).join("\n  ");
}

/**
 * The first poll of a wait returned Pending (asserted): in the model, the op is now parked in the
 * FIFO queue of waiters.
 */
export function expectQueued<O extends { entered: boolean; parked: boolean }>(
  queue: O[],
  op: O,
  out: Outcome<unknown>,
  what: string,
): void {
  expectPending(out, what);
  op.entered = true;
  op.parked = true;
  queue.push(op);
}
