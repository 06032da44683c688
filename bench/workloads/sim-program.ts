/**
 * sim-program: the same program — N producer tasks, each sleeping 1..10 ms (fixed-seed table)
 * before each of its 4 sends into a bounded channel (capacity 64), one consumer summing them —
 * on the simulator (`simulate`, seeded random scheduling, 1 µs per poll, no event log) and on the
 * real runtime with virtual time (`new Runtime({ clock: "virtual" })`, FIFO, `rt.run`). A fresh
 * runtime per run for both. The baseline ("native" column) is the real runtime, so the ratio
 * column is the simulator's cost relative to it: the target is at most 2x. Value: ns per message.
 */
import {
  type AsyncGenerator,
  asyncFn,
  channel,
  future,
  Runtime,
  type Sender,
  sleep,
  spawn,
} from "../../src/index.js";
import { simulate } from "../../src/sim/index.js";
import { type Sample, timed, type Workload } from "../harness.js";
import { durationTable } from "../support/durations.js";

const SENDS = 4;
const durationsFor = durationTable(1, 10, 7);

const producer = asyncFn(function* (
  tx: Sender<number>,
  durations: Int32Array,
  first: number,
): AsyncGenerator<void> {
  for (let i = 0; i < SENDS; i++) {
    yield* sleep(durations[first + i]!);
    yield* tx.send(1);
  }
  tx.drop();
});

/** The program: returns the number of messages received. */
function program(n: number) {
  const durations = durationsFor(n * SENDS);
  return future(function* () {
    const [tx, rx] = channel<number>(64);
    for (let p = 0; p < n; p++) spawn(producer(tx.clone(), durations, p * SENDS));
    tx.drop();
    let sum = 0;
    try {
      for (;;) sum += rx.tryRecv() ?? (yield* rx.recv());
    } catch {
      return sum; // ChannelClosed: every producer is done
    }
  });
}

/** The real runtime with virtual time (the baseline). */
export function simProgramVirtual(n: number): Promise<Sample> {
  return timed(n * SENDS, () => new Runtime({ clock: "virtual" }).run(program(n)));
}

/** The simulator: seeded random scheduling. */
export function simProgramSimulated(n: number): Promise<Sample> {
  return timed(n * SENDS, () => Promise.resolve(simulate({ seed: 1 }, () => program(n))));
}

/** The sim-program workload: the simulator against the real runtime with virtual time. */
export const simProgram: Workload = {
  name: "sim-program",
  description:
    "N producers x 4 sends (sleep 1..10 ms before each, fixed seed) into channel(64), one consumer; the simulator (column waker) against the real runtime with virtual time (column native); value: ns per message",
  unit: "ns/msg",
  sizes: [1_000, 10_000, 100_000],
  quickSizes: [1_000, 10_000],
  expected: (n) => n * SENDS,
  implementations: {
    native: simProgramVirtual,
    waker: simProgramSimulated,
    effect: { omitted: "a comparison of waker's simulator with waker's own runtime" },
    effection: { omitted: "a comparison of waker's simulator with waker's own runtime" },
  },
  notes: {
    native:
      "BASELINE HERE, not plain async/await: new Runtime({ clock: 'virtual' }).run(program) (FIFO, auto-advancing virtual clock)",
    waker:
      "simulate({ seed: 1 }, () => program): seeded random choice among ready tasks, 1 µs per poll, synchronous run loop, no event log",
  },
};
