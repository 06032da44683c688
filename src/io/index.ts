export type { AsyncRead, AsyncWrite } from "./async-io.js";
export { BufReader, lines } from "./buf-reader.js";
export { BufWriter } from "./buf-writer.js";
export { copy } from "./copy.js";
export { DuplexStream, duplex } from "./duplex.js";
export { BrokenPipe, LineTooLong, UnexpectedEof, WriteZero } from "./errors.js";
export { read, readExact, readToEnd } from "./read.js";
export { flush, shutdown, write, writeAll } from "./write.js";
