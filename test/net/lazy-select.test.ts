// Lazy protocol selection for storage streams (src/net/lazy-select.ts): the dialer sends multistream-select's lines
// with its first request instead of waiting a round trip for the listener's echo, and takes the echo in front of
// the first answer. Real libp2p nodes over TCP.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Stream } from '@libp2p/interface';
import { makePeer, removeHome, type TestPeer } from './helpers.ts';
import { installLazySelect, MULTISTREAM_ID, protocolLine, selectBytes, takeLazySelect } from '../../src/net/lazy-select.ts';
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
  assert.deepEqual([...protocolLine(`/${'x'.repeat(125)}`).subarray(0, 1)], [0x7f], '127 bytes: one varint byte');
  assert.deepEqual([...protocolLine(`/${'x'.repeat(126)}`).subarray(0, 2)], [0x80, 0x01], '128 bytes: two');
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
  assert.deepEqual(lazy, selectBytes(TEST_PROTOCOL));
  assert.equal(seen.length, 0, 'nothing reached the listener yet: no round trip was waited for');
  stream.send(lazy);
  stream.send(encodeFrame(MSG.HELLO, { n: 7 }));
  const reader = new FrameReader(stream, { echo: lazy });
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
  stream.send(lazy);
  stream.send(encodeFrame(MSG.HELLO, {}));
  const reader = new FrameReader(stream, { echo: lazy, idleMs: 10_000 });
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

test('FrameReader takes the echo in any pieces, stops at its first wrong byte, and counts no frame before it', { timeout: 60_000 }, async () => {
  const [A, B] = await Promise.all([makePeer(), makePeer()]);
  peers.push(A, B);
  const echo = selectBytes('/p2pbackup-test/some-protocol/1.0.0');
  const frame = encodeFrame(MSG.OK, { n: 1 }).subarray();
  const release: (() => void)[] = [];
  const held = () => new Promise<void>((r) => release.push(r));
  const serve = async (name: string, pieces: Uint8Array[], then: 'close' | 'hold') => {
    await B.node.libp2p.handle(`/p2pbackup-test/echo-${name}/1`, async (stream) => {
      for (const p of pieces) {
        stream.send(p);
        await new Promise((r) => setTimeout(r, 5));
      }
      if (then === 'hold') await held();
      await stream.close().catch(() => {});
    });
  };
  const split = (b: Uint8Array, n: number) => Array.from({ length: Math.ceil(b.length / n) }, (_, i) => b.subarray(i * n, (i + 1) * n));
  const wrong = Uint8Array.from(echo);
  wrong[5] ^= 1;
  await serve('pieces', [...split(echo, 3), ...split(frame, 4)], 'close');
  await serve('only', [echo], 'hold');
  await serve('together', [Buffer.concat([echo, frame])], 'hold');
  await serve('prefix', [echo, frame.subarray(0, 3)], 'hold');
  await serve('prefix4', [echo, frame.subarray(0, 4)], 'hold');
  await serve('wrong', [wrong.subarray(0, 8)], 'hold');
  await serve('short', [echo.subarray(0, 10)], 'close');
  const open = async (name: string) => {
    const stream = await A.node.libp2p.dialProtocol(B.node.multiaddrs()[0], `/p2pbackup-test/echo-${name}/1`);
    return { stream, reader: new FrameReader(stream, { echo, idleMs: 10_000 }) };
  };
  try {
    {
      const { stream, reader } = await open('pieces');
      const f = await reader.next();
      assert.equal(f?.header.n, 1, 'the frame after an echo that came 3 bytes at a time');
      assert.equal(await reader.next(), null);
      reader.release();
      stream.abort(new Error('done'));
    }
    {
      const { stream, reader } = await open('together');
      const f = await reader.next();
      assert.equal(f?.header.n, 1, 'a frame that came in one piece with the echo is read at once (the stream stays open)');
      reader.release();
      stream.abort(new Error('done'));
    }
    {
      const { stream, reader } = await open('only');
      for (let i = 0; i < 500 && reader.buffered < echo.length; i++) await new Promise((r) => setTimeout(r, 10));
      assert.equal(reader.buffered, echo.length);
      assert.equal(reader.hasInput(), false, 'an echo alone is no answer');
      reader.release();
      stream.abort(new Error('done'));
    }
    for (const [name, input] of [
      ['prefix', false],
      ['prefix4', true]
    ] as const) {
      const { stream, reader } = await open(name);
      for (let i = 0; i < 500 && reader.buffered < echo.length + (input ? 4 : 3); i++) await new Promise((r) => setTimeout(r, 10));
      assert.equal(reader.hasInput(), input, `${name}: a frame's length prefix after the echo is input, less is not`);
      reader.release();
      stream.abort(new Error('done'));
    }
    {
      const ac = new AbortController();
      const stream = await A.node.libp2p.dialProtocol(B.node.multiaddrs()[0], '/p2pbackup-test/echo-only/1');
      const reader = new FrameReader(stream, { echo, idleMs: 10_000, signal: ac.signal });
      ac.abort();
      assert.equal(reader.hasInput(), true, 'a failed stream is input (the sender stops and reads the error)');
      reader.release();
      stream.abort(new Error('done'));
    }
    {
      const { stream, reader } = await open('wrong');
      await assert.rejects(reader.next(), (e: unknown) => e instanceof ProtocolError && /did not select/.test((e as Error).message));
      reader.release();
      stream.abort(new Error('done'));
    }
    {
      const { stream, reader } = await open('short');
      await assert.rejects(reader.next(), (e: unknown) => e instanceof ProtocolError && /before it selected/.test((e as Error).message));
      reader.release();
      stream.abort(new Error('done'));
    }
  } finally {
    for (const r of release) r();
  }
});

test('the wrapper marks only a stream asked for lazily, with one protocol, not selected yet; installed once', async () => {
  const made: { protocol: string }[] = [];
  const target = {
    async createStream(o?: { preset?: string }) {
      const stream = { protocol: o?.preset ?? '' };
      made.push(stream);
      return stream;
    }
  };
  assert.equal(installLazySelect(target), true);
  const wrapped = target.createStream;
  assert.equal(installLazySelect(target), true, 'a second install keeps it');
  assert.equal(target.createStream, wrapped, 'not wrapped twice');
  assert.equal(installLazySelect({}), false, 'nothing to wrap');
  const create = target.createStream as unknown as (o?: object) => Promise<Stream>;
  const lazy = await create({ lazySelect: true, protocol: '/p/1' });
  assert.equal(lazy.protocol, '/p/1');
  assert.ok(takeLazySelect(lazy));
  for (const o of [undefined, { protocol: '/p/1' }, { lazySelect: 'yes', protocol: '/p/1' }, { lazySelect: true }, { lazySelect: true, protocol: 7 }]) {
    const s = await create(o);
    assert.equal(takeLazySelect(s), null, JSON.stringify(o ?? null));
    assert.equal(s.protocol, '');
  }
  const preset = await create({ lazySelect: true, protocol: '/p/1', preset: '/q/1' });
  assert.equal(takeLazySelect(preset), null, 'a stream the transport selected itself is left alone');
  assert.equal(preset.protocol, '/q/1');
});
