// The peer's home folder: where its identity, configuration, shares, keystore and API token live.
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

/** Every path inside a home folder, in one place. */
export function homePaths(home: string) {
  return {
    home,
    config: join(home, 'config.json'),
    peerKey: join(home, 'peer.key'),
    swarmKey: join(home, 'swarm.key'),
    apiToken: join(home, 'api-token'),
    daemon: join(home, 'daemon.json'),
    store: join(home, 'store'),
    keystore: join(home, 'keystore'),
    log: join(home, 'daemon.log'),
    convergence: join(home, 'convergence.secret'),
    recovery: join(home, 'recovery.cap')
  };
}
export type HomePaths = ReturnType<typeof homePaths>;
