export { consumeBudget, remainingBudget, TASK_BUDGET } from "./budget.js";
export { getDefaultRuntime, run, spawn } from "./default-runtime.js";
export type { TaskDump, TaskSnapshot } from "./dump.js";
export { BlockOnError, Cancelled, DeadlockError, JoinError, RuntimeClosedError } from "./errors.js";
export { JoinHandle } from "./join-handle.js";
export { JoinSet } from "./join-set.js";
export { type MainOptions, main } from "./main.js";
export { Runtime, type RuntimeOptions, type SpawnOptions, type TaskInfo } from "./runtime.js";
export { type Scope, scope } from "./scope.js";
