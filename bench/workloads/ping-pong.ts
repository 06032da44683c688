/**
 * ping-pong: two tasks exchange N messages one at a time through two bounded channels of capacity
 * 1, one each way: the pinger sends `i` and waits for the ponger's reply `i + 1` before it sends
 * the next. Cost per round trip: two sends, two receives and two task switches, with at most one
 * message in flight. The pinger counts the replies that came back with the expected value (the
 * check).
 */
import { Effect, Fiber, Queue } from "effect";
import {
  type Channel,
  createChannel,
  run as effectionRun,
  spawn as effectionSpawn,
  type Operation,
  type Subscription,
} from "effection";
import {
  type AsyncGenerator,
  asyncFn,
  channel,
  type Receiver,
  type Runtime,
  type Sender,
} from "../../src/index.js";
import { type Sample, timed, type Workload } from "../harness.js";
import { PromiseChannel } from "../support/promise-channel.js";
import { wakerRuntime } from "../support/residents.js";

// Every task body is defined once, at module scope, as its runtime's idiom for "async fn".

const wakerPonger = asyncFn(function* (
  ping: Receiver<number>,
  pong: Sender<number>,
  n: number,
): AsyncGenerator<void> {
  for (let i = 0; i < n; i++) {
    const v = yield* ping.recv();
    yield* pong.send(v + 1);
  }
});

const wakerPinger = asyncFn(function* (rt: Runtime, n: number): AsyncGenerator<number> {
  const [pingTx, pingRx] = channel<number>(1);
  const [pongTx, pongRx] = channel<number>(1);
  const ponger = rt.spawn(wakerPonger(pingRx, pongTx, n));
  let ok = 0;
  for (let i = 0; i < n; i++) {
    yield* pingTx.send(i);
    if ((yield* pongRx.recv()) === i + 1) ok++;
  }
  yield* ponger;
  return ok;
});

async function nativePonger(
  ping: PromiseChannel<number>,
  pong: PromiseChannel<number>,
  n: number,
): Promise<void> {
  for (let i = 0; i < n; i++) {
    const v = await ping.recv();
    await pong.send(v + 1);
  }
}

async function nativePinger(n: number): Promise<number> {
  const ping = new PromiseChannel<number>(1);
  const pong = new PromiseChannel<number>(1);
  const ponger = nativePonger(ping, pong, n);
  let ok = 0;
  for (let i = 0; i < n; i++) {
    await ping.send(i);
    if ((await pong.recv()) === i + 1) ok++;
  }
  await ponger;
  return ok;
}

const effectPonger = Effect.fnUntraced(function* (
  ping: Queue.Queue<number>,
  pong: Queue.Queue<number>,
  n: number,
) {
  for (let i = 0; i < n; i++) {
    const v = yield* Queue.take(ping);
    yield* Queue.offer(pong, v + 1);
  }
});

const effectPinger = Effect.fnUntraced(function* (n: number) {
  const ping = yield* Queue.bounded<number>(1);
  const pong = yield* Queue.bounded<number>(1);
  const ponger = yield* Effect.forkChild(effectPonger(ping, pong, n));
  let ok = 0;
  for (let i = 0; i < n; i++) {
    yield* Queue.offer(ping, i);
    if ((yield* Queue.take(pong)) === i + 1) ok++;
  }
  yield* Fiber.join(ponger);
  return ok;
});

function* effectionPonger(
  ping: Subscription<number, void>,
  pong: Channel<number, void>,
  n: number,
): Operation<void> {
  for (let i = 0; i < n; i++) {
    const next = yield* ping.next();
    if (next.done) return;
    yield* pong.send(next.value + 1);
  }
}

function* effectionPinger(n: number): Operation<number> {
  const ping = createChannel<number>();
  const pong = createChannel<number>();
  // A channel delivers only to existing subscriptions: subscribe both before anything is sent.
  const pingSubscription = yield* ping;
  const pongSubscription = yield* pong;
  const ponger = yield* effectionSpawn(() => effectionPonger(pingSubscription, pong, n));
  let ok = 0;
  for (let i = 0; i < n; i++) {
    yield* ping.send(i);
    const next = yield* pongSubscription.next();
    if (!next.done && next.value === i + 1) ok++;
  }
  yield* ponger;
  return ok;
}

/** Native: two async functions, a {@link PromiseChannel} of capacity 1 each way. */
export function pingPongNative(n: number): Promise<Sample> {
  return timed(n, () => nativePinger(n));
}

/** waker: the pinger `asyncFn` spawns the ponger; `channel(1)` each way, `yield* send`/`recv`. */
export function pingPongWaker(n: number): Promise<Sample> {
  const rt = wakerRuntime;
  return timed(n, () => rt.run(wakerPinger(rt, n)));
}

/** Effect: the pinger forks the ponger; `Queue.bounded(1)` each way, `Queue.offer`/`Queue.take`. */
export function pingPongEffect(n: number): Promise<Sample> {
  return timed(n, () => Effect.runPromise(effectPinger(n)));
}

/** Effection: the pinger spawns the ponger; `createChannel` each way, `send`/`subscription.next`. */
export function pingPongEffection(n: number): Promise<Sample> {
  return timed(n, () => effectionRun(() => effectionPinger(n)));
}

/** The ping-pong workload: N round trips between two tasks over two channels of capacity 1. */
export const pingPong: Workload = {
  name: "ping-pong",
  description:
    "two tasks exchange N messages one at a time over a capacity-1 channel each way (ns per round trip)",
  unit: "ns/round trip",
  sizes: [100_000, 1_000_000],
  quickSizes: [100_000],
  expected: (n) => n,
  implementations: {
    native: pingPongNative,
    waker: pingPongWaker,
    effect: pingPongEffect,
    effection: pingPongEffection,
  },
  notes: {
    native: "async fns, bench/support/promise-channel.ts (capacity 1): await send / await recv",
    waker: "asyncFn tasks, channel(1): yield* tx.send / yield* rx.recv",
    effect: "Effect.fnUntraced fibers, Queue.bounded(1): Queue.offer / Queue.take",
    effection:
      "generators, createChannel (unbounded: Effection 4 has no bounded channel, but at most one message is ever in flight here): send / subscription.next",
  },
};
