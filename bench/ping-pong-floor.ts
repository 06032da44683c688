/**
 * What a request/reply round trip between two tasks costs in the generator poll model on V8, with
 * nothing but the model: `node dist/bench/ping-pong-floor.js` (after `npm run build`).
 *
 * Two tasks exchange N messages one at a time, four ways, each in its own child process,
 * alternated 5 times:
 * - `native`, `waker`, `effect`: the `ping-pong-oneshot` workload's implementations (a request
 *   over a capacity-1 channel, the reply on a new one-shot channel each time);
 * - `minimal`: `bench/support/minimal-executor.ts` (generators, `yield*` of a future that polls,
 *   a FIFO ready queue drained in a microtask) doing what the workload does and nothing more: the
 *   pinger makes a new one-slot reply mailbox per round trip (the one-shot channel) and puts a
 *   request `{ value: i, reply }` into a request mailbox; the ponger takes it and puts `i + 1`
 *   into the reply mailbox. So it allocates what the workload's other ways allocate per round
 *   trip (a reply channel and a request) and nothing else: a mailbox is its own take future. No
 *   capacity, close, budget, fairness, error isolation or cancellation. It is the least this
 *   workload costs in this model, whatever the channel.
 * - `yield`: the same as `minimal`, but each await is a plain `yield fut` (the executor polls the
 *   future it is handed) instead of `yield* fut`. Its output is not typed (TypeScript types every
 *   `yield` of a generator alike), which is why waker awaits with `yield*`; the way shows what the
 *   `yield*` protocol itself costs a round trip.
 * Each child reports the median CPU ns per round trip of 9 counted runs (2 warm-up runs first);
 * the parent prints the median of its 5 children per way, and what "10x faster than Effect" asks
 * of a round trip next to what the bare model takes.
 */
import { median } from "./harness.js";
import { measureInChildren, printWays } from "./support/child-ways.js";
import { MinimalExecutor, type MinimalFuture, MinimalMailbox } from "./support/minimal-executor.js";
import {
  pingPongOneshotEffect,
  pingPongOneshotNative,
  pingPongOneshotWaker,
} from "./workloads/ping-pong-oneshot.js";

const WAYS = ["native", "minimal", "yield", "waker", "effect"] as const;
type Way = (typeof WAYS)[number];

const ROUND_TRIPS = 200_000;
const WARMUP_RUNS = 2;
const COUNTED_RUNS = 9;
const CHILDREN_PER_WAY = 5;

/** A request of the minimal way: the value and the mailbox to put the reply into. */
interface MinimalRequest {
  readonly value: number;
  readonly reply: MinimalMailbox<number>;
}

function* minimalPonger(
  requests: MinimalMailbox<MinimalRequest>,
  n: number,
): Generator<MinimalFuture<unknown>, void, unknown> {
  for (let i = 0; i < n; i++) {
    const request = (yield* requests.take()) as MinimalRequest;
    request.reply.put(request.value + 1);
  }
}

function* minimalPinger(
  executor: MinimalExecutor,
  n: number,
): Generator<MinimalFuture<unknown>, number, unknown> {
  const requests = new MinimalMailbox<MinimalRequest>();
  void executor.spawn(minimalPonger(requests, n));
  let ok = 0;
  for (let i = 0; i < n; i++) {
    const reply = new MinimalMailbox<number>();
    requests.put({ value: i, reply });
    if ((yield* reply.take()) === i + 1) ok++;
  }
  return ok;
}

function* plainYieldPonger(
  requests: MinimalMailbox<MinimalRequest>,
  n: number,
): Generator<MinimalFuture<unknown>, void, unknown> {
  for (let i = 0; i < n; i++) {
    const request = (yield requests.take()) as MinimalRequest;
    request.reply.put(request.value + 1);
  }
}

function* plainYieldPinger(
  executor: MinimalExecutor,
  n: number,
): Generator<MinimalFuture<unknown>, number, unknown> {
  const requests = new MinimalMailbox<MinimalRequest>();
  void executor.spawn(plainYieldPonger(requests, n));
  let ok = 0;
  for (let i = 0; i < n; i++) {
    const reply = new MinimalMailbox<number>();
    requests.put({ value: i, reply });
    if ((yield reply.take()) === i + 1) ok++;
  }
  return ok;
}

/** One run of `way`: CPU ns per round trip, after checking every reply came back right. */
function runOnce(way: Way): () => Promise<number> {
  if (way === "minimal" || way === "yield") {
    const executor = new MinimalExecutor();
    const pinger = way === "minimal" ? minimalPinger : plainYieldPinger;
    return async () => {
      const start = process.cpuUsage();
      const ok = await executor.spawn(pinger(executor, ROUND_TRIPS));
      const used = process.cpuUsage(start);
      if (ok !== ROUND_TRIPS) throw new Error(`${way}: ${ok} of ${ROUND_TRIPS} replies`);
      return ((used.user + used.system) * 1000) / ROUND_TRIPS;
    };
  }
  const implementation =
    way === "native"
      ? pingPongOneshotNative
      : way === "waker"
        ? pingPongOneshotWaker
        : pingPongOneshotEffect;
  return async () => {
    const sample = await implementation(ROUND_TRIPS);
    if (sample.check !== ROUND_TRIPS) throw new Error(`${way}: ${sample.check} replies`);
    return sample.cpu as number;
  };
}

/** In a child: the median CPU ns per round trip of `way`. */
async function measure(way: Way): Promise<number> {
  const run = runOnce(way);
  const samples: number[] = [];
  for (let r = 0; r < WARMUP_RUNS + COUNTED_RUNS; r++) {
    const ns = await run();
    if (r >= WARMUP_RUNS) samples.push(ns);
  }
  return median(samples);
}

async function main(): Promise<void> {
  const results = await measureInChildren(WAYS, measure, import.meta.url, CHILDREN_PER_WAY);
  if (results === null) return;
  printWays(
    `${ROUND_TRIPS.toLocaleString("en")} request/reply round trips between two tasks (CPU ns per round trip):`,
    WAYS,
    results,
  );
  const effect = median(results.get("effect") ?? []);
  const minimal = median(results.get("minimal") ?? []);
  const plainYield = median(results.get("yield") ?? []);
  console.log(
    `10x faster than Effect: at most ${(effect / 10).toFixed(1)} ns per round trip; the bare model (minimal): ${minimal.toFixed(1)} ns, of which the yield* protocol: ${(minimal - plainYield).toFixed(1)} ns`,
  );
}

await main();
