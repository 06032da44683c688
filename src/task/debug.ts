/**
 * Process-wide debug mode. When on, wakers check the contract (a consumed or dropped waker throws
 * {@link WakerContractError} when used) and the runtime records spawn sites for its task dump.
 * It is off unless the environment has `WAKER_DEBUG=1` or a runtime is created with `debug: true`.
 * When off, the checks cost one load of a module variable.
 */
export let debugMode: boolean = readDebugFromEnvironment();

/**
 * @internal {@link debugMode} as the field of a const object, for checks on hot paths: V8 (Node
 * 20) checks an imported `let` binding for initialization on every read (see "Hot imports" on
 * Future). Kept equal to `debugMode` by {@link setDebugMode}.
 */
export const debugFlag: { on: boolean } = { on: debugMode };

function readDebugFromEnvironment(): boolean {
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process
    ?.env;
  return env?.WAKER_DEBUG === "1" || env?.WAKER_DEBUG === "true";
}

/**
 * Turns debug mode on or off for the whole process.
 *
 * @example
 * ```ts
 * setDebugMode(true); // wakers now throw WakerContractError on use after wake() or drop()
 * ```
 */
export function setDebugMode(on: boolean): void {
  debugMode = on;
  debugFlag.on = on;
}
