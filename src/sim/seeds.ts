import { describeValue, InvalidArgumentError } from "../task/errors.js";

/**
 * The independent random streams of one simulation, each derived from the run's seed: adding a
 * `fault` call or a `sim.random()` draw does not change the schedule, and the reverse.
 */
export const STREAM_SCHEDULER = 1;
/** `select`'s start branches (the runtime's own generator). */
export const STREAM_SELECT = 2;
/** `sim.random()` and `Math.random` inside the simulation. */
export const STREAM_USER = 3;
/** Whether a `fault` fires on a given call. */
export const STREAM_FAULT = 4;
/** The simulated network's latencies, losses and reorderings. */
export const STREAM_NETWORK = 5;
/** The platform's `random()` (used by nothing in the core today, kept apart all the same). */
export const STREAM_PLATFORM = 6;

/** The murmur3 finalizer: a good 32-bit avalanche of `h`. */
function fmix(h: number): number {
  let x = h >>> 0;
  x ^= x >>> 16;
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  x ^= x >>> 16;
  return x >>> 0;
}

/**
 * A 32-bit seed for stream `stream` of the run with seed `seed` (any safe integer: both halves
 * are mixed in, so seeds 2^32 apart differ).
 */
export function deriveSeed(seed: number, stream: number): number {
  const low = seed >>> 0;
  const high = Math.floor(seed / 4294967296) >>> 0;
  return fmix(fmix(low ^ Math.imul(stream, 0x9e3779b9)) ^ fmix(high + stream));
}

/** A 32-bit hash of a string (FNV-1a, then mixed), for per-name decisions. */
export function hashString(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return fmix(h);
}

/** A well-mixed 32-bit hash of two 32-bit values (order matters). */
export function mix(a: number, b: number): number {
  return fmix(fmix(a) ^ Math.imul(fmix(b ^ 0x27d4eb2f), 0x165667b1));
}

/** A number in [0, 1) from a 32-bit hash. */
export function unitOf(hash: number): number {
  return (hash >>> 0) / 4294967296;
}

/**
 * Checks a seed: a non-negative safe integer.
 *
 * @throws {InvalidArgumentError} otherwise.
 */
export function checkSeed(seed: unknown, where: string): number {
  if (typeof seed !== "number" || !Number.isSafeInteger(seed) || seed < 0) {
    throw new InvalidArgumentError(
      `${where}: seed must be a non-negative safe integer, got ${describeValue(seed)}`,
    );
  }
  return seed;
}
