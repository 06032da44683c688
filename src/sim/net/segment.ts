import type { Timed } from "./event-queue.js";
import type { Flow, SimStream } from "./stream.js";

/** Connection request (carries the connecting end). */
export const SYN = 0;
/** Connection accepted: the first item of the server-to-client flow. */
export const SYNACK = 1;
/** Bytes of a flow. */
export const DATA = 2;
/** End of a flow (half-close). */
export const FIN = 3;
/** Abort: the target end is reset (or a connect refused). Not ordered with its flow. */
export const RST = 4;
/** Acknowledgement of a flow's bytes, with the receiver's free window. Not ordered. */
export const ACK = 5;

const NAMES = ["SYN", "SYN-ACK", "DATA", "FIN", "RST", "ACK"];

/** @internal One unit the network carries from host `from` to host `to`. */
export class Segment implements Timed {
  time = 0;
  seq = 0;
  /** Position in its flow (SYNACK, DATA, FIN): delivered in this order; for an ACK, its number. */
  flowSeq = 0;
  /** ACK: bytes of the flow delivered so far, and the receiver's free window then. */
  acked = 0;
  free = 0;
  /** The arrival resets the connection (the link's reset rate). */
  resets = false;
  /** SYN retransmissions so far (a full accept backlog). */
  retries = 0;

  constructor(
    readonly kind: number,
    readonly from: string,
    readonly to: string,
    /** SYN: the connecting end; RST: the end it resets. */
    readonly end: SimStream | null,
    /** SYNACK, DATA, FIN, ACK: the flow it belongs to. */
    readonly flow: Flow | null,
    readonly bytes: Uint8Array | null,
  ) {}

  describe(): string {
    const size = this.bytes === null ? "" : ` ${this.bytes.length} B`;
    return `${NAMES[this.kind]}${size} ${this.from} -> ${this.to}`;
  }
}
