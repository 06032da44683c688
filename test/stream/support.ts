/** Test helpers shared by the stream tests. */
import { type Context, Done, Pending, type Poll, Stream } from "../../src/index.js";

/** A stream of `items`, then Pending for ever (or Done, with `end`); counts its drops. */
export class ProbeStream<T> extends Stream<T> {
  drops = 0;
  private cursor = 0;
  constructor(
    private readonly items: readonly T[],
    private readonly end = false,
  ) {
    super();
  }
  pollNext(_cx: Context): Poll<T | typeof Done> {
    if (this.cursor < this.items.length) return this.items[this.cursor++] as T;
    return this.end ? Done : Pending;
  }
  override drop(): void {
    this.drops++;
  }
}
