/**
 * throughput-batch: the throughput workload (one producer, 0..N-1 through a bounded channel of
 * capacity 1,024, sent one at a time) with a consumer that takes whatever is buffered, up to
 * 1,024 messages per receive, and loops over the batch. The consumer counts the values that
 * arrive in order, each exactly once (the check).
 */
import { Effect, Fiber, Queue } from "effect";
import { type AsyncGenerator, asyncFn, channel, type Runtime } from "../../src/index.js";
import { type Sample, timed, type Workload } from "../harness.js";
import { PromiseChannel } from "../support/promise-channel.js";
import { wakerRuntime } from "../support/residents.js";
import {
  effectProducer,
  nativeProducer,
  THROUGHPUT_CAPACITY,
  wakerProducer,
} from "./throughput.js";

/** The most messages one batch receive takes. */
const BATCH = 1024;

const wakerBatchConsumer = asyncFn(function* (rt: Runtime, n: number): AsyncGenerator<number> {
  const [tx, rx] = channel<number>(THROUGHPUT_CAPACITY);
  const producer = rt.spawn(wakerProducer(tx, n));
  let inOrder = 0;
  for (let received = 0; received < n; ) {
    const batch = yield* rx.recvMany(BATCH);
    for (let j = 0; j < batch.length; j++) if (batch[j] === inOrder) inOrder++;
    received += batch.length;
  }
  yield* producer;
  return inOrder;
});

async function nativeBatchConsumer(n: number): Promise<number> {
  const ch = new PromiseChannel<number>(THROUGHPUT_CAPACITY);
  const producer = nativeProducer(ch, n);
  let inOrder = 0;
  for (let received = 0; received < n; ) {
    const batch = await ch.recvMany(BATCH);
    for (let j = 0; j < batch.length; j++) if (batch[j] === inOrder) inOrder++;
    received += batch.length;
  }
  await producer;
  return inOrder;
}

const effectBatchConsumer = Effect.fnUntraced(function* (n: number) {
  const queue = yield* Queue.bounded<number>(THROUGHPUT_CAPACITY);
  const producer = yield* Effect.forkChild(effectProducer(queue, n));
  let inOrder = 0;
  for (let received = 0; received < n; ) {
    const batch = yield* Queue.takeBetween(queue, 1, BATCH);
    for (let j = 0; j < batch.length; j++) if (batch[j] === inOrder) inOrder++;
    received += batch.length;
  }
  yield* Fiber.join(producer);
  return inOrder;
});

/** Native: the {@link PromiseChannel}'s `recvMany(1024)` (await one, then take what is buffered). */
export function throughputBatchNative(n: number): Promise<Sample> {
  return timed(n, () => nativeBatchConsumer(n));
}

/** waker: `channel(1024)`, the consumer does `yield* rx.recvMany(1024)`. */
export function throughputBatchWaker(n: number): Promise<Sample> {
  const rt = wakerRuntime;
  return timed(n, () => rt.run(wakerBatchConsumer(rt, n)));
}

/** Effect: `Queue.bounded(1024)`, the consumer does `Queue.takeBetween(queue, 1, 1024)`. */
export function throughputBatchEffect(n: number): Promise<Sample> {
  return timed(n, () => Effect.runPromise(effectBatchConsumer(n)));
}

/** The throughput-batch workload: throughput with a consumer receiving up to 1,024 at a time. */
export const throughputBatch: Workload = {
  name: "throughput-batch",
  description:
    "throughput, with the consumer taking up to 1,024 buffered messages per receive (ns per message)",
  unit: "ns/msg",
  sizes: [1_000_000, 10_000_000],
  quickSizes: [1_000_000],
  expected: (n) => n,
  implementations: {
    native: throughputBatchNative,
    waker: throughputBatchWaker,
    effect: throughputBatchEffect,
    effection: {
      omitted:
        "Effection 4 has neither a bounded channel nor a batch receive (a subscription's next() yields one item)",
    },
  },
  notes: {
    native: "PromiseChannel(1024): await send; await recvMany(1024) (one await, then the buffer)",
    waker: "channel(1024): yield* tx.send; yield* rx.recvMany(1024)",
    effect: "Queue.bounded(1024): Queue.offer; Queue.takeBetween(queue, 1, 1024)",
  },
};
