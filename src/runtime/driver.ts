/**
 * A driver is the part of the runtime that turns host events into wakes (the time driver; later
 * the I/O drivers). The runtime keeps one per kind, created on first use, and tells them about the
 * moments that concern them.
 */
export interface Driver {
  /**
   * The ready queue is empty. Return `true` if this woke a task (the virtual clock advanced to a
   * timer, say), so the runtime does not report a deadlock.
   */
  idle?(): boolean;
  /** A `run` root started (`true`) or the last one finished (`false`): ref or unref host handles. */
  rootsChanged?(pending: boolean): void;
  /** The runtime's clock was paused, resumed or advanced: re-check deadlines. */
  clockChanged?(): void;
}
