// libp2p's loggers, quiet unless DEBUG asks for them. libp2p makes a logger for every connection and every
// stream (yamux, multistream-select, each protocol handler: `newScope`), and its default (@libp2p/logger, over
// the `debug` package) builds two `debug` instances each time, each of which asks whether stderr is a terminal
// (an isatty system call) and matches its name against DEBUG's patterns: 27 µs per scope here, about a fifth of
// the CPU of a ping between two nodes (1.6 ms of CPU per ping, both ends, against 1.3 ms with the quiet logger),
// whether or not anything is ever logged. With DEBUG unset nothing would be printed anyway, so the nodes get one
// logger that is off and makes nothing; with DEBUG set (DEBUG=libp2p:* to follow a connection) libp2p's default
// is kept, and prints as documented.
import type { ComponentLogger, Logger } from '@libp2p/interface';

const off = (() => {}) as unknown as Logger;
Object.assign(off, { enabled: false, error: () => {}, trace: () => {}, newScope: () => off });

/** The one logger of every component and scope while DEBUG is unset: disabled, and never a new object. */
export const quietLogger: ComponentLogger = { forComponent: () => off };

/** The `logger` of createLibp2p: quietLogger, or undefined (libp2p's default) when DEBUG names what to print. */
export function libp2pLogger(env: NodeJS.ProcessEnv = process.env): ComponentLogger | undefined {
  return env.DEBUG?.trim() ? undefined : quietLogger;
}
