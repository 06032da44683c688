/**
 * Node-specific parts of waker. For now: the Node platform (clock, scheduling, signals). TCP, file
 * and TLS drivers join this entry point as they are built.
 *
 * @packageDocumentation
 */
export { nodePlatform } from "../platform/node-platform.js";
