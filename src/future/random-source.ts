/**
 * The random numbers `select` uses to pick its first branch. The runtime points this at its
 * platform's seedable generator while it polls, so a seeded runtime (and the simulator) replays
 * the same choices; outside a runtime it is `Math.random`.
 */
let source: () => number = Math.random;

/** A number in [0, 1) from the current source. */
export function random(): number {
  return source();
}

/** @internal Installed by the runtime around its polls; returns the previous source to restore. */
export function setRandomSource(next: () => number): () => number {
  const previous = source;
  source = next;
  return previous;
}
