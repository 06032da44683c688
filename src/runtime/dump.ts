import { type Task, taskName } from "./task.js";
import { CANCELLED, RUNNING, SCHEDULED } from "./task-state.js";

/** One task in a {@link TaskDump}. */
export interface TaskSnapshot {
  readonly id: number;
  readonly name: string | undefined;
  /** Where it was spawned (debug mode only). */
  readonly spawnSite: string | undefined;
  /** "ready", "running", "idle" (waiting for a wake) or "cancelling" (its cleanup runs). */
  readonly state: "ready" | "running" | "idle" | "cancelling";
  /** The chain of futures it waits on, outermost first, down to the leaf. */
  readonly awaiting: string;
  /** Live clones of its waker: 0 while idle means nothing holds a way to wake it. */
  readonly wakers: number;
  readonly polls: number;
}

/**
 * Every unfinished task of a runtime at one moment: why a program hangs, at a glance.
 *
 * @example
 * ```ts
 * console.log(rt.dump().toString());
 * // task 3 (fetchUser) idle, 1 waker, polled 2x: fetchUser > JoinHandle(task 7)
 * ```
 */
export class TaskDump {
  constructor(
    readonly tasks: readonly TaskSnapshot[],
    readonly readyQueueLength: number,
  ) {}

  toString(): string {
    if (this.tasks.length === 0) return "task dump: no unfinished tasks";
    const lines = [`task dump: ${this.tasks.length} unfinished, ${this.readyQueueLength} ready`];
    for (const t of this.tasks) {
      const label = t.name ? `${t.id} (${t.name})` : String(t.id);
      const wakers =
        t.state === "idle" && t.wakers === 0
          ? "no live waker (lost wakeup?)"
          : `${t.wakers} waker${t.wakers === 1 ? "" : "s"}`;
      lines.push(`  task ${label} ${t.state}, ${wakers}, polled ${t.polls}x: ${t.awaiting}`);
      if (t.spawnSite) lines.push(`    spawned at ${t.spawnSite}`);
    }
    return lines.join("\n");
  }
}

/** @internal */
export function takeDump(
  tasks: readonly Task[],
  readyQueueLength: number,
  spawnSiteOf: (task: Task) => string | undefined,
): TaskDump {
  return new TaskDump(
    tasks.map((task) => ({
      id: task.id,
      name: taskName(task),
      spawnSite: spawnSiteOf(task),
      state: stateName(task.state),
      awaiting: describeSafely(task),
      wakers: task.wakers,
      polls: task.polls,
    })),
    readyQueueLength,
  );
}

function stateName(state: number): TaskSnapshot["state"] {
  if ((state & RUNNING) !== 0) return "running";
  if ((state & CANCELLED) !== 0) return "cancelling";
  if ((state & SCHEDULED) !== 0) return "ready";
  return "idle";
}

function describeSafely(task: Task): string {
  try {
    return task.future?.describe() ?? "(finished)";
  } catch (error) {
    return `(describe() threw: ${String(error)})`;
  }
}
