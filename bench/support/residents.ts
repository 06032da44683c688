/**
 * The runtimes the workloads run on, each with a resident: a parked task awaiting a parked child,
 * alive for the whole benchmark, as every long-running program has.
 *
 * Why: the harness forces a full GC before every run. If at that moment a runtime has no live
 * object of its own classes (task, future, awaiter, fiber...), V8 collects the hidden classes
 * (maps) its optimized code was specialized for and discards that code ("weak objects" deopts), so
 * every round would re-optimize from scratch. Measured here before residents: waker spawn-join at
 * N = 1e4 swung between 0.3 and 10 µs per task and Effect's from 3 to 12 µs; with residents both
 * settle near their steady state. Native promises use built-in maps, which never die.
 *
 * The same holds for the synchronisation primitives: a program that uses channels and locks has
 * some of them in use at any time. So each runtime also keeps one of each primitive the workloads
 * use with a waiter parked on it (a full channel with a blocked sender, an empty one with a blocked
 * receiver, a held mutex and an exhausted semaphore with a blocked locker, an unresolved one-shot
 * reply): waker's channel, oneshot, Mutex and Semaphore; the native baselines' PromiseChannel,
 * PromiseMutex and PromiseSemaphore; Effect's Queue, Deferred and Semaphore. Measured (CPU ns,
 * forced full GC before each run, standalone): waker's ping-pong ran at ~340-370 ns per round trip
 * without them against ~270 with no forced GC.
 *
 * waker runs every workload on one shared `Runtime`, as Effect does on its default runtime and
 * Effection on its global scope (a fresh `Runtime` per run also re-creates the platform closures
 * that optimized code inlines as call targets).
 */
import { Deferred, Effect, Semaphore as EffectSemaphore, Fiber, Queue } from "effect";
import { run as effectionRun, spawn as effectionSpawn, suspend } from "effection";
import {
  type AsyncGenerator,
  asyncFn,
  channel,
  type Future,
  type JoinHandle,
  Mutex,
  type OneshotReceiver,
  oneshot,
  pending,
  type Receiver,
  Runtime,
  Semaphore,
  type Sender,
  yieldNow,
} from "../../src/index.js";
import { PromiseChannel } from "./promise-channel.js";
import { PromiseMutex, PromiseSemaphore } from "./promise-lock.js";

/** The one waker runtime every waker workload runs on. */
export const wakerRuntime: Runtime = new Runtime();

const parkedChild = asyncFn(function* (): AsyncGenerator<void> {
  yield* pending<void>();
});

const parkedParent = asyncFn(function* (rt: Runtime): AsyncGenerator<void> {
  const child = rt.spawn(parkedChild());
  yield* child;
});

/**
 * Parks on each waker primitive: a send to a full channel, a receive from an empty one, a oneshot
 * receive, a lock of a held mutex and an acquire of an exhausted semaphore (each the waiter of its
 * own task, so all stay pending).
 */
const parkedOnPrimitives = asyncFn(function* (rt: Runtime): AsyncGenerator<void> {
  const [fullTx, fullRx] = channel<number>(1);
  fullTx.trySend(0);
  const [, emptyRx] = channel<number>(1);
  const [replyTx, replyRx] = oneshot<number>();
  const mutex = new Mutex(0);
  const guard = mutex.tryLock();
  const semaphore = new Semaphore(1);
  const permit = semaphore.tryAcquire();
  kept.push(fullRx, replyTx, guard, permit);
  const parked = [
    rt.spawn(parkedSend(fullTx)),
    rt.spawn(parkedRecv(emptyRx)),
    rt.spawn(parkedOneshot(replyRx)),
    rt.spawn(parkedLock(mutex)),
    rt.spawn(parkedAcquire(semaphore)),
  ];
  for (const handle of parked) yield* handle;
});

const parkedSend = asyncFn(function* (tx: Sender<number>) {
  yield* tx.send(1);
});
const parkedRecv = asyncFn(function* (rx: Receiver<number>) {
  yield* rx.recv();
});
const parkedOneshot = asyncFn(function* (rx: OneshotReceiver<number>) {
  yield* rx;
});
const parkedLock = asyncFn(function* (mutex: Mutex<number>) {
  const guard = yield* mutex.lock();
  guard.release();
});
const parkedAcquire = asyncFn(function* (semaphore: Semaphore) {
  const permit = yield* semaphore.acquire();
  permit.release();
});

/** Objects kept reachable for the whole run. */
const kept: unknown[] = [];

let started = false;

/**
 * Parks one resident in each runtime (idempotent): waker — a task awaiting a spawned child that
 * waits forever, and one unpolled `yieldNow()`; Effect — a fiber joining a forked child suspended
 * on a `Deferred`; Effection — a task awaiting a spawned child in `suspend()`. None holds a host
 * handle, so the process still exits when the benchmark is done.
 */
export function startResidents(): void {
  if (started) return;
  started = true;
  const wakerParent: JoinHandle<void> = wakerRuntime.spawn(parkedParent(wakerRuntime));
  const unpolledYield: Future<void> = yieldNow();
  kept.push(wakerParent, unpolledYield, wakerRuntime.spawn(parkedOnPrimitives(wakerRuntime)));

  // Native: the same waits on the promise-based baselines.
  const fullChannel = new PromiseChannel<number>(1);
  void fullChannel.send(0);
  const emptyChannel = new PromiseChannel<number>(1);
  const mutex = new PromiseMutex();
  void mutex.lock();
  const semaphore = new PromiseSemaphore(1);
  void semaphore.acquire();
  kept.push(
    fullChannel,
    fullChannel.send(1),
    emptyChannel,
    emptyChannel.recv(),
    mutex,
    mutex.lock(),
    semaphore,
    semaphore.acquire(),
    new Promise<number>(() => {}),
  );

  const gate = Deferred.makeUnsafe<void>();
  kept.push(
    Effect.runFork(
      Effect.gen(function* () {
        const full = yield* Queue.bounded<number>(1);
        yield* Queue.offer(full, 0);
        const empty = yield* Queue.bounded<number>(1);
        const reply = yield* Deferred.make<number>();
        const lock = yield* EffectSemaphore.make(1);
        yield* lock.take(1);
        yield* Effect.forkChild(Queue.offer(full, 1));
        yield* Effect.forkChild(Queue.take(empty));
        yield* Effect.forkChild(Deferred.await(reply));
        yield* Effect.forkChild(lock.withPermit(Effect.void));
        yield* Deferred.await(gate);
      }),
    ),
  );
  kept.push(
    gate,
    Effect.runFork(
      Effect.gen(function* () {
        const child = yield* Effect.forkChild(Deferred.await(gate));
        yield* Fiber.join(child);
      }),
    ),
  );

  kept.push(
    effectionRun(function* () {
      const child = yield* effectionSpawn(suspend);
      yield* child;
    }),
  );
}
