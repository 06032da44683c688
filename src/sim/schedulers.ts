import type { ReadyQueue } from "../runtime/ready-queue.js";
import type { SchedulingPolicy } from "../runtime/runtime.js";
import { type Task, taskName } from "../runtime/task.js";
import type { EventLog } from "./event-log.js";
import type { SimPlatform } from "./sim-platform.js";

/**
 * The part every simulator scheduler shares: each poll costs `pollCost` virtual milliseconds and
 * counts as a step, and polls and wakes go to the event log when the run keeps one.
 */
abstract class SimScheduler implements SchedulingPolicy {
  constructor(
    protected readonly host: SimPlatform,
    private readonly pollCost: number,
    private readonly log: EventLog | null,
  ) {}

  next(ready: ReadyQueue<Task>): Task | undefined {
    if (ready.isEmpty()) return undefined;
    const task = this.choose(ready);
    if (task === undefined) return undefined;
    const host = this.host;
    host.polls++;
    host.steps++;
    host.time += this.pollCost;
    if (this.log !== null) {
      // A task's first poll also names it, so that a log reads without the dump beside it.
      if (task.polls === 0) this.log.push(`start ${task.id} ${taskName(task) ?? ""}`.trimEnd());
      this.log.push(`poll ${task.id}`);
    }
    return task;
  }

  woken(task: Task): void {
    if (this.log !== null) this.log.push(`wake ${task.id}`);
  }

  /** Removes and returns the next task from a non-empty queue. */
  protected abstract choose(ready: ReadyQueue<Task>): Task | undefined;
}

/** The production order (first woken, first polled), with the simulator's costs and log. */
export class FifoScheduler extends SimScheduler {
  protected choose(ready: ReadyQueue<Task>): Task | undefined {
    return ready.shift();
  }
}

/** Uniformly random among the ready tasks, from a seeded generator. */
export class RandomScheduler extends SimScheduler {
  constructor(
    host: SimPlatform,
    pollCost: number,
    log: EventLog | null,
    private readonly random: () => number,
  ) {
    super(host, pollCost, log);
  }
  protected choose(ready: ReadyQueue<Task>): Task | undefined {
    return ready.takeRandom(this.random);
  }
}

/**
 * Probabilistic Concurrency Testing (Burckhardt, Kothari, Musuvathi, Nagarakatte, ASPLOS 2010):
 * every task gets a random priority when first seen, above `depth`; the ready task with the
 * highest priority always runs; at `depth - 1` change points, steps drawn uniformly from
 * `1..steps`, the task about to run drops to priority `depth - i` (below every initial one) and
 * the choice is made again. A bug that needs `d` ordering constraints is found with probability at
 * least 1 / (n · k^(d-1)) per run (n tasks, k steps), far better than uniform random choice for
 * deep bugs.
 *
 * After `steps` polls the scheduler falls back to uniform random choice: strict priorities would
 * let a task that spins on `yieldNow` starve the task it waits for forever (the "fair PCT" of
 * systematic testing tools).
 */
export class PctScheduler extends SimScheduler {
  private readonly priorities = new Map<number, number>();
  /** Change point step -> its index i in 1..depth-1. */
  private readonly changePoints = new Map<number, number>();
  private step = 0;

  constructor(
    host: SimPlatform,
    pollCost: number,
    log: EventLog | null,
    private readonly random: () => number,
    private readonly depth: number,
    private readonly steps: number,
  ) {
    super(host, pollCost, log);
    // At most `steps` draws: past that every step may already be a change point, and a huge
    // depth (from a replay string, say) must not hang the run before its first poll.
    for (let i = 1; i < depth && i <= steps; i++) {
      const at = 1 + Math.floor(random() * steps);
      if (!this.changePoints.has(at)) this.changePoints.set(at, i);
    }
  }

  protected choose(ready: ReadyQueue<Task>): Task | undefined {
    const step = ++this.step;
    if (step > this.steps) return ready.takeRandom(this.random);
    let best = this.highest(ready);
    const change = this.changePoints.get(step);
    if (change !== undefined) {
      const task = ready.at(best)!;
      this.priorities.set(task.id, this.depth - change);
      best = this.highest(ready);
    }
    return ready.takeAt(best);
  }

  /** The offset of the ready task with the highest priority. */
  private highest(ready: ReadyQueue<Task>): number {
    const n = ready.length;
    let best = 0;
    let bestPriority = Number.NEGATIVE_INFINITY;
    for (let i = 0; i < n; i++) {
      const priority = this.priorityOf(ready.at(i)!);
      if (priority > bestPriority) {
        bestPriority = priority;
        best = i;
      }
    }
    return best;
  }

  private priorityOf(task: Task): number {
    let priority = this.priorities.get(task.id);
    if (priority === undefined) {
      // Distinct with probability 1: depth + a uniform fraction, above every lowered priority.
      priority = this.depth + this.random();
      this.priorities.set(task.id, priority);
    }
    return priority;
  }
}
