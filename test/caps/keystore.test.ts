import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openKeystore, formatCap, createMutableWriteCap } from '../../src/caps/index.ts';

test('keystore puts, gets, lists and deletes named caps in a 0700 directory', async () => {
  const home = await mkdtemp(join(tmpdir(), 'p2pb-ks-'));
  try {
    const ks = await openKeystore(join(home, 'h'));
    assert.equal((await stat(join(home, 'h', 'keystore'))).mode & 0o777, 0o700);
    const mw = createMutableWriteCap();
    await ks.put('docs', mw);
    await ks.put('lit', formatCap({ type: 'lit', data: new Uint8Array(0) }));
    assert.deepEqual(await ks.get('docs'), mw);
    assert.equal(await ks.get('missing'), undefined);
    assert.deepEqual((await ks.list()).map((e) => e.name), ['docs', 'lit']);
    await ks.delete('docs');
    assert.equal(await ks.get('docs'), undefined);
    await assert.rejects(ks.put('bad', 'p2pb:nope'), /not a p2pbackup cap|unknown/);
    await ks.close();
  } finally {
    await rm(home, { recursive: true, force: true });
  }
});
