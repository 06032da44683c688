import { currentOrDefaultRuntime } from "../runtime/default-runtime.js";
import { describeValue, InvalidArgumentError } from "../task/errors.js";
import { checkDuration } from "./errors.js";

/**
 * A moment on the runtime's monotonic clock (Rust's `Instant`). Durations are plain millisecond
 * numbers. `Instant.now()` reads the clock of the runtime polling now (inside a task), else of the
 * default runtime: on a runtime with a virtual clock it is virtual time. Instants from runtimes with
 * different clocks are not comparable.
 *
 * @example
 * ```ts
 * const start = Instant.now();
 * yield* work();
 * console.log(`took ${start.elapsed()} ms`);
 * const deadline = Instant.now().add(5_000);
 * ```
 */
export class Instant {
  /** @internal Use {@link Instant.now} or {@link Instant.add}. */
  constructor(private readonly ms: number) {}

  /** The current moment on the runtime's clock. */
  static now(): Instant {
    return new Instant(currentOrDefaultRuntime().time.now());
  }

  /**
   * The moment `ms` milliseconds later.
   *
   * @throws {InvalidDurationError} (a `RangeError`) when `ms` is negative, NaN or not finite.
   */
  add(ms: number): Instant {
    return new Instant(this.ms + checkDuration(ms, "Instant.add"));
  }

  /** Milliseconds from `earlier` to this instant; 0 if `earlier` is later (saturating). */
  since(earlier: Instant): number {
    checkInstant(earlier, "Instant.since");
    return this.ms > earlier.ms ? this.ms - earlier.ms : 0;
  }

  /** Milliseconds from this instant to now. */
  elapsed(): number {
    return Instant.now().since(this);
  }

  /** -1, 0 or 1 as this instant is before, equal to or after `other`. */
  compare(other: Instant): -1 | 0 | 1 {
    checkInstant(other, "Instant.compare");
    return this.ms < other.ms ? -1 : this.ms > other.ms ? 1 : 0;
  }

  /** The instant in milliseconds on the runtime's clock, so `<`, `>` and `-` work on instants. */
  valueOf(): number {
    return this.ms;
  }

  toString(): string {
    return `Instant(${this.ms.toFixed(3)} ms)`;
  }
}

/** Throws unless `value` is an `Instant`. */
export function checkInstant(value: unknown, where: string): Instant {
  if (!(value instanceof Instant)) {
    throw new InvalidArgumentError(`${where}: expected an Instant, got ${describeValue(value)}`);
  }
  return value;
}
