// MemoryStore: the same suites as DiskStore (suite.ts), and the choice of store by configuration.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { access, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { DiskStore, MemoryStore, openStore, ShareNotFoundError } from '../../src/store/index.ts';
import { put, slotSuite, storeSuite } from './suite.ts';
import { memoryHarness } from './harness.ts';

storeSuite('MemoryStore', memoryHarness());
slotSuite('MemoryStore', memoryHarness());

test('openStore: "disk" opens a DiskStore in the folder, "memory" a MemoryStore that writes nothing there', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'p2pb-open-store-'));
  try {
    const disk = await openStore({ kind: 'disk' }, join(dir, 'disk'), { offer: '1MiB' });
    assert.ok(disk instanceof DiskStore);
    await access(join(dir, 'disk', 'index.leveldb'));
    await disk.close();
    const mem = await openStore({ kind: 'memory' }, join(dir, 'mem'), { offer: '1MiB' });
    assert.ok(mem instanceof MemoryStore);
    assert.equal(mem.stats().offered, 1024 * 1024);
    const si = randomBytes(16);
    await put(mem, si, 0, 'owner', randomBytes(100));
    assert.deepEqual(await mem.list(si), [{ shareNum: 0, size: 100 }]);
    await assert.rejects(access(join(dir, 'mem')), 'nothing on disk');
    await mem.close();
    const again = await openStore({ kind: 'memory' }, join(dir, 'mem'), { offer: '1MiB' });
    await assert.rejects(again.read(si, 0, 0, 1), ShareNotFoundError, 'a new memory store starts empty');
    await again.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
