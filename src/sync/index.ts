export { Barrier, type BarrierWaitResult } from "./barrier.js";
export { BroadcastReceiver, BroadcastSender, broadcast } from "./broadcast.js";
export {
  channel,
  Permit,
  Receiver,
  Sender,
  UnboundedSender,
  unboundedChannel,
} from "./channel.js";
export {
  ChannelClosed,
  ChannelFull,
  ChannelReceiverBusy,
  Lagged,
  SemaphoreClosed,
} from "./errors.js";
export { Mutex, MutexGuard } from "./mutex.js";
export { Notify } from "./notify.js";
export { OneshotReceiver, OneshotSender, oneshot } from "./oneshot.js";
export { RwLock, RwLockGuard } from "./rw-lock.js";
export { Semaphore, SemaphorePermit } from "./semaphore.js";
export { WakerSlot, type WakerSlotOptions } from "./waker-slot.js";
export { WatchReceiver, WatchSender, watch } from "./watch.js";
