/**
 * chained-spawn: a chain of N tasks where each spawns the next and awaits it; the root awaits the
 * chain. All N tasks are alive (pending on their child) when the last one starts; then the
 * completions ripple back up. The returned depth is the check.
 */
import { Effect, Fiber } from "effect";
import { run as effectionRun, spawn as effectionSpawn, type Operation } from "effection";
import { type AsyncGenerator, asyncFn, type Future, type Runtime } from "../../src/index.js";
import { type Sample, timed, type Workload } from "../harness.js";
import { wakerRuntime } from "../support/residents.js";

const wakerLink: (rt: Runtime, depth: number) => Future<number> = asyncFn(wakerLinkBody);

function* wakerLinkBody(rt: Runtime, depth: number): AsyncGenerator<number> {
  if (depth === 0) return 0;
  const child = rt.spawn(wakerLink(rt, depth - 1));
  return (yield* child) + 1;
}

// `await null` first: a native "spawn" must not run the child synchronously inside its parent
// (which would also recurse N frames deep); waker, Effect and Effection start it on a later turn.
async function nativeLink(depth: number): Promise<number> {
  await null;
  if (depth === 0) return 0;
  return (await nativeLink(depth - 1)) + 1;
}

const effectLink = Effect.fnUntraced(function* (depth: number): Effect.fn.Return<number> {
  if (depth === 0) return 0;
  const child = yield* Effect.forkChild(effectLink(depth - 1));
  return (yield* Fiber.join(child)) + 1;
});

function* effectionLink(depth: number): Operation<number> {
  if (depth === 0) return 0;
  const child = yield* effectionSpawn(() => effectionLink(depth - 1));
  return (yield* child) + 1;
}

/** Native: each async call starts (after `await null`) the next and awaits it. */
export function chainedSpawnNative(n: number): Promise<Sample> {
  return timed(n, () => nativeLink(n));
}

/** waker: each `asyncFn` task `rt.spawn`s the next and `yield*`s its handle. */
export function chainedSpawnWaker(n: number): Promise<Sample> {
  const rt = wakerRuntime;
  return timed(n, () => rt.run(wakerLink(rt, n)));
}

/** Effect: each fiber `Effect.forkChild`s the next and `Fiber.join`s it. */
export function chainedSpawnEffect(n: number): Promise<Sample> {
  return timed(n, () => Effect.runPromise(effectLink(n)));
}

/** Effection: each task `spawn`s the next and `yield*`s it. */
export function chainedSpawnEffection(n: number): Promise<Sample> {
  return timed(n, () => effectionRun(() => effectionLink(n)));
}

/** The chained-spawn workload: a chain of N tasks, each spawning and awaiting the next. */
export const chainedSpawn: Workload = {
  name: "chained-spawn",
  description:
    "each task spawns the next and awaits it, depth N; the root awaits the chain (ns per task)",
  unit: "ns/task",
  sizes: [1_000, 10_000, 100_000],
  quickSizes: [1_000, 10_000],
  expected: (n) => n,
  implementations: {
    native: chainedSpawnNative,
    waker: chainedSpawnWaker,
    effect: chainedSpawnEffect,
    effection: chainedSpawnEffection,
  },
  caps: {
    effect: {
      n: 1_000,
      why: "effect 4.1.0 overflows the stack when a join chain deeper than ~1,200 fibers completes (each fiber's exit runs its parent's resumption synchronously)",
    },
  },
  notes: {
    native: "async fn: `await null`, then `await` the next call",
    waker: "asyncFn: rt.spawn(next), yield* handle",
    effect: "Effect.fnUntraced: Effect.forkChild(next), Fiber.join",
    effection: "generator: spawn(next), yield* task",
  },
};
