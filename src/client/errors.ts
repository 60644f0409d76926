import { P2PBackupError } from '../common/errors.ts';

/** The upload could not put shares on `happy` distinct peers. */
export class NotHappyError extends P2PBackupError {
  constructor(details: { happiness: number; happy: number; candidates: number; refusals: Record<string, string> }) {
    const why = Object.entries(details.refusals)
      .map(([p, r]) => `${p.slice(-8)}: ${r}`)
      .join('; ');
    super(
      'ERR_NOT_HAPPY',
      `shares reached only ${details.happiness} distinct peers, ${details.happy} needed (${details.candidates} candidate peers${why ? `; refused or failed: ${why}` : ''}); start more peers or lower --happy`,
      details
    );
  }
}

/** publishRecord stored the record on fewer than `minReplicas` peers. */
export class NotEnoughReplicasError extends P2PBackupError {
  readonly stored: number;
  readonly needed: number;
  constructor(details: { stored: number; needed: number; storedOn: string[]; candidates: number; seq: number; failures: Record<string, string> }) {
    const why = Object.entries(details.failures)
      .map(([p, r]) => `${p.slice(-8)}: ${r}`)
      .join('; ');
    super(
      'ERR_NOT_ENOUGH_REPLICAS',
      `record seq ${details.seq} stored on ${details.stored} peers, ${details.needed} needed (${details.candidates} candidate peers${why ? `; refused or failed: ${why}` : ''})`,
      details
    );
    this.stored = details.stored;
    this.needed = details.needed;
  }
}

/** publishRecord was given a seq that is not above the highest one the swarm already holds. */
export class StaleSeqError extends P2PBackupError {
  constructor(seq: number, highest: number) {
    super('ERR_STALE_SEQ', `seq ${seq} is not above the highest seq ${highest} already stored for this slot`, { seq, highest });
  }
}

/** A mutable record payload above what storage peers keep (SLOT_MAX_PAYLOAD_BYTES). */
export class RecordTooLargeError extends P2PBackupError {
  constructor(size: number, max: number) {
    super('ERR_RECORD_TOO_LARGE', `record payload of ${size} bytes exceeds the ${max}-byte slot limit`, { size, max });
  }
}

/** No storage peer is known at all. */
export class NoPeersError extends P2PBackupError {
  constructor() {
    super('ERR_NO_PEERS', 'no storage peers found: is the daemon connected to a swarm (check `p2pbackup peers` and the bootstrap addresses)?');
  }
}
