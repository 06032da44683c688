/**
 * The state of a task, as a small integer of bit flags (after smol-rs/async-task and tokio). Only
 * the scheduler and the task's waker change it; single-threaded, so plain reads and writes.
 */

/**
 * The task is in the ready queue, or will be put there when the poll in progress returns.
 * Set by a wake; cleared when the scheduler takes the task off the queue to poll it.
 * A wake while it is set does nothing: 1,000 wakes of a queued task give one poll.
 */
export const SCHEDULED = 1;

/**
 * The task is being polled right now. Set just before `poll`, cleared when it returns.
 * A wake while it is set only sets SCHEDULED; the scheduler puts the task at the back of the queue
 * once `poll` returns `Pending`, so a task that wakes itself lets the others run first.
 */
export const RUNNING = 2;

/**
 * The task finished (with a value, an error, or cancelled) and its future was released.
 * Set once, never cleared. The task is never polled again; a wake, even from a stale waker clone,
 * does nothing.
 */
export const COMPLETE = 4;

/**
 * Cancellation was requested (`abort`, scope or runtime shutdown). Set once, never cleared.
 * The next poll drives the future's `pollDrop` instead of `poll`, until its cleanup (including
 * asynchronous `finally` blocks) is done; then the task completes as cancelled. A wake while it is
 * set behaves as usual: it schedules the next step of the cleanup.
 */
export const CANCELLED = 8;
