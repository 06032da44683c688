import type { Future } from "../future/future.js";
import { defaultPlatform } from "../platform/default-platform.js";
import type { Platform } from "../platform/platform.js";
import { getDefaultRuntime } from "./default-runtime.js";
import { Cancelled } from "./errors.js";
import type { Runtime } from "./runtime.js";

/** Options of {@link main}. */
export interface MainOptions {
  /** The runtime to run on (default: the default runtime). */
  readonly runtime?: Runtime;
  /** The host hooks for signals and exit codes (default: the host's). */
  readonly platform?: Platform;
}

/** Exit code of a program stopped by SIGINT (128 + signal 2), as shells report it. */
const INTERRUPTED = 130;

/**
 * Runs a program's root future and turns its outcome into the process exit code: 0 when it
 * completes, 1 when it throws (the error is printed), 130 when interrupted. The first SIGINT
 * cancels the root task — its `finally` blocks run, asynchronous ones to their end — and the
 * second exits at once.
 *
 * @example
 * ```ts
 * main(future(function* () {
 *   const server = yield* listen(8025);
 *   try { yield* serve(server); } finally { server.close(); }
 * }));
 * ```
 *
 * Cancel safety: SIGINT drops the root like `abort()`; nothing else cancels it.
 */
export async function main<T>(fut: Future<T>, options: MainOptions = {}): Promise<void> {
  const rt = options.runtime ?? getDefaultRuntime();
  const platform = options.platform ?? defaultPlatform();
  let interrupted = false;
  let handle: { abort(): void } | null = null;
  const stopListening = platform.onInterrupt(() => {
    if (interrupted) {
      platform.exit(INTERRUPTED);
      return;
    }
    interrupted = true;
    handle?.abort();
  });
  try {
    const root = rt.spawn(fut, { name: "main" });
    handle = root;
    await rt.run(root);
    platform.setExitCode(0);
  } catch (error) {
    if (interrupted && isCancellation(error)) {
      platform.setExitCode(INTERRUPTED);
    } else {
      platform.reportError("waker: main failed:", unwrap(error));
      platform.setExitCode(1);
    }
  } finally {
    stopListening();
  }
}

function isCancellation(error: unknown): boolean {
  return error instanceof Cancelled || (error instanceof Error && error.cause instanceof Cancelled);
}

function unwrap(error: unknown): unknown {
  return error instanceof Error && error.name === "JoinError" ? error.cause : error;
}
