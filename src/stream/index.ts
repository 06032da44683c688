export type { PollNext } from "../runtime/async-iterate.js";
export { fromAsyncIterable, fromIterable, toAsyncIterable } from "./from.js";
export { Stream } from "./stream.js";
