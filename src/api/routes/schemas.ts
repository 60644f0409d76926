// JSON schemas shared by the routes: validation of what comes in, serialization and the OpenAPI
// document for what goes out. Objects that may grow keep additionalProperties so nothing is dropped.
export const ErrorSchema = {
  $id: 'Error',
  type: 'object',
  description: 'Every error: a stable code (see src/api/errors.ts) and a message for people.',
  required: ['code', 'message'],
  properties: { code: { type: 'string' }, message: { type: 'string' }, details: { type: 'object', additionalProperties: true } }
} as const;

const err = { $ref: 'Error#' };
/** Error answers every route may give. */
export const errors = { 400: err, 401: err, 403: err, 404: err, 500: err, 503: err } as const;

export const capString = { type: 'string', minLength: 1, description: 'a cap, p2pb:<type>:<base32>:<checksum>' } as const;
export const absPath = { type: 'string', minLength: 1, description: 'an absolute local path under api.allowedRoots' } as const;

export const FolderSchema = {
  $id: 'Folder',
  type: 'object',
  description: 'A folder as shown to users: never its write cap.',
  properties: {
    id: { type: 'string' },
    path: { type: 'string' },
    rootCap: { type: 'string', description: 'the folder head read cap (p2pb:mr:…): grants read access to every snapshot' },
    watch: { type: 'boolean' },
    excludes: { type: 'array', items: { type: 'string' } },
    state: { type: 'string', enum: ['in-sync', 'scanning', 'uploading', 'committing', 'interrupted', 'error'] },
    lastSnapshot: { type: ['object', 'null'], properties: { cap: { type: 'string' }, time: { type: 'number' } } },
    lastStats: { type: ['object', 'null'], additionalProperties: true },
    lastError: { type: ['string', 'null'] },
    pending: { type: 'integer' }
  }
} as const;

export const DirEntrySchema = {
  $id: 'DirEntry',
  type: 'object',
  properties: {
    name: { type: 'string' },
    type: { type: 'string', enum: ['file', 'dir', 'symlink'] },
    mode: { type: 'integer' },
    mtimeNs: { type: 'string' },
    size: { type: 'integer' },
    cap: { type: 'string' },
    target: { type: 'string' }
  }
} as const;

/** An operation answered as NDJSON lines: { event } progress lines, then { result } or { error, status }. */
export const ndjsonResponse = (description: string) => ({
  200: { description, content: { 'application/x-ndjson': { schema: { type: 'object', additionalProperties: true } } } }
});

export const anyObject = { type: 'object', additionalProperties: true } as const;

/** Keep a long operation running when the connection closes (the web UI's choice: it survives a page reload). */
export const detach = {
  type: 'boolean',
  default: false,
  description: 'keep running if this connection closes; follow it in GET /api/operations and the event stream, cancel it with POST /api/operations/{id}/cancel'
} as const;

const count = { type: 'number', minimum: 0 } as const;
export const OperationSchema = {
  $id: 'Operation',
  type: 'object',
  description: 'A long operation (backup, restore, check, repair) running or lately finished, wherever it was started.',
  required: ['id', 'kind', 'origin', 'title', 'startedAt', 'state', 'progress'],
  properties: {
    id: { type: 'string' },
    kind: { type: 'string', enum: ['backup', 'restore', 'check', 'repair'] },
    origin: { type: 'string', enum: ['api', 'sync', 'health'], description: 'an API caller, the sync engine (watched folders, back up now), the health loop' },
    title: { type: 'string' },
    folder: { type: 'string' },
    startedAt: { type: 'number', description: 'ms since epoch' },
    finishedAt: { type: 'number' },
    state: { type: 'string', enum: ['running', 'done', 'failed', 'cancelled'] },
    progress: {
      type: ['object', 'null'],
      properties: { files: count, totalFiles: count, bytes: count, totalBytes: count, bytesPerSecond: count, etaSeconds: count, phase: { type: 'string' } }
    },
    error: { type: 'object', properties: { code: { type: 'string' }, message: { type: 'string' } } }
  }
} as const;

const reachPath = {
  type: ['string', 'null'],
  enum: ['direct', 'own-connection', 'relay', null],
  description: 'direct: we dialled it; own-connection: over the connection it opened to us (it sits behind NAT); relay: a circuit through `relay`'
} as const;

/** A connected peer (GET /api/peers): its addresses and how storage traffic reaches it now. */
export const PeerSchema = {
  $id: 'Peer',
  type: 'object',
  properties: {
    id: { type: 'string' },
    addresses: { type: 'array', items: { type: 'string' } },
    latencyMs: { type: 'number' },
    reach: {
      ...reachPath,
      description: `how storage traffic reaches this peer now (its best open connection); null: only a limited (control-traffic) connection. ${reachPath.description}`
    },
    relay: { type: ['string', 'null'], description: "the relay's peer id when reach is relay" }
  }
} as const;

/** How others reach this peer (GET /api/status `reachability`; src/net/reachability.ts). */
export const ReachabilitySchema = {
  $id: 'Reachability',
  type: ['object', 'null'],
  description: 'How others reach this peer, confirmed by asking peers to dial it back (null on a peer that does not check).',
  properties: {
    ways: {
      type: 'array',
      items: { type: 'string', enum: ['public', 'upnp', 'ipv6', 'own-connections', 'relay'] },
      description:
        'best first: public (dialled back at an IPv4 address of its own), upnp (at a mapping its router made), ipv6, own-connections (only over the connections it keeps open: behind NAT), relay (through the relays listed)'
    },
    summary: { type: 'string', description: 'one line for people' },
    dialable: { type: ['boolean', 'null'], description: 'some address was dialled back; null before any peer answered' },
    checkedAt: { type: ['number', 'null'], description: 'ms since epoch of the last answered check' },
    confirmed: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          address: { type: 'string' },
          kind: { type: 'string', enum: ['public', 'upnp', 'ipv6'] },
          by: { type: 'array', items: { type: 'string' }, description: 'peers that dialled it' }
        }
      }
    },
    unconfirmed: { type: 'array', items: { type: 'string' }, description: 'addresses peers tried and could not dial' },
    relays: {
      type: 'array',
      items: { type: 'object', properties: { peer: { type: 'string' }, expiresAt: { type: 'number' } } },
      description: 'relay reservations held: peers behind NAT reach this one through them'
    },
    ownConnections: {
      type: 'object',
      properties: { kept: { type: 'integer' }, target: { type: 'integer' } },
      description: 'outbound connections kept open for others to reach this peer over (target 0 while dialable)'
    },
    relayServer: {
      type: ['object', 'null'],
      description: 'the relay this peer serves (--relay-server), null if none',
      properties: {
        reservations: { type: 'integer' },
        circuits: { type: 'integer' },
        bytesRelayed: { type: 'number' },
        overBudget: { type: 'integer' },
        throttled: { type: 'integer' },
        rate: { type: 'number', description: 'bytes/s over all circuits, 0: no cap' },
        dailyBytes: { type: 'number', description: 'bytes a member may send per day, 0: no cap' },
        members: { type: 'array', items: { type: 'object', properties: { peer: { type: 'string' }, bytes: { type: 'number' } } } }
      }
    }
  }
} as const;

/** GET /api/status: the listed fields, plus any others the peer adds (folders, fairness, health). */
export const StatusSchema = {
  type: 'object',
  additionalProperties: true,
  properties: {
    peerId: { type: 'string' },
    addresses: { type: 'array', items: { type: 'string' } },
    peersConnected: { type: 'integer' },
    reachability: { $ref: 'Reachability#' }
  }
} as const;
