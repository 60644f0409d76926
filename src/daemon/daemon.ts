// `p2pbackup daemon`: run one peer as a long-lived process. Starts the peer, serves the local API,
// publishes HOME/daemon.json (pid, peer id, addresses, API URL) for the CLI, logs JSON lines (pino)
// to stdout, and shuts down cleanly on SIGTERM/SIGINT (API closed, streams ended, LevelDB closed).
// The composition of the two layers that do not know each other: the API declares the service it needs
// (src/api/service.ts), the peer implements it (src/peer/), and only this module imports both.
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import pino from 'pino';
import { createApp } from '../api/app.ts';
import { homePaths } from '../peer/home.ts';
import { allowedRoots, readConfig, validateHealth } from '../peer/config.ts';
import { ConfigError } from '../peer/errors.ts';
import { createPeer } from '../peer/peer.ts';
import { startIdleGc } from '../common/idle-gc.ts';
import type { OperationInfo } from '../api/service.ts';

const SHUTDOWN_GRACE_MS = 10_000; // a stop that takes longer is stuck: exit anyway

export interface DaemonOptions {
  bootstrap?: string[];
  logLevel?: string;
  /** JSON of health settings layered over config.json (from P2PBACKUP_HEALTH, read by the CLI entry). */
  healthOverride?: string;
  /** A read-only light node: offers no storage, starts no sync, the API refuses writes. */
  readOnly?: boolean;
  /** Serve as a relay for members behind NAT, whatever config.json says (`daemon --relay-server`). */
  relayServer?: boolean;
}

export async function runDaemon(home: string, o: DaemonOptions = {}): Promise<void> {
  const log = pino({ level: o.logLevel ?? 'info', base: { pid: process.pid } });
  const paths = homePaths(home);
  const config = await readConfig(paths.config);
  if (o.bootstrap?.length) config.bootstrap = [...config.bootstrap, ...o.bootstrap];
  if (o.relayServer) config.relay = { ...config.relay, server: true };
  // Tests and operators can override health settings without editing config.json: P2PBACKUP_HEALTH='{"intervalMs":2000}'.
  if (o.healthOverride) {
    let raw: unknown;
    try {
      raw = JSON.parse(o.healthOverride);
    } catch {
      throw new ConfigError('P2PBACKUP_HEALTH must be a JSON object of health settings');
    }
    config.health = validateHealth(raw, config.encoding, config.health);
  }
  const token = (await readFile(paths.apiToken, 'utf8')).trim();
  const peer = await createPeer({ home, config, log, readOnly: o.readOnly });
  await peer.startServices();
  const idleGc = startIdleGc({
    busy: () => peer.operations().some((op) => op.state === 'running'),
    onCollect: (before, after, why, ms) => log.debug({ before, after, why, ms: Math.round(ms) }, 'idle: buffers of the last transfer collected')
  });
  // The last running operation ended: give memory back now rather than at the next idle checks. One of another kind
  // than the last starts: from what it needs, not from what the last kind of work left (src/common/idle-gc.ts).
  peer.subscribe((e) => {
    if (e.type === 'operation:end') log.debug({ memory: idleGc.workEnded() }, 'work ended');
    else if (e.type === 'operation:start') {
      const started = e.operation as OperationInfo;
      const alone = !peer.operations().some((op) => op.state === 'running' && op.id !== started.id);
      log.debug({ memory: idleGc.workStarting(started.kind, alone) }, 'work starting');
    }
  });
  const app = await createApp({ peer, token, allowedRoots: allowedRoots(config) });
  await app.listen({ host: config.api.host, port: config.api.port });
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : config.api.port;
  const host = config.api.host.includes(':') ? `[${config.api.host}]` : config.api.host;
  peer.apiUrl = `http://${host}:${port}`;
  const info = { pid: process.pid, peerId: peer.peerId, addresses: peer.addresses(), apiUrl: peer.apiUrl, readOnly: o.readOnly === true };
  // Handlers first, then daemon.json: whoever sees daemon.json may stop the daemon at once, and a signal
  // that came before the handlers were in place killed it uncleanly (daemon.json left, stores not closed).
  const stopped = new Promise<void>((resolve) => {
    process.once('SIGTERM', resolve);
    process.once('SIGINT', resolve);
  });
  await writeFile(paths.daemon + '.tmp', JSON.stringify(info, null, 2) + '\n', { mode: 0o600 });
  await rename(paths.daemon + '.tmp', paths.daemon);
  log.info(info, 'daemon ready');

  await stopped;
  log.info('shutting down');
  const force = setTimeout(() => {
    log.error(`shutdown took over ${SHUTDOWN_GRACE_MS / 1000} s; exiting`);
    process.exit(1);
  }, SHUTDOWN_GRACE_MS);
  force.unref();
  idleGc.stop();
  await app.close();
  await peer.stop();
  await rm(paths.daemon, { force: true });
  log.info('stopped');
  // Everything of ours is closed. What may still be on the event loop is not: libp2p arms 1 s debounce timers
  // (identify push, the address manager) on events during its own stop and never clears them, and they held
  // every stopped daemon 1 s more (an idle one: stopped 8 ms after SIGTERM, exited after 1,045 ms). This timer
  // holds nothing itself; if anything else does, it ends the process at the next turn of the loop.
  setTimeout(() => process.exit(), 0).unref();
}
