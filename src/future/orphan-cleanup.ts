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

/** @internal Installed by the runtime. */
export function setOrphanCleanupHandler(handler: OrphanHandler | null): void {
  orphanHandler = handler;
}

const noopContext = new Context(Waker.noop());

/**
 * Drops `fut` synchronously: runs as much of its cleanup as can run now, and hands the rest (a
 * `finally` that waits) to the runtime so it still completes. A cleanup error thrown synchronously
 * is rethrown; one thrown later is reported by the runtime.
 */
export function dropNow(fut: Future<unknown>): void {
  if (fut.pollDrop(noopContext) !== Pending) return;
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
