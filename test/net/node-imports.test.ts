// What a node loads: LAN discovery (@libp2p/mdns) and router port mapping (@libp2p/upnp-nat) only when asked for.
// Together about 5 MiB of an idle daemon's memory (their modules, multicast-dns, an XML parser), which a peer with
// both off (the default for UPnP; swarms, containers and the tests for mDNS) never uses. Run in a child process:
// this one may have loaded them through other tests' imports.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const NET = fileURLToPath(new URL('../../src/net/index.ts', import.meta.url));
const OPTIONAL = ['@libp2p/mdns', '@libp2p/upnp-nat'];

/** Start and stop a node with `init` in a fresh process; the bare package names it resolved. */
function packagesLoaded(init: object): string[] {
  const script = `
    import { registerHooks } from 'node:module';
    const seen = new Set();
    registerHooks({ resolve(specifier, context, next) { seen.add(specifier); return next(specifier, context); } });
    const { createNode } = await import(${JSON.stringify(NET)});
    const node = await createNode({ listen: ['/ip4/127.0.0.1/tcp/0'], reachability: false, ...${JSON.stringify(init)} });
    await node.stop();
    process.stdout.write(JSON.stringify([...seen].filter((s) => ${JSON.stringify(OPTIONAL)}.includes(s))));
  `;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout);
}

test('a node with mDNS and UPnP off loads neither module', () => {
  assert.deepEqual(packagesLoaded({ mdns: false, upnp: false }), []);
});

test('a node loads @libp2p/mdns when mDNS is on', () => {
  assert.deepEqual(packagesLoaded({ mdns: true, upnp: false }), ['@libp2p/mdns']);
});
