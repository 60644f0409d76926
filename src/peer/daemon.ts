// `p2pbackup daemon`: run one peer as a long-lived process. Starts the peer, serves the local API,
// publishes HOME/daemon.json (pid, peer id, addresses, API URL) for the CLI, logs JSON lines (pino)
// to stdout, and shuts down cleanly on SIGTERM/SIGINT (API closed, streams ended, LevelDB closed).
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import pino from 'pino';
import { createApp } from '../api/app.ts';
import { homePaths } from './home.ts';
import { allowedRoots, ConfigError, readConfig, validateHealth } from './config.ts';
import { createPeer } from './peer.ts';

export interface DaemonOptions {
  bootstrap?: string[];
  logLevel?: string;
  /** JSON of health settings layered over config.json (from P2PBACKUP_HEALTH, read by the CLI entry). */
  healthOverride?: string;
  /** A read-only light node: offers no storage, starts no sync, the API refuses writes. */
  readOnly?: boolean;
}

export async function runDaemon(home: string, o: DaemonOptions = {}): Promise<void> {
  const log = pino({ level: o.logLevel ?? 'info', base: { pid: process.pid } });
  const paths = homePaths(home);
  const config = await readConfig(paths.config);
  if (o.bootstrap?.length) config.bootstrap = [...config.bootstrap, ...o.bootstrap];
  // Tests and operators can override health settings without editing config.json: P2PBACKUP_HEALTH='{"intervalMs":2000}'.
  if (o.healthOverride) {
    let raw: unknown;
    try { raw = JSON.parse(o.healthOverride); } catch { throw new ConfigError('P2PBACKUP_HEALTH must be a JSON object of health settings'); }
    config.health = validateHealth(raw, config.encoding, config.health);
  }
  const token = (await readFile(paths.apiToken, 'utf8')).trim();
  const peer = await createPeer({ home, config, log, readOnly: o.readOnly });
  await peer.startServices();
  const app = await createApp({ peer, token, allowedRoots: allowedRoots(config) });
  await app.listen({ host: config.api.host, port: config.api.port });
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : config.api.port;
  const host = config.api.host.includes(':') ? `[${config.api.host}]` : config.api.host;
  peer.apiUrl = `http://${host}:${port}`;
  const info = { pid: process.pid, peerId: peer.peerId, addresses: peer.addresses(), apiUrl: peer.apiUrl, readOnly: o.readOnly === true };
  await writeFile(paths.daemon + '.tmp', JSON.stringify(info, null, 2) + '\n', { mode: 0o600 });
  await rename(paths.daemon + '.tmp', paths.daemon);
  log.info(info, 'daemon ready');

  await new Promise<void>((resolve) => {
    process.once('SIGTERM', resolve);
    process.once('SIGINT', resolve);
  });
  log.info('shutting down');
  const force = setTimeout(() => {
    log.error('shutdown took over 10 s; exiting');
    process.exit(1);
  }, 10_000);
  force.unref();
  await app.close();
  await peer.stop();
  await rm(paths.daemon, { force: true });
  log.info('stopped');
}
