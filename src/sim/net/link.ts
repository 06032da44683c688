import { describeValue, InvalidArgumentError } from "../../task/errors.js";

/**
 * One-way latency of a link in ms: a constant, a uniform range `{ min, max }`, or a function
 * that draws one from the network's seeded `random` (any distribution: long tails, spikes).
 */
export type Latency =
  | number
  | { readonly min: number; readonly max: number }
  | ((random: () => number) => number);

/**
 * The behaviour of the link between two hosts (both directions), or the network-wide default.
 *
 * @example
 * ```ts
 * net.setLink("10.0.0.1", "10.0.0.2", { latency: { min: 20, max: 80 }, bandwidth: 100, loss: 0.01 });
 * ```
 */
export interface LinkOptions {
  /** One-way latency per segment (default `{ min: 1, max: 5 }` ms). */
  readonly latency?: Latency;
  /** Bytes per ms each direction can carry (default `Infinity`): segments queue behind each other. */
  readonly bandwidth?: number;
  /**
   * Probability that a segment is lost (default 0). TCP never loses data silently: a lost segment
   * is retransmitted, arriving `retransmitTimeout` ms later (doubling per further loss), and the
   * bytes behind it on its connection wait for it.
   */
  readonly loss?: number;
  /** Delay added by the first retransmission of a lost segment (default 200 ms). */
  readonly retransmitTimeout?: number;
  /** Probability that a data segment's arrival resets its connection (both ends get ECONNRESET). */
  readonly resetRate?: number;
}

/** @internal A link's options with defaults applied. */
export interface LinkConfig {
  readonly latency: (random: () => number) => number;
  readonly bandwidth: number;
  readonly loss: number;
  readonly retransmitTimeout: number;
  readonly resetRate: number;
}

/** @internal */
export const DEFAULT_LINK: LinkConfig = {
  latency: uniform(1, 5),
  bandwidth: Number.POSITIVE_INFINITY,
  loss: 0,
  retransmitTimeout: 200,
  resetRate: 0,
};

function uniform(min: number, max: number): (random: () => number) => number {
  return (random) => min + random() * (max - min);
}

function fail(where: string, what: string, value: unknown): never {
  throw new InvalidArgumentError(`${where}: ${what}, got ${describeValue(value)}`);
}

function latencyOf(value: unknown, where: string): (random: () => number) => number {
  if (typeof value === "number") {
    if (!(value >= 0) || !Number.isFinite(value)) fail(where, "latency must be >= 0 ms", value);
    return () => value;
  }
  if (typeof value === "function") {
    const draw = value as (random: () => number) => number;
    return (random) => {
      const ms = draw(random);
      if (typeof ms !== "number" || !(ms >= 0) || !Number.isFinite(ms)) {
        fail(where, "the latency function must return a number of ms >= 0", ms);
      }
      return ms;
    };
  }
  const range = value as { min?: unknown; max?: unknown } | null;
  if (
    range === null ||
    typeof range !== "object" ||
    typeof range.min !== "number" ||
    typeof range.max !== "number" ||
    !(range.min >= 0) ||
    !(range.max >= range.min) ||
    !Number.isFinite(range.max)
  ) {
    fail(where, "latency must be ms >= 0, { min, max } with 0 <= min <= max, or a function", value);
  }
  return uniform(range.min, range.max);
}

function probability(value: unknown, where: string, name: string): number {
  if (typeof value !== "number" || !(value >= 0) || !(value < 1)) {
    fail(where, `${name} must be a probability in [0, 1)`, value);
  }
  return value;
}

/** @internal Applies `options` over `base`, checking each field. */
export function resolveLink(options: LinkOptions | undefined, base: LinkConfig, where: string) {
  if (options === undefined) return base;
  if (options === null || typeof options !== "object")
    fail(where, "expected link options", options);
  const bandwidth = options.bandwidth ?? base.bandwidth;
  if (typeof bandwidth !== "number" || !(bandwidth > 0)) {
    fail(where, "bandwidth must be > 0 bytes per ms (or Infinity)", bandwidth);
  }
  const rto = options.retransmitTimeout ?? base.retransmitTimeout;
  if (typeof rto !== "number" || !(rto > 0) || !Number.isFinite(rto)) {
    fail(where, "retransmitTimeout must be > 0 ms", rto);
  }
  return {
    latency: options.latency === undefined ? base.latency : latencyOf(options.latency, where),
    bandwidth,
    loss: options.loss === undefined ? base.loss : probability(options.loss, where, "loss"),
    retransmitTimeout: rto,
    resetRate:
      options.resetRate === undefined
        ? base.resetRate
        : probability(options.resetRate, where, "resetRate"),
  } satisfies LinkConfig;
}
