export {
  channel,
  Permit,
  Receiver,
  Sender,
  UnboundedSender,
  unboundedChannel,
} from "./channel.js";
export { ChannelClosed, ChannelFull, SemaphoreClosed } from "./errors.js";
export { Mutex, MutexGuard } from "./mutex.js";
export { Notify } from "./notify.js";
export { OneshotReceiver, OneshotSender, oneshot } from "./oneshot.js";
export { Semaphore, SemaphorePermit } from "./semaphore.js";
export { WakerSlot, type WakerSlotOptions } from "./waker-slot.js";
