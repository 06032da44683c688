import { InvalidArgumentError } from "../task/errors.js";

/**
 * A small, fast, seedable generator of numbers in [0, 1) (mulberry32): the same seed gives the
 * same sequence on every host, which is what replaying a run needs. Not for cryptography.
 *
 * @example
 * ```ts
 * const random = seededRandom(42);
 * random(); // the same first number on every run
 * ```
 * @throws {InvalidArgumentError} when `seed` is not a finite number.
 */
export function seededRandom(seed: number): () => number {
  if (typeof seed !== "number" || !Number.isFinite(seed)) {
    throw new InvalidArgumentError(
      `seededRandom: seed must be a finite number, got ${String(seed)}`,
    );
  }
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
