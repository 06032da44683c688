import { browserPlatform } from "./browser-platform.js";
import { nodePlatform } from "./node-platform.js";
import type { Platform } from "./platform.js";

/**
 * The platform for the current host: Node's when `setImmediate` and `process` exist, the
 * browser's otherwise.
 *
 * @example
 * ```ts
 * const platform = defaultPlatform();
 * ```
 */
export function defaultPlatform(): Platform {
  const g = globalThis as { setImmediate?: unknown; process?: { on?: unknown } };
  if (typeof g.setImmediate === "function" && typeof g.process?.on === "function") {
    return nodePlatform();
  }
  return browserPlatform();
}
