/**
 * Timing of a part of a run (the I/O workloads time their exchange, not the setup of sockets and
 * files around it), and percentiles of recorded latencies.
 */
import { nowNs } from "../harness.js";

/** Wall and process CPU time (user + system, all threads) of a measured span, in ns. */
export interface Span {
  readonly wallNs: number;
  readonly cpuNs: number;
}

/** Starts measuring now; the returned function ends the span and reports its {@link Span}. */
export function startSpan(): () => Span {
  const cpuStart = process.cpuUsage();
  const start = nowNs();
  return () => {
    const wallNs = Number(nowNs() - start);
    const cpu = process.cpuUsage(cpuStart);
    return { wallNs, cpuNs: (cpu.user + cpu.system) * 1000 };
  };
}

/** The `q`-quantile (nearest rank) of `values`, which it sorts in place; NaN when empty. */
export function percentileInPlace(values: Float64Array, q: number): number {
  const n = values.length;
  if (n === 0) return Number.NaN;
  values.sort();
  return values[Math.min(n - 1, Math.max(0, Math.ceil(n * q) - 1))]!;
}
