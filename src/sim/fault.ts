import { InvalidArgumentError } from "../task/errors.js";
import { currentSimulation } from "./current.js";

/** Options of {@link fault}. */
export interface FaultOptions {
  /** Probability that this fault point is active in a run (decided once per run). Default 0.25. */
  readonly p?: number;
  /** Probability that an active fault point fires on each call. Default 0.25. */
  readonly q?: number;
}

/**
 * A fault injection point (FoundationDB's `BUGGIFY`): inside a simulation, `true` when the run
 * should take the rare path here — fail the write, drop the cache, add a delay. Whether the point
 * named `name` is active is decided once per run from the seed and the name (probability `p`);
 * an active point fires on each call with probability `q`, from the run's seeded generator. So
 * a seed replays the same faults, and most runs exercise some rare paths without drowning in them.
 * Outside a simulation it is always `false`, at the cost of one comparison.
 *
 * @example
 * ```ts
 * const save = asyncFn(function* (db: Db, row: Row) {
 *   if (fault("save: transient error")) throw new TransientError("injected");
 *   if (fault("save: slow disk", { q: 0.5 })) yield* sleep(200);
 *   yield* db.insert(row);
 * });
 * ```
 * @throws {InvalidArgumentError} when `p` or `q` is not a number in [0, 1] (inside a simulation).
 */
export function fault(name: string, options?: FaultOptions): boolean {
  const sim = currentSimulation();
  if (sim === null) return false;
  const p = options?.p ?? 0.25;
  const q = options?.q ?? 0.25;
  if (!isProbability(p) || !isProbability(q)) {
    throw new InvalidArgumentError(
      `fault("${name}"): p and q must be probabilities in [0, 1], got p=${String(p)}, q=${String(q)}`,
    );
  }
  return sim.fault(String(name), p, q);
}

function isProbability(x: unknown): x is number {
  return typeof x === "number" && x >= 0 && x <= 1;
}
