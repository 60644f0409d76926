// Lazy protocol selection for storage streams (src/net/lazy-select.ts): the dialer sends multistream-select's lines
// with its first request instead of waiting a round trip for the listener's echo, and takes the echo in front of
// the first answer. Real libp2p nodes over TCP.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Stream } from '@libp2p/interface';
import { makePeer, removeHome, type TestPeer } from './helpers.ts';
import { MULTISTREAM_ID, protocolLine, selectBytes, takeLazySelect } from '../../src/net/lazy-select.ts';
import { FrameReader, encodeFrame } from '../../src/net/frame.ts';
import { ProtocolError } from '../../src/net/index.ts';
import { MSG, STORAGE_PROTOCOL } from '../../src/net/constants.ts';

const TEST_PROTOCOL = '/p2pbackup-test/lazy/1.0.0';
const peers: TestPeer[] = [];
after(async () => {
  for (const p of peers) {
    await p.stop().catch(() => {});
    await removeHome(p);
  }
});

test("the lines are multistream-select's: a varint length, the text, a newline", () => {
  const ascii = (b: Uint8Array) => Buffer.from(b).toString('latin1');
  assert.equal(ascii(protocolLine(MULTISTREAM_ID)), `\x13${MULTISTREAM_ID}\n`);
  assert.equal(ascii(selectBytes(STORAGE_PROTOCOL)), `\x13${MULTISTREAM_ID}\n${String.fromCharCode(STORAGE_PROTOCOL.length + 1)}${STORAGE_PROTOCOL}\n`);
  const long = `/${'x'.repeat(199)}`; // 201 bytes with its newline: a two-byte varint (0xc9 0x01)
  assert.deepEqual([...protocolLine(long).subarray(0, 2)], [0xc9, 0x01]);
  assert.equal(protocolLine(long).length, 2 + 201);
});

test('a lazily selected stream is returned before the listener saw it, and its request and answer go through', { timeout: 60_000 }, async () => {
  const [A, B] = await Promise.all([makePeer(), makePeer()]);
  peers.push(A, B);
  const seen: Stream[] = [];
  await B.node.libp2p.handle(TEST_PROTOCOL, async (stream) => {
    seen.push(stream);
    const r = new FrameReader(stream);
    const req = await r.next();
    r.release();
    stream.send(encodeFrame(MSG.OK, { got: req?.header.n }));
    await stream.close();
  });
  const conn = await A.node.libp2p.dial(B.node.multiaddrs()[0]);
  const stream = await conn.newStream(TEST_PROTOCOL, { lazySelect: true } as { signal?: AbortSignal });
  assert.equal(stream.protocol, TEST_PROTOCOL, 'taken as selected');
  const lazy = takeLazySelect(stream);
  assert.ok(lazy, 'marked for lazy selection');
  assert.equal(takeLazySelect(stream), null, 'once per stream');
  assert.deepEqual(lazy.preamble, selectBytes(TEST_PROTOCOL));
  assert.equal(seen.length, 0, 'nothing reached the listener yet: no round trip was waited for');
  stream.send(lazy.preamble);
  stream.send(encodeFrame(MSG.HELLO, { n: 7 }));
  const reader = new FrameReader(stream, { echo: lazy.echo });
  const answer = await reader.next();
  reader.release();
  assert.equal(answer?.type, MSG.OK);
  assert.equal(answer?.header.got, 7, 'the request sent with the protocol lines reached the handler');
  assert.equal(seen.length, 1);

  // Without the option a stream is negotiated as before (nothing to send first).
  const plain = await conn.newStream(TEST_PROTOCOL);
  assert.equal(takeLazySelect(plain), null);
  plain.abort(new Error('done'));
});

test('a protocol the listener does not serve is a ProtocolError at the first answer', { timeout: 60_000 }, async () => {
  const [A, B] = await Promise.all([makePeer(), makePeer()]);
  peers.push(A, B);
  const conn = await A.node.libp2p.dial(B.node.multiaddrs()[0]);
  const stream = await conn.newStream('/p2pbackup-test/nobody/1.0.0', { lazySelect: true } as { signal?: AbortSignal });
  const lazy = takeLazySelect(stream)!;
  stream.send(lazy.preamble);
  stream.send(encodeFrame(MSG.HELLO, {}));
  const reader = new FrameReader(stream, { echo: lazy.echo, idleMs: 10_000 });
  await assert.rejects(reader.next(), (e: unknown) => e instanceof ProtocolError && /did not select/.test((e as Error).message));
  reader.release();
  stream.abort(new Error('done'));
});

test('storage requests select lazily: a peer answers them as before', { timeout: 60_000 }, async () => {
  const [A, B] = await Promise.all([makePeer(), makePeer()]);
  peers.push(A, B);
  const b = A.node.storage(B.node.multiaddrs()[0]);
  const [s1, s2] = await Promise.all([b.stats(), b.stats()]);
  assert.equal(s1.offered, 64 * 1024 * 1024);
  assert.deepEqual(s2, s1);
});
