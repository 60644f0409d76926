// What the adversarial peer can be told to do (test/adversary/peer.ts), shared by the process and its parent.

/** How it serves the storage protocol; everything not listed is answered honestly by the real server code. */
export interface Behaviour {
  /** Answer every WRITE with refusal `exists` without receiving a byte (fairness credit and happiness for nothing). */
  existsWithoutStoring?: boolean;
  /** LIST also names the shares it claimed to hold (a made-up listing). */
  listLies?: boolean;
  /** Answer READ with zeroed or random bytes of the asked lengths, AUDIT with made-up bytes and hashes. */
  forge?: 'zero' | 'random';
  /** Send answers to these ops (or '*') `bytes` at a time, one piece every `everyMs`. */
  trickle?: { ops: string[]; bytes: number; everyMs: number };
  /** Never answer these ops (or '*'): read the request and hold the stream open. */
  silent?: string[];
}

/** Attacks it runs as a client of another peer (`target`: a peer id or a multiaddr). */
export type Attack =
  | { kind: 'fill-slots'; target: string; count: number; payloadBytes?: number; stopOnRefusal?: boolean }
  | { kind: 'replay-slot'; target: string; si: string }
  | { kind: 'slow-loris'; target: string; writes: number; size: number; byteEveryMs: number; maxMs: number }
  | { kind: 'trickle-request'; target: string; byteEveryMs: number; maxMs: number }
  | { kind: 'flood-after-request'; target: string; bytes: number }
  | { kind: 'idle-streams'; target: string; count: number; maxMs: number }
  | { kind: 'big-request'; target: string; bytes: number }
  /** Shares of our making under someone else's storage index; `uebFrom`: a holder to read the real UEB from (READ is open). */
  | { kind: 'squat'; target: string; si: string; shareNums: number[]; size: number; uebFrom?: string };

export interface AdversaryInit {
  home: string;
  bootstrap?: string[];
  behaviour?: Behaviour;
}

/** Requests seen, answers fully sent and answers given up (the peer went away first), per op. */
export interface AdversaryStats {
  requests: Record<string, number>;
  answered: Record<string, number>;
  abandoned: Record<string, number>;
  /** WRITEs answered `exists` without storing. */
  claimed: number;
}
