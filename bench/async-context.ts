/**
 * The cost of carrying Node's AsyncLocalStorage into tasks (`RuntimeOptions.asyncContext` with
 * `nodeAsyncContext`): `node dist/bench/async-context.js` (after `npm run build`).
 *
 * A separate program, not a workload of `bench/run.ts`: once any AsyncLocalStorage is used, Node 20
 * installs promise hooks that slow every native await in the process, so each configuration runs
 * in its own child process:
 * - `waker`: no carrier, no store; `waker+als`: the carrier, the tasks spawned inside `store.run`;
 * - `native`: async functions, no store; `native+als`: the same inside `store.run`.
 * Each measures a task switch (`yield* yieldNow()` / `await null`, N = 2e6) and a spawn plus join
 * of a task that returns at once (N = 2e5), in CPU ns per operation, median of 5 counted runs
 * (2 warm-up runs first). Every run checks that the task saw the store it was spawned in.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { type AsyncGenerator, asyncFn, Runtime, yieldNow } from "../src/index.js";
import { nodeAsyncContext } from "../src/node/index.js";
import { median } from "./harness.js";

const CONFIGS = ["waker", "waker+als", "native", "native+als"] as const;
type Config = (typeof CONFIGS)[number];

const SWITCHES = 2_000_000;
const SPAWNS = 200_000;
const WARMUP_RUNS = 2;
const COUNTED_RUNS = 5;

interface Measurement {
  readonly switchNs: number;
  readonly spawnNs: number;
}

function cpuNs(start: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(start);
  return (used.user + used.system) * 1000;
}

/** Runs one configuration in this process and returns its medians. */
async function measure(config: Config): Promise<Measurement> {
  const store = new AsyncLocalStorage<string>();
  const withStore = config.endsWith("+als");
  const expected = withStore ? "request" : undefined;
  const inStore = <T>(fn: () => T): T => (withStore ? store.run("request", fn) : fn());
  const check = (seen: unknown): void => {
    if (seen !== expected) throw new Error(`${config}: saw store ${String(seen)}`);
  };

  const rt = new Runtime(withStore ? { asyncContext: nodeAsyncContext } : {});
  const switcher = asyncFn(function* (n: number): AsyncGenerator<unknown> {
    for (let i = 0; i < n; i++) yield* yieldNow();
    return store.getStore();
  });
  const leaf = asyncFn(function* (): AsyncGenerator<unknown> {
    return store.getStore();
  });
  const spawner = asyncFn(function* (n: number): AsyncGenerator<unknown> {
    const handles = new Array(n);
    for (let i = 0; i < n; i++) handles[i] = rt.spawn(leaf());
    let last: unknown;
    for (const handle of handles) last = yield* handle;
    return last;
  });
  async function nativeSwitcher(n: number): Promise<unknown> {
    for (let i = 0; i < n; i++) await null;
    return store.getStore();
  }
  async function nativeLeaf(): Promise<unknown> {
    return store.getStore();
  }
  async function nativeSpawner(n: number): Promise<unknown> {
    const promises = new Array<Promise<unknown>>(n);
    for (let i = 0; i < n; i++) promises[i] = nativeLeaf();
    const all = await Promise.all(promises);
    return all[n - 1];
  }

  const native = config.startsWith("native");
  const switchNs: number[] = [];
  const spawnNs: number[] = [];
  for (let run = 0; run < WARMUP_RUNS + COUNTED_RUNS; run++) {
    let start = process.cpuUsage();
    check(await inStore(() => (native ? nativeSwitcher(SWITCHES) : rt.run(switcher(SWITCHES)))));
    const switchCost = cpuNs(start) / SWITCHES;
    start = process.cpuUsage();
    check(await inStore(() => (native ? nativeSpawner(SPAWNS) : rt.run(spawner(SPAWNS)))));
    const spawnCost = cpuNs(start) / SPAWNS;
    if (run >= WARMUP_RUNS) {
      switchNs.push(switchCost);
      spawnNs.push(spawnCost);
    }
  }
  return { switchNs: median(switchNs), spawnNs: median(spawnNs) };
}

async function main(args: readonly string[]): Promise<void> {
  const child = args[0] as Config | undefined;
  if (child !== undefined) {
    if (!CONFIGS.includes(child)) throw new Error(`unknown configuration ${child}`);
    process.stdout.write(JSON.stringify(await measure(child)));
    return;
  }
  const self = fileURLToPath(import.meta.url);
  const results = new Map<Config, Measurement>();
  for (const config of CONFIGS) {
    const out = spawnSync(process.execPath, [self, config], { encoding: "utf8" });
    if (out.status !== 0) throw new Error(`${config} failed: ${out.stderr}`);
    results.set(config, JSON.parse(out.stdout) as Measurement);
  }
  const base = results.get("native")!;
  console.log("AsyncLocalStorage propagation, CPU ns per operation (median of 5 runs)\n");
  console.log("config        task switch   vs native   spawn+join   vs native");
  for (const [config, m] of results) {
    console.log(
      `${config.padEnd(12)}  ${m.switchNs.toFixed(1).padStart(11)}   ${(m.switchNs / base.switchNs).toFixed(2).padStart(8)}x  ${m.spawnNs.toFixed(0).padStart(11)}   ${(m.spawnNs / base.spawnNs).toFixed(2).padStart(8)}x`,
    );
  }
}

await main(process.argv.slice(2));
