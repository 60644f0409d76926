// Raw libp2p stream throughput (TCP + Noise + Yamux) between two nodes in separate processes on loopback.
// node bench/index.ts transfer-stream [--size 256MiB] [--chunk 64KiB] [--json]
// Part of the later transfer bench: this row is the ceiling any share transfer can reach.
import { spawn } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createInterface } from 'node:readline';
import { createNode, type P2PNode } from '../src/net/index.ts';
import { parseSize } from '../src/store/index.ts';
import { multiaddr } from '@multiformats/multiaddr';

const BENCH_PROTOCOL = '/p2pbackup/bench-stream/1.0.0';

export interface Row {
  bench: string;
  bytes: number;
  chunk: number;
  seconds: number;
  MBps: number;
}

function arg(argv: string[], name: string, dflt: string): string {
  const i = argv.indexOf(name);
  return i >= 0 && argv[i + 1] ? argv[i + 1] : dflt;
}

/** Child side: count bytes on each stream, answer with the count as 8 bytes. */
async function serve(): Promise<void> {
  const node = await createNode({ listen: ['/ip4/127.0.0.1/tcp/0'], mdns: false });
  await node.libp2p.handle(BENCH_PROTOCOL, (stream) => {
    let n = 0;
    stream.addEventListener('message', (evt) => {
      n += evt.data.byteLength;
    });
    stream.addEventListener('remoteCloseWrite', () => {
      const out = Buffer.alloc(8);
      out.writeBigUInt64BE(BigInt(n));
      stream.send(out);
      stream.close().catch(() => {});
    });
  });
  process.stdout.write(JSON.stringify({ addr: node.multiaddrs()[0].toString() }) + '\n');
  process.stdin.resume();
  process.stdin.on('end', () => {
    node.stop().finally(() => process.exit(0));
  });
}

/** One timed transfer of `size` bytes in `chunk`-byte writes to a server in a child process; prints nothing. */
export async function measureStream(size: number, chunk: number): Promise<Row> {
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), '--serve'], { stdio: ['pipe', 'pipe', 'inherit'] });
  let node: P2PNode | null = null;
  try {
    node = await createNode({ listen: ['/ip4/127.0.0.1/tcp/0'], mdns: false });
    const line = await new Promise<string>((resolve, reject) => {
      createInterface({ input: child.stdout! }).once('line', resolve);
      child.once('exit', (c) => reject(new Error(`bench server exited with ${c}`)));
    });
    const addr = multiaddr(JSON.parse(line).addr as string);
    await node.libp2p.dial(addr);
    const stream = await node.libp2p.dialProtocol(addr, BENCH_PROTOCOL);
    const buf = new Uint8Array(chunk).fill(7);
    const answer = new Promise<number>((resolve, reject) => {
      stream.addEventListener('message', (evt) => resolve(Number(Buffer.from(evt.data.subarray()).readBigUInt64BE(0))));
      stream.addEventListener('close', (evt) => {
        if (evt.error) reject(evt.error);
      });
    });
    const t0 = performance.now();
    for (let sent = 0; sent < size; sent += chunk) {
      const piece = sent + chunk <= size ? buf : buf.subarray(0, size - sent);
      if (!stream.send(piece)) await stream.onDrain();
    }
    await stream.close();
    const got = await answer;
    const seconds = (performance.now() - t0) / 1000;
    if (got !== size) throw new Error(`receiver counted ${got} bytes, sent ${size}`);
    return { bench: 'stream-throughput', bytes: size, chunk, seconds: +seconds.toFixed(3), MBps: +(size / 1e6 / seconds).toFixed(1) };
  } finally {
    await node?.stop();
    child.stdin!.end();
  }
}

export async function run(argv: string[]): Promise<Row[]> {
  const size = parseSize(arg(argv, '--size', '256MiB'));
  const chunk = parseSize(arg(argv, '--chunk', '64KiB'));
  const json = argv.includes('--json');
  const rows: Row[] = [await measureStream(size, chunk)];
  if (json) process.stdout.write(JSON.stringify(rows) + '\n');
  else
    for (const r of rows)
      process.stdout.write(
        `${r.bench}: ${(r.bytes / 2 ** 20).toFixed(0)} MiB in ${r.seconds} s = ${r.MBps} MB/s (chunk ${r.chunk} B, TCP+Noise+Yamux, loopback, 2 processes)\n`
      );
  return rows;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  if (process.argv.includes('--serve')) await serve();
  else await run(process.argv.slice(2));
}
