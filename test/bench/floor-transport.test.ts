// The transport floor's processes as the paths bench starts them across namespaces (bench/transfer-paths.ts),
// here on loopback: a client that listens, peers that dial it (as peers behind NAT do) or that it dials, and the
// push/pull over those connections moving every byte asked for.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const FLOOR = fileURLToPath(new URL('../../bench/floor-transport.ts', import.meta.url));

function start(args: string[]): { child: ChildProcess; next: () => Promise<any> } {
  const child = spawn(process.execPath, [FLOOR, ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  return { child, next: async () => JSON.parse((await lines.next()).value as string) };
}

async function run(dialIn: boolean): Promise<void> {
  const client = start(['--client-across', '--listen', '/ip4/127.0.0.1/tcp/0']);
  const peers: ReturnType<typeof start>[] = [];
  try {
    const { addr } = await client.next();
    for (let i = 0; i < 3; i++) peers.push(start(['--serve', '--listen', '/ip4/127.0.0.1/tcp/0', ...(dialIn ? ['--dial', addr] : [])]));
    const infos = await Promise.all(peers.map((p) => p.next()));
    const bytes = 3 * 1024 * 1024 + 7;
    const targets = infos.map((i) => (dialIn ? { peerId: i.peerId } : { peerId: i.peerId, addr: i.addr }));
    const result = client.next();
    client.child.stdin!.write(JSON.stringify({ bytes, k: 2, targets, pids: peers.map((p) => p.child.pid) }) + '\n');
    const r = await result;
    // Each of the 3 peers gets ceil(bytes / k) in STREAMS_PER_PEER (4) streams of ceil(that / 4); k = 2 are pulled from.
    const perStream = Math.ceil(Math.ceil(bytes / 2) / 4);
    assert.equal(r.push.bytes, 3 * 4 * perStream);
    assert.equal(r.pull.bytes, 2 * 4 * perStream);
    assert.ok(r.push.seconds > 0 && r.pull.seconds > 0);
    // The client's CPU is reported apart (bench backup's client CPU column): part of the total, never more.
    for (const phase of [r.push, r.pull]) {
      assert.equal(typeof phase.clientCpuSeconds, 'number');
      assert.ok(phase.clientCpuSeconds >= 0 && phase.clientCpuSeconds <= phase.cpuSeconds + 1e-9, JSON.stringify(phase));
    }
  } finally {
    for (const p of [client, ...peers]) p.child.stdin!.end();
    await Promise.all([client, ...peers].map((p) => (p.child.exitCode !== null ? null : new Promise((res) => p.child.once('exit', res)))));
  }
}

test('floor across hosts: peers that dial the client are pushed to and pulled from over their own connections', async () => {
  await run(true);
});

test('floor across hosts: the client dials peers given with an address', async () => {
  await run(false);
});
