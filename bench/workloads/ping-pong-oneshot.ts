/**
 * ping-pong-oneshot: request/reply, N times. The pinger makes a new one-shot reply channel per
 * round trip, sends `{ value: i, reply }` through a request channel of capacity 1 and waits on the
 * reply; the ponger answers each request with `i + 1` on its reply channel. Cost per round trip:
 * a one-shot channel (allocated each time, as a request/reply protocol does), a request object, a
 * send and a receive on the request channel, a one-shot send and receive, two task switches. The
 * pinger counts the replies that came back with the expected value (the check).
 */
import { Deferred, Effect, Fiber, Queue } from "effect";
import {
  type Channel,
  createChannel,
  run as effectionRun,
  spawn as effectionSpawn,
  type Operation,
  type Subscription,
  withResolvers,
} from "effection";
import {
  type AsyncGenerator,
  asyncFn,
  channel,
  type OneshotSender,
  oneshot,
  type Receiver,
  type Runtime,
} from "../../src/index.js";
import { type Sample, timed, type Workload } from "../harness.js";
import { PromiseChannel } from "../support/promise-channel.js";
import { wakerRuntime } from "../support/residents.js";

/** A request: the value and where to send the reply (each runtime's one-shot sender). */
interface Request<Reply> {
  readonly value: number;
  readonly reply: Reply;
}

const wakerPonger = asyncFn(function* (
  requests: Receiver<Request<OneshotSender<number>>>,
  n: number,
): AsyncGenerator<void> {
  for (let i = 0; i < n; i++) {
    const request = yield* requests.recv();
    request.reply.send(request.value + 1);
  }
});

const wakerPinger = asyncFn(function* (rt: Runtime, n: number): AsyncGenerator<number> {
  const [requestTx, requestRx] = channel<Request<OneshotSender<number>>>(1);
  const ponger = rt.spawn(wakerPonger(requestRx, n));
  let ok = 0;
  for (let i = 0; i < n; i++) {
    const [reply, replyRx] = oneshot<number>();
    yield* requestTx.send({ value: i, reply });
    if ((yield* replyRx) === i + 1) ok++;
  }
  yield* ponger;
  return ok;
});

type NativeReply = (value: number) => void;

async function nativePonger(requests: PromiseChannel<Request<NativeReply>>, n: number) {
  for (let i = 0; i < n; i++) {
    const request = await requests.recv();
    request.reply(request.value + 1);
  }
}

async function nativePinger(n: number): Promise<number> {
  const requests = new PromiseChannel<Request<NativeReply>>(1);
  const ponger = nativePonger(requests, n);
  let ok = 0;
  for (let i = 0; i < n; i++) {
    let reply!: NativeReply;
    const replied = new Promise<number>((resolve) => {
      reply = resolve;
    });
    await requests.send({ value: i, reply });
    if ((await replied) === i + 1) ok++;
  }
  await ponger;
  return ok;
}

const effectPonger = Effect.fnUntraced(function* (
  requests: Queue.Queue<Request<Deferred.Deferred<number>>>,
  n: number,
) {
  for (let i = 0; i < n; i++) {
    const request = yield* Queue.take(requests);
    yield* Deferred.succeed(request.reply, request.value + 1);
  }
});

const effectPinger = Effect.fnUntraced(function* (n: number) {
  const requests = yield* Queue.bounded<Request<Deferred.Deferred<number>>>(1);
  const ponger = yield* Effect.forkChild(effectPonger(requests, n));
  let ok = 0;
  for (let i = 0; i < n; i++) {
    const reply = yield* Deferred.make<number>();
    yield* Queue.offer(requests, { value: i, reply });
    if ((yield* Deferred.await(reply)) === i + 1) ok++;
  }
  yield* Fiber.join(ponger);
  return ok;
});

function* effectionPonger(
  requests: Subscription<Request<NativeReply>, void>,
  n: number,
): Operation<void> {
  for (let i = 0; i < n; i++) {
    const next = yield* requests.next();
    if (next.done) return;
    next.value.reply(next.value.value + 1);
  }
}

function* effectionPinger(n: number): Operation<number> {
  const requests: Channel<Request<NativeReply>, void> = createChannel();
  // A channel delivers only to existing subscriptions: subscribe before anything is sent.
  const subscription = yield* requests;
  const ponger = yield* effectionSpawn(() => effectionPonger(subscription, n));
  let ok = 0;
  for (let i = 0; i < n; i++) {
    const { operation, resolve } = withResolvers<number>();
    yield* requests.send({ value: i, reply: resolve });
    if ((yield* operation) === i + 1) ok++;
  }
  yield* ponger;
  return ok;
}

/** Native: a {@link PromiseChannel} of capacity 1 for requests, a `new Promise` per reply. */
export function pingPongOneshotNative(n: number): Promise<Sample> {
  return timed(n, () => nativePinger(n));
}

/** waker: `channel(1)` for requests, a new `oneshot()` per reply (`tx.send(v)`, `yield* rx`). */
export function pingPongOneshotWaker(n: number): Promise<Sample> {
  const rt = wakerRuntime;
  return timed(n, () => rt.run(wakerPinger(rt, n)));
}

/** Effect: `Queue.bounded(1)` for requests, a new `Deferred` per reply. */
export function pingPongOneshotEffect(n: number): Promise<Sample> {
  return timed(n, () => Effect.runPromise(effectPinger(n)));
}

/** Effection: `createChannel` for requests, a new `withResolvers()` per reply. */
export function pingPongOneshotEffection(n: number): Promise<Sample> {
  return timed(n, () => effectionRun(() => effectionPinger(n)));
}

/** The ping-pong-oneshot workload: N request/reply round trips, a new one-shot reply each. */
export const pingPongOneshot: Workload = {
  name: "ping-pong-oneshot",
  description:
    "N request/reply round trips: request over a capacity-1 channel, reply on a new one-shot channel each (ns per round trip)",
  unit: "ns/round trip",
  sizes: [100_000, 1_000_000],
  quickSizes: [100_000],
  expected: (n) => n,
  implementations: {
    native: pingPongOneshotNative,
    waker: pingPongOneshotWaker,
    effect: pingPongOneshotEffect,
    effection: pingPongOneshotEffection,
  },
  notes: {
    native: "PromiseChannel(1) of requests; reply: new Promise, its resolve sent in the request",
    waker: "channel(1) of requests; reply: oneshot() per round trip, tx.send(v) / yield* rx",
    effect:
      "Queue.bounded(1) of requests; reply: Deferred.make / Deferred.succeed / Deferred.await",
    effection:
      "createChannel of requests (unbounded; one in flight); reply: withResolvers() / resolve / yield* operation",
  },
};
