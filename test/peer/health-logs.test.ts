// The health loop's logs name objects by storage index, never by cap or cap prefix (issue 17 item 10).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import pino from 'pino';
import { createHealthService, capRef } from '../../src/peer/health.ts';
import { DEFAULT_HEALTH } from '../../src/peer/config.ts';
import { AuditLedger } from '../../src/client/index.ts';
import { createMutableWriteCap, formatCap, parseCap, storageIndexOf } from '../../src/caps/index.ts';
import { createHealthGrid } from '../client/grid.ts';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

test('repair, walk and check logs carry storage indexes, not caps', async () => {
  const grid = await createHealthGrid(7);
  const dir = await mkdtemp(join(tmpdir(), 'p2pb-hlog-'));
  const ledger = await AuditLedger.open(join(dir, 'audits'));
  const lines: string[] = [];
  const log = pino(
    { level: 'info' },
    new Writable({
      write(chunk, _enc, cb) {
        lines.push(String(chunk));
        cb();
      }
    })
  );
  try {
    const { cap, placements } = await grid.put(randomBytes(20_000));
    // Two holders gone: happiness 3 < threshold 5, so the round repairs and logs it.
    const holders = [...new Set(Object.values(placements).flat())];
    for (const id of holders.slice(0, 2)) grid.state[grid.servers.findIndex((s) => s.id === id)].down = true;
    const rootCap = formatCap(createMutableWriteCap());
    // Two snapshots: the first reaches the pack just put, the walk of the second fails (the loop logs it).
    const repo = parseCap(rootCap.replace(':mw:', ':mw:')) as never;
    void repo;
    const snap = (b: number) =>
      formatCap({
        type: 'blob',
        kind: 'snapshot',
        id: new Uint8Array(32).fill(b),
        key: new Uint8Array(32).fill(b + 1),
        repo: { type: 'mr', pubKeyHash: new Uint8Array(32).fill(7), readKey: new Uint8Array(32).fill(8) }
      });
    const walked: string[] = [];
    const folders = {
      repoCap: rootCap,
      async listFolders() {
        return [{ path: '/data', rootCap }];
      },
      async snapshots() {
        return { snapshots: [{ cap: snap(1) }, { cap: snap(3) }] };
      },
      async packsOf(c: string) {
        walked.push(c);
        if (c === snap(1)) return { snapshots: [c], packs: [cap] };
        throw new Error('a tree is unreadable');
      },
      async indexPacks() {
        return [];
      },
      async indexedPacks() {
        return [];
      },
      async settleLeases() {
        return { distrusted: false, vouched: true };
      }
    };
    const health = createHealthService({
      config: { ...DEFAULT_HEALTH, repairThreshold: 5, auditsPerRound: 0 },
      encoding: { k: 3, n: 5, happy: 5 },
      finder: grid.finder,
      store: { gc: async () => ({ removedShares: 0, reclaimedBytes: 0, removedSlots: 0 }) },
      folders: folders as never,
      ledger,
      log,
      connected: () => []
    });
    const st = await health.runRound();
    assert.equal(st.lastRun?.repaired, 1, JSON.stringify(st.lastRun));
    const text = lines.join('');
    assert.match(text, /health: repaired/);
    assert.match(text, /cannot walk a snapshot/);
    assert.ok(!text.includes('p2pb:'), 'no cap in the log');
    for (const c of [cap, snap(1), snap(3)]) {
      const body = c.split(':')[2];
      for (let i = 0; i + 16 <= body.length; i += 8) assert.ok(!text.includes(body.slice(i, i + 16)), 'no piece of a cap in the log');
    }
    const si = Buffer.from(storageIndexOf(parseCap(cap))!).toString('hex');
    assert.equal(capRef(cap), si);
    assert.ok(text.includes(si), 'the storage index names the object');
    // A folder service that names no index generation: a walked snapshot is not walked again the next round
    // (the one that failed is tried again).
    await health.runRound();
    assert.deepEqual(walked, [snap(1), snap(3), snap(3)]);
  } finally {
    await ledger.close();
    await grid.close();
    await rm(dir, { recursive: true, force: true });
  }
});
