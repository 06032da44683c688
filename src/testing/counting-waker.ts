import { RawWaker, RawWakerVTable } from "../task/raw-waker.js";
import { Waker } from "../task/waker.js";

/** What a {@link countingWaker} has seen. */
export interface WakeCounts {
  /** `wake()` + `wakeByRef()` calls. */
  wakes: number;
  clones: number;
  drops: number;
  /** Clones not yet released by `wake()` or `drop()` (the original counts as one). */
  live: number;
}

/**
 * A waker that counts what is done with it, for testing leaf futures by hand.
 *
 * @example
 * ```ts
 * const { waker, counts } = countingWaker();
 * fut.poll(Context.fromWaker(waker));
 * assert.equal(counts.live, 2); // the original and the clone the future stored
 * ```
 */
export function countingWaker(): { waker: Waker; counts: WakeCounts } {
  const counts: WakeCounts = { wakes: 0, clones: 0, drops: 0, live: 1 };
  const vtable: RawWakerVTable = new RawWakerVTable(
    (data) => {
      counts.clones++;
      counts.live++;
      return new RawWaker(data, vtable);
    },
    () => {
      counts.wakes++;
      counts.live--;
    },
    () => {
      counts.wakes++;
    },
    () => {
      counts.drops++;
      counts.live--;
    },
  );
  return { waker: Waker.fromRaw(new RawWaker(counts, vtable)), counts };
}
