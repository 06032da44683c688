import { InvalidArgumentError } from "../task/errors.js";

/** How the simulator orders ready tasks: see {@link SimulateOptions.scheduling}. */
export type SimScheduling =
  | "fifo"
  | "random"
  | {
      /** PCT's depth d: the number of ordering constraints a bug may need (d - 1 change points). */
      readonly pct: number;
      /** PCT's k: the expected number of polls of a run (default 1,000; `explore` learns it). */
      readonly steps?: number;
    };

/** What a replay string fixes: the seed, and (when given) the schedule options. */
export interface ReplaySpec {
  readonly seed: number;
  readonly scheduling?: SimScheduling;
  readonly pollCost?: number;
}

/**
 * The replay string of a run: `<seed>:<scheduling>` with scheduling `fifo`, `random` or
 * `pct<depth>x<steps>`, then `:cost<ms>` when the poll cost is not the default. `WAKER_SEED`
 * and `replay` accept it (or a bare seed, which keeps the options of the call).
 *
 * @example
 * ```ts
 * formatReplay({ seed: 17, scheduling: { pct: 3, steps: 400 } }); // "17:pct3x400"
 * ```
 */
export function formatReplay(spec: ReplaySpec, defaultPollCost = DEFAULT_POLL_COST): string {
  let text = String(spec.seed);
  const s = spec.scheduling;
  if (s !== undefined) {
    text += typeof s === "string" ? `:${s}` : `:pct${s.pct}x${s.steps ?? DEFAULT_PCT_STEPS}`;
  }
  if (spec.pollCost !== undefined && spec.pollCost !== defaultPollCost) {
    text += `:cost${spec.pollCost}`;
  }
  return text;
}

/**
 * Parses a replay string (see {@link formatReplay}) or a bare seed.
 *
 * @example
 * ```ts
 * parseReplay("17:pct3x400"); // { seed: 17, scheduling: { pct: 3, steps: 400 } }
 * ```
 * @throws {InvalidArgumentError} when `text` is neither.
 */
export function parseReplay(text: string): ReplaySpec {
  const parts = String(text).trim().split(":");
  const seed = Number(parts[0]);
  if (parts[0] === "" || !Number.isSafeInteger(seed) || seed < 0) {
    throw badReplay(text);
  }
  let scheduling: SimScheduling | undefined;
  let pollCost: number | undefined;
  for (const part of parts.slice(1)) {
    if (part === "fifo" || part === "random") {
      scheduling = part;
      continue;
    }
    const pct = /^pct(\d+)(?:x(\d+))?$/.exec(part);
    if (pct !== null) {
      const depth = Number(pct[1]);
      scheduling = pct[2] === undefined ? { pct: depth } : { pct: depth, steps: Number(pct[2]) };
      continue;
    }
    const cost = /^cost([0-9.eE+-]+)$/.exec(part);
    if (cost !== null && Number.isFinite(Number(cost[1])) && Number(cost[1]) >= 0) {
      pollCost = Number(cost[1]);
      continue;
    }
    throw badReplay(text);
  }
  return {
    seed,
    ...(scheduling === undefined ? {} : { scheduling }),
    ...(pollCost === undefined ? {} : { pollCost }),
  };
}

function badReplay(text: string): InvalidArgumentError {
  return new InvalidArgumentError(
    `replay: expected a seed or a replay string like "17:random" or "17:pct3x400", got ${JSON.stringify(text)}`,
  );
}

/** Virtual milliseconds each task poll costs unless the options say otherwise (1 µs). */
export const DEFAULT_POLL_COST = 0.001;

/** PCT's step estimate k when none is given. */
export const DEFAULT_PCT_STEPS = 1000;
