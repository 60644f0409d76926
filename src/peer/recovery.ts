// Device recovery (the edge-device scenario). `init` creates a recovery cap: the write cap of a mutable
// slot whose (encrypted, signed) record holds what a replacement device needs to become this one: the
// configuration, the peer identity, the convergence secret, the swarm key and every folder with its
// head's write cap. The daemon republishes the record at start and whenever the folder list changes.
// `p2pbackup recover RECOVERYCAP` on new hardware fetches it, rebuilds the home, restores each
// folder's latest snapshot into place and registers the folders again, so the daemon resumes watching.
import { readFile, writeFile, rm, mkdir } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { P2PBackupError } from '../common/errors.ts';
import { createMutableWriteCap, formatCap, parseCap } from '../caps/index.ts';
import { fetchRecord, publishRecord, type ServerFinder } from '../client/index.ts';
import { homePaths } from './home.ts';
import { validateConfig, writeConfig, type PeerConfig } from './config.ts';
import { initHome, isInitialized } from './init.ts';
import type { FolderRecord } from '../backup/journal.ts';

const RECOVERY_VERSION = 1;
const FIND_TIMEOUT_MS = 60_000; // how long recover keeps asking the swarm for the record

export interface RecoveryPayload {
  v: number;
  config: PeerConfig;
  peerKey: string; // base64 of HOME/peer.key (libp2p protobuf)
  convergenceSecret: string; // base64
  swarmKey?: string;
  folders: { path: string; writeCap: string; excludes: string[]; watch: boolean }[];
}

/** A new recovery cap, kept in HOME/recovery.cap (owner-only). */
export async function createRecoveryCap(home: string): Promise<string> {
  const cap = formatCap(createMutableWriteCap());
  await writeFile(homePaths(home).recovery, cap + '\n', { mode: 0o600, flag: 'wx' });
  return cap;
}

export async function readRecoveryCap(home: string): Promise<string | null> {
  return (await readFile(homePaths(home).recovery, 'utf8').catch(() => '')).trim() || null;
}

export async function buildRecoveryPayload(home: string, config: PeerConfig, folders: FolderRecord[]): Promise<RecoveryPayload> {
  const paths = homePaths(home);
  const swarmKey = await readFile(paths.swarmKey, 'utf8').catch(() => undefined);
  return {
    v: RECOVERY_VERSION,
    config,
    peerKey: (await readFile(paths.peerKey)).toString('base64'),
    convergenceSecret: (await readFile(paths.convergence)).toString('base64'),
    ...(swarmKey ? { swarmKey } : {}),
    folders: folders.map((f) => ({ path: f.path, writeCap: f.writeCap, excludes: f.excludes, watch: f.watch }))
  };
}

export async function publishRecovery(finder: ServerFinder, cap: string, payload: RecoveryPayload): Promise<void> {
  await publishRecord(finder, cap, new TextEncoder().encode(JSON.stringify(payload)));
}

function parsePayload(bytes: Uint8Array): RecoveryPayload {
  let p: any;
  try {
    p = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    throw new P2PBackupError('ERR_RECOVERY_INVALID', 'the recovery record is not valid JSON');
  }
  const bad = (what: string) => new P2PBackupError('ERR_RECOVERY_INVALID', `the recovery record is invalid: ${what}`);
  if (p?.v !== RECOVERY_VERSION) throw bad(`unknown version ${p?.v}`);
  if (typeof p.peerKey !== 'string' || typeof p.convergenceSecret !== 'string') throw bad('keys missing');
  if (!Array.isArray(p.folders) || p.folders.some((f: any) => typeof f?.path !== 'string' || typeof f?.writeCap !== 'string')) throw bad('folders');
  p.config = validateConfig(p.config);
  return p as RecoveryPayload;
}

/** Ask the swarm for the recovery record until it answers (peers may still be joining). */
export async function fetchRecovery(finder: ServerFinder, cap: string, signal?: AbortSignal): Promise<RecoveryPayload> {
  const deadline = Date.now() + FIND_TIMEOUT_MS;
  let last: unknown = null;
  while (Date.now() < deadline) {
    signal?.throwIfAborted();
    try {
      const r = await fetchRecord(finder, cap, { signal });
      if (r) return parsePayload(r.payload);
    } catch (err) {
      if ((err as P2PBackupError).code === 'ERR_RECOVERY_INVALID') throw err;
      last = err;
    }
    await sleep(1_000);
  }
  throw new P2PBackupError('ERR_RECOVERY_NOT_FOUND', `no peer returned the recovery record within ${FIND_TIMEOUT_MS / 1000} s${last ? ` (last error: ${(last as Error).message})` : ''}; check --bootstrap and, for a private swarm, --swarm-key-file`);
}

export interface RecoverOptions {
  bootstrap?: string[];
  swarmKeyFile?: string;
  listen?: string[];
  onStep?: (line: string) => void;
}

/**
 * Rebuild a home from a recovery cap. The home must not exist yet. Returns the folders restored.
 * Needs only the cap and a way into the swarm (bootstrap addresses, or mDNS on the LAN).
 */
export async function recoverHome(home: string, recoveryCap: string, o: RecoverOptions = {}): Promise<{ peerId: string; folders: { path: string; snapshot: string | null; files: number }[] }> {
  const c = parseCap(recoveryCap);
  if (c.type !== 'mw') throw new P2PBackupError('ERR_CAP_WRONG_KIND', `a recovery cap is a write cap (p2pb:mw:…), not a "${c.type}" cap`);
  if (await isInitialized(home)) throw new P2PBackupError('ERR_ALREADY_INITIALIZED', `${home} is already a p2pbackup home; recover into a new --home`);
  const step = o.onStep ?? (() => {});
  const { createPeer } = await import('./peer.ts');

  // 1. A throwaway peer finds the record.
  const tmpHome = homePaths(home).recoverTmp;
  await rm(tmpHome, { recursive: true, force: true });
  await initHome(tmpHome, { bootstrap: o.bootstrap, listen: o.listen ?? ['/ip4/0.0.0.0/tcp/0'], swarmKeyFile: o.swarmKeyFile, offer: '0' });
  let payload: RecoveryPayload;
  const tmpCfg = validateConfig(JSON.parse(await readFile(homePaths(tmpHome).config, 'utf8')));
  const tmpPeer = await createPeer({ home: tmpHome, config: tmpCfg, folders: false });
  try {
    step('looking for the recovery record in the swarm…');
    payload = await fetchRecovery(tmpPeer.finder, recoveryCap);
  } finally {
    await tmpPeer.stop();
    await rm(tmpHome, { recursive: true, force: true });
  }

  // 2. The home, as it was (identity included); the API token is new.
  const paths = homePaths(home);
  await mkdir(home, { recursive: true, mode: 0o700 });
  const config: PeerConfig = { ...payload.config, bootstrap: [...new Set([...(o.bootstrap ?? []), ...payload.config.bootstrap])] };
  if (o.listen?.length) config.listen = o.listen;
  await writeFile(paths.peerKey, Buffer.from(payload.peerKey, 'base64'), { mode: 0o600 });
  await writeFile(paths.convergence, Buffer.from(payload.convergenceSecret, 'base64'), { mode: 0o600 });
  if (payload.swarmKey) await writeFile(paths.swarmKey, payload.swarmKey, { mode: 0o600 });
  await writeFile(paths.apiToken, randomBytes(32).toString('base64url') + '\n', { mode: 0o600 });
  await writeFile(paths.recovery, recoveryCap + '\n', { mode: 0o600 });
  await writeConfig(paths.config, config);
  step(`home rebuilt at ${home}`);

  // 3. Each folder's latest snapshot, restored in place; then registered so the daemon watches it.
  const peer = await createPeer({ home, config });
  const out: { path: string; snapshot: string | null; files: number }[] = [];
  try {
    for (const f of payload.folders) {
      const rec = await peer.folders!.adopt(f);
      const snaps = await peer.folders!.snapshots(rec.rootCap);
      const latest = snaps.snapshots.at(-1);
      if (!latest) {
        out.push({ path: f.path, snapshot: null, files: 0 });
        continue;
      }
      step(`restoring ${f.path} from its snapshot of ${new Date(latest.time).toISOString()}…`);
      const r = await peer.folders!.restore(latest.cap, f.path, { overwrite: 'if-changed' });
      await peer.folders!.markSynced(rec.id, latest);
      out.push({ path: f.path, snapshot: latest.cap, files: r.stats.files });
    }
  } finally {
    await peer.stop();
  }
  return { peerId: peer.peerId, folders: out };
}
