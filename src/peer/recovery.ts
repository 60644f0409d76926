// Device recovery, the procedure: `p2pbackup recover RECOVERYCAP` on new hardware fetches the recovery
// record (recovery-record.ts) through a throwaway peer, rebuilds the home (identity included), restores
// each folder's latest snapshot into place and registers the folders again, so the daemon resumes watching.
import { readFile, writeFile, rm, mkdir } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { InvalidCapError, parseCap } from '../caps/index.ts';
import { homePaths } from './home.ts';
import { validateConfig, writeConfig, type PeerConfig } from './config.ts';
import { initHome, isInitialized } from './init.ts';
import { createPeer } from './peer.ts';
import { fetchRecovery, type RecoveryPayload } from './recovery-record.ts';
import { AlreadyInitializedError } from './errors.ts';

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
export async function recoverHome(
  home: string,
  recoveryCap: string,
  o: RecoverOptions = {}
): Promise<{ peerId: string; folders: { path: string; snapshot: string | null; files: number }[] }> {
  const c = parseCap(recoveryCap);
  if (c.type !== 'mw') throw new InvalidCapError('ERR_CAP_WRONG_KIND', `a recovery cap is a write cap (p2pb:mw:…), not a "${c.type}" cap`, { type: c.type });
  if (await isInitialized(home)) throw new AlreadyInitializedError(home, `${home} is already a p2pbackup home; recover into a new --home`);
  const step = o.onStep ?? (() => {});

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
