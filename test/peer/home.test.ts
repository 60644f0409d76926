// The home folder: where it is (--home, $P2PBACKUP_HOME, $XDG_DATA_HOME, ~/.local/share, as the README
// says) and what is in it (every entry named by homePaths, every homePaths name in docs/ARCHITECTURE.md).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { access, readdir, readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cli, tempDir } from '../integration/helpers.ts';
import { homePaths, resolveHome } from '../../src/peer/home.ts';
import { initHome } from '../../src/peer/init.ts';
import { readConfig } from '../../src/peer/config.ts';
import { createPeer } from '../../src/peer/peer.ts';

const tmp = await tempDir('p2pb-home-');
after(() => tmp.cleanup());
const exists = (p: string) =>
  access(p).then(
    () => true,
    () => false
  );

test('resolveHome: --home, else $P2PBACKUP_HOME, else $XDG_DATA_HOME/p2pbackup, else ~/.local/share/p2pbackup', () => {
  const env = { P2PBACKUP_HOME: '/a/env', XDG_DATA_HOME: '/a/xdg', HOME: '/a/user' };
  assert.equal(resolveHome('rel/dir', env), join(process.cwd(), 'rel/dir'));
  assert.equal(resolveHome(undefined, env), '/a/env');
  assert.equal(resolveHome('', { ...env, P2PBACKUP_HOME: '' }), '/a/xdg/p2pbackup', 'an empty variable counts as unset');
  assert.equal(resolveHome(undefined, { XDG_DATA_HOME: '/a/xdg' }), '/a/xdg/p2pbackup');
});

test('the CLI finds its home where the README says, from the real environment', async () => {
  const init = (name: string, env: NodeJS.ProcessEnv, args: string[] = []) =>
    cli([...args, '--json', 'init', '--listen', '/ip4/127.0.0.1/tcp/0', '--no-mdns'], { env }).then((r) => {
      assert.equal(r.code, 0, `${name}: ${r.stderr}`);
      return JSON.parse(r.stdout).home as string;
    });
  const user = join(tmp.dir, 'user'); // $HOME: os.homedir() follows it
  const unset = { P2PBACKUP_HOME: '', XDG_DATA_HOME: '', HOME: user };
  assert.equal(await init('default', unset), join(user, '.local', 'share', 'p2pbackup'));
  assert.equal(await init('xdg', { ...unset, XDG_DATA_HOME: join(tmp.dir, 'xdg') }), join(tmp.dir, 'xdg', 'p2pbackup'));
  assert.equal(await init('env', { ...unset, XDG_DATA_HOME: join(tmp.dir, 'xdg2'), P2PBACKUP_HOME: join(tmp.dir, 'env') }), join(tmp.dir, 'env'));
  assert.equal(await init('flag', { ...unset, P2PBACKUP_HOME: join(tmp.dir, 'env2') }, ['--home', join(tmp.dir, 'flag')]), join(tmp.dir, 'flag'));
  for (const h of [join(user, '.local/share/p2pbackup'), join(tmp.dir, 'xdg/p2pbackup'), join(tmp.dir, 'env'), join(tmp.dir, 'flag')]) {
    assert.ok(await exists(homePaths(h).config), `${h} holds a config`);
  }
  assert.equal(await exists(join(tmp.dir, 'xdg2')), false, '$P2PBACKUP_HOME wins over $XDG_DATA_HOME');
  assert.equal(await exists(join(tmp.dir, 'env2')), false, '--home wins over $P2PBACKUP_HOME');
});

test('init and a started peer create only paths homePaths names, and the architecture card lists them all', async () => {
  const home = join(tmp.dir, 'layout');
  await initHome(home, { listen: ['/ip4/127.0.0.1/tcp/0'], mdns: false });
  const peer = await createPeer({ home, config: await readConfig(homePaths(home).config) });
  await peer.startServices();
  await peer.stop();
  const named = new Set(
    Object.entries(homePaths(home))
      .filter(([k]) => k !== 'home')
      .map(([, p]) => basename(p))
  );
  const made = await readdir(home);
  assert.ok(made.length >= 10, `init and a peer lay down the home: ${made.join(', ')}`);
  for (const name of made) assert.ok(named.has(name), `${name} in the home is built by homePaths`);

  const card = await readFile(fileURLToPath(new URL('../../docs/ARCHITECTURE.md', import.meta.url)), 'utf8');
  const section = card.slice(card.indexOf('## Where a peer keeps things'), card.indexOf('\n## ', card.indexOf('## Where a peer keeps things') + 1));
  const documented = new Set([...section.matchAll(/`([^`\s]+?)\/?`/g)].map((m) => m[1].replace(/\/$/, '')));
  for (const name of named) assert.ok(documented.has(name), `docs/ARCHITECTURE.md's home layout names ${name}`);
});
