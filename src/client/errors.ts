import { P2PBackupError } from '../common/errors.ts';

/** The upload could not put shares on `happy` distinct peers. */
export class NotHappyError extends P2PBackupError {
  constructor(details: { happiness: number; happy: number; candidates: number; refusals: Record<string, string> }) {
    const why = Object.entries(details.refusals).map(([p, r]) => `${p.slice(-8)}: ${r}`).join('; ');
    super('ERR_NOT_HAPPY', `shares reached only ${details.happiness} distinct peers, ${details.happy} needed (${details.candidates} candidate peers${why ? `; refused or failed: ${why}` : ''}); start more peers or lower --happy`, details);
  }
}

/** No storage peer is known at all. */
export class NoPeersError extends P2PBackupError {
  constructor() {
    super('ERR_NO_PEERS', 'no storage peers found: is the daemon connected to a swarm (check `p2pbackup peers` and the bootstrap addresses)?');
  }
}
