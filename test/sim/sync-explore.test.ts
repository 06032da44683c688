/**
 * The library's own channel and lock properties, checked by invariants under `explore`: every
 * seed is a different interleaving (random and PCT), with cancellations at seeded points.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  type AsyncGenerator,
  asyncFn,
  ChannelClosed,
  type Context,
  channel,
  Future,
  future,
  type JoinHandle,
  joinAll,
  Mutex,
  Pending,
  type Poll,
  type Receiver,
  Semaphore,
  type Sender,
  sleep,
  spawn,
  TimeoutError,
  timeout,
  yieldNow,
} from "../../src/index.js";
import { explore, type SimScheduling, type Simulation } from "../../src/sim/index.js";

const SCHEDULES: [string, SimScheduling][] = [
  ["random", "random"],
  ["PCT depth 3", { pct: 3 }],
];
const SEEDS = 300;

/** Reports a wrapped future's first Pending, its completion and its drop before completion. */
class Watched<T> extends Future<T> {
  private waited = false;
  private done = false;
  constructor(
    private readonly inner: Future<T>,
    private readonly hooks: {
      waiting(): void;
      ready(waited: boolean): void;
      dropped(waited: boolean): void;
    },
  ) {
    super();
  }
  poll(cx: Context): Poll<T> {
    const r = this.inner.poll(cx);
    if (r === Pending) {
      if (!this.waited) {
        this.waited = true;
        this.hooks.waiting();
      }
      return Pending;
    }
    this.done = true;
    this.hooks.ready(this.waited);
    return r;
  }
  override drop(): void {
    if (!this.done) {
      this.done = true;
      this.hooks.dropped(this.waited);
    }
    this.inner.drop();
  }
}

/** Spins `n` polls (each one a scheduling point). */
const spin = asyncFn(function* (n: number): AsyncGenerator<void> {
  for (let i = 0; i < n; i++) yield* yieldNow();
});

describe("bounded channel: several producers and consumers, cancellations", () => {
  const CAPACITY = 3;
  const PRODUCERS = 5;
  const PER_PRODUCER = 6;
  /** Over all runs: the cancellations the invariants were checked against. */
  const seen = { sendTimeouts: 0, recvTimeouts: 0 };

  const program = (sim: Simulation) =>
    future(function* () {
      const [tx, rx] = channel<number>(CAPACITY);
      const sent = new Set<number>();
      const received: number[] = [];
      const checkBuffer = () =>
        assert.ok(
          sent.size - received.length <= CAPACITY,
          `${sent.size - received.length} values buffered, capacity ${CAPACITY}`,
        );
      const producer = asyncFn(function* (id: number, out: Sender<number>): AsyncGenerator<void> {
        try {
          for (let i = 0; i < PER_PRODUCER; i++) {
            yield* spin(Math.floor(sim.random() * 3));
            if (sim.random() < 0.3) yield* sleep(1 + Math.floor(sim.random() * 4)); // slow producer
            const value = id * 100 + i;
            // A send that times out is dropped: it must send nothing.
            try {
              yield* timeout(out.send(value), 1 + Math.floor(sim.random() * 3));
            } catch (error) {
              if (!(error instanceof TimeoutError)) throw error;
              seen.sendTimeouts++;
              continue;
            }
            sent.add(value);
            checkBuffer();
          }
        } finally {
          out.drop();
        }
      });
      // Consumers take turns on the one receiver through a lock; a recv that times out is
      // dropped, and must consume nothing.
      const shared = new Mutex<Receiver<number>>(rx);
      const consumer = asyncFn(function* (): AsyncGenerator<void> {
        for (;;) {
          const guard = yield* shared.lock();
          try {
            const value = yield* timeout(guard.value.recv(), 1 + Math.floor(sim.random() * 2));
            received.push(value);
            checkBuffer();
          } catch (error) {
            if (error instanceof ChannelClosed) return;
            if (!(error instanceof TimeoutError)) throw error;
            seen.recvTimeouts++;
          } finally {
            guard.release();
          }
          yield* spin(Math.floor(sim.random() * 2));
          if (sim.random() < 0.3) yield* sleep(1 + Math.floor(sim.random() * 4)); // slow consumer
        }
      });
      const producers: JoinHandle<void>[] = [];
      const senders: Sender<number>[] = [];
      for (let p = 0; p < PRODUCERS; p++) {
        senders.push(tx.clone());
        producers.push(spawn(producer(p, senders[p]!)));
      }
      tx.drop();
      const consumers = [spawn(consumer()), spawn(consumer()), spawn(consumer())];
      // Abort one producer at a seeded point: its sender is dropped by its finally.
      yield* spin(Math.floor(sim.random() * 20));
      const victim = Math.floor(sim.random() * PRODUCERS);
      producers[victim]!.abort();
      // A task aborted before its first poll never ran its body, so its finally never drops the
      // sender: its owner does (drop is idempotent).
      try {
        yield* producers[victim]!;
      } catch {
        senders[victim]!.drop();
      }
      yield* joinAll(consumers);
      // No loss, no duplicate, nothing a cancelled send carried; each producer's values in order.
      assert.deepEqual(
        [...received].sort((a, b) => a - b),
        [...sent].sort((a, b) => a - b),
      );
      for (let p = 0; p < PRODUCERS; p++) {
        const mine = received.filter((v) => Math.floor(v / 100) === p);
        assert.deepEqual(
          mine,
          [...mine].sort((a, b) => a - b),
          `producer ${p} in order`,
        );
      }
      return received.length;
    });

  for (const [name, scheduling] of SCHEDULES) {
    test(`${SEEDS} seeds (${name}): no loss, no duplicate, per-sender order, capacity respected`, () => {
      explore({ seeds: SEEDS, scheduling }, program);
      assert.ok(seen.sendTimeouts > 0 && seen.recvTimeouts > 0, JSON.stringify(seen));
    });
  }
});

describe("Mutex: exclusion and FIFO hand-over, with waiters cancelled", () => {
  const TASKS = 8;
  const seen = { waited: 0, cancelledWaiters: 0 };

  const program = (sim: Simulation) =>
    future(function* () {
      const lock = new Mutex(0);
      let inside = 0;
      const waitOrder: number[] = [];
      const acquireOrder: number[] = [];
      const waiting = new Set<number>();
      const locker = asyncFn(function* (id: number): AsyncGenerator<void> {
        yield* spin(Math.floor(sim.random() * 4));
        const watched = new Watched(lock.lock(), {
          waiting: () => {
            waitOrder.push(id);
            waiting.add(id);
          },
          ready: (waited) => {
            // Nobody jumps the queue: a lock taken at once means nobody was waiting.
            if (!waited) assert.equal(waiting.size, 0, `task ${id} barged past ${[...waiting]}`);
            waiting.delete(id);
            if (waited) {
              acquireOrder.push(id);
              seen.waited++;
            }
          },
          dropped: (waited) => {
            waiting.delete(id);
            if (waited) seen.cancelledWaiters++;
          },
        });
        let guard: Awaited<ReturnType<Mutex<number>["tryLock"]>>;
        try {
          guard = yield* timeout(watched, 1 + Math.floor(sim.random() * 6));
        } catch (error) {
          if (error instanceof TimeoutError) return;
          throw error;
        }
        assert.equal(inside, 0, "two tasks inside the lock");
        inside++;
        guard!.value++;
        yield* spin(Math.floor(sim.random() * 3));
        if (sim.random() < 0.2) yield* sleep(1);
        inside--;
        guard!.release();
      });
      const tasks: JoinHandle<void>[] = [];
      for (let i = 0; i < TASKS; i++) tasks.push(spawn(locker(i)));
      yield* joinAll(tasks);
      // Waiters got the lock in the order they started waiting (the cancelled ones left the line).
      const served = new Set(acquireOrder);
      assert.deepEqual(
        acquireOrder,
        waitOrder.filter((id) => served.has(id)),
      );
      assert.ok(lock.tryLock() !== undefined, "the lock is free at the end");
    });

  for (const [name, scheduling] of SCHEDULES) {
    test(`${SEEDS} seeds (${name}): one holder at a time, FIFO among waiters, free at the end`, () => {
      explore({ seeds: SEEDS, scheduling }, program);
      assert.ok(seen.waited > 0 && seen.cancelledWaiters > 0, JSON.stringify(seen));
    });
  }
});

describe("Semaphore: permits are conserved, with acquirers cancelled", () => {
  const PERMITS = 5;
  const seen = { timeouts: 0, abortedHolders: 0, full: 0 };

  const program = (sim: Simulation) =>
    future(function* () {
      const sem = new Semaphore(PERMITS);
      let held = 0;
      let maxHeld = 0;
      const user = asyncFn(function* (): AsyncGenerator<void> {
        const want = 1 + Math.floor(sim.random() * 3);
        yield* spin(Math.floor(sim.random() * 3));
        let permit: Awaited<ReturnType<Semaphore["tryAcquire"]>>;
        try {
          permit = yield* timeout(sem.acquire(want), 1 + Math.floor(sim.random() * 5));
        } catch (error) {
          if (!(error instanceof TimeoutError)) throw error;
          seen.timeouts++;
          return;
        }
        held += want;
        let finished = false;
        try {
          maxHeld = Math.max(maxHeld, held);
          assert.ok(held <= PERMITS, `${held} permits held of ${PERMITS}`);
          yield* spin(Math.floor(sim.random() * 3));
          if (sim.random() < 0.3) yield* sleep(1);
          finished = true;
        } finally {
          if (!finished) seen.abortedHolders++;
          // Also when the task is aborted while holding its permits.
          held -= want;
          permit!.release();
        }
      });
      const tasks: JoinHandle<void>[] = [];
      for (let i = 0; i < 10; i++) tasks.push(spawn(user()));
      // Abort two users at seeded points, whatever they are doing (waiting or holding).
      for (let k = 0; k < 2; k++) {
        yield* spin(Math.floor(sim.random() * 10));
        tasks[Math.floor(sim.random() * tasks.length)]!.abort();
      }
      for (const t of tasks) {
        try {
          yield* t;
        } catch {
          // aborted
        }
      }
      assert.equal(sem.availablePermits, PERMITS, "every permit came back");
      if (maxHeld === PERMITS) seen.full++;
    });

  for (const [name, scheduling] of SCHEDULES) {
    test(`${SEEDS} seeds (${name}): never more than the permits held; all returned`, () => {
      explore({ seeds: SEEDS, scheduling }, program);
      assert.ok(
        seen.timeouts > 0 && seen.abortedHolders > 0 && seen.full > 0,
        JSON.stringify(seen),
      );
    });
  }
});
