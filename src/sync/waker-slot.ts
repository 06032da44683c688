import { HeldWaker } from "../runtime/held-waker.js";

/** Options of {@link WakerSlot}. */
export interface WakerSlotOptions {
  /**
   * Who calls `wake()`: `"tasks"` (default) when only tasks of the runtime do (a channel, a lock):
   * the stored waker is then not a way out of a deadlock; `"host"` when a host callback does (a
   * socket event): the runtime counts it as one and does not report a deadlock while it waits.
   */
  readonly wokenBy?: "tasks" | "host";
}

/**
 * A place for one waker (futures-rs's `AtomicWaker`): the consumer side of a resource registers
 * the polling task's waker, the producer side wakes it. Protocol: register first, then re-check
 * the condition (so a wake between check and register is not lost). A wake before any register is
 * a no-op; `register` skips the clone when the stored waker already wakes the same task.
 *
 * @example
 * ```ts
 * const slot = new WakerSlot({ wokenBy: "host" });
 * const reply = pollFn<string>((cx) => {
 *   slot.register(cx.waker);
 *   return answer ?? Pending; // re-check after registering
 * });
 * socket.on("data", (line) => { answer = line; slot.wake(); });
 * ```
 */
export class WakerSlot extends HeldWaker {
  constructor(options?: WakerSlotOptions) {
    super(options?.wokenBy === "host");
  }
}
