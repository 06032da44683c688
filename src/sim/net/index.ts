/**
 * The simulated network of `waker/sim`: hosts with addresses, listeners and connections with the
 * interfaces of `TcpListener`/`TcpStream`, per-link latency, bandwidth, loss, resets, partitions,
 * holds and host crashes, all driven by the runtime's timers and one seeded `random`.
 *
 * @packageDocumentation
 */

export { SimHost } from "./host.js";
export type { Latency, LinkOptions } from "./link.js";
export { SimListener } from "./listener.js";
export { SimNetwork, type SimNetworkOptions, type SimNetworkStats } from "./network.js";
export { SimStream } from "./stream.js";
