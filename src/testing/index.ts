/**
 * Test kit for futures: poll by hand, count wakes and wakers.
 *
 * @packageDocumentation
 */
export { countingWaker, type WakeCounts } from "./counting-waker.js";
export { assertPending, assertReady, MockTask, noopContext } from "./mock-task.js";
