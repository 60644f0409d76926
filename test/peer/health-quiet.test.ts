// Rounds on a timer wait until no backup or restore has run for the nudge delay, and at most quietWaitMaxMs
// (QUIET_WAIT_MAX_MS); checks (the loop's own, or someone's) do not hold them back.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createHealthService } from '../../src/peer/health.ts';
import { createOperations } from '../../src/peer/operations.ts';
import { DEFAULT_HEALTH } from '../../src/peer/config.ts';
import { AuditLedger } from '../../src/client/index.ts';
import { createMutableWriteCap, formatCap } from '../../src/caps/index.ts';

const NUDGE = 100;

/** A health loop over a folder service that only records when a round walks its one snapshot. */
async function loop(
  t: { after: (fn: () => Promise<void>) => void },
  quietWaitMaxMs: number,
  o: { registry?: boolean; snapshots?: number; onWalk?: (n: number) => void } = {}
) {
  const dir = await mkdtemp(join(tmpdir(), 'p2pb-hquiet-'));
  const ledger = await AuditLedger.open(join(dir, 'audits'));
  const operations = createOperations({ emit: () => {} });
  const rootCap = formatCap(createMutableWriteCap());
  const snap = (i: number) =>
    formatCap({
      type: 'blob',
      kind: 'snapshot',
      id: new Uint8Array(32).fill(1 + i),
      key: new Uint8Array(32).fill(2),
      repo: { type: 'mr', pubKeyHash: new Uint8Array(32).fill(7), readKey: new Uint8Array(32).fill(8) }
    });
  const snaps = Array.from({ length: o.snapshots ?? 1 }, (_, i) => ({ cap: snap(i) }));
  const walks: number[] = [];
  const folders = {
    repoCap: rootCap,
    listFolders: async () => [{ path: '/data', rootCap }],
    snapshots: async () => ({ snapshots: snaps }),
    packsOf: async (c: string) => {
      walks.push(Date.now());
      o.onWalk?.(walks.length);
      return { snapshots: [c], packs: [] };
    },
    indexPacks: async () => [],
    indexedPacks: async () => [],
    settleLeases: async () => ({ distrusted: false, vouched: true })
  };
  const health = createHealthService({
    config: { ...DEFAULT_HEALTH, enabled: true, auditsPerRound: 0 },
    encoding: { k: 3, n: 5, happy: 5 },
    finder: {} as never,
    store: { gc: async () => ({ removedShares: 0, reclaimedBytes: 0, removedSlots: 0 }) },
    folders: folders as never,
    ledger,
    ...(o.registry === false ? {} : { operations }),
    connected: () => [],
    nudgeDelayMs: NUDGE,
    quietWaitMaxMs
  });
  t.after(async () => {
    await health.stop();
    await ledger.close();
    await rm(dir, { recursive: true, force: true });
  });
  /** A restore (or another operation) someone asked for, or a watched folder's backup, running until `end()`. */
  const userOperation = (kind: 'restore' | 'check' | 'backup' = 'restore') => {
    let end!: () => void;
    const origin = kind === 'backup' ? 'sync' : 'api';
    const done = operations.run({ kind, origin, title: kind }, () => new Promise<void>((r) => (end = r)));
    return { end: async () => (end(), await done) };
  };
  const waitFor = async (what: string, ok: () => boolean) => {
    for (const deadline = Date.now() + 10_000; !ok(); await sleep(20)) assert.ok(Date.now() < deadline, what);
  };
  return { health, walks, userOperation, waitFor, operations, snaps, snap };
}

test("a nudged round waits while someone's operation runs, then until it has been over for the nudge delay", async (t) => {
  const { health, walks, userOperation, waitFor } = await loop(t, 60_000);
  const op = userOperation();
  health.start(); // nudges: a light round after NUDGE ms
  await sleep(NUDGE * 8);
  assert.deepEqual(walks, [], 'no round while the restore runs');
  await op.end();
  const ended = Date.now();
  await waitFor('the round runs once the restore is over', () => walks.length > 0);
  const after = walks[0] - ended;
  assert.ok(after >= NUDGE - 5 && after < 2_000, `the round waited for the quiet delay, and no longer (${after} ms)`);
  // The loop's own round is an operation too (a check): it does not hold the next one back, nor does a check
  // someone asked for (a monitor polling `check --deep` would starve the loop).
  const check = userOperation('check');
  health.nudge();
  await waitFor('a second nudged round runs while a check runs', () => health.state().rounds > 1);
  await check.end();
});

test('a daemon kept busy still gets its round after quietWaitMaxMs', async (t) => {
  const { health, walks, userOperation, waitFor } = await loop(t, 400);
  const op = userOperation();
  const started = Date.now();
  health.start();
  await waitFor('the round runs while the restore still runs', () => walks.length > 0);
  const after = walks[0] - started;
  assert.ok(after >= 400 && after < 3_000, `it waited its longest first, and no longer (${after} ms)`);
  await op.end();
});

test("a watched folder's backup holds the round back too; the round that follows is the light one", async (t) => {
  const { health, walks, userOperation, waitFor, operations } = await loop(t, 60_000);
  const op = userOperation('backup');
  health.start();
  await sleep(NUDGE * 8);
  assert.deepEqual(walks, [], 'no round while the backup runs');
  await op.end();
  await waitFor('the round runs once the backup is over', () => health.state().rounds > 0);
  const rounds = operations.list().filter((r) => r.origin === 'health');
  assert.deepEqual(
    rounds.map((r) => r.title),
    ['Health check of new snapshots'],
    'a nudge runs a light round (no availability sample, audit or renewal)'
  );
});

test('a loop stopped while it waits for quiet runs no round', async (t) => {
  const { health, userOperation } = await loop(t, 60_000);
  const op = userOperation();
  health.start();
  await sleep(NUDGE * 3); // the nudge fired: its round waits for the restore
  await health.stop(); // ends the wait at once
  await op.end();
  await sleep(NUDGE * 3);
  assert.equal(health.state().rounds, 0);
});

test('a loop without an operations registry does not wait', async (t) => {
  const { health, waitFor } = await loop(t, 60_000, { registry: false });
  health.start();
  await waitFor('the nudged round runs', () => health.state().rounds > 0);
});

test('a round on a timer pauses between snapshot walks while a backup that started during it runs', async (t) => {
  let op: { end: () => Promise<void> } | undefined;
  let userOperation: (kind: 'backup') => { end: () => Promise<void> };
  const l = await loop(t, 60_000, { snapshots: 3, onWalk: (n) => void (n === 1 && (op = userOperation('backup'))) });
  userOperation = l.userOperation;
  l.health.start();
  await l.waitFor('the round walks its first snapshot', () => l.walks.length > 0);
  await sleep(NUDGE * 8);
  assert.equal(l.walks.length, 1, 'the next walk waits for the backup that started meanwhile');
  await op!.end();
  await l.waitFor('the round walks the rest once the backup is over', () => l.walks.length === 3);
  // A round asked for does not pause: it walks a new snapshot while a backup runs.
  const again = l.userOperation('backup');
  l.snaps.push({ cap: l.snap(9) });
  await l.health.runRound();
  assert.equal(l.walks.length, 4);
  await again.end();
});
