/**
 * What a task switch costs in the generator model on V8, before waker's features:
 * `node dist/bench/switch-floor.js` (after `npm run build`).
 *
 * 1,000 tasks each run 500 iterations of: yield, read a shared counter, yield, write it + 1 (two
 * task switches per iteration). Three ways, each in its own child process, alternated 5 times:
 * - `native`: async functions, `await null`;
 * - `minimal`: `bench/support/minimal-executor.ts`, the same poll model as waker (generators,
 *   `yield*` of a future whose iterator polls it, a FIFO ready queue drained in a microtask) and
 *   nothing else;
 * - `waker`: `rt.spawn` of `asyncFn` tasks, `yield* yieldNow()`.
 * Each child reports the median CPU ns per iteration of 9 counted runs (2 warm-up runs first); the
 * parent prints the median of its 5 children per way and the ratio to native.
 */
import {
  type AsyncGenerator,
  asyncFn,
  future,
  type JoinHandle,
  Runtime,
  yieldNow,
} from "../src/index.js";
import { median } from "./harness.js";
import { measureInChildren, printWays } from "./support/child-ways.js";
import { MinimalExecutor, type MinimalFuture, MinimalYield } from "./support/minimal-executor.js";

const WAYS = ["native", "minimal", "waker"] as const;
type Way = (typeof WAYS)[number];

const TASKS = 1000;
const ITERATIONS = 500;
const WARMUP_RUNS = 2;
const COUNTED_RUNS = 9;
const CHILDREN_PER_WAY = 5;

interface Counter {
  value: number;
}

async function nativeWorker(counter: Counter): Promise<void> {
  for (let i = 0; i < ITERATIONS; i++) {
    await null;
    const value = counter.value;
    await null;
    counter.value = value + 1;
  }
}

function* minimalWorker(counter: Counter): Generator<MinimalFuture<unknown>, void, unknown> {
  for (let i = 0; i < ITERATIONS; i++) {
    yield* new MinimalYield();
    const value = counter.value;
    yield* new MinimalYield();
    counter.value = value + 1;
  }
}

const wakerWorker = asyncFn(function* (counter: Counter): AsyncGenerator<void> {
  for (let i = 0; i < ITERATIONS; i++) {
    yield* yieldNow();
    const value = counter.value;
    yield* yieldNow();
    counter.value = value + 1;
  }
});

/** One run of `way`: resolves when all tasks are done, with the counter. */
function runOnce(way: Way): () => Promise<number> {
  if (way === "native") {
    return async () => {
      const counter: Counter = { value: 0 };
      const all: Promise<void>[] = [];
      for (let t = 0; t < TASKS; t++) all.push(nativeWorker(counter));
      await Promise.all(all);
      return counter.value;
    };
  }
  if (way === "minimal") {
    const executor = new MinimalExecutor();
    return async () => {
      const counter: Counter = { value: 0 };
      const all: Promise<void>[] = [];
      for (let t = 0; t < TASKS; t++) all.push(executor.spawn(minimalWorker(counter)));
      await Promise.all(all);
      return counter.value;
    };
  }
  const rt = new Runtime();
  return () =>
    rt.run(
      future(function* () {
        const counter: Counter = { value: 0 };
        const handles: JoinHandle<void>[] = [];
        for (let t = 0; t < TASKS; t++) handles.push(rt.spawn(wakerWorker(counter)));
        for (const handle of handles) yield* handle;
        return counter.value;
      }),
    );
}

/** In a child: the median CPU ns per iteration of `way`. */
async function measure(way: Way): Promise<number> {
  const run = runOnce(way);
  const samples: number[] = [];
  for (let r = 0; r < WARMUP_RUNS + COUNTED_RUNS; r++) {
    const start = process.cpuUsage();
    const counted = await run();
    const used = process.cpuUsage(start);
    // Every way interleaves the tasks between the read and the write, so increments are lost;
    // the count only checks that every task ran to the end of its first iteration.
    if (!(counted >= ITERATIONS)) throw new Error(`${way}: counter ${counted}`);
    if (r >= WARMUP_RUNS) samples.push(((used.user + used.system) * 1000) / (TASKS * ITERATIONS));
  }
  return median(samples);
}

async function main(): Promise<void> {
  const results = await measureInChildren(WAYS, measure, import.meta.url, CHILDREN_PER_WAY);
  if (results === null) return;
  printWays(
    `${TASKS} tasks x ${ITERATIONS} iterations, two task switches each (CPU ns per iteration):`,
    WAYS,
    results,
  );
}

await main();
