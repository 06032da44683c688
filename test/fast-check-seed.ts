/**
 * Preloaded by `npm test` (`node --import`): every property test runs with one fixed fast-check
 * seed, so a CI run is reproducible and cannot turn red on a newly drawn input. `FC_SEED=n`
 * replays another seed; `npm run test:explore` draws random seeds to look for new failures.
 */
import fc from "fast-check";

const fromEnv = process.env.FC_SEED;
if (process.env.FC_EXPLORE !== "1") {
  fc.configureGlobal({ seed: fromEnv === undefined ? 20261126 : Number(fromEnv) });
}
