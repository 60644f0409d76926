// The recovery record (the edge-device scenario). `init` creates a recovery cap: the write cap of a
// mutable slot whose (encrypted, signed) record holds what a replacement device needs to become this one:
// the configuration, the peer identity, the convergence secret, the swarm key and every folder with its
// head's write cap. A running peer republishes it (createRecoveryPublisher) at start and whenever the
// folder list changes; recovery.ts is the procedure that reads it back on new hardware.
import { readFile, writeFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { createMutableWriteCap, formatCap } from '../caps/index.ts';
import { fetchRecord, publishRecord, type ServerFinder } from '../client/index.ts';
import type { FolderRecord } from '../backup/journal.ts';
import { homePaths } from './home.ts';
import { validateConfig, type PeerConfig } from './config.ts';
import { RecoveryInvalidError, RecoveryNotFoundError } from './errors.ts';

const RECOVERY_VERSION = 1;
const FIND_TIMEOUT_MS = 60_000; // how long recover keeps asking the swarm for the record
const FIND_RETRY_MS = 1_000; // peers may still be joining: ask again this often
const PUBLISH_RETRY_MS = 15_000; // republish until enough peers hold it

export interface RecoveryPayload {
  v: number;
  config: PeerConfig;
  peerKey: string; // base64 of HOME/peer.key (libp2p protobuf)
  convergenceSecret: string; // base64
  swarmKey?: string;
  folders: { path: string; writeCap: string; excludes: string[]; watch: boolean }[];
}

/** A new recovery cap, kept in HOME/recovery.cap (owner-only). */
export async function createRecoveryCap(home: string): Promise<string> {
  const cap = formatCap(createMutableWriteCap());
  await writeFile(homePaths(home).recovery, cap + '\n', { mode: 0o600, flag: 'wx' });
  return cap;
}

export async function readRecoveryCap(home: string): Promise<string | null> {
  return (await readFile(homePaths(home).recovery, 'utf8').catch(() => '')).trim() || null;
}

export async function buildRecoveryPayload(home: string, config: PeerConfig, folders: FolderRecord[]): Promise<RecoveryPayload> {
  const paths = homePaths(home);
  const swarmKey = await readFile(paths.swarmKey, 'utf8').catch(() => undefined);
  return {
    v: RECOVERY_VERSION,
    config,
    peerKey: (await readFile(paths.peerKey)).toString('base64'),
    convergenceSecret: (await readFile(paths.convergence)).toString('base64'),
    ...(swarmKey ? { swarmKey } : {}),
    folders: folders.map((f) => ({ path: f.path, writeCap: f.writeCap, excludes: f.excludes, watch: f.watch }))
  };
}

export async function publishRecovery(finder: ServerFinder, cap: string, payload: RecoveryPayload): Promise<void> {
  await publishRecord(finder, cap, new TextEncoder().encode(JSON.stringify(payload)));
}

/** The record's bytes come from the swarm: parsed and validated before anything is written. */
function parsePayload(bytes: Uint8Array): RecoveryPayload {
  let p: any;
  try {
    p = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    throw new RecoveryInvalidError('not valid JSON');
  }
  if (p?.v !== RECOVERY_VERSION) throw new RecoveryInvalidError(`unknown version ${p?.v}`);
  if (typeof p.peerKey !== 'string' || typeof p.convergenceSecret !== 'string') throw new RecoveryInvalidError('keys missing');
  if (!Array.isArray(p.folders) || p.folders.some((f: any) => typeof f?.path !== 'string' || typeof f?.writeCap !== 'string'))
    throw new RecoveryInvalidError('folders');
  p.config = validateConfig(p.config);
  return p as RecoveryPayload;
}

/** Ask the swarm for the recovery record until it answers (peers may still be joining). */
export async function fetchRecovery(finder: ServerFinder, cap: string, signal?: AbortSignal): Promise<RecoveryPayload> {
  const deadline = Date.now() + FIND_TIMEOUT_MS;
  let last: unknown = null;
  while (Date.now() < deadline) {
    signal?.throwIfAborted();
    try {
      const r = await fetchRecord(finder, cap, { signal });
      if (r) return parsePayload(r.payload);
    } catch (err) {
      if (err instanceof RecoveryInvalidError) throw err;
      last = err;
    }
    await sleep(FIND_RETRY_MS);
  }
  throw new RecoveryNotFoundError(FIND_TIMEOUT_MS / 1000, last);
}

export interface RecoveryPublisherInit {
  home: string;
  config: PeerConfig;
  finder: ServerFinder;
  listFolders: () => Promise<FolderRecord[]>;
  log?: Logger;
}

/** Keeps the recovery record in step with the folder list: `schedule()` after every change; retries until stored. */
export function createRecoveryPublisher(init: RecoveryPublisherInit) {
  let timer: NodeJS.Timeout | null = null;
  let running = false;
  const schedule = (delay = 1_000) => {
    if (!running) return;
    if (timer) clearTimeout(timer);
    timer = setTimeout(async () => {
      timer = null;
      const cap = await readRecoveryCap(init.home);
      if (!cap || !running) return;
      try {
        await publishRecovery(init.finder, cap, await buildRecoveryPayload(init.home, init.config, await init.listFolders()));
        init.log?.info('recovery record published');
      } catch (err) {
        init.log?.warn({ err: (err as Error).message }, 'recovery record not published yet; will retry');
        schedule(PUBLISH_RETRY_MS);
      }
    }, delay);
    timer.unref();
  };
  return {
    schedule,
    /** Publish soon, and after every later `schedule()`. */
    start(delay: number) {
      running = true;
      schedule(delay);
    },
    stop() {
      running = false;
      if (timer) clearTimeout(timer);
      timer = null;
    }
  };
}
