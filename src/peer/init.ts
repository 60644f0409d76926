// `p2pbackup init`: lay down a new home folder: configuration, peer identity, API token and, on
// request, a private-swarm key. Refuses to touch a home that already has a configuration, so an
// identity (and the shares filed under it) is never replaced by accident.
import { randomBytes } from 'node:crypto';
import { access, chmod, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { UsageError } from '../common/errors.ts';
import { createRecoveryCap } from './recovery-record.ts';
import { AlreadyInitializedError } from './errors.ts';
import { DEFAULT_CONFIG, validateConfig, writeConfig, type PeerConfig } from './config.ts';
import { homePaths } from './home.ts';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { generateSwarmKey, loadOrCreatePeerKey, parseSwarmKey } from '../net/index.ts';

export interface InitOptions {
  bootstrap?: string[];
  listen?: string[];
  announce?: string[];
  offer?: string;
  mdns?: boolean;
  /** Create a new private-swarm key. */
  swarmKey?: boolean;
  /** Copy an existing swarm key (join a private swarm). */
  swarmKeyFile?: string;
  apiPort?: number;
  /** Bind the API to this address (default 127.0.0.1); only when asked for explicitly. */
  apiHost?: string;
  relayServer?: boolean;
  relayClient?: boolean;
  upnp?: boolean;
}

export async function isInitialized(home: string): Promise<boolean> {
  return access(homePaths(home).config).then(
    () => true,
    () => false
  );
}

export async function initHome(home: string, o: InitOptions = {}): Promise<{ home: string; peerId: string; swarmKey?: string; recoveryCap: string }> {
  const paths = homePaths(home);
  if (await isInitialized(home)) {
    throw new AlreadyInitializedError(home, `${home} is already a p2pbackup home (${paths.config} exists); use another --home, or edit that file`);
  }
  if (o.swarmKey && o.swarmKeyFile) throw new UsageError('use either --swarm-key (new key) or --swarm-key-file (existing key), not both');
  const raw: Partial<Record<keyof PeerConfig, unknown>> = {};
  if (o.bootstrap?.length) raw.bootstrap = o.bootstrap;
  if (o.listen?.length) raw.listen = o.listen;
  if (o.announce?.length) raw.announce = o.announce;
  if (o.offer !== undefined) raw.offer = o.offer;
  if (o.mdns !== undefined) raw.mdns = o.mdns;
  if (o.upnp) raw.upnp = true;
  if (o.relayServer || o.relayClient) raw.relay = { ...(o.relayServer ? { server: true } : {}), ...(o.relayClient ? { client: true } : {}) };
  if (o.apiPort !== undefined || o.apiHost !== undefined) raw.api = { host: o.apiHost ?? DEFAULT_CONFIG.api.host, port: o.apiPort ?? DEFAULT_CONFIG.api.port };
  const config = validateConfig(raw); // validate everything before writing anything
  let swarmKeyText: string | undefined;
  if (o.swarmKeyFile) {
    swarmKeyText = await readFile(o.swarmKeyFile, 'utf8').catch((err) => {
      throw new UsageError(`cannot read swarm key ${o.swarmKeyFile}: ${err.code ?? err.message}`);
    });
    parseSwarmKey(swarmKeyText); // throws a named error when malformed
  } else if (o.swarmKey) {
    swarmKeyText = generateSwarmKey();
  }

  await mkdir(home, { recursive: true, mode: 0o700 });
  await chmod(home, 0o700);
  const key = await loadOrCreatePeerKey(paths.peerKey);
  await writeFile(paths.apiToken, randomBytes(32).toString('base64url') + '\n', { mode: 0o600 });
  // The key text read above is written, not the file copied: a copy would keep the source's mode (a
  // world-readable key in a shared folder stays world-readable), and writeFile's `mode` only applies to a
  // file it creates, so a swarm.key already in the home (an interrupted init) is chmodded too.
  if (swarmKeyText) {
    await writeFile(paths.swarmKey, swarmKeyText, { mode: 0o600 });
    await chmod(paths.swarmKey, 0o600);
  }
  await rm(paths.recovery, { force: true }); // a leftover of an interrupted init
  const recoveryCap = await createRecoveryCap(home);
  await writeConfig(paths.config, config); // last: its presence marks the home as complete
  return { home, peerId: peerIdFromPrivateKey(key).toString(), swarmKey: swarmKeyText ? paths.swarmKey : undefined, recoveryCap };
}
