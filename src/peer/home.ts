// The peer's home folder: where its identity, configuration, shares, ledgers and API token live.
// Resolution order: an explicit --home, then $P2PBACKUP_HOME, then $XDG_DATA_HOME/p2pbackup
// (default ~/.local/share/p2pbackup), as XDG asks for user data that must not be lost.
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

export function resolveHome(explicit?: string, env: NodeJS.ProcessEnv = process.env): string {
  if (explicit != null && explicit !== '') return resolve(explicit);
  if (env.P2PBACKUP_HOME != null && env.P2PBACKUP_HOME !== '') return resolve(env.P2PBACKUP_HOME);
  const xdg = env.XDG_DATA_HOME != null && env.XDG_DATA_HOME !== '' ? env.XDG_DATA_HOME : join(homedir(), '.local', 'share');
  return join(resolve(xdg), 'p2pbackup');
}

/**
 * Every path inside a home folder, in one place (docs/ARCHITECTURE.md §Where a peer keeps things lists
 * them in the same order). Nothing else joins a name onto a home folder.
 */
export function homePaths(home: string) {
  return {
    home,
    // Written by `init`.
    config: join(home, 'config.json'),
    peerKey: join(home, 'peer.key'),
    swarmKey: join(home, 'swarm.key'),
    apiToken: join(home, 'api-token'),
    recovery: join(home, 'recovery.cap'),
    // Created by the peer at its first start.
    convergence: join(home, 'convergence.secret'),
    store: join(home, 'store'),
    fairness: join(home, 'fairness.leveldb'),
    audits: join(home, 'audits'),
    sync: join(home, 'sync'),
    backupCache: join(home, 'backup-cache'),
    /** The owner's repository index on this device (src/repo local-index.ts). */
    repoIndex: join(home, 'repo-index'),
    // Written by a running daemon, removed at a clean stop.
    daemon: join(home, 'daemon.json'),
    // `recover`: a throwaway home for fetching the recovery record, removed when done.
    recoverTmp: join(home, '.recover-tmp'),
    // `swarm` / `demo`: the swarm's client home holds its storage peers and the process list.
    log: join(home, 'daemon.log'),
    swarmInfo: join(home, 'swarm.json'),
    swarmPeers: join(home, 'peers')
  };
}
export type HomePaths = ReturnType<typeof homePaths>;
