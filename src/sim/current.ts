/** What `fault()` asks of the simulation running now. */
export interface FaultSource {
  fault(name: string, p: number, q: number): boolean;
}

let current: FaultSource | null = null;

/** @internal The simulation running now (synchronously, inside `simulate`), if any. */
export function currentSimulation(): FaultSource | null {
  return current;
}

/** @internal Set by `simulate` around its run; returns the previous value to restore. */
export function enterSimulation(sim: FaultSource | null): FaultSource | null {
  const previous = current;
  current = sim;
  return previous;
}
