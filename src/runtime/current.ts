import type { Runtime } from "./runtime.js";

let current: Runtime | null = null;

/** @internal The runtime polling right now, if any. */
export function currentRuntimeOrNull(): Runtime | null {
  return current;
}

/** @internal Set by a runtime around its drain; returns the previous value to restore. */
export function enterRuntime(rt: Runtime | null): Runtime | null {
  const previous = current;
  current = rt;
  return previous;
}
