/**
 * throughput: one producer sends 0..N-1 through a bounded channel of capacity 1,024 to one
 * consumer that receives them one at a time. The producer runs ahead until the buffer is full and
 * then waits for room (backpressure), so the cost per message is a send and a receive, with task
 * switches amortized over up to 1,024 messages. The consumer counts the values that arrive in
 * order, each exactly once (the check: any loss, duplicate or reordering stops the count).
 */
import { Effect, Fiber, Queue } from "effect";
import {
  type Channel,
  createChannel,
  run as effectionRun,
  spawn as effectionSpawn,
  type Operation,
} from "effection";
import {
  type AsyncGenerator,
  asyncFn,
  channel,
  type Runtime,
  type Sender,
} from "../../src/index.js";
import { type Sample, timed, type Workload } from "../harness.js";
import { PromiseChannel } from "../support/promise-channel.js";
import { wakerRuntime } from "../support/residents.js";

/** The channel capacity of the throughput workloads. */
export const THROUGHPUT_CAPACITY = 1024;

// Producers (shared with throughput-batch, whose consumers receive in batches).

/** waker producer: `yield* tx.send(i)` for i in 0..n-1, then drops the sender. */
export const wakerProducer = asyncFn(function* (
  tx: Sender<number>,
  n: number,
): AsyncGenerator<void> {
  for (let i = 0; i < n; i++) yield* tx.send(i);
  tx.drop();
});

/** Native producer: `await ch.send(i)` for i in 0..n-1. */
export async function nativeProducer(ch: PromiseChannel<number>, n: number): Promise<void> {
  for (let i = 0; i < n; i++) await ch.send(i);
}

/** Effect producer: `Queue.offer(queue, i)` for i in 0..n-1. */
export const effectProducer = Effect.fnUntraced(function* (queue: Queue.Queue<number>, n: number) {
  for (let i = 0; i < n; i++) yield* Queue.offer(queue, i);
});

const wakerConsumer = asyncFn(function* (rt: Runtime, n: number): AsyncGenerator<number> {
  const [tx, rx] = channel<number>(THROUGHPUT_CAPACITY);
  const producer = rt.spawn(wakerProducer(tx, n));
  let inOrder = 0;
  for (let i = 0; i < n; i++) {
    if ((yield* rx.recv()) === inOrder) inOrder++;
  }
  yield* producer;
  return inOrder;
});

async function nativeConsumer(n: number): Promise<number> {
  const ch = new PromiseChannel<number>(THROUGHPUT_CAPACITY);
  const producer = nativeProducer(ch, n);
  let inOrder = 0;
  for (let i = 0; i < n; i++) {
    if ((await ch.recv()) === inOrder) inOrder++;
  }
  await producer;
  return inOrder;
}

const effectConsumer = Effect.fnUntraced(function* (n: number) {
  const queue = yield* Queue.bounded<number>(THROUGHPUT_CAPACITY);
  const producer = yield* Effect.forkChild(effectProducer(queue, n));
  let inOrder = 0;
  for (let i = 0; i < n; i++) {
    if ((yield* Queue.take(queue)) === inOrder) inOrder++;
  }
  yield* Fiber.join(producer);
  return inOrder;
});

function* effectionProducer(ch: Channel<number, void>, n: number): Operation<void> {
  for (let i = 0; i < n; i++) yield* ch.send(i);
}

function* effectionConsumer(n: number): Operation<number> {
  const ch = createChannel<number>();
  // A channel delivers only to existing subscriptions: subscribe before the producer starts.
  const subscription = yield* ch;
  const producer = yield* effectionSpawn(() => effectionProducer(ch, n));
  let inOrder = 0;
  for (let i = 0; i < n; i++) {
    const next = yield* subscription.next();
    if (!next.done && next.value === inOrder) inOrder++;
  }
  yield* producer;
  return inOrder;
}

/** Native: an async producer and consumer around a {@link PromiseChannel} of capacity 1,024. */
export function throughputNative(n: number): Promise<Sample> {
  return timed(n, () => nativeConsumer(n));
}

/** waker: the consumer `asyncFn` spawns the producer; `channel(1024)`, `yield* rx.recv()`. */
export function throughputWaker(n: number): Promise<Sample> {
  const rt = wakerRuntime;
  return timed(n, () => rt.run(wakerConsumer(rt, n)));
}

/** Effect: the consumer forks the producer; `Queue.bounded(1024)`, `Queue.offer`/`Queue.take`. */
export function throughputEffect(n: number): Promise<Sample> {
  return timed(n, () => Effect.runPromise(effectConsumer(n)));
}

/** Effection: the consumer spawns the producer; `createChannel` (unbounded), `subscription.next`. */
export function throughputEffection(n: number): Promise<Sample> {
  return timed(n, () => effectionRun(() => effectionConsumer(n)));
}

/** The throughput workload: N messages from one producer to one consumer, capacity 1,024. */
export const throughput: Workload = {
  name: "throughput",
  description:
    "one producer sends N messages to one consumer through a capacity-1,024 channel, received one at a time (ns per message)",
  unit: "ns/msg",
  sizes: [1_000_000, 10_000_000],
  quickSizes: [1_000_000],
  expected: (n) => n,
  implementations: {
    native: throughputNative,
    waker: throughputWaker,
    effect: throughputEffect,
    effection: throughputEffection,
  },
  notes: {
    native: "async fns, bench/support/promise-channel.ts (capacity 1,024): await send / await recv",
    waker: "asyncFn tasks, channel(1024): yield* tx.send / yield* rx.recv",
    effect: "Effect.fnUntraced fibers, Queue.bounded(1024): Queue.offer / Queue.take",
    effection:
      "generators, createChannel: NOT bounded (Effection 4 has no bounded channel, send never waits for room; each send is an action that yields, so the consumer keeps up): send / subscription.next",
  },
};
