/**
 * The worker side of `spawnBlocking` (run by piscina in a worker thread): rebuilds the function
 * from its source and calls it with the structured-cloned arguments. Functions are cached by
 * source, so a hot job is compiled once per worker.
 */
const compiled = new Map<string, (...args: unknown[]) => unknown>();

export default function runBlocking(job: { source: string; args: unknown[] }): unknown {
  let fn = compiled.get(job.source);
  if (fn === undefined) {
    // The function's own source, sent by spawnBlocking; evaluated in this worker's global scope.
    fn = new Function(`return (${job.source});`)() as (...args: unknown[]) => unknown;
    compiled.set(job.source, fn);
  }
  return fn(...job.args);
}
