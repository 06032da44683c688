import { Context } from "../task/context.js";
import { Pending } from "../task/poll.js";
import { Waker } from "../task/waker.js";
import type { Future } from "./future.js";

/**
 * Where a future's unfinished asynchronous cleanup goes when it is dropped synchronously
 * (`drop()`, `using`) instead of by an owner that can drive `pollDrop`. The runtime installs a
 * handler that spawns a cleanup task; without one, a minimal self-driving loop finishes the cleanup
 * on microtasks. Either way the finalizers run to their end exactly once.
 */
type OrphanHandler = (dropping: Future<unknown>) => void;

let orphanHandler: OrphanHandler | null = null;
let errorReporter: ((error: unknown) => void) | null = null;

/** Futures whose unfinished cleanup was handed over; a second `drop()` must not hand it again. */
const adopted = new WeakSet<Future<unknown>>();

/** @internal Installed by the runtime. */
export function setOrphanCleanupHandler(
  handler: OrphanHandler | null,
  reporter: ((error: unknown) => void) | null,
): void {
  orphanHandler = handler;
  errorReporter = reporter;
}

/**
 * Reports a cleanup error that cannot be thrown because another error is already being thrown
 * (a `select` branch failed and a loser's cleanup failed too): the first error is thrown, this one
 * goes to the runtime's handler for unhandled errors (stderr by default). Never swallowed.
 */
export function reportCleanupError(error: unknown): void {
  if (errorReporter !== null) errorReporter(error);
  else reportToConsole(error);
}

const noopContext = new Context(Waker.noop());

/**
 * Drops `fut` synchronously: runs as much of its cleanup as can run now, and hands the rest (a
 * `finally` that waits) to the runtime so it still completes. A cleanup error thrown synchronously
 * is rethrown; one thrown later is reported by the runtime.
 */
export function dropNow(fut: Future<unknown>): void {
  if (adopted.has(fut)) return;
  if (fut.pollDrop(noopContext) !== Pending) return;
  adopted.add(fut);
  if (orphanHandler !== null) orphanHandler(fut);
  else selfDrive(fut);
}

function reportToConsole(error: unknown): void {
  console.error("waker: error in the cleanup of a dropped future:", error);
}

/** Fallback when no runtime exists: re-poll on every wake, on a microtask, until done. */
function selfDrive(dropping: Future<unknown>): void {
  let scheduled = false;
  let finished = false;
  const step = (): void => {
    scheduled = false;
    if (finished) return;
    try {
      if (dropping.pollDrop(cx) !== Pending) finished = true;
    } catch (e) {
      finished = true;
      reportToConsole(e);
    }
  };
  const cx = new Context(
    Waker.from(() => {
      if (!scheduled && !finished) {
        scheduled = true;
        queueMicrotask(step);
      }
    }),
  );
  queueMicrotask(step);
}
