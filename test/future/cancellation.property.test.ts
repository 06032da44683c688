/**
 * Property: for random trees of join / tryJoin / select / race over generator blocks and leaves
 * that complete or throw after random numbers of yields, driven on a seeded runtime and dropped at
 * a random step (through `pollDrop` or a synchronous `drop()`), every generator that started runs
 * its finally exactly once, a finally entered by cancellation runs to its end, no future is polled
 * after it completed, threw or was dropped, and no started leaf is left running.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import {
  type Context,
  Future,
  future,
  join,
  Pending,
  type Poll,
  pollFn,
  Runtime,
  race,
  select,
  tryJoin,
  WakerContractError,
  yieldNow,
} from "../../src/index.js";
import { Countdown } from "./leaf.js";

type Tree =
  | { kind: "leaf"; yields: number; fail: boolean }
  | { kind: "gen"; cleanupYields: number; child: Tree }
  | { kind: "join" | "tryJoin" | "select" | "race"; children: Tree[] };

interface GenRecord {
  started: number;
  /** The body finished (returned or threw) before the finally ran. */
  bodyEnded: boolean;
  finEntered: number;
  finExited: number;
}

interface World {
  leaves: Countdown<unknown>[];
  gens: GenRecord[];
  probes: Probe<unknown>[];
  errors: Set<unknown>;
}

/**
 * Wraps a future and records contract violations by its owner: a poll after it completed, threw
 * or after its cancellation began.
 */
class Probe<T> extends Future<T> {
  ended = false;
  cancelling = false;
  violations = 0;
  constructor(private readonly inner: Future<T>) {
    super();
  }
  poll(cx: Context): Poll<T> {
    if (this.ended || this.cancelling) {
      this.violations++;
      throw new Error("probe: polled after it ended or was dropped");
    }
    let r: Poll<T>;
    try {
      r = this.inner.poll(cx);
    } catch (error) {
      this.ended = true;
      throw error;
    }
    if (r !== Pending) this.ended = true;
    return r;
  }
  override drop(): void {
    this.cancelling = true;
    this.inner.drop();
  }
  override pollDrop(cx: Context): Poll<void> {
    this.cancelling = true;
    return this.inner.pollDrop(cx);
  }
}

function build(tree: Tree, world: World): Future<unknown> {
  let fut: Future<unknown>;
  switch (tree.kind) {
    case "leaf": {
      const id = world.leaves.length;
      let leaf: Countdown<unknown>;
      if (tree.fail) {
        const error = new Error(`leaf ${id} failed`);
        world.errors.add(error);
        leaf = Countdown.fail(tree.yields, error, `leaf ${id}`);
      } else {
        leaf = Countdown.ok(tree.yields, id, `leaf ${id}`);
      }
      world.leaves.push(leaf);
      fut = leaf;
      break;
    }
    case "gen": {
      const rec: GenRecord = { started: 0, bodyEnded: false, finEntered: 0, finExited: 0 };
      world.gens.push(rec);
      const child = build(tree.child, world);
      let cleanup: Countdown<unknown> | null = null;
      if (tree.cleanupYields > 0) {
        cleanup = Countdown.ok(tree.cleanupYields, null, "cleanup");
        world.leaves.push(cleanup);
      }
      fut = future(function* () {
        rec.started++;
        try {
          const v = yield* child;
          rec.bodyEnded = true;
          return v;
        } catch (error) {
          rec.bodyEnded = true;
          throw error;
        } finally {
          rec.finEntered++;
          if (cleanup !== null) yield* cleanup;
          rec.finExited++;
        }
      });
      break;
    }
    default: {
      const children = tree.children.map((c) => build(c, world));
      if (tree.kind === "join") fut = join(...children);
      else if (tree.kind === "tryJoin") fut = tryJoin(...children);
      else if (tree.kind === "select") fut = select(children);
      else fut = race(children);
    }
  }
  const probe = new Probe(fut);
  world.probes.push(probe);
  return probe;
}

const treeArb = fc.letrec<{ tree: Tree; leaf: Tree; gen: Tree; comb: Tree }>((tie) => ({
  tree: fc.oneof(
    { maxDepth: 6, depthSize: "medium", depthIdentifier: "tree", withCrossShrink: true },
    { arbitrary: tie("leaf"), weight: 2 },
    { arbitrary: tie("gen"), weight: 2 },
    { arbitrary: tie("comb"), weight: 3 },
  ),
  leaf: fc.record({ kind: fc.constant("leaf" as const), yields: fc.nat(4), fail: fc.boolean() }),
  gen: fc.record({
    kind: fc.constant("gen" as const),
    cleanupYields: fc.nat(3),
    child: tie("tree"),
  }),
  comb: fc.record({
    kind: fc.constantFrom("join" as const, "tryJoin" as const, "select" as const, "race" as const),
    children: fc.array(tie("tree"), { minLength: 1, maxLength: 4, depthIdentifier: "tree" }),
  }),
})).tree;

const scenarioArb = fc.record({
  tree: treeArb,
  seed: fc.integer(),
  drop: fc.option(
    fc.record({
      at: fc.nat(25),
      mode: fc.constantFrom("pollDrop" as const, "drop" as const, "drop in a generator" as const),
    }),
    { nil: null },
  ),
});

type Scenario = typeof scenarioArb extends fc.Arbitrary<infer S> ? S : never;

type Outcome =
  | { kind: "value"; value: unknown }
  | { kind: "error"; error: unknown }
  | { kind: "dropped" }
  | { kind: "cleanup error"; error: unknown };

function runScenario(scenario: Scenario) {
  const world: World = { leaves: [], gens: [], probes: [], errors: new Set() };
  const root = build(scenario.tree, world);
  const reported: unknown[] = [];
  const rt = new Runtime({ seed: scenario.seed, onUnhandledError: (e) => reported.push(e) });
  const drop = scenario.drop;
  let step = 0;
  let cancelling = false;
  const STOP = Symbol("stop");
  /** Polls the root once per round until it completes or the drop step is reached. */
  const stepper = pollFn<Outcome | typeof STOP>((cx) => {
    if (drop !== null && step >= drop.at) return STOP;
    step++;
    try {
      const r = root.poll(cx);
      return r === Pending ? Pending : { kind: "value", value: r };
    } catch (error) {
      return { kind: "error", error };
    }
  });
  const syncDrop = (): Outcome => {
    try {
      root.drop();
    } catch (error) {
      return { kind: "cleanup error", error };
    }
    return { kind: "dropped" };
  };
  let driver: Future<Outcome>;
  if (drop?.mode === "drop in a generator") {
    // The synchronous drop happens inside an async block's body.
    driver = future(function* () {
      const r = yield* stepper;
      return r === STOP ? syncDrop() : r;
    });
  } else {
    driver = pollFn<Outcome>((cx) => {
      if (!cancelling) {
        const r = stepper.poll(cx);
        if (r !== STOP) return r;
        if (drop?.mode === "drop") return syncDrop();
        cancelling = true;
      }
      try {
        return root.pollDrop(cx) === Pending ? Pending : { kind: "dropped" };
      } catch (error) {
        return { kind: "cleanup error", error };
      }
    });
  }
  const outcome = rt.blockOn(driver);
  // A synchronous drop hands unfinished cleanup to the runtime: let it drain.
  for (let i = 0; i < 10_000 && rt.dump().tasks.length > 0; i++) rt.blockOn(yieldNow());
  return { world, outcome, reported, rt };
}

test("property: finalizers run exactly once, nothing is polled after it ended, nothing leaks", () => {
  fc.assert(
    fc.property(scenarioArb, (scenario) => {
      const { world, outcome, reported, rt } = runScenario(scenario);

      assert.equal(rt.dump().tasks.length, 0, "no task is left in the runtime");
      assert.deepEqual(reported, [], "no cleanup error was reported (no cleanup fails here)");
      assert.notEqual(outcome.kind, "cleanup error", "no cleanup fails here");
      if (outcome.kind === "error") {
        assert.ok(!(outcome.error instanceof WakerContractError), String(outcome.error));
        assert.ok(world.errors.has(outcome.error), `unexpected error ${String(outcome.error)}`);
      }
      if (scenario.drop === null) {
        assert.notEqual(outcome.kind, "dropped");
      }

      world.leaves.forEach((leaf) => {
        assert.equal(leaf.pollsAfterEnd, 0, `${leaf.label} polled after it ended`);
        assert.equal(leaf.inFlight, false, `${leaf.label} was started and left running`);
      });
      world.probes.forEach((probe, i) => {
        assert.equal(probe.violations, 0, `future #${i} polled after it ended or was dropped`);
      });
      world.gens.forEach((rec, i) => {
        assert.ok(rec.started <= 1, `generator #${i} body ran ${rec.started} times`);
        assert.equal(
          rec.finEntered,
          rec.started,
          `generator #${i}: finally ran ${rec.finEntered} times (started ${rec.started})`,
        );
        if (rec.finEntered === 1 && !rec.bodyEnded) {
          assert.equal(
            rec.finExited,
            1,
            `generator #${i}: a finally entered by cancellation did not run to its end`,
          );
        }
      });
    }),
    { numRuns: Number(process.env.FC_RUNS ?? 400), seed: Number(process.env.FC_SEED ?? 20261126) },
  );
});

test("property: with no drop and no failing leaf, the outputs follow the tree", () => {
  const okTree = fc.letrec<{ tree: Tree; leaf: Tree; comb: Tree }>((tie) => ({
    tree: fc.oneof(
      { maxDepth: 4, depthIdentifier: "ok", withCrossShrink: true },
      tie("leaf"),
      tie("comb"),
    ),
    leaf: fc.record({
      kind: fc.constant("leaf" as const),
      yields: fc.nat(5),
      fail: fc.constant(false),
    }),
    comb: fc.record({
      kind: fc.constantFrom(
        "join" as const,
        "tryJoin" as const,
        "select" as const,
        "race" as const,
      ),
      children: fc.array(tie("tree"), { minLength: 1, maxLength: 4, depthIdentifier: "ok" }),
    }),
  })).tree;
  fc.assert(
    fc.property(okTree, fc.integer(), (tree, seed) => {
      const world: World = { leaves: [], gens: [], probes: [], errors: new Set() };
      const root = build(tree, world);
      const value = new Runtime({ seed }).blockOn(root);
      const model = modelOf(tree, { next: 0 });
      assert.ok(model.matches(value), `unexpected output ${JSON.stringify(value)}`);
      for (const leaf of world.leaves) {
        assert.equal(leaf.pollsAfterEnd, 0);
        assert.equal(leaf.inFlight, false);
      }
      for (const probe of world.probes) assert.equal(probe.violations, 0);
    }),
    { numRuns: Number(process.env.FC_RUNS ?? 200), seed: Number(process.env.FC_SEED ?? 20261126) },
  );
});

/**
 * What a tree of non-failing leaves completes with, and in which round (the root is polled once
 * per round and every live leaf with it). Leaves are numbered in build order and output their
 * number. A join completes with every output when its slowest child does; a select with
 * `{ index, value }` of one of its fastest branches (the random start decides among ties), a race
 * with the value of its first fastest branch.
 */
function modelOf(
  tree: Tree,
  counter: { next: number },
): { rounds: number; matches: (v: unknown) => boolean } {
  switch (tree.kind) {
    case "leaf": {
      const id = counter.next++;
      return { rounds: tree.yields + 1, matches: (v) => v === id };
    }
    case "gen":
      return modelOf(tree.child, counter);
    case "join":
    case "tryJoin": {
      const parts = tree.children.map((c) => modelOf(c, counter));
      return {
        rounds: Math.max(...parts.map((p) => p.rounds)),
        matches: (v) =>
          Array.isArray(v) && v.length === parts.length && parts.every((p, i) => p.matches(v[i])),
      };
    }
    default: {
      const parts = tree.children.map((c) => modelOf(c, counter));
      const rounds = Math.min(...parts.map((p) => p.rounds));
      const fastest = parts.flatMap((p, i) => (p.rounds === rounds ? [i] : []));
      if (tree.kind === "race") {
        const first = parts[fastest[0]!]!;
        return { rounds, matches: (v) => first.matches(v) };
      }
      return {
        rounds,
        matches: (v) => {
          const { index, value } = v as { index: number; value: unknown };
          return fastest.includes(index) && parts[index]!.matches(value);
        },
      };
    }
  }
}
