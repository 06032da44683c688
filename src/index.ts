/**
 * waker: a poll-based async runtime for TypeScript — Rust's std::task model (lazy futures polled by
 * an executor, a Context carrying a Waker built from a RawWaker and its vtable) with cancellation
 * by drop, structured concurrency and a task dump that says why a program hangs.
 *
 * @packageDocumentation
 */
export * from "./future/index.js";
export * from "./io/index.js";
export type { Connection, ConnectOptions, Listener, NetAddr, Network } from "./io/net.js";
export {
  browserPlatform,
  defaultPlatform,
  nodePlatform,
  type Platform,
  seededRandom,
} from "./platform/index.js";
export * from "./runtime/index.js";
export * from "./stream/index.js";
export * from "./sync/index.js";
export * from "./task/index.js";
export * from "./time/index.js";
