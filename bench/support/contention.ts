/**
 * How the contention workloads split N lock operations among tasks: 1,000 tasks (fewer when N is
 * smaller) that each lock N / 1,000 times.
 */

/** Tasks that contend for the lock. */
const CONTENDING_TASKS = 1000;

/** The number of tasks and the locks each takes, for N operations in total. */
export function contentionShape(n: number): { tasks: number; iterations: number } {
  const tasks = Math.max(1, Math.min(CONTENDING_TASKS, n));
  return { tasks, iterations: Math.floor(n / tasks) };
}

/** The lock operations a run of size `n` performs (N, rounded down to a multiple of the tasks). */
export function contentionOps(n: number): number {
  const { tasks, iterations } = contentionShape(n);
  return tasks * iterations;
}
