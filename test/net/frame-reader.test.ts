// FrameReader on real libp2p streams (TCP, Noise, Yamux): an answer that arrives together with the remote's
// close is still read. multistream-select can take the answer and the close in one read and hand the answer
// back to the stream after its 'end' went out; a reader that trusted 'end' alone saw an empty stream.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createLibp2p, type Libp2p } from 'libp2p';
import { tcp } from '@libp2p/tcp';
import { noise } from '@chainsafe/libp2p-noise';
import { yamux } from '@chainsafe/libp2p-yamux';
import { FrameReader, encodeFrame } from '../../src/net/frame.ts';
import { MSG } from '../../src/net/constants.ts';

const PROTOCOL = '/p2pbackup-test/answer-and-close/1';
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
