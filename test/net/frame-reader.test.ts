// FrameReader on real libp2p streams (TCP, Noise, Yamux): an answer that arrives together with the remote's
// close is still read. multistream-select can take the answer and the close in one read and hand the answer
// back to the stream after its 'end' went out; a reader that trusted 'end' alone saw an empty stream.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createLibp2p, type Libp2p } from 'libp2p';
import { tcp } from '@libp2p/tcp';
import { noise } from '@chainsafe/libp2p-noise';
import { yamux } from '@chainsafe/libp2p-yamux';
import { FrameReader, decodeBody, encodeFrame } from '../../src/net/frame.ts';
import { FRAME_PREFIX_BYTES, MAX_HEADER_BYTES, MAX_PAYLOAD_BYTES, MSG } from '../../src/net/constants.ts';
import { ProtocolError } from '../../src/net/errors.ts';

const PROTOCOL = '/p2pbackup-test/answer-and-close/1';
const BIG = '/p2pbackup-test/big-frames/1';
const MIXED = '/p2pbackup-test/mixed-frames/1';
// Three frames sent in many small pieces: a 200 KiB payload, another one, then one whose header is not JSON.
const PAYLOAD = Uint8Array.from({ length: 200 * 1024 }, (_, i) => (i * 7 + 3) & 0xff);
let a: Libp2p;
let b: Libp2p;

const make = () =>
  createLibp2p({ addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] }, transports: [tcp()], connectionEncrypters: [noise()], streamMuxers: [yamux()] });

before(async () => {
  [a, b] = await Promise.all([make(), make()]);
  await b.handle(PROTOCOL, (stream) => {
    stream.send(encodeFrame(MSG.ERROR, { code: 'ERR_PEER_BUSY', message: 'busy' }));
    void stream.close();
  });
  await b.handle(BIG, async (stream) => {
    const bad = encodeFrame(MSG.OK, { lengths: [PAYLOAD.length] }, PAYLOAD).subarray();
    bad[4 + 3] = 0x7b + 1; // the header's '{' made '|'
    const all = Buffer.concat([encodeFrame(MSG.OK, { lengths: [PAYLOAD.length] }, PAYLOAD).subarray(), encodeFrame(MSG.OK, { n: 2 }, PAYLOAD).subarray(), bad]);
    for (let at = 0; at < all.length; at += 10_000) stream.send(all.subarray(at, at + 10_000));
    await stream.close();
  });
  // A payload, a smaller one, an empty one, then one bigger than the test's scratch buffer.
  await b.handle(MIXED, async (stream) => {
    const all = Buffer.concat(
      [PAYLOAD, PAYLOAD.subarray(0, 1000), new Uint8Array(0), Buffer.concat([PAYLOAD, PAYLOAD])].map((p, i) =>
        encodeFrame(MSG.DATA, i === 1 ? { n: 1 } : {}, p).subarray()
      )
    );
    for (let at = 0; at < all.length; at += 10_000) stream.send(all.subarray(at, at + 10_000));
    await stream.close();
  });
});
after(async () => {
  await a?.stop();
  await b?.stop();
});

test('a frame sent with the close is read, then the clean end', async () => {
  const answers: string[] = [];
  for (let i = 0; i < 40; i++) {
    const stream = await a.dialProtocol(b.getMultiaddrs()[0], PROTOCOL);
    const reader = new FrameReader(stream, { idleMs: 5_000 });
    try {
      const f = await reader.next();
      answers.push(f ? String(f.header.code) : 'closed');
      assert.equal(await reader.next(), null);
    } finally {
      reader.release();
      stream.abort(new Error('done'));
    }
  }
  assert.deepEqual(new Set(answers), new Set(['ERR_PEER_BUSY']), answers.join());
});

test('a payload of the length asked for lands in the given buffer, from the pieces it arrived in; others as before', async () => {
  const stream = await a.dialProtocol(b.getMultiaddrs()[0], BIG);
  const reader = new FrameReader(stream, { idleMs: 5_000 });
  try {
    const dest = new Uint8Array(PAYLOAD.length);
    const f1 = await reader.next(dest);
    assert.equal(f1!.payload, dest);
    assert.deepEqual(f1!.header, { lengths: [PAYLOAD.length] });
    assert.ok(Buffer.from(dest).equals(PAYLOAD));
    const other = new Uint8Array(PAYLOAD.length - 1); // not its length: a buffer of its own
    const f2 = await reader.next(other);
    assert.notEqual(f2!.payload.buffer, other.buffer);
    assert.ok(Buffer.from(f2!.payload).equals(PAYLOAD));
    assert.ok(other.every((x) => x === 0));
    await assert.rejects(reader.next(new Uint8Array(PAYLOAD.length)), (e: Error) => e instanceof ProtocolError && /JSON/.test(e.message));
  } finally {
    reader.release();
    stream.abort(new Error('done'));
  }
});

test("'prefix': payloads of at most the scratch's length land at its start, frame after frame; a bigger one gets memory of its own", async () => {
  const stream = await a.dialProtocol(b.getMultiaddrs()[0], MIXED);
  const reader = new FrameReader(stream, { idleMs: 5_000 });
  try {
    const scratch = new Uint8Array(PAYLOAD.length + 5);
    const f1 = await reader.next(scratch, 'prefix');
    assert.equal(f1!.payload.buffer, scratch.buffer);
    assert.equal(f1!.payload.byteOffset, 0);
    assert.ok(Buffer.from(f1!.payload).equals(PAYLOAD));
    const f2 = await reader.next(scratch, 'prefix');
    assert.deepEqual(f2!.header, { n: 1 }, 'the header is decoded as always');
    assert.equal(f2!.payload.buffer, scratch.buffer, 'the same scratch again');
    assert.ok(Buffer.from(f2!.payload).equals(PAYLOAD.subarray(0, 1000)));
    const f3 = await reader.next(scratch, 'prefix');
    assert.equal(f3!.payload.byteLength, 0);
    scratch.fill(0xee);
    const f4 = await reader.next(scratch, 'prefix');
    assert.notEqual(f4!.payload.buffer, scratch.buffer, 'too big for the scratch: joined as before');
    assert.ok(Buffer.from(f4!.payload).equals(Buffer.concat([PAYLOAD, PAYLOAD])));
    assert.ok(
      scratch.every((x) => x === 0xee),
      'and the scratch untouched'
    );
    assert.equal(await reader.next(scratch, 'prefix'), null);
  } finally {
    reader.release();
    stream.abort(new Error('done'));
  }
});

test('encodeFrame: a payload given as parts is the frame of their concatenation; the limit counts all parts', () => {
  const parts = [PAYLOAD.subarray(0, 1000), new Uint8Array(0), PAYLOAD.subarray(1000, 70_000), PAYLOAD.subarray(5, 6)];
  const joined = Buffer.concat(parts);
  const header = { lengths: parts.map((p) => p.byteLength) };
  const fromParts = encodeFrame(MSG.OK, header, parts).subarray();
  assert.deepEqual(fromParts, encodeFrame(MSG.OK, header, joined).subarray());
  const body = decodeBody(fromParts.subarray(FRAME_PREFIX_BYTES));
  assert.deepEqual(body.header, header);
  assert.deepEqual(Buffer.from(body.payload), joined);
  // No part copied: the list holds the caller's buffers.
  const list = encodeFrame(MSG.OK, header, parts);
  assert.equal([...list][1], parts[0]);
  const half = new Uint8Array(MAX_PAYLOAD_BYTES / 2 + 1);
  assert.throws(() => encodeFrame(MSG.OK, {}, [half, half]), {
    name: 'ProtocolError',
    message: `payload of ${2 * half.length} bytes exceeds ${MAX_PAYLOAD_BYTES}`
  });
  assert.doesNotThrow(() => encodeFrame(MSG.OK, {}, [half.subarray(1), half.subarray(1)]));
});

test('encodeFrame: a header of MAX_HEADER_BYTES is sent, one byte more is refused', () => {
  const fill = (extra: number) => ({ a: 'x'.repeat(MAX_HEADER_BYTES - '{"a":""}'.length + extra) });
  const body = decodeBody(encodeFrame(MSG.OK, fill(0)).subarray().subarray(FRAME_PREFIX_BYTES));
  assert.deepEqual(body.header, fill(0));
  assert.throws(() => encodeFrame(MSG.OK, fill(1)), { name: 'ProtocolError', message: `header of ${MAX_HEADER_BYTES + 1} bytes exceeds ${MAX_HEADER_BYTES}` });
});
