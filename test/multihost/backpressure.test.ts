// Concurrent share uploads to one peer over a slow link (8 Mbit/s, `tc tbf` on the loopback of a namespace of
// its own; both nodes in one process there, over real TCP). Before sendFrame waited for its frames to leave the
// stream (src/net/frame.ts), every frame of every upload counted as sent at once: the uploads' bytes then queued
// behind each other, and each share's commit answer waited for all of them under the client's idle timeout.
// Here four 2 MiB shares take about 8 s together, against an idle timeout of 4 s: they must all be written, and a
// request made meanwhile answered. Needs root and `ip netns`; skipped with the reason printed otherwise.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { NetFixture, sh, skipReason } from './fixture.ts';

const net = new NetFixture({ prefix: 'p2pbp', subnet: '10.94.0', port: 7172 });
const skip = skipReason('p2pbp');
if (skip) console.log(`# skipping backpressure test: ${skip}`);
else net.installExitHandlers();
after(async () => {
  await net.cleanup();
  assert.deepEqual(net.leftover(), [], 'no namespace of this run is left behind');
});

/** The uploads, inside the namespace: one JSON line of what each upload and the stats request gave. */
const SCRIPT = `
const { makePeer, testPack, removeHome } = await import(${JSON.stringify(new URL('../net/helpers.ts', import.meta.url).href)});
const A = await makePeer({ client: { idleMs: 4000 } });
const B = await makePeer();
const t0 = Date.now();
const outcome = (p) => p.then((r) => ({ status: r.status ?? 'ok', ms: Date.now() - t0 }), (e) => ({ status: 'failed', code: e.code, message: e.message, ms: Date.now() - t0 }));
const uploads = Array.from({ length: 4 }, () => {
  const { si, ueb, shares: [share] } = testPack(2 * 2 ** 20, 1);
  return outcome(A.node.storage(B.node.multiaddrs()[0]).writeShare(si, 0, share, share.length, { ueb }));
});
await new Promise((r) => setTimeout(r, 1000));
const stats = outcome(A.node.storage(B.node.peerId).stats());
console.log(JSON.stringify({ uploads: await Promise.all(uploads), stats: await stats }));
for (const p of [A, B]) { await p.stop(); await removeHome(p); }
`;

test(
  'four uploads to one peer over 8 Mbit/s, twice the idle timeout together: all written, a request meanwhile answered',
  { skip: skip ?? false, timeout: 90_000 },
  async () => {
    await net.createHub();
    const box = net.addHost('box', 2);
    // The loopback's 64 KiB MTU would exceed the bucket (tbf drops a packet larger than its burst).
    sh('ip', ['-n', box.ns, 'link', 'set', 'lo', 'mtu', '1500']);
    sh('ip', ['netns', 'exec', box.ns, 'tc', 'qdisc', 'add', 'dev', 'lo', 'root', 'tbf', 'rate', '8mbit', 'burst', '64kbit', 'latency', '400ms']);
    const child = spawn('ip', ['netns', 'exec', box.ns, process.execPath, '--input-type=module', '-e', SCRIPT], { stdio: ['ignore', 'pipe', 'inherit'] });
    net.children.push(child);
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    const code = await new Promise((resolve) => child.once('exit', resolve));
    assert.equal(code, 0, out);
    const r = JSON.parse(out.trim().split('\n').at(-1)!) as { uploads: { status: string; ms: number }[]; stats: { status: string; ms: number } };
    assert.deepEqual(
      r.uploads.map((u) => u.status),
      ['written', 'written', 'written', 'written'],
      JSON.stringify(r.uploads)
    );
    // The link itself: 8 MiB at 8 Mbit/s is 8.4 s at best; well past the 4 s idle timeout, so progress was counted.
    assert.ok(Math.max(...r.uploads.map((u) => u.ms)) > 6000, `the uploads took ${JSON.stringify(r.uploads)}: was the link shaped?`);
    assert.equal(r.stats.status, 'ok', JSON.stringify(r.stats));
  }
);
