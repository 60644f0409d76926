// Folders (add, remove, list), backup now, snapshots, ls, diff, restore (a long-running operation
// with progress), forget, and one file of a snapshot downloaded by path (for the browser).
import { basename } from 'node:path';
import { Readable } from 'node:stream';
import { BadRequestError } from '../../common/errors.ts';
import { parseCap } from '../../caps/index.ts';
import { isPerItem } from '../../backup/index.ts';
import { clientGone, ndjson } from '../ndjson.ts';
import { absPath, anyObject, capString, detach, errors, ndjsonResponse } from './schemas.ts';
import { foldersOf, type Routes } from './context.ts';

const folderRef = { $ref: 'Folder#' };
const strings = { type: 'array', items: { type: 'string' } } as const;
const keep = { type: 'integer', minimum: 0 } as const;
const verbose = {
  type: 'boolean',
  default: false,
  description: 'also one line per file, directory and exclusion (else only status lines, errors and the result)'
} as const;

/** The progress events an API caller gets: status lines, errors, start and end; per-item ones only when asked. */
function perItemUnless<E extends { type: string }>(wanted: boolean | undefined, send: (e: E) => void): (e: E) => void {
  return wanted
    ? send
    : (e) => {
        if (!isPerItem(e)) send(e);
      };
}

export const folderRoutes: Routes = (app, { peer, allowed }) => {
  const folders = () => foldersOf(peer);

  app.get(
    '/api/folders',
    {
      schema: {
        summary: 'folders this peer backs up, with their live state and last snapshot',
        tags: ['folders'],
        response: { 200: { type: 'object', properties: { folders: { type: 'array', items: folderRef } } }, ...errors }
      }
    },
    async () => ({ folders: peer.readOnly ? [] : (await folders().listFolders()).map(publicFolder) })
  );

  app.post(
    '/api/folders',
    {
      config: { writes: true },
      schema: {
        summary: 'add a folder (watched by default: every batch of changes becomes a snapshot)',
        tags: ['folders'],
        body: { type: 'object', required: ['path'], properties: { path: absPath, watch: { type: 'boolean', default: true }, excludes: strings } },
        response: { 200: folderRef, ...errors }
      }
    },
    async (req) => {
      const b = req.body as { path: string; watch?: boolean; excludes?: string[] };
      const rec = await folders().addFolder(await allowed(b.path, 'folder'), { watch: b.watch !== false, excludes: b.excludes ?? [] });
      return publicFolder(rec);
    }
  );

  app.delete(
    '/api/folders',
    {
      config: { writes: true },
      schema: {
        summary: 'stop backing up a folder (its snapshots stay in the swarm)',
        tags: ['folders'],
        querystring: { type: 'object', required: ['folder'], properties: { folder: { type: 'string', minLength: 1, description: 'folder id or path' } } },
        response: { 200: folderRef, ...errors }
      }
    },
    async (req) => publicFolder(await folders().removeFolder((req.query as { folder: string }).folder))
  );

  // Back up a folder now (registered unwatched if new). NDJSON: progress events, then the folder.
  app.post(
    '/api/backup',
    {
      config: { writes: true },
      schema: {
        summary: 'back up a folder now: a new snapshot (NDJSON progress, then the folder)',
        tags: ['folders'],
        body: { type: 'object', required: ['path'], properties: { path: absPath, excludes: strings, excludeIfPresent: strings, verbose, detach } },
        response: {
          ...ndjsonResponse('progress lines (backup:backup:status every half second: files, bytes, totals, rate, ETA), then { result: Folder }'),
          ...errors
        }
      }
    },
    async (req, reply) => {
      const b = req.body as { path: string; excludes?: string[]; excludeIfPresent?: string[]; verbose?: boolean; detach?: boolean };
      const path = await allowed(b.path, 'folder');
      await ndjson(
        reply,
        async (onProgress, signal) =>
          publicFolder(
            await folders().backupNow(path, {
              excludes: b.excludes ?? [],
              excludeIfPresent: b.excludeIfPresent ?? [],
              onProgress: perItemUnless(b.verbose, onProgress),
              signal
            })
          ),
        { detach: b.detach }
      );
    }
  );

  app.get(
    '/api/snapshots',
    {
      schema: {
        summary: "a folder's snapshots, oldest first; with details=1 each snapshot object's stats (files, bytes, bytes added) and host",
        tags: ['snapshots'],
        querystring: {
          type: 'object',
          required: ['of'],
          properties: {
            of: { type: 'string', minLength: 1, description: 'root cap, folder path or folder id' },
            details: { type: 'string', enum: ['0', '1'], description: '1: read each snapshot object (the latest 200) for its stats and host' }
          }
        },
        response: {
          200: {
            type: 'object',
            properties: {
              rootCap: { type: 'string' },
              seq: { type: 'integer' },
              snapshots: {
                type: 'array',
                items: {
                  type: 'object',
                  required: ['cap', 'time'],
                  properties: {
                    cap: { type: 'string' },
                    time: { type: 'number' },
                    host: { type: 'string' },
                    label: { type: 'string' },
                    error: { type: 'string' },
                    stats: {
                      type: 'object',
                      properties: {
                        files: { type: 'integer' },
                        dirs: { type: 'integer' },
                        symlinks: { type: 'integer' },
                        bytes: { type: 'integer' },
                        added: { type: 'integer', description: 'bytes this backup stored new (absent in older snapshots)' }
                      }
                    }
                  }
                }
              }
            }
          },
          ...errors
        }
      }
    },
    async (req, reply) => {
      const q = req.query as { of: string; details?: '0' | '1' };
      return folders().snapshots(q.of, { details: q.details === '1', signal: clientGone(reply) });
    }
  );

  app.get(
    '/api/ls',
    {
      schema: {
        summary: 'entries of a directory of a snapshot (a root cap: its latest snapshot)',
        tags: ['snapshots'],
        querystring: { type: 'object', required: ['cap'], properties: { cap: capString, path: { type: 'string' } } },
        response: { 200: { type: 'object', properties: { entries: { type: 'array', items: { $ref: 'DirEntry#' } } } }, ...errors }
      }
    },
    async (req) => {
      const q = req.query as { cap: string; path?: string };
      return { entries: await folders().ls(q.cap, q.path) };
    }
  );

  app.get(
    '/api/diff',
    {
      schema: {
        summary: 'what changed between two snapshots',
        tags: ['snapshots'],
        querystring: { type: 'object', required: ['a', 'b'], properties: { a: capString, b: capString } },
        response: { 200: { type: 'object', additionalProperties: strings }, ...errors }
      }
    },
    async (req) => {
      const q = req.query as { a: string; b: string };
      return folders().diff(q.a, q.b);
    }
  );

  app.post(
    '/api/restore',
    {
      schema: {
        summary: 'restore a snapshot (or one path of it) into a local directory (NDJSON progress, then the result)',
        tags: ['snapshots'],
        body: {
          type: 'object',
          required: ['cap', 'target'],
          properties: {
            cap: capString,
            target: absPath,
            path: { type: 'string', minLength: 1 },
            overwrite: { type: 'string', enum: ['never', 'if-changed', 'always'] },
            verbose,
            detach,
            preserveSpecial: { type: 'boolean', description: 'restore setuid, setgid and sticky bits (default: dropped)' },
            ignoreUmask: { type: 'boolean', description: "restore permission bits exactly (default: the daemon's umask applies)" },
            limitBytesPerSecond: {
              type: 'integer',
              minimum: 1024,
              description: 'restore no faster than this (bytes of file content per second), to leave room on the link'
            }
          }
        },
        response: {
          ...ndjsonResponse(
            'progress lines (backup:restore:status every half second: files, bytes, totals, rate, ETA), then { result: { snapshotCap, stats } }'
          ),
          ...errors
        }
      }
    },
    async (req, reply) => {
      const b = req.body as {
        cap: string;
        target: string;
        path?: string;
        overwrite?: 'never' | 'if-changed' | 'always';
        verbose?: boolean;
        detach?: boolean;
        preserveSpecial?: boolean;
        ignoreUmask?: boolean;
        limitBytesPerSecond?: number;
      };
      const target = await allowed(b.target, 'restore target');
      parseCap(b.cap); // a malformed cap is a 400 before the operation's 200 stream starts
      await ndjson(
        reply,
        (onProgress, signal) =>
          folders().restore(b.cap, target, {
            path: b.path,
            overwrite: b.overwrite,
            preserveSpecial: b.preserveSpecial,
            ignoreUmask: b.ignoreUmask,
            limitBytesPerSecond: b.limitBytesPerSecond,
            signal,
            onProgress: perItemUnless(b.verbose, onProgress)
          }),
        { detach: b.detach }
      );
    }
  );

  app.post(
    '/api/forget',
    {
      config: { writes: true },
      schema: {
        summary: "drop snapshots from a folder's head by retention rules",
        tags: ['snapshots'],
        body: {
          type: 'object',
          required: ['folder'],
          properties: {
            folder: { type: 'string', minLength: 1 },
            keepLast: keep,
            keepHourly: keep,
            keepDaily: keep,
            keepWeekly: keep,
            keepMonthly: keep,
            keepYearly: keep,
            prune: { type: 'boolean' }
          }
        },
        response: { 200: anyObject, ...errors }
      }
    },
    async (req) => {
      const b = req.body as Record<string, unknown>;
      const policy: Record<string, number> = {};
      for (const k of ['keepLast', 'keepHourly', 'keepDaily', 'keepWeekly', 'keepMonthly', 'keepYearly']) if (b[k] !== undefined) policy[k] = b[k] as number;
      if (!Object.keys(policy).length) throw new BadRequestError('give at least one --keep-* rule; forgetting every snapshot is not an accident we allow');
      return folders().forget(b.folder as string, policy, { prune: b.prune === true });
    }
  );

  app.post(
    '/api/prune',
    {
      config: { writes: true },
      schema: {
        summary: "free what no kept snapshot of the owner's folders needs (rewrite sparse packs, delete dead ones)",
        tags: ['snapshots'],
        body: { type: 'object', properties: { dryRun: { type: 'boolean' } }, additionalProperties: false },
        response: { 200: anyObject, ...errors }
      }
    },
    async (req) => folders().prune({ dryRun: (req.body as { dryRun?: boolean } | undefined)?.dryRun === true })
  );

  // One file of a snapshot, by path: what the browser's "download" does (no local path involved).
  app.get(
    '/api/snapshot-file',
    {
      schema: {
        summary: 'download one file of a snapshot by its path (streamed, verified)',
        tags: ['snapshots'],
        querystring: { type: 'object', required: ['cap', 'path'], properties: { cap: capString, path: { type: 'string', minLength: 1 } } },
        response: {
          200: { description: 'the file bytes', content: { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } } },
          ...errors
        }
      }
    },
    async (req, reply) => {
      const q = req.query as { cap: string; path: string };
      const entry = await folders().fileAt(q.cap, q.path);
      const { size, stream } = await folders().openFile({ cap: entry.cap!, size: entry.size }, { signal: clientGone(reply) });
      reply.header('content-type', 'application/octet-stream');
      reply.header('content-length', String(size));
      reply.header('content-disposition', `attachment; filename="${asciiName(entry.name)}"; filename*=UTF-8''${encodeURIComponent(entry.name)}`);
      return reply.send(Readable.from(stream));
    }
  );
};

const asciiName = (name: string) => basename(name).replace(/[^\x20-\x7e]|["\\]/g, '_');

/** A folder as shown to users: never the write cap. */
export function publicFolder(f: {
  id: string;
  path: string;
  rootCap: string;
  watch: boolean;
  excludes: string[];
  state: string;
  lastSnapshot?: unknown;
  lastStats?: unknown;
  lastError?: string;
  pending: number;
}) {
  return {
    id: f.id,
    path: f.path,
    rootCap: f.rootCap,
    watch: f.watch,
    excludes: f.excludes,
    state: f.state,
    lastSnapshot: f.lastSnapshot ?? null,
    lastStats: f.lastStats ?? null,
    lastError: f.lastError ?? null,
    pending: f.pending
  };
}
