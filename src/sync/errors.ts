/**
 * The channel is closed: the receiver was dropped or closed it (sending), or every sender is gone
 * and the buffer is empty (receiving). A failed send hands its value back as `value`.
 *
 * @example
 * ```ts
 * try { yield* tx.send(job); } catch (e) { if (e instanceof ChannelClosed) requeue(e.value); }
 * ```
 */
export class ChannelClosed<T = unknown> extends Error {
  /** Stable machine-readable code. */
  readonly code = "CHANNEL_CLOSED" as const;
  override name = "ChannelClosed";
  constructor(
    message: string,
    /** The value a failed send hands back (undefined for a failed receive). */
    readonly value?: T,
  ) {
    super(message);
  }
}

/**
 * `trySend` found the bounded channel full; the value is handed back as `value`.
 *
 * @example
 * ```ts
 * try { tx.trySend(item); } catch (e) { if (e instanceof ChannelFull) dropOldest(e.value); }
 * ```
 */
export class ChannelFull<T = unknown> extends Error {
  /** Stable machine-readable code. */
  readonly code = "CHANNEL_FULL" as const;
  override name = "ChannelFull";
  constructor(
    message: string,
    /** The value that was not sent. */
    readonly value: T,
  ) {
    super(message);
  }
}

/**
 * A receive of a single-consumer channel (`channel`, `unboundedChannel`), or its stream's
 * `pollNext`, was about to wait while a receive of another task (another waker) was already
 * waiting on the same receiver, or a stream poll whose place another task had taken. The
 * channel keeps one waker for its consumer, so the second wait would have taken the first one's
 * place and left it parked, past the end of the channel (tokio rules this out with `&mut self`).
 * Receives in one task, under one waker (`join(rx.recv(), rx.recv())`), may wait together.
 *
 * @example
 * ```ts
 * // Workers sharing one receiver: take turns behind a Mutex (or give each its own channel).
 * const jobs = new Mutex(rx);
 * const guard = yield* jobs.lock();
 * let job: Job;
 * try { job = yield* guard.value.recv(); } finally { guard.release(); }
 * ```
 */
export class ChannelReceiverBusy extends Error {
  /** Stable machine-readable code. */
  readonly code = "CHANNEL_RECEIVER_BUSY" as const;
  override name = "ChannelReceiverBusy";
}

/**
 * The semaphore (or the lock built on it) was closed: pending and later acquires fail.
 *
 * @example
 * ```ts
 * try { yield* sem.acquire(); } catch (e) { if (e instanceof SemaphoreClosed) return; }
 * ```
 */
export class SemaphoreClosed extends Error {
  /** Stable machine-readable code. */
  readonly code = "SEMAPHORE_CLOSED" as const;
  override name = "SemaphoreClosed";
}

/**
 * A broadcast receiver fell more than the channel's capacity behind: `missed` messages were
 * overwritten before it read them. The receiver continues with the oldest message still held.
 *
 * @example
 * ```ts
 * try { yield* rx.recv(); } catch (e) { if (e instanceof Lagged) console.warn(`missed ${e.missed}`); }
 * ```
 */
export class Lagged extends Error {
  /** Stable machine-readable code. */
  readonly code = "LAGGED" as const;
  override name = "Lagged";
  constructor(
    /** How many messages were skipped. */
    readonly missed: number,
  ) {
    super(`the receiver lagged behind and missed ${missed} message(s)`);
  }
}
