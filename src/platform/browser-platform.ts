import type { Platform } from "./platform.js";

/**
 * The platform for browsers and other hosts without `setImmediate`: a `MessageChannel` message is
 * the macrotask that lets input and network events run between drains (`setTimeout(0)` would be
 * clamped to 4 ms). There are no signals or exit codes; those hooks do nothing.
 *
 * @example
 * ```ts
 * const rt = new Runtime({ platform: browserPlatform() });
 * ```
 */
export function browserPlatform(): Platform {
  const queue: (() => void)[] = [];
  const channel = new MessageChannel();
  (channel.port1 as unknown as { onmessage: () => void }).onmessage = () => {
    const fn = queue.shift();
    fn?.();
  };
  const resolved = Promise.resolve();
  return {
    now: () => performance.now(),
    queueMicrotask: (fn) => {
      resolved.then(fn);
    },
    setImmediate: (fn) => {
      queue.push(fn);
      channel.port2.postMessage(null);
    },
    setTimer: (fn, ms) => {
      const handle = setTimeout(fn, ms);
      return { clear: () => clearTimeout(handle), ref: () => {}, unref: () => {} };
    },
    random: Math.random,
    reportError: (message, error) => console.error(message, error),
    onInterrupt: () => () => {},
    setExitCode: () => {},
    exit: () => {},
  };
}
