/**
 * The record of one simulated run, as short lines: `start 3 name` (task 3's first poll, with its
 * name), `poll 3` (task 3 is polled), `wake 3` (a wake scheduled it), `time 12.5` (virtual time
 * jumped to 12.5 ms for a timer), `log ...` (the program's `sim.log` output), `fault name` (a
 * fault fired), `unhandled 3` (task 3 failed and nobody joined it), `end ok` (the root is done;
 * what follows is the shutdown of the remaining tasks). Two runs of the same seed must produce
 * the same lines; the first line where they differ is where determinism broke.
 *
 * @example
 * ```ts
 * const events = new EventLog();
 * events.push("poll 1");
 * events.tail(10); // the last lines, for an error message
 * ```
 */
export class EventLog {
  /** Every line, in order. */
  readonly lines: string[] = [];

  /** Appends one line. */
  push(line: string): void {
    this.lines.push(line);
  }

  get length(): number {
    return this.lines.length;
  }

  /** The last `n` lines, numbered, one per line of text. */
  tail(n: number): string {
    const start = Math.max(0, this.lines.length - n);
    return numbered(this.lines, start, this.lines.length);
  }
}

/** Lines `from` (inclusive) to `to` (exclusive) of `lines`, each prefixed with its index. */
export function numbered(lines: readonly string[], from: number, to: number): string {
  const out: string[] = [];
  for (let i = Math.max(0, from); i < Math.min(to, lines.length); i++) {
    out.push(`  #${i} ${lines[i]}`);
  }
  return out.length === 0 ? "  (none)" : out.join("\n");
}

/**
 * The index of the first line where `a` and `b` differ, or -1 when they are identical (a run that
 * is a prefix of the other differs at the shorter one's length).
 */
export function firstDivergence(a: readonly string[], b: readonly string[]): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return a.length === b.length ? -1 : n;
}

/** Formats a `sim.log` argument list as one line: strings as they are, the rest as JSON. */
export function formatLogArgs(values: readonly unknown[]): string {
  return values.map(formatValue).join(" ");
}

function formatValue(value: unknown): string {
  if (typeof value === "string") return value;
  if (typeof value === "bigint") return `${value}n`;
  if (value instanceof Error) return `${value.name}: ${value.message}`;
  if (typeof value === "object" && value !== null) {
    try {
      return JSON.stringify(value) ?? String(value);
    } catch {
      return String(value);
    }
  }
  return String(value);
}
