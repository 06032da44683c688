/**
 * A minimal poll-based executor of generator tasks, for `bench/switch-floor.ts` and
 * `bench/ping-pong-floor.ts` only: the same
 * model as waker (a task's generator `yield*`s a future whose iterator polls it with the task's
 * context; Pending suspends the generator; a wake puts the task on a FIFO ready queue drained in a
 * microtask, 1,024 polls at a time) with nothing else: no error isolation, cooperative budget,
 * cancellation, dumps, deadlock detection, scheduling policy or waker contract. It shows what a
 * task switch costs in this model on V8 before any of waker's features.
 */

/** What a poll returns while the future cannot complete. */
const PENDING: unique symbol = Symbol("pending");

/** A task of the minimal executor; it is also the "waker" its futures call. */
class MinimalTask {
  scheduled = true;
  running = false;
  resolve: (value: unknown) => void = () => {};
  constructor(
    readonly executor: MinimalExecutor,
    readonly block: GeneratorBlock,
  ) {}
}

/** A minimal future: polled with the task to wake. */
export abstract class MinimalFuture<T> {
  abstract poll(task: MinimalTask): T | typeof PENDING;

  /** `yield*` protocol: the active block's reused iterator, which polls this future. */
  [Symbol.iterator](): Iterator<MinimalFuture<unknown>, T, unknown> {
    const block = activeBlock as GeneratorBlock;
    let awaiter = block.awaiter;
    if (awaiter === null || !awaiter.done) awaiter = block.awaiter = new MinimalAwait(this);
    else awaiter.reset(this);
    return awaiter as unknown as Iterator<MinimalFuture<unknown>, T, unknown>;
  }
}

const FRESH = 0;
const STARTED = 1;
const POLLED_PENDING = 2;

/** The iterator behind `yield* fut`: polls on the first `next()`, receives the output after. */
class MinimalAwait {
  done = false;
  stage = FRESH;
  constructor(public value: unknown) {}

  reset(fut: MinimalFuture<unknown>): void {
    this.done = false;
    this.stage = FRESH;
    this.value = fut;
  }

  next(sent?: unknown): this {
    if (this.stage === FRESH) {
      this.stage = STARTED;
      const r = (this.value as MinimalFuture<unknown>).poll(activeTask as MinimalTask);
      if (r === PENDING) {
        this.stage = POLLED_PENDING;
      } else {
        this.done = true;
        this.value = r;
      }
      return this;
    }
    this.done = true;
    this.value = sent;
    return this;
  }

  return(value?: unknown): this {
    this.done = true;
    this.value = value;
    return this;
  }

  throw(error: unknown): never {
    throw error;
  }
}

let activeBlock: GeneratorBlock | null = null;
let activeTask: MinimalTask | null = null;

const genNext = Object.getPrototypeOf(function* () {}).prototype.next as (
  this: Generator<unknown, unknown, unknown>,
  value: unknown,
) => IteratorResult<unknown, unknown>;

/**
 * A generator task body: resumed on each poll, suspended at an await that polled Pending. It
 * awaits two ways: `yield* fut` (waker's form: the future's iterator polls it inside the
 * generator, and the await's output is typed) or a plain `yield fut` (the block polls the future
 * it was handed; TypeScript types every `yield` of a generator alike, so the output is not typed).
 * The second is here only to measure what the `yield*` protocol itself costs.
 */
class GeneratorBlock {
  awaiter: MinimalAwait | null = null;
  private waitingOn: MinimalFuture<unknown> | null = null;
  constructor(private readonly gen: Generator<MinimalFuture<unknown>, unknown, unknown>) {}

  poll(task: MinimalTask): unknown {
    let input: unknown;
    const waitingOn = this.waitingOn;
    if (waitingOn !== null) {
      input = waitingOn.poll(task);
      if (input === PENDING) return PENDING;
      this.waitingOn = null;
    }
    for (;;) {
      const previousBlock = activeBlock;
      const previousTask = activeTask;
      activeBlock = this;
      activeTask = task;
      const step = genNext.call(this.gen, input);
      activeBlock = previousBlock;
      activeTask = previousTask;
      if (step.done) return step.value;
      const awaiter = this.awaiter as MinimalAwait;
      if (step === awaiter && awaiter.stage === POLLED_PENDING) {
        awaiter.stage = STARTED;
        this.waitingOn = awaiter.value as MinimalFuture<unknown>;
        return PENDING;
      }
      const yielded = step.value;
      if (!(yielded instanceof MinimalFuture)) {
        throw new Error("the minimal executor awaits its own futures only");
      }
      input = yielded.poll(task);
      if (input === PENDING) {
        this.waitingOn = yielded;
        return PENDING;
      }
    }
  }
}

/** Gives other ready tasks a turn: Pending once, after waking its own task. */
export class MinimalYield extends MinimalFuture<void> {
  private yielded = false;
  poll(task: MinimalTask): undefined | typeof PENDING {
    if (this.yielded) return undefined;
    this.yielded = true;
    task.executor.wake(task);
    return PENDING;
  }
}

/**
 * A one-slot mailbox between two minimal tasks, the least a message between tasks can cost in this
 * model: `put` stores the value and wakes the task waiting in `take()`, if any. No capacity, close,
 * fairness or budget: the caller never puts into a full box. The box is its own `take()` future
 * (one waiting task at most), so taking allocates nothing.
 */
export class MinimalMailbox<T> extends MinimalFuture<T> {
  full = false;
  value: T | undefined = undefined;
  waiting: MinimalTask | null = null;

  put(value: T): void {
    this.full = true;
    this.value = value;
    const task = this.waiting;
    if (task !== null) {
      this.waiting = null;
      task.executor.wake(task);
    }
  }

  /** A future of the next value put: the box itself. */
  take(): MinimalFuture<T> {
    return this;
  }

  poll(task: MinimalTask): T | typeof PENDING {
    if (!this.full) {
      this.waiting = task;
      return PENDING;
    }
    const value = this.value as T;
    this.full = false;
    this.value = undefined;
    return value;
  }
}

/** The executor: a FIFO ring of ready tasks, drained in a microtask, 1,024 polls per turn. */
export class MinimalExecutor {
  private buffer: (MinimalTask | undefined)[] = new Array(4096);
  private mask = 4095;
  private head = 0;
  private tail = 0;
  private armed = false;
  private readonly drainFn = (): void => this.drain();

  /** Runs a generator as a task; resolves with its return value. */
  spawn<T>(gen: Generator<MinimalFuture<unknown>, T, unknown>): Promise<T> {
    const task = new MinimalTask(this, new GeneratorBlock(gen));
    return new Promise<T>((resolve) => {
      task.resolve = resolve as (value: unknown) => void;
      this.push(task);
      this.arm();
    });
  }

  wake(task: MinimalTask): void {
    if (task.scheduled) return;
    task.scheduled = true;
    if (task.running) return;
    this.push(task);
    this.arm();
  }

  private push(task: MinimalTask): void {
    if (((this.tail + 1) & this.mask) === this.head) throw new Error("ready queue full");
    this.buffer[this.tail] = task;
    this.tail = (this.tail + 1) & this.mask;
  }

  private arm(): void {
    if (this.armed) return;
    this.armed = true;
    queueMicrotask(this.drainFn);
  }

  private drain(): void {
    this.armed = false;
    for (let polls = 0; polls < 1024; polls++) {
      if (this.head === this.tail) return;
      const task = this.buffer[this.head] as MinimalTask;
      this.buffer[this.head] = undefined;
      this.head = (this.head + 1) & this.mask;
      task.scheduled = false;
      task.running = true;
      const r = task.block.poll(task);
      task.running = false;
      if (r !== PENDING) task.resolve(r);
      else if (task.scheduled) this.push(task);
    }
    if (this.head !== this.tail) {
      this.armed = true;
      setImmediate(this.drainFn);
    }
  }
}
