// `init` lays down a home: the secrets in it are private to the user whatever the mode of what they came from.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initHome } from '../../src/peer/init.ts';
import { homePaths } from '../../src/peer/home.ts';
import { generateSwarmKey } from '../../src/net/index.ts';

test('a copied swarm key is 0600 even from a world-readable source and over a leftover file (issue 17 item 14)', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'p2pb-init-'));
  try {
    const src = join(dir, 'shared-swarm.key');
    await writeFile(src, generateSwarmKey());
    await chmod(src, 0o644);
    const a = join(dir, 'a');
    await initHome(a, { swarmKeyFile: src, mdns: false });
    assert.equal((await stat(homePaths(a).swarmKey)).mode & 0o777, 0o600);
    // An interrupted init left a readable swarm.key behind (no config.json yet): init runs again.
    const b = join(dir, 'b');
    await mkdir(b, { mode: 0o700 });
    await writeFile(homePaths(b).swarmKey, 'stale', { mode: 0o644 });
    await initHome(b, { swarmKeyFile: src, mdns: false });
    assert.equal((await stat(homePaths(b).swarmKey)).mode & 0o777, 0o600);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
