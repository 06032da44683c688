/**
 * heap-per-task: the parent spawns N tasks that each wait on one shared gate, keeping their
 * handles as it would to join them. Once all N are pending: full GC, heap delta / N. Then the gate
 * opens (or, for Effection, the root is halted) and every task must finish (the count is the
 * check). The per-task number includes the task's handle slot in the parent's array and its
 * registration on the gate (promise reaction, waker clone, Deferred waiter).
 */
import { Deferred, Effect, Fiber } from "effect";
import {
  run as effectionRun,
  spawn as effectionSpawn,
  type Operation,
  suspend,
  type Task,
} from "effection";
import {
  type AsyncGenerator,
  asyncFn,
  type Context,
  Future,
  future,
  type JoinHandle,
  Pending,
  type Poll,
  type Waker,
} from "../../src/index.js";
import { collectGarbage, heapUsed, type Sample, type Workload } from "../harness.js";
import { wakerRuntime } from "../support/residents.js";

/** Counts tasks that reached their wait and fires once all `n` have. */
class Arrivals {
  started = 0;
  completed = 0;
  readonly allPending: Promise<void>;
  private resolve!: () => void;
  constructor(private readonly n: number) {
    this.allPending = new Promise((resolve) => {
      this.resolve = resolve;
    });
  }
  arrive(): void {
    if (++this.started === this.n) this.resolve();
  }
}

/**
 * Heap delta per task between a GC before `start` and a GC once all `n` tasks are pending; then
 * the function `start` returned releases them and resolves when all have finished.
 */
async function measure(
  n: number,
  start: (arrivals: Arrivals) => () => Promise<unknown>,
): Promise<Sample> {
  const arrivals = new Arrivals(n);
  collectGarbage();
  const before = heapUsed();
  const release = start(arrivals);
  await arrivals.allPending;
  collectGarbage();
  const after = heapUsed();
  await release();
  return { value: (after - before) / n, check: arrivals.completed };
}

// --- waker: a hand-written leaf future registering a waker clone on a shared gate.

class WakerGate {
  open = false;
  readonly wakers: Waker[] = [];
  constructor(readonly arrivals: Arrivals) {}
  release(): void {
    this.open = true;
    const wakers = this.wakers.splice(0);
    for (const w of wakers) w.wake();
  }
}

class GateWait extends Future<void> {
  private registered = false;
  constructor(private readonly gate: WakerGate) {
    super();
  }
  poll(cx: Context): Poll<void> {
    if (this.gate.open) return undefined;
    if (!this.registered) {
      this.registered = true;
      this.gate.wakers.push(cx.waker.clone());
      this.gate.arrivals.arrive();
    }
    return Pending;
  }
}

const wakerWaiter = asyncFn(function* (gate: WakerGate): AsyncGenerator<void> {
  yield* new GateWait(gate);
  gate.arrivals.completed++;
});

/** waker: N `asyncFn` tasks pending on a leaf future that holds their waker clones. */
export function heapPerTaskWaker(n: number): Promise<Sample> {
  return measure(n, (arrivals) => {
    const rt = wakerRuntime;
    const gate = new WakerGate(arrivals);
    const done = rt.run(
      future(function* () {
        const hs: JoinHandle<void>[] = [];
        for (let i = 0; i < n; i++) hs.push(rt.spawn(wakerWaiter(gate)));
        for (const h of hs) yield* h;
      }),
    );
    return () => {
      gate.release();
      return done;
    };
  });
}

// --- native: async functions awaiting one never-resolved-until-released promise.

async function nativeWaiter(gate: Promise<void>, arrivals: Arrivals): Promise<void> {
  arrivals.arrive();
  await gate;
  arrivals.completed++;
}

/** Native: N async calls awaiting one shared promise, kept in an array for `Promise.all`. */
export function heapPerTaskNative(n: number): Promise<Sample> {
  return measure(n, (arrivals) => {
    let open!: () => void;
    const gate = new Promise<void>((resolve) => {
      open = resolve;
    });
    const ps: Promise<void>[] = [];
    for (let i = 0; i < n; i++) ps.push(nativeWaiter(gate, arrivals));
    return () => {
      open();
      return Promise.all(ps);
    };
  });
}

// --- Effect: fibers suspended on one Deferred.

const effectWaiter = Effect.fnUntraced(function* (
  gate: Deferred.Deferred<void>,
  arrivals: Arrivals,
) {
  arrivals.arrive();
  yield* Deferred.await(gate);
  arrivals.completed++;
});

/** Effect: N `Effect.forkChild` fibers awaiting one `Deferred`, then `Fiber.join`ed. */
export function heapPerTaskEffect(n: number): Promise<Sample> {
  return measure(n, (arrivals) => {
    const gate = Deferred.makeUnsafe<void>();
    const done = Effect.runPromise(
      Effect.gen(function* () {
        const fibers: Fiber.Fiber<void>[] = [];
        for (let i = 0; i < n; i++)
          fibers.push(yield* Effect.forkChild(effectWaiter(gate, arrivals)));
        for (const f of fibers) yield* Fiber.join(f);
      }),
    );
    return () => {
      Deferred.doneUnsafe(gate, Effect.void);
      return done;
    };
  });
}

// --- Effection: tasks suspended forever, then halted with their root.

function* effectionWaiter(arrivals: Arrivals): Operation<void> {
  arrivals.arrive();
  try {
    yield* suspend();
  } finally {
    arrivals.completed++;
  }
}

/** Effection: N spawned tasks in `suspend()`; halting the root ends them (their `finally` counts). */
export function heapPerTaskEffection(n: number): Promise<Sample> {
  return measure(n, (arrivals) => {
    const root = effectionRun(function* () {
      const tasks: Task<void>[] = [];
      for (let i = 0; i < n; i++)
        tasks.push(yield* effectionSpawn(() => effectionWaiter(arrivals)));
      for (const t of tasks) yield* t;
    });
    return () => root.halt();
  });
}

/** The heap-per-task workload: retained heap bytes per pending task. */
export const heapPerTask: Workload = {
  name: "heap-per-task",
  description: "heap bytes retained per pending task (N tasks waiting on one gate, after full GC)",
  unit: "B/task",
  sizes: [100_000],
  quickSizes: [100_000],
  expected: (n) => n,
  implementations: {
    native: heapPerTaskNative,
    waker: heapPerTaskWaker,
    effect: heapPerTaskEffect,
    effection: heapPerTaskEffection,
  },
  notes: {
    native: "async fn awaiting a shared promise; promises kept for Promise.all",
    waker: "asyncFn awaiting a hand-written leaf holding waker clones; handles kept",
    effect: "Effect.fnUntraced awaiting a shared Deferred; fibers kept for Fiber.join",
    effection: "spawned generator in suspend(); tasks kept; released by halting the root",
  },
};
