import { type Dir, type Dirent, read as fsRead, type Stats } from "node:fs";
import * as fsp from "node:fs/promises";
import { Future, pollAfterCompletion } from "../future/future.js";
import type { AsyncRead, AsyncWrite } from "../io/async-io.js";
import { MAX_BUFFER } from "../io/read.js";
import { HeldWaker } from "../runtime/held-waker.js";
import { Stream } from "../stream/stream.js";
import type { Context } from "../task/context.js";
import { describeValue, expectIntegerIn, InvalidArgumentError } from "../task/errors.js";
import { Done, Pending, type Poll } from "../task/poll.js";
import type { Waker } from "../task/waker.js";
import { IoError } from "./io-error.js";

type Outcome<T> = { ok: true; value: T } | { ok: false; error: unknown };

/**
 * One file-system operation as a future: started on the first poll (lazy), its completion wakes
 * the task (a host callback), its error becomes an {@link IoError} with the errno code and the
 * path. When dropped before it completes, `onOrphan` receives the result it would have returned
 * (so an `open` that completes after its future was dropped closes the file: no leaked
 * descriptor).
 */
class FsOp<T> extends Future<T> {
  private outcome: Outcome<T> | null = null;
  private started = false;
  private done = false;
  private waker: Waker | null = null;

  constructor(
    private readonly syscall: string,
    private readonly path: string,
    private readonly start: () => Promise<T>,
    private readonly onOrphan?: (value: T) => void,
  ) {
    super();
  }

  poll(cx: Context): Poll<T> {
    if (this.done) throw pollAfterCompletion(this);
    if (!this.started) {
      this.started = true;
      this.start().then(
        (value) => this.settle({ ok: true, value }),
        (error: unknown) => this.settle({ ok: false, error }),
      );
    }
    const outcome = this.outcome;
    if (outcome === null) {
      if (this.waker === null || !this.waker.willWake(cx.waker)) {
        this.waker?.drop();
        this.waker = cx.waker.clone();
      }
      return Pending;
    }
    this.done = true;
    if (outcome.ok) return outcome.value;
    throw IoError.from(outcome.error, this.syscall, this.path);
  }

  override drop(): void {
    if (this.done) return;
    this.done = true;
    this.waker?.drop();
    this.waker = null;
    if (this.outcome?.ok) this.onOrphan?.(this.outcome.value);
  }

  override describe(): string {
    return `fs.${this.syscall}(${this.path})`;
  }

  private settle(outcome: Outcome<T>): void {
    this.outcome = outcome;
    if (this.done) {
      // Dropped while in flight: hand over what it produced.
      if (outcome.ok) this.onOrphan?.(outcome.value);
      return;
    }
    const waker = this.waker;
    this.waker = null;
    waker?.wake();
  }
}

/** File read states: no read started, one in flight, one finished and not yet taken. */
const NO_READ = 0;
const READING = 1;
const READ = 2;

const NO_BYTES = Buffer.alloc(0);

/** A file offset: an integer >= 0 (Node would read a negative one as "the current position"). */
function checkPosition(position: number, where: string): void {
  expectIntegerIn(position, `${where}: position`, 0, Number.MAX_SAFE_INTEGER);
}

function closeQuietly(handle: fsp.FileHandle): void {
  handle.close().catch((error: unknown) => {
    console.error("waker: closing a file whose open was cancelled failed:", error);
  });
}

/**
 * An open file (`waker/node`): an `AsyncRead` and `AsyncWrite` at its current position, plus
 * positioned `readAt`/`writeAt`. A read or write in flight keeps its own buffer, so dropping a
 * pending read loses no bytes (the next read returns them).
 *
 * @example
 * ```ts
 * using file = yield* open("/tmp/report.txt", "w");
 * yield* writeAll(file, new TextEncoder().encode("hello\n"));
 * yield* file.sync();
 * ```
 */
export class File implements AsyncRead, AsyncWrite {
  /** NO_READ, READING (the read is in flight) or READ (its result waits for the next poll). */
  private readState = NO_READ;
  /** The finished read's byte count (the bytes before `readOffset` were taken), or its error. */
  private readCount = 0;
  private readOffset = 0;
  private readError: Error | null = null;
  private readonly reader = new HeldWaker(true);
  /** Runs once the read in flight finishes (a close waits for it: the descriptor stays valid). */
  private afterRead: (() => void) | null = null;
  private writing: FsOp<{ bytesWritten: number }> | null = null;
  /** The bytes `writing` writes (a copy of the data it was started for). */
  private writingBytes: Buffer = NO_BYTES;
  private readBuffer: Uint8Array<ArrayBuffer> = new Uint8Array(0);
  private closed = false;

  /** The callback of every `fs.read` of this file: no closure or promise per read. */
  private readonly onRead = (error: Error | null, bytesRead: number): void => {
    this.readState = READ;
    this.readError = error;
    this.readCount = bytesRead;
    const after = this.afterRead;
    if (after !== null) {
      this.afterRead = null;
      after();
    }
    this.reader.wake();
  };

  /** @internal */
  constructor(
    private readonly handle: fsp.FileHandle,
    /** The path it was opened with. */
    readonly path: string,
  ) {}

  pollRead(cx: Context, buf: Uint8Array): Poll<number> {
    if (buf.length === 0) return 0;
    if (this.readState === NO_READ) {
      if (this.closed) throw new IoError("the file is closed", "EBADF", "read", this.path);
      // One buffer per file, reused: the read lands here (not in `buf`, which a dropped read's
      // caller may reuse while the thread pool still writes), then is copied out, so no bytes
      // are lost and nothing is allocated. The callback form of `read` needs no promise.
      const length = buf.length;
      if (this.readBuffer.length < length) this.readBuffer = new Uint8Array(length);
      this.readState = READING;
      fsRead(this.handle.fd, this.readBuffer, 0, length, null, this.onRead);
    }
    if (this.readState === READING) {
      this.reader.register(cx.waker);
      return Pending;
    }
    const error = this.readError;
    if (error !== null) {
      this.readState = NO_READ;
      this.readError = null;
      throw IoError.from(error, "read", this.path);
    }
    // What a dropped read fetched may be more than this `buf` holds: the rest stays for the next.
    const start = this.readOffset;
    const n = Math.min(this.readCount - start, buf.length);
    const source = this.readBuffer;
    buf.set(start === 0 && n === source.length ? source : source.subarray(start, start + n));
    if (start + n === this.readCount) {
      this.readState = NO_READ;
      this.readOffset = 0;
    } else {
      this.readOffset = start + n;
    }
    return n;
  }

  pollWrite(cx: Context, data: Uint8Array): Poll<number> {
    if (data.length === 0) return 0;
    // A copy: the caller may reuse its buffer; a write in flight is finished before another starts.
    let writing = this.writing;
    if (writing === null) {
      const copy = Buffer.from(data);
      this.writingBytes = copy;
      writing = this.writing = new FsOp("write", this.path, () =>
        this.handle
          .write(copy, 0, copy.length, null)
          .then((r) => ({ bytesWritten: r.bytesWritten })),
      );
    }
    let r: Poll<{ bytesWritten: number }>;
    try {
      r = writing.poll(cx);
    } catch (error) {
      this.writing = null; // the next write is a new attempt
      this.writingBytes = NO_BYTES;
      throw error;
    }
    if (r === Pending) return Pending;
    this.writing = null;
    const n = r.bytesWritten;
    const written = this.writingBytes;
    this.writingBytes = NO_BYTES;
    // The write may have been started by an earlier call whose future was dropped: its count is
    // this call's only if what it wrote is the start of `data`; otherwise `data` is written now.
    if (n > data.length || written.compare(data, 0, n, 0, n) !== 0) {
      return this.pollWrite(cx, data);
    }
    return n;
  }

  pollFlush(_cx: Context): Poll<void> {
    return undefined;
  }

  pollShutdown(_cx: Context): Poll<void> {
    return undefined;
  }

  /**
   * Reads up to `length` bytes at `position` (the current position is unchanged).
   *
   * @throws {OutOfRangeError} when `position` is not an integer >= 0 or `length` not one from 0
   * to 1 GiB.
   *
   * Cancel safety: dropping it discards the read; the file and its position are unaffected.
   */
  readAt(position: number, length: number): Future<Uint8Array> {
    checkPosition(position, "File.readAt");
    expectIntegerIn(length, "File.readAt: length", 0, MAX_BUFFER);
    return new FsOp("read", this.path, () =>
      this.handle.read(new Uint8Array(length), 0, length, position),
    ).map((r) => r.buffer.subarray(0, r.bytesRead));
  }

  /**
   * Writes `data` at `position`; completes with the number of bytes written.
   *
   * Cancel safety: a write dropped after its first poll still runs to the end in the
   * background (it may have written part or all of `data`); dropped before, it wrote nothing.
   *
   * @throws {OutOfRangeError} when `position` is not an integer >= 0.
   * @throws {InvalidArgumentError} when `data` is not a `Uint8Array`.
   */
  writeAt(position: number, data: Uint8Array): Future<number> {
    checkPosition(position, "File.writeAt");
    if (!(data instanceof Uint8Array)) {
      throw new InvalidArgumentError(
        `File.writeAt: expected a Uint8Array, got ${describeValue(data)}`,
      );
    }
    return new FsOp("write", this.path, () =>
      // A copy (`Buffer.from`: a `Buffer`'s `slice` would be a view of the caller's memory).
      this.handle.write(Buffer.from(data), 0, data.length, position),
    ).map((r) => r.bytesWritten);
  }

  /**
   * Flushes the file's data and metadata to the disk (fsync).
   *
   * Cancel safety: a dropped sync may still complete in the background; sync again to be sure.
   */
  sync(): Future<void> {
    return new FsOp("fsync", this.path, () => this.handle.sync());
  }

  /**
   * The file's metadata.
   *
   * Cancel safety: nothing to lose.
   */
  stat(): Future<Stats> {
    return new FsOp("fstat", this.path, () => this.handle.stat());
  }

  /**
   * Closes the file (once a read in flight, if any, has finished).
   *
   * Cancel safety: the close starts at the first poll; dropped after that, it still completes in
   * the background. Dropped before, it never started: the file stays open (and `drop()` still
   * closes it). A second close, or a close after `drop()`, completes at once.
   */
  close(): Future<void> {
    return new FsOp("close", this.path, () => {
      if (this.closed) return Promise.resolve();
      this.closed = true;
      return this.readState === READING
        ? new Promise<void>((resolve) => {
            this.afterRead = resolve;
          }).then(() => this.handle.close())
        : this.handle.close();
    });
  }

  /** Closes the file in the background (errors are reported). Idempotent. */
  drop(): void {
    if (this.closed) return;
    this.closed = true;
    this.reader.release();
    if (this.readState === READING) this.afterRead = () => closeQuietly(this.handle);
    else closeQuietly(this.handle);
  }

  [Symbol.dispose](): void {
    this.drop();
  }
}

/**
 * Opens a file (`flags` as Node's: "r", "w", "a", "r+"...).
 *
 * @example
 * ```ts
 * const file = yield* open("data.bin");
 * ```
 * @throws {IoError} with the errno `code` (ENOENT, EISDIR, EACCES...) and the path.
 *
 * Cancel safety: dropping it never leaks a descriptor: an open that completes afterwards is
 * closed at once.
 */
export function open(path: string, flags = "r", mode?: number): Future<File> {
  return new FsOp(
    "open",
    path,
    () => fsp.open(path, flags, mode),
    (handle) => closeQuietly(handle),
  ).map((handle) => new File(handle, path));
}

/**
 * The whole file as bytes.
 *
 * @example
 * ```ts
 * const config = JSON.parse(new TextDecoder().decode(yield* readFile("config.json")));
 * ```
 * @throws {IoError} with the errno `code` and the path.
 *
 * Cancel safety: dropping it discards the read.
 */
export function readFile(path: string): Future<Uint8Array> {
  return new FsOp("readFile", path, () => fsp.readFile(path));
}

/**
 * Writes `data` to `path`, replacing it.
 *
 * @example
 * ```ts
 * yield* writeFile("report.txt", "all good\n");
 * ```
 * @throws {IoError} with the errno `code` and the path.
 *
 * Cancel safety: a dropped write may have written part or all of the file.
 */
export function writeFile(path: string, data: string | Uint8Array): Future<void> {
  return new FsOp("writeFile", path, () => fsp.writeFile(path, data));
}

/**
 * Appends `data` to `path` (created if missing).
 *
 * @example
 * ```ts
 * yield* appendFile("app.log", `${new Date().toISOString()} started\n`);
 * ```
 * @throws {IoError} with the errno `code` and the path.
 *
 * Cancel safety: an append dropped after its first poll may have appended part or all of `data`.
 */
export function appendFile(path: string, data: string | Uint8Array): Future<void> {
  return new FsOp("appendFile", path, () => fsp.appendFile(path, data));
}

/**
 * The metadata of `path`.
 *
 * @example
 * ```ts
 * const { size } = yield* stat("data.bin");
 * ```
 * @throws {IoError} with the errno `code` and the path.
 *
 * Cancel safety: nothing to lose.
 */
export function stat(path: string): Future<Stats> {
  return new FsOp("stat", path, () => fsp.stat(path));
}

/**
 * Creates a directory (`recursive` creates the parents and accepts an existing one).
 *
 * @example
 * ```ts
 * yield* mkdir("out/reports", { recursive: true });
 * ```
 * @throws {IoError} with the errno `code` and the path.
 *
 * Cancel safety: dropped after its first poll, the directory may still be created.
 */
export function mkdir(path: string, options?: { recursive?: boolean }): Future<void> {
  return new FsOp("mkdir", path, () =>
    fsp.mkdir(path, { recursive: options?.recursive === true }).then(() => undefined),
  );
}

/**
 * Removes a file, or a directory tree with `recursive`.
 *
 * @example
 * ```ts
 * yield* remove("out", { recursive: true });
 * ```
 * @throws {IoError} with the errno `code` and the path.
 *
 * Cancel safety: dropped after its first poll, the removal may still happen, in part (a tree)
 * or in full.
 */
export function remove(path: string, options?: { recursive?: boolean }): Future<void> {
  return new FsOp("rm", path, () => fsp.rm(path, { recursive: options?.recursive === true }));
}

/**
 * Renames (moves) `from` to `to`.
 *
 * @example
 * ```ts
 * yield* writeFile("config.json.tmp", json);
 * yield* rename("config.json.tmp", "config.json"); // replaces it in one step
 * ```
 * @throws {IoError} with the errno `code` and the path.
 *
 * Cancel safety: dropped after its first poll, the rename may still happen.
 */
export function rename(from: string, to: string): Future<void> {
  return new FsOp("rename", from, () => fsp.rename(from, to));
}

/**
 * The entries of a directory, as a stream (read lazily; dropping it closes the directory).
 *
 * @example
 * ```ts
 * const names = yield* readDir("logs").map((e) => e.name).collect();
 * ```
 * @throws {IoError} with the errno `code` and the path (from the stream's first poll); after an
 * error the stream ends.
 */
export function readDir(path: string): Stream<Dirent> {
  return new DirStream(path);
}

class DirStream extends Stream<Dirent> {
  private opening: FsOp<Dir> | null = null;
  private dir: Dir | null = null;
  private pendingEntry: FsOp<Dirent | null> | null = null;
  private ended = false;

  constructor(private readonly path: string) {
    super();
  }

  pollNext(cx: Context): Poll<Dirent | typeof Done> {
    if (this.ended) return Done;
    try {
      return this.pollEntry(cx);
    } catch (error) {
      // An error ends the stream (the directory is closed): polled again, it is done, not a
      // poll of the failed operation after its completion.
      this.drop();
      throw error;
    }
  }

  private pollEntry(cx: Context): Poll<Dirent | typeof Done> {
    if (this.dir === null) {
      this.opening ??= new FsOp(
        "opendir",
        this.path,
        () => fsp.opendir(this.path),
        (dir) => void dir.close().catch(() => {}),
      );
      const opened = this.opening.poll(cx);
      if (opened === Pending) return Pending;
      this.dir = opened;
      this.opening = null;
    }
    const dir = this.dir;
    const reading = (this.pendingEntry ??= new FsOp("readdir", this.path, () => dir.read()));
    const entry = reading.poll(cx);
    if (entry === Pending) return Pending;
    this.pendingEntry = null;
    if (entry === null) {
      this.ended = true;
      void dir.close().catch(() => {});
      return Done;
    }
    return entry;
  }

  override drop(): void {
    if (this.ended) return;
    this.ended = true;
    this.opening?.drop();
    this.pendingEntry?.drop();
    if (this.dir !== null) void this.dir.close().catch(() => {});
  }
}
