export { InvalidDurationError, TimeoutError } from "./errors.js";
export { Instant } from "./instant.js";
export {
  Interval,
  type IntervalOptions,
  interval,
  type MissedTickBehavior,
} from "./interval.js";
export { Sleep, sleep, sleepUntil } from "./sleep.js";
export { timeout } from "./timeout.js";
