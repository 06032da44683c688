export { browserPlatform } from "./browser-platform.js";
export { defaultPlatform } from "./default-platform.js";
export { nodePlatform } from "./node-platform.js";
export type { HostTimer, Platform } from "./platform.js";
export { seededRandom } from "./seeded-random.js";
