export { Context } from "./context.js";
export { setDebugMode } from "./debug.js";
export { InvalidArgumentError, OutOfRangeError, WakerContractError } from "./errors.js";
export { Done, isPending, isReady, Pending, type Poll } from "./poll.js";
export { RawWaker, RawWakerVTable } from "./raw-waker.js";
export { type Wake, Waker } from "./waker.js";
