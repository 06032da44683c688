/**
 * Benchmark entry: `npm run bench` (full) or `npm run bench -- --quick` (fewer rounds, smaller N;
 * also `BENCH_QUICK=1`). Options: `--rounds=N`, `--only=spawn-join,yield-many`,
 * `--round-limit=SECONDS` (skip an implementation at a size when one round would take longer),
 * `--size-budget=SECONDS` (fewer rounds for an implementation whose rounds at a size would take
 * longer in total). Runs every workload against native async/await, waker, Effect and
 * Effection in this one process and prints a table of medians with the ratio to native.
 */
import { readFileSync } from "node:fs";
import os from "node:os";
import {
  formatCount,
  IMPLEMENTATIONS,
  median,
  type Result,
  runWorkload,
  type Workload,
} from "./harness.js";
import { startResidents } from "./support/residents.js";
import { chainedSpawn } from "./workloads/chained-spawn.js";
import { fileRead } from "./workloads/file-read.js";
import { heapPerTask } from "./workloads/heap-per-task.js";
import { mutexContention } from "./workloads/mutex-contention.js";
import { pingPong } from "./workloads/ping-pong.js";
import { pingPongOneshot } from "./workloads/ping-pong-oneshot.js";
import { semaphoreContention } from "./workloads/semaphore-contention.js";
import { simHour } from "./workloads/sim-hour.js";
import { simProgram } from "./workloads/sim-program.js";
import { smtpPool } from "./workloads/smtp-pool.js";
import { spawnJoin } from "./workloads/spawn-join.js";
import { tcpEcho } from "./workloads/tcp-echo.js";
import { throughput } from "./workloads/throughput.js";
import { throughputBatch } from "./workloads/throughput-batch.js";
import { timerChurn } from "./workloads/timer-churn.js";
import { timers } from "./workloads/timers.js";
import { yieldMany } from "./workloads/yield-many.js";

const WORKLOADS: readonly Workload[] = [
  spawnJoin,
  chainedSpawn,
  yieldMany,
  heapPerTask,
  timers,
  timerChurn,
  pingPong,
  pingPongOneshot,
  throughput,
  throughputBatch,
  mutexContention,
  semaphoreContention,
  tcpEcho,
  fileRead,
  smtpPool,
  simProgram,
  simHour,
];

interface Options {
  readonly quick: boolean;
  readonly rounds: number;
  readonly only: readonly string[] | null;
  readonly roundLimitSeconds: number;
  readonly sizeBudgetSeconds: number;
}

function parseOptions(argv: readonly string[]): Options {
  const value = (name: string): string | undefined =>
    argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
  const quick = argv.includes("--quick") || process.env.BENCH_QUICK === "1";
  const rounds = Number(value("rounds") ?? (quick ? 3 : 5));
  const limit = Number(value("round-limit") ?? (quick ? 5 : 20));
  const budget = Number(value("size-budget") ?? (quick ? 10 : 40));
  if (!Number.isInteger(rounds) || rounds < 1)
    throw new Error("--rounds must be a positive integer");
  if (!(limit > 0)) throw new Error("--round-limit must be a positive number of seconds");
  if (!(budget > 0)) throw new Error("--size-budget must be a positive number of seconds");
  const only = value("only")?.split(",") ?? null;
  const known = new Set(WORKLOADS.map((w) => w.name));
  for (const name of only ?? []) {
    if (!known.has(name))
      throw new Error(`--only: unknown workload ${name} (have ${[...known].join(", ")})`);
  }
  return { quick, rounds, only, roundLimitSeconds: limit, sizeBudgetSeconds: budget };
}

function packageVersion(name: string): string {
  try {
    const json = readFileSync(
      new URL(`../../node_modules/${name}/package.json`, import.meta.url),
      "utf8",
    );
    return (JSON.parse(json) as { version: string }).version;
  } catch {
    return "?";
  }
}

function loadAverage(): string {
  return os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(" / ");
}

function machineLine(): string {
  const cpus = os.cpus();
  const model = cpus[0]?.model.trim() ?? "unknown CPU";
  return [
    `node ${process.version} (V8 ${process.versions.v8})`,
    `${os.platform()}/${os.arch()}`,
    `${cpus.length} CPUs (${model}), availableParallelism ${os.availableParallelism()}`,
    `effect ${packageVersion("effect")}, effection ${packageVersion("effection")}`,
  ].join(" | ");
}

/** Formats a measurement: one decimal below 100, whole numbers with separators above. */
function formatValue(v: number): string {
  if (!Number.isFinite(v)) return "-";
  return v < 100 ? v.toFixed(1) : Math.round(v).toLocaleString("en-US");
}

/** Formats an extra value: counts as integers, two decimals below 10 (lateness in ms), else as {@link formatValue}. */
function formatExtra(v: number): string {
  if (!Number.isFinite(v)) return "-";
  if (Number.isInteger(v)) return v.toLocaleString("en-US");
  return Math.abs(v) < 10 ? v.toFixed(2) : formatValue(v);
}

const HEADER = [
  "workload",
  "n",
  "impl",
  "median",
  "min",
  "max",
  "spread",
  "cpu med",
  "rounds",
  "vs native",
];

/** Footnotes for skipped, capped, shortened and failed results, numbered in order of use. */
class Footnotes {
  private readonly texts: string[] = [];
  /** The marker for `text` ("[2]"), reusing the number of an identical earlier note. */
  mark(text: string): string {
    let i = this.texts.indexOf(text);
    if (i < 0) i = this.texts.push(text) - 1;
    return `[${i + 1}]`;
  }
  print(): void {
    this.texts.forEach((text, i) => {
      console.log(`[${i + 1}] ${text}`);
    });
  }
}

function rowsOf(results: readonly Result[], notes: Footnotes): string[][] {
  const rows: string[][] = [];
  for (const r of results) {
    const head = [`${r.workload} (${r.unit})`, formatCount(r.n), r.impl];
    if (r.failed !== undefined) {
      rows.push([...head, "FAILED", "", "", "", "", "", notes.mark(r.failed)]);
      continue;
    }
    if (r.values.length === 0) {
      rows.push([...head, "-", "", "", "", "", "0", notes.mark(r.skipped ?? "not run")]);
      continue;
    }
    const med = median(r.values);
    const min = Math.min(...r.values);
    const max = Math.max(...r.values);
    const native = results.find(
      (x) => x.workload === r.workload && x.n === r.n && x.impl === "native",
    );
    const nativeMedian = native === undefined ? Number.NaN : median(native.values);
    const ratio =
      Number.isFinite(nativeMedian) && nativeMedian > 0
        ? `${(med / nativeMedian).toFixed(2)}x`
        : "n/a";
    const spread = med > 0 ? `±${(((max - min) / 2 / med) * 100).toFixed(0)}%` : "-";
    const note = r.skipped !== undefined ? ` ${notes.mark(r.skipped)}` : "";
    rows.push([
      ...head,
      formatValue(med),
      formatValue(min),
      formatValue(max),
      spread,
      r.cpuValues.length > 0 ? formatValue(median(r.cpuValues)) : "",
      String(r.values.length),
      `${ratio}${note}`,
    ]);
  }
  return rows;
}

/**
 * Rows of a workload's extra values (see `Workload.extras`): per size and implementation the
 * median of each over the rounds, with its ratio to native's median in parentheses.
 */
function extraRowsOf(workload: Workload, results: readonly Result[]): string[][] {
  const names = workload.extras ?? [];
  const rows: string[][] = [];
  for (const r of results) {
    if (r.workload !== workload.name || r.values.length === 0) continue;
    const native = results.find(
      (x) => x.workload === r.workload && x.n === r.n && x.impl === "native",
    );
    const cells = names.map((name) => {
      const med = median(r.extraValues[name] ?? []);
      const base = native === undefined ? Number.NaN : median(native.extraValues[name] ?? []);
      const quotient = med / base;
      const ratio =
        r.impl !== "native" && med !== 0 && Number.isFinite(quotient)
          ? ` (${quotient.toFixed(2)}x)`
          : "";
      return `${formatExtra(med)}${ratio}`;
    });
    rows.push([workload.name, formatCount(r.n), r.impl, ...cells]);
  }
  return rows;
}

function printTable(rows: readonly string[][], header: readonly string[] = HEADER): void {
  const all = [header, ...rows];
  const widths = header.map((_, c) => Math.max(...all.map((row) => (row[c] ?? "").length)));
  const numeric = new Set(
    header === HEADER
      ? [1, 3, 4, 5, 6, 7, 8]
      : header.map((_, c) => c).filter((c) => c !== 0 && c !== 2),
  );
  const line = (row: readonly string[]): string =>
    row
      .map((cell, c) => (numeric.has(c) ? cell.padStart(widths[c]!) : cell.padEnd(widths[c]!)))
      .join("  ")
      .trimEnd();
  console.log(line(header));
  console.log(widths.map((w) => "-".repeat(w)).join("  "));
  let previous = "";
  for (const row of rows) {
    const key = `${row[0]} ${row[1]}`;
    if (previous !== "" && key !== previous) console.log("");
    previous = key;
    console.log(line(row));
  }
}

function printNotes(workloads: readonly Workload[]): void {
  console.log("\nHow each implementation is written:");
  for (const w of workloads) {
    console.log(`  ${w.name}: ${w.description}`);
    for (const impl of IMPLEMENTATIONS) {
      const note = w.notes?.[impl];
      if (note !== undefined) console.log(`    ${impl.padEnd(9)} ${note}`);
    }
  }
}

/** Runs the selected workloads and prints the machine line, the table and the notes. */
async function main(argv: readonly string[]): Promise<void> {
  const options = parseOptions(argv);
  startResidents();
  const workloads = WORKLOADS.filter((w) => options.only === null || options.only.includes(w.name));
  console.log(machineLine());
  console.log(
    `note: measured on ${os.cpus().length} shared cores; expect noise, compare ratios within one run. ` +
      `${options.rounds} rounds per size, run order rotated each round, full GC and an untimed 1,000-op run before each sample; a sample repeats the workload for at least 200 ms` +
      `${options.quick ? " (quick mode)" : ""}.`,
  );
  console.log(
    "waker runs on one shared Runtime; each runtime keeps a parked resident task for the whole run " +
      "so that the forced GCs do not discard its optimized code (see bench/support/residents.ts).",
  );
  console.log(`load average at start: ${loadAverage()}`);
  const results: Result[] = [];
  const started = performance.now();
  for (const workload of workloads) {
    const onResult = (r: Result): void => {
      const what =
        r.values.length > 0 ? formatValue(median(r.values)) : (r.failed ?? r.skipped ?? "-");
      process.stderr.write(`  ${r.workload} n=${formatCount(r.n)} ${r.impl}: ${what}\n`);
    };
    process.stderr.write(`${workload.name}...\n`);
    results.push(
      ...(await runWorkload(workload, {
        rounds: options.rounds,
        quick: options.quick,
        roundLimitSeconds: options.roundLimitSeconds,
        sizeBudgetSeconds: options.sizeBudgetSeconds,
        onResult,
      })),
    );
  }
  console.log(`load average at end: ${loadAverage()}`);
  console.log("");
  const footnotes = new Footnotes();
  printTable(rowsOf(results, footnotes));
  console.log("");
  footnotes.print();
  console.log(
    "\nmedian/min/max: the workload's unit (next to its name) over the rounds — wall time per op " +
      "unless the unit says otherwise (bytes per task, CPU ns per timer); spread: (max - min) / 2 " +
      "as % of median; cpu med: median process CPU time per op (user + system, GC threads " +
      "included), which other processes on the shared cores do not inflate; vs native: median / " +
      "native median at the same n.",
  );
  for (const workload of workloads) {
    const names = workload.extras ?? [];
    const rows = extraRowsOf(workload, results);
    if (names.length === 0 || rows.length === 0) continue;
    console.log(
      `\n${workload.name}: further values, median over the rounds (ratio to native in parentheses):`,
    );
    printTable(rows, ["workload", "n", "impl", ...names]);
  }
  printNotes(workloads);
  console.log(`\ntotal ${((performance.now() - started) / 1000).toFixed(1)} s`);
  if (results.some((r) => r.failed !== undefined)) {
    console.log("\nSOME RESULTS FAILED THEIR CHECK (see the table).");
    process.exitCode = 1;
  }
}

await main(process.argv.slice(2));
