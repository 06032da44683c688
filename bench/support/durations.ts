/**
 * Reproducible timer durations: every implementation of a timer workload sleeps exactly the same
 * durations, drawn from a fixed-seed PRNG (mulberry32), so the runs differ only in the runtime.
 */

/** mulberry32: a small, fast 32-bit PRNG; returns numbers in [0, 1). */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * `n` whole-millisecond durations, uniform in `[min, max]`, from the PRNG seeded with `seed`. The
 * same arguments always give the same durations, and a longer list starts with the shorter one.
 */
export function uniformDurations(n: number, min: number, max: number, seed: number): Int32Array {
  const random = mulberry32(seed);
  const span = max - min + 1;
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) out[i] = min + Math.floor(random() * span);
  return out;
}

/** Memoizes {@link uniformDurations} per `n` for one distribution (the harness reruns each size). */
export function durationTable(min: number, max: number, seed: number): (n: number) => Int32Array {
  const cache = new Map<number, Int32Array>();
  return (n) => {
    let table = cache.get(n);
    if (table === undefined) {
      table = uniformDurations(n, min, max, seed);
      cache.set(n, table);
    }
    return table;
  };
}
