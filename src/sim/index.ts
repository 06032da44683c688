/**
 * `waker/sim`: the deterministic simulator. `simulate` runs a program on a runtime whose clock is
 * virtual, whose scheduler picks among ready tasks with a seeded generator (uniform or PCT) and
 * whose randomness all comes from one seed, synchronously and without the host event loop, so a
 * seed replays a run exactly. `explore` runs many seeds and reports the first failure with its
 * replay string and task dump; `fault` places BUGGIFY-style fault injection points.
 *
 * @packageDocumentation
 */
export {
  NondeterminismError,
  SimulationFailure,
  SimulationLimitError,
  UnhandledTaskError,
} from "./errors.js";
export { EventLog } from "./event-log.js";
export { type ExploreOptions, type ExploreReport, explore, replay } from "./explore.js";
export { type FaultOptions, fault } from "./fault.js";
export * from "./net/index.js";
export { formatReplay, parseReplay, type ReplaySpec, type SimScheduling } from "./replay-string.js";
export { type SimulateOptions, Simulation, simulate } from "./simulate.js";
