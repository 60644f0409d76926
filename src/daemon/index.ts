// The daemon: one peer (src/peer/) served over the local API (src/api/) as a long-lived process, with
// HOME/daemon.json for the CLI to find it. The only module that puts the two together.
// await runDaemon(resolveHome(), { logLevel: 'info' }); // until SIGTERM / SIGINT
export { runDaemon, type DaemonOptions } from './daemon.ts';
