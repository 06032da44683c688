/**
 * Node-specific parts of waker: the Node platform and the drivers (TCP so far). Everything here
 * implements the runtime-agnostic interfaces of `waker` (`AsyncRead`, `AsyncWrite`, `Stream`),
 * so code written against them runs on real or simulated sockets alike.
 *
 * @packageDocumentation
 */
export { nodePlatform } from "../platform/node-platform.js";
export { nodeAsyncContext } from "./async-context.js";
export {
  appendFile,
  File,
  mkdir,
  open,
  readDir,
  readFile,
  remove,
  rename,
  stat,
  writeFile,
} from "./fs.js";
export { IoError } from "./io-error.js";
export { nodeNetwork } from "./net.js";
export { ctrlC, signal } from "./signal.js";
export { spawnBlocking } from "./spawn-blocking.js";
export {
  fromDuplex,
  fromReadable,
  fromWritable,
  NodeStreamIo,
  toReadable,
  toWritable,
} from "./stream-io.js";
export { type SocketAddr, TcpListener, TcpStream } from "./tcp.js";
export { TlsListener, type TlsOptions, tlsConnect, upgradeToTls } from "./tls.js";
