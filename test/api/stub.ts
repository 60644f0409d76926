// A stub of the service the API declares (src/api/service.ts), for route tests with `app.inject()`: no
// swarm, no disk but what a test makes, milliseconds per request. It is typed as PeerService, so the
// compiler keeps it in step with the interface. It answers like the peer does, with the peer's named
// errors, and records the calls the routes made, so a test can see what reached the service.
import { stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { NotFoundError, UsageError } from '../../src/common/errors.ts';
import { createMutableWriteCap, formatCap, parseCap, toReadCap } from '../../src/caps/index.ts';
import { PathNotFoundError } from '../../src/backup/errors.ts';
import type { FolderRecord } from '../../src/backup/journal.ts';
import { NotEnoughSharesError } from '../../src/format/errors.ts';
import { NotAFileError } from '../../src/peer/errors.ts';
import type { FolderService, PeerService, ProgressEvent } from '../../src/api/service.ts';
import { createOperations } from '../../src/peer/operations.ts';

export const FILE_BYTES = Buffer.from('hello stub\n');
/** The root cap of every folder of the stub (a well-formed cap: the routes check caps before the service). */
export const ROOT_CAP = formatCap(toReadCap(createMutableWriteCap()));
/** A cap whose restore the stub fails as the swarm would when too few holders answer. */
export const LOST_CAP = formatCap(toReadCap(createMutableWriteCap()));
/** A cap whose restore runs until it is cancelled, a status line every STATUS_MS. */
export const ENDLESS_CAP = formatCap(toReadCap(createMutableWriteCap()));
const STATUS_MS = 20;

export interface Stub extends PeerService {
  calls: { method: string; args: unknown[] }[];
  emit(e: ProgressEvent): void;
}

export function createStub(o: { readOnly?: boolean; repairQueue?: number } = {}): Stub {
  const calls: Stub['calls'] = [];
  const note = (method: string, ...args: unknown[]) => {
    calls.push({ method, args });
  };
  const listeners = new Set<(e: ProgressEvent) => void>();
  // The peer's own registry of operations (src/peer/operations.ts): what the routes list and cancel is real.
  const operations = createOperations({
    emit: (e) => {
      for (const fn of listeners) fn(e);
    }
  });
  const folders = new Map<string, FolderRecord>();
  const find = (idOrPath: string) => {
    const f = folders.get(idOrPath) ?? [...folders.values()].find((x) => x.id === idOrPath);
    if (!f) throw new NotFoundError(`no folder ${idOrPath}`);
    return f;
  };
  const add = async (path: string, o: { watch: boolean; excludes?: string[] }) => {
    if (!(await stat(path).catch(() => null))?.isDirectory()) throw new UsageError(`not a directory: ${path}`);
    const rec: FolderRecord = {
      id: `id-${folders.size + 1}`,
      path,
      writeCap: 'p2pb:mw:secret',
      rootCap: ROOT_CAP,
      watch: o.watch,
      excludes: o.excludes ?? [],
      state: 'in-sync',
      pending: 0
    };
    folders.set(path, rec);
    return rec;
  };
  const folderService: FolderService = {
    async listFolders() {
      return [...folders.values()];
    },
    addFolder: async (path, o) => {
      note('addFolder', path, o);
      return add(path, o);
    },
    async removeFolder(idOrPath) {
      note('removeFolder', idOrPath);
      const f = find(idOrPath);
      folders.delete(f.path);
      return f;
    },
    async backupNow(path, o) {
      note('backupNow', path, o);
      const rec = folders.get(path) ?? (await add(path, { watch: false }));
      o.onProgress?.({ type: 'backup:backup:file', path: `${path}/a`, size: 1, status: 'new' });
      o.onProgress?.({ type: 'backup:backup:status', files: 1, bytes: 1, elapsedSeconds: 0, bytesPerSecond: 0 });
      return rec;
    },
    async snapshots(what, o) {
      note('snapshots', what, { details: o?.details });
      if (!what.startsWith('p2pb:')) find(what);
      const stats = { files: 2, dirs: 1, symlinks: 0, bytes: 30 };
      return {
        rootCap: ROOT_CAP,
        seq: 3,
        snapshots: o?.details
          ? [
              { cap: ROOT_CAP, time: 1, host: 'h', stats },
              { cap: ROOT_CAP, time: 2, host: 'h', stats: { ...stats, added: 10 } },
              { cap: ROOT_CAP, time: 3, error: 'unreadable' }
            ]
          : [
              { cap: ROOT_CAP, time: 1 },
              { cap: ROOT_CAP, time: 2 },
              { cap: ROOT_CAP, time: 3 }
            ]
      };
    },
    async ls(cap, path) {
      parseCap(cap);
      if (path === 'nope') throw new PathNotFoundError(path);
      return [{ name: 'a.txt', type: 'file', mode: 0o644, mtimeNs: '0', size: FILE_BYTES.length, cap: 'p2pb:lit:x' }];
    },
    async diff(a, b) {
      parseCap(a);
      parseCap(b);
      return { added: ['/n'], removed: [], changed: [], metadata: [] };
    },
    restore(cap, target, o) {
      note('restore', cap, target, o);
      return operations.run({ kind: 'restore', origin: 'api', title: `Restore into ${target}`, signal: o.signal }, async (op) => {
        if (cap === LOST_CAP) throw new NotEnoughSharesError({ needed: 3, found: 1, storageIndex: 'aa' });
        const status = (files: number) => {
          const e = {
            type: 'backup:restore:status' as const,
            files,
            bytes: files,
            totalFiles: 1000,
            totalBytes: 1000,
            elapsedSeconds: files,
            bytesPerSecond: 1,
            etaSeconds: 1000 - files
          };
          op.status(e);
          o.onProgress?.(e);
        };
        status(1);
        for (let files = 2; cap === ENDLESS_CAP; files++) {
          await new Promise((resolve) => setTimeout(resolve, STATUS_MS));
          op.signal.throwIfAborted();
          status(files);
        }
        return { snapshotCap: cap, stats: { files: 1, dirs: 0, symlinks: 0, bytesWritten: 1, unchanged: 0, failed: [] } };
      });
    },
    async forget(idOrPath, policy) {
      note('forget', idOrPath, policy);
      find(idOrPath);
      return { keep: [], remove: [] };
    },
    async fileAt(cap, path) {
      parseCap(cap);
      if (path !== 'a.txt') throw new NotAFileError(path);
      return { name: 'a.txt', type: 'file', mode: 0o644, mtimeNs: '0', size: FILE_BYTES.length, cap: 'p2pb:file' };
    },
    async prune(o) {
      note('prune', o);
      return { packs: 0, packsKept: 0, packsRepacked: 0, packsDeleted: 0, blobsLive: 0, blobsDead: 0, bytesFreed: 0, bytesBefore: 0, bytesAfter: 0 };
    },
    async openFile() {
      return { size: FILE_BYTES.length, stream: Readable.from([FILE_BYTES]) };
    }
  };
  return {
    calls,
    emit: (e) => {
      for (const fn of listeners) fn(e);
    },
    folders: folderService,
    readOnly: o.readOnly === true,
    subscribe(fn) {
      listeners.add(fn);
      return () => {
        listeners.delete(fn);
      };
    },
    transfers: () => ({ uploads: 3, downloads: 1 }),
    repairQueue: () => o.repairQueue ?? 0,
    async status() {
      return {
        peerId: 'stub',
        home: '/stub',
        addresses: [],
        peersConnected: 2,
        storage: { offered: 100, used: 10, shares: 1 },
        api: { url: '' },
        encoding: { k: 3, n: 5, happy: 4 },
        privateSwarm: false,
        readOnly: o.readOnly === true,
        folders: [],
        // A peer behind NAT: no address dialled back, reached over its own connections and through relay r1.
        reachability: {
          ways: ['own-connections', 'relay'],
          summary: 'own connections (3 kept open); relay r1',
          dialable: false,
          checkedAt: 1_700_000_000_000,
          confirmed: [],
          unconfirmed: ['/ip4/198.51.100.7/tcp/7171'],
          relays: [{ peer: 'r1', expiresAt: 1_700_003_600_000 }],
          ownConnections: { kept: 3, target: 3 },
          relayServer: null
        }
      };
    },
    async peers() {
      return [
        { id: 'p1', addresses: ['/ip4/127.0.0.1/tcp/1'], reach: 'direct', relay: null },
        { id: 'p2', addresses: ['/p2p/r1/p2p-circuit/p2p/p2'], reach: 'relay', relay: 'r1' }
      ];
    },
    async ping(address) {
      note('ping', address);
      return { ms: 1, relayed: false, remoteAddr: address };
    },
    async putFile(input, opts) {
      note('putFile', 'path' in input ? input : 'stream', { k: opts.k, n: opts.n, happy: opts.happy });
      if ('stream' in input)
        for await (const _ of input.stream) {
          /* drained, as the peer spools it */
        }
      opts.onProgress?.({ type: 'client:upload:encode', bytes: 1, total: 1 });
      return {
        cap: 'p2pb:chk:stub',
        size: 1,
        blobsNew: 1,
        bytesStored: 100,
        packs: 1,
        pack: null,
        storageIndex: null,
        placements: {},
        happiness: 0,
        packCaps: [],
        paths: {}
      };
    },
    async getFile(cap) {
      parseCap(cap);
      return { size: FILE_BYTES.length, stream: Readable.from([FILE_BYTES]) };
    },
    async fairnessReport() {
      return { settings: { enabled: true, ratio: 1, graceBytes: 0 }, offer: { offered: 100, usedByOthers: 0 }, use: { placed: 0, peers: 0 }, peers: [] };
    },
    async checkFairness() {
      return [];
    },
    async check(cap, opts) {
      note('check', cap, { deep: opts.deep, verify: opts.verify, repair: opts.repair });
      parseCap(cap);
      return { recoverable: true };
    },
    healthState: () => null,
    auditStats: async () => null,
    operations: () => operations.list(),
    cancelOperation: (id) => operations.cancel(id),
    async swarm() {
      return {
        at: 1,
        peers: [
          { id: 'p1', latencyMs: 2, offered: 1000, used: 100, free: 900, shares: 3 },
          { id: 'p2', latencyMs: null, offered: null, used: null, free: null, shares: null, error: 'timed out' }
        ],
        totals: { peers: 3, answered: 2, offered: 1100, used: 110, free: 990 }
      };
    }
  };
}
