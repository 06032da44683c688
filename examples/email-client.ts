/**
 * The seed's story, end to end: a future is polled, returns Pending after its resource stored the
 * waker, the resource calls wake() when the server answers, the executor polls again: Ready.
 *
 * The "server" here is a host callback a few milliseconds away; the real SMTP client replaces it.
 * Run: npm run demo
 */
import {
  type Context,
  Future,
  future,
  Pending,
  type Poll,
  Runtime,
  type Waker,
} from "../src/index.js";

/** A stand-in for a socket: the server's reply arrives later, from a host callback. */
class FakeSmtpSocket {
  private reply: string | null = null;
  private waker: Waker | null = null;

  send(command: string): void {
    log(`socket: sending ${JSON.stringify(command)}; the server answers in 20 ms`);
    setTimeout(() => {
      this.reply = "250 OK: queued as 7F3A";
      log("socket: the server answered; calling waker.wake()");
      const waker = this.waker;
      this.waker = null;
      waker?.wake();
    }, 20);
  }

  /** The leaf's side: the reply if it is here, or store the waker and say Pending. */
  pollReply(cx: Context): Poll<string> {
    if (this.reply !== null) return this.reply;
    if (this.waker === null || !this.waker.willWake(cx.waker)) {
      this.waker?.drop();
      this.waker = cx.waker.clone();
    }
    return Pending;
  }
}

/** The leaf future: sends the command on first poll, then waits for the reply. */
class SendEmail extends Future<string> {
  private sent = false;
  polls = 0;
  constructor(private readonly socket: FakeSmtpSocket) {
    super();
  }
  poll(cx: Context): Poll<string> {
    this.polls++;
    if (!this.sent) {
      this.sent = true;
      this.socket.send("DATA ... .");
    }
    const reply = this.socket.pollReply(cx);
    log(
      `executor: poll #${this.polls} -> ${reply === Pending ? "Pending (waker stored)" : `Ready(${JSON.stringify(reply)})`}`,
    );
    return reply;
  }
}

const started = performance.now();
function log(line: string): void {
  console.log(`[${(performance.now() - started).toFixed(1).padStart(5)} ms] ${line}`);
}

const rt = new Runtime();
const send = new SendEmail(new FakeSmtpSocket());
const reply = await rt.run(
  future(function* emailClient() {
    log("task: start; nothing has run until now (futures are lazy)");
    const answer = yield* send;
    log(`task: got ${JSON.stringify(answer)}`);
    return answer;
  }),
);
log(`done: ${reply} after ${send.polls} polls of the leaf future`);
