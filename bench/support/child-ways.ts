/**
 * The harness of the floor scripts (`bench/switch-floor.ts`, `bench/ping-pong-floor.ts`): each way
 * of doing the same work is measured in a child process of its own (a fresh V8, so no way inlines
 * less because another ran first), and the children alternate between the ways.
 */
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { median } from "../harness.js";

/**
 * In a child (the script was started with a way as its argument): measures that way, prints it
 * for the parent and returns `null`. In the parent: starts `children` children per way,
 * alternating the ways, and returns each way's results (one number per child).
 *
 * @example
 * ```ts
 * const results = await measureInChildren(WAYS, measure, import.meta.url, 5);
 * if (results !== null) printWays("CPU ns per iteration:", WAYS, results);
 * ```
 */
export async function measureInChildren<W extends string>(
  ways: readonly W[],
  measure: (way: W) => Promise<number>,
  scriptUrl: string,
  children: number,
): Promise<Map<W, number[]> | null> {
  const way = process.argv[2] as W | undefined;
  if (way !== undefined) {
    if (!ways.includes(way)) throw new Error(`unknown way ${way}`);
    process.stdout.write(`${JSON.stringify({ way, ns: await measure(way) })}\n`);
    return null;
  }
  const script = fileURLToPath(scriptUrl);
  const results = new Map<W, number[]>(ways.map((w) => [w, []]));
  for (let round = 0; round < children; round++) {
    for (const w of ways) {
      const child = spawnSync(process.execPath, [script, w], { encoding: "utf8" });
      if (child.status !== 0) throw new Error(`${w} failed:\n${child.stderr}`);
      const { ns } = JSON.parse(child.stdout.trim()) as { ns: number };
      results.get(w)?.push(ns);
    }
  }
  return results;
}

/** Prints `title`, then per way the median of its children, its ratio to the first way, and each child's figure. */
export function printWays<W extends string>(
  title: string,
  ways: readonly W[],
  results: Map<W, number[]>,
): void {
  const base = median(results.get(ways[0] as W) ?? []);
  console.log(title);
  for (const w of ways) {
    const ns = median(results.get(w) ?? []);
    const runs = (results.get(w) ?? []).map((x) => x.toFixed(1)).join(", ");
    console.log(
      `  ${w.padEnd(8)} ${ns.toFixed(1).padStart(7)}  ${(ns / base).toFixed(2)}x  [${runs}]`,
    );
  }
}
