/**
 * sim-hour: a simulated hour of timers. N tasks each sleep in a loop with a period of 1..60 s
 * (fixed-seed table) until virtual time passes one hour: about N * 240 timer expirations on
 * average. Value: wall milliseconds for the whole simulated hour, on the simulator (`simulate`,
 * column waker) and on the real runtime with virtual time (`clock: "virtual"`, column native, the
 * baseline here). The check is the number of timer expirations.
 */
import {
  type AsyncGenerator,
  asyncFn,
  future,
  joinAll,
  Runtime,
  sleep,
  spawn,
} from "../../src/index.js";
import { simulate } from "../../src/sim/index.js";
import { nowNs, type Sample, type Workload } from "../harness.js";
import { durationTable } from "../support/durations.js";

const HOUR = 60 * 60 * 1000;
const periodsFor = durationTable(1_000, 60_000, 3);

const ticker = asyncFn(function* (period: number): AsyncGenerator<number> {
  let ticks = 0;
  // Whole periods that end within the hour (virtual time starts at 0 on both runtimes).
  for (let t = period; t <= HOUR; t += period) {
    yield* sleep(period);
    ticks++;
  }
  return ticks;
});

function program(n: number) {
  const periods = periodsFor(n);
  return future(function* () {
    const handles = [];
    for (let i = 0; i < n; i++) handles.push(spawn(ticker(periods[i]!)));
    const counts = yield* joinAll(handles);
    let total = 0;
    for (const c of counts) total += c;
    return total;
  });
}

/** Timer expirations a run of size `n` must report. */
function expectedTicks(n: number): number {
  const periods = periodsFor(n);
  let total = 0;
  for (let i = 0; i < n; i++) total += Math.floor(HOUR / periods[i]!);
  return total;
}

async function measure(run: () => Promise<number>): Promise<Sample> {
  const start = nowNs();
  const check = await run();
  return { value: Number(nowNs() - start) / 1e6, check };
}

/** The real runtime with virtual time (the baseline). */
export function simHourVirtual(n: number): Promise<Sample> {
  return measure(() => new Runtime({ clock: "virtual" }).run(program(n)));
}

/** The simulator. */
export function simHourSimulated(n: number): Promise<Sample> {
  return measure(() => Promise.resolve(simulate({ seed: 1, pollCost: 0 }, () => program(n))));
}

/** The sim-hour workload: wall time of a simulated hour of timers. */
export const simHour: Workload = {
  name: "sim-hour",
  description:
    "N tasks sleeping in a loop (period 1..60 s, fixed seed) for one simulated hour (about 240 expirations per task on average); the simulator (column waker) against the real runtime with virtual time (column native); value: wall ms for the hour",
  unit: "wall ms/hour",
  sizes: [10, 100, 1_000],
  quickSizes: [10, 100],
  expected: expectedTicks,
  implementations: {
    native: simHourVirtual,
    waker: simHourSimulated,
    effect: { omitted: "a comparison of waker's simulator with waker's own runtime" },
    effection: { omitted: "a comparison of waker's simulator with waker's own runtime" },
  },
  notes: {
    native:
      "BASELINE HERE, not plain async/await: new Runtime({ clock: 'virtual' }).run(program): the idle runtime jumps to the next timer",
    waker:
      "simulate({ seed: 1, pollCost: 0 }, () => program): the run loop jumps to the next timer",
  },
};
