// Corked TCP writes (src/net/tcp-writes.ts): a batch of buffers leaves as one writev instead of one write per
// buffer; backpressure still stops the sender and 'drain' resumes it; every connection the product's nodes dial
// or accept gets the replacement (a changed @libp2p/tcp shows here as connections left uncorked).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, connect, type Socket } from 'node:net';
import { once } from 'node:events';
import { randomBytes, createHash } from 'node:crypto';
import { corkWrites, replaceable, sendData, tcpWriteStats } from '../../src/net/tcp-writes.ts';
import { makePeer, removeHome, streamThrough } from './helpers.ts';

/** A connected socket pair on loopback; `server` is the accepted end. */
async function pair(): Promise<{ client: Socket; server: Socket; close(): void }> {
  const srv = createServer();
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const accepted = once(srv, 'connection');
  const client = connect((srv.address() as { port: number }).port, '127.0.0.1');
  await once(client, 'connect');
  const [server] = (await accepted) as [Socket];
  return {
    client,
    server,
    close() {
      client.destroy();
      server.destroy();
      srv.close();
    }
  };
}

test('a batch of buffers goes to the socket as one writev, whole and in order', async () => {
  const p = await pair();
  try {
    const calls: string[] = [];
    const s = p.client as unknown as { _write: (...a: unknown[]) => void; _writev: (...a: unknown[]) => void };
    const w = s._write.bind(s),
      wv = s._writev.bind(s);
    s._write = (...a) => (calls.push('write'), w(...a));
    s._writev = (...a) => (calls.push(`writev ${(a[0] as unknown[]).length}`), wv(...a));
    // A Noise message as @libp2p/tcp gets it: a 2-byte length, then the ciphertext; three of them.
    const batch = [0, 1, 2].flatMap(() => [Uint8Array.of(0xff, 0xff), randomBytes(65_535)]);
    const r = sendData.call({ socket: p.client }, batch);
    assert.equal(r.sentBytes, 3 * (2 + 65_535));
    assert.deepEqual(calls, ['writev 6'], 'one writev for the six buffers (upstream: six writes)');
    const want = createHash('sha256');
    for (const b of batch) want.update(b);
    const got = createHash('sha256');
    let n = 0;
    for await (const chunk of p.server as AsyncIterable<Buffer>) {
      got.update(chunk);
      n += chunk.length;
      if (n >= r.sentBytes) break;
    }
    assert.equal(got.digest('hex'), want.digest('hex'));
  } finally {
    p.close();
  }
});

test('a receiver that stops reading stops the sender (canSendMore false), and its reading again brings drain', async () => {
  const p = await pair();
  try {
    p.server.pause();
    const piece = randomBytes(1 << 20);
    let sent = 0;
    let r = { sentBytes: 0, canSendMore: true };
    for (let i = 0; i < 256 && r.canSendMore; i++) {
      r = sendData.call({ socket: p.client }, [piece]);
      sent += r.sentBytes;
    }
    assert.equal(r.canSendMore, false, `the socket took ${sent} bytes without asking to wait`);
    const drained = once(p.client, 'drain');
    let got = 0;
    p.server.on('data', (c: Buffer) => (got += c.length));
    p.server.resume();
    await drained;
    while (got < sent) await new Promise((res) => setTimeout(res, 10));
    assert.equal(got, sent, 'every byte of every batch arrived');
  } finally {
    p.close();
  }
});

test('a destroyed socket takes nothing; a connection without a replaceable sendData is left as it is', async () => {
  const p = await pair();
  p.close();
  assert.deepEqual(sendData.call({ socket: p.client }, [Uint8Array.of(1)]), { sentBytes: 0, canSendMore: false });
  const other = { socket: p.client, sendData: () => ({ sentBytes: 0, canSendMore: true }) };
  const before = other.sendData;
  assert.equal(corkWrites(other), false);
  assert.equal(other.sendData, before);
  assert.equal(
    corkWrites({
      sendData: function (this: { socket: Socket }) {
        this.socket.write(Uint8Array.of(1));
      }
    }),
    false,
    'no socket'
  );
  assert.equal(replaceable(undefined), false);
  // One written as upstream's is (each buffer to this.socket.write) is replaced, once: a second call keeps it.
  const upstreamLike = {
    socket: p.client,
    sendData(this: { socket: Socket }, data: Uint8Array[]) {
      for (const buf of data) this.socket.write(buf);
    }
  };
  assert.equal(corkWrites(upstreamLike), true);
  assert.equal(upstreamLike.sendData, sendData);
  assert.equal(corkWrites(upstreamLike), true, 'already corked');
  assert.equal(upstreamLike.sendData, sendData);
});

test('every connection two product nodes open gets corked writes, and a stream between them carries 8 MiB whole', async () => {
  const [a, b] = [await makePeer(), await makePeer()];
  const before = { ...tcpWriteStats };
  try {
    const data = randomBytes(8 << 20);
    const got = await streamThrough(a, b, '/p2pbackup-test/cork/1', data);
    assert.equal(got, createHash('sha256').update(data).digest('hex'));
    const opened = tcpWriteStats.connections - before.connections;
    assert.ok(opened >= 2, `both ends of the connection went through the wrapped transport (${opened})`);
    assert.equal(tcpWriteStats.corked - before.corked, opened, "each one's sendData was replaced (upstream still writes to this.socket)");
  } finally {
    await a.stop();
    await b.stop();
    await removeHome(a);
    await removeHome(b);
  }
});
