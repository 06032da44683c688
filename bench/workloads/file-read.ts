/**
 * file-read: reads a file sequentially in 64 KiB chunks, N chunks per run (256 MiB in a full run,
 * 32 MiB with --quick). The file is written once per process in `os.tmpdir()` with a fixed
 * pattern (every byte of chunk k is `k & 0xff`) and deleted when the process exits; having just
 * been written, it is read from the page cache, so this measures the runtime's per-read overhead
 * over Node's fs thread pool rather than the disk. Opening and closing the file are setup,
 * outside the timed part. The check is the number of bytes read, counting only chunks whose first
 * and last bytes match the pattern.
 */
import { closeSync, openSync, rmSync, statSync, writeSync } from "node:fs";
import * as fsp from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { future, read } from "../../src/index.js";
import { open } from "../../src/node/index.js";
import type { Sample, Workload } from "../harness.js";
import { wakerRuntime } from "../support/residents.js";
import { type Span, startSpan } from "../support/span.js";

/** Bytes per read. */
const CHUNK = 64 * 1024;

/** The test file, created on first use. */
const FILE = path.join(os.tmpdir(), `waker-bench-file-read-${process.pid}.bin`);

let fileChunks = 0;

/** Makes sure the test file holds at least `n` chunks of the pattern; deleted at process exit. */
function ensureFile(n: number): void {
  if (fileChunks >= n) return;
  if (fileChunks === 0) process.on("exit", () => rmSync(FILE, { force: true }));
  const fd = openSync(FILE, "w");
  try {
    const chunk = new Uint8Array(CHUNK);
    for (let k = 0; k < n; k++) {
      chunk.fill(k & 0xff);
      writeSync(fd, chunk);
    }
  } finally {
    closeSync(fd);
  }
  if (statSync(FILE).size !== n * CHUNK) throw new Error(`file-read: could not write ${FILE}`);
  fileChunks = n;
}

/**
 * Bytes of a read of `bytesRead` bytes at `position` into `buf` that count toward the check: all
 * of them when the read is a whole chunk whose first and last bytes match the pattern, else
 * those of a partial read (the loops read the rest next), else 0.
 */
function verified(buf: Uint8Array, position: number, bytesRead: number): number {
  if (bytesRead !== CHUNK || position % CHUNK !== 0) return bytesRead;
  const k = (position / CHUNK) & 0xff;
  return buf[0] === k && buf[CHUNK - 1] === k ? bytesRead : 0;
}

/** The extra values each sample reports, in column order. */
const EXTRAS = ["MB/s"] as const;

/** The sample of a run: ns per 64 KiB chunk, MB/s (10^6 bytes). */
function sampleOf(n: number, span: Span, check: number): Sample {
  const extra: Record<(typeof EXTRAS)[number], number> = {
    "MB/s": (n * CHUNK) / 1e6 / (span.wallNs / 1e9),
  };
  return { value: span.wallNs / n, cpu: span.cpuNs / n, check, extra };
}

/** Native: `fs/promises` `open`, then `await handle.read(buf, 0, 64 KiB, null)` in a loop. */
export async function fileReadNative(n: number): Promise<Sample> {
  ensureFile(n);
  const handle = await fsp.open(FILE, "r");
  try {
    const buf = new Uint8Array(CHUNK);
    const want = n * CHUNK;
    let total = 0;
    let good = 0;
    const end = startSpan();
    while (total < want) {
      const { bytesRead } = await handle.read(buf, 0, Math.min(CHUNK, want - total), null);
      if (bytesRead === 0) break;
      good += verified(buf, total, bytesRead);
      total += bytesRead;
    }
    const span = end();
    return sampleOf(n, span, good);
  } finally {
    await handle.close();
  }
}

/** waker: `open` (waker/node), then `yield* read(file, buf)` into a 64 KiB buffer in a loop. */
export function fileReadWaker(n: number): Promise<Sample> {
  ensureFile(n);
  return wakerRuntime.run(
    future(function* () {
      const file = yield* open(FILE);
      try {
        const buf = new Uint8Array(CHUNK);
        const want = n * CHUNK;
        let total = 0;
        let good = 0;
        const end = startSpan();
        while (total < want) {
          const bytesRead = yield* read(file, buf.subarray(0, Math.min(CHUNK, want - total)));
          if (bytesRead === 0) break;
          good += verified(buf, total, bytesRead);
          total += bytesRead;
        }
        const span = end();
        return sampleOf(n, span, good);
      } finally {
        yield* file.close();
      }
    }),
  );
}

/** The file-read workload: sequential 64 KiB reads of a page-cached file. */
export const fileRead: Workload = {
  name: "file-read",
  description:
    "sequential reads of a just-written (page-cached) temp file in 64 KiB chunks, N chunks (N = 4,096: 256 MiB; quick 512: 32 MiB); value: wall ns per chunk (open/close excluded); extra: MB/s (10^6 bytes)",
  unit: "ns/chunk",
  sizes: [4096],
  quickSizes: [512],
  expected: (n) => n * CHUNK,
  extras: EXTRAS,
  implementations: {
    native: fileReadNative,
    waker: fileReadWaker,
    effect: {
      omitted:
        "Effect's Node FileSystem lives in @effect/platform-node, which the benchmark does not install",
    },
    effection: { omitted: "Effection 4 has no file API (it would wrap fs/promises)" },
  },
  notes: {
    native: "fs/promises FileHandle.read(buf, 0, 64 KiB, null) in an async loop",
    waker: "open (waker/node) + yield* read(file, buf) in a future loop (one fs op per read)",
  },
};
