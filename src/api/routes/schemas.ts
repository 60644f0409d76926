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
export const detach = { type: 'boolean', default: false, description: 'keep running if this connection closes; follow it in GET /api/operations and the event stream, cancel it with POST /api/operations/{id}/cancel' } as const;

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
