// Fuzz the frame decoder and a live server with random and mutated frames: no crash, the server keeps
// serving, and the shares already stored are unchanged.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { makePeer, removeHome } from './helpers.ts';
import type { TestPeer } from './helpers.ts';
import { decodeBody, encodeFrame, FrameReader, MSG, ProtocolError, STORAGE_PROTOCOL, MAX_FRAME_BODY, validate } from '../../src/net/index.ts';
import { REQUEST_SCHEMAS } from '../../src/net/frame.ts';
import type { Frame } from '../../src/net/index.ts';
import { INCOMING_DIR } from '../../src/store/index.ts';
import { createMutableWriteCap, signRecord, storageIndexOf } from '../../src/caps/index.ts';

// Small deterministic PRNG so failures reproduce.
function rng(seed: number) {
  let s = seed >>> 0;
  return () => { s = (s + 0x6d2b79f5) >>> 0; let t = s; t = Math.imul(t ^ (t >>> 15), t | 1); t ^= t + Math.imul(t ^ (t >>> 7), t | 61); return ((t ^ (t >>> 14)) >>> 0) / 4294967296; };
}

function mutate(buf: Uint8Array, r: () => number): Uint8Array {
  const b = Buffer.from(buf);
  switch (Math.floor(r() * 5)) {
    case 0: { const i = Math.floor(r() * b.length); b[i] ^= 1 << Math.floor(r() * 8); return b; }
    case 1: return b.subarray(0, Math.floor(r() * b.length));
    case 2: { const i = Math.floor(r() * b.length); return Buffer.concat([b.subarray(0, i), randomBytes(1 + Math.floor(r() * 8)), b.subarray(i)]); }
    case 3: { for (let k = 0; k < 4; k++) b[Math.floor(r() * b.length)] = Math.floor(r() * 256); return b; }
    default: return Buffer.concat([b, b]);
  }
}

test('decodeBody on random bodies only ever throws ProtocolError', () => {
  const r = rng(1);
  for (let i = 0; i < 2000; i++) {
    const body = randomBytes(Math.floor(r() * 64));
    if (r() < 0.5 && body.length >= 3) { body[1] = 0; body[2] = Math.min(body.length - 3, Math.floor(r() * 20)); }
    try { decodeBody(body); } catch (e) { assert.ok(e instanceof ProtocolError, String(e)); }
  }
});

test('header fields named after Object.prototype members are unknown fields (issue 17 item 11)', () => {
  const si = 'ab'.repeat(16);
  for (const name of ['__proto__', 'constructor', 'toString', 'hasOwnProperty']) {
    // JSON.parse, as decodeBody does, makes each of these an own property of the header.
    const header = JSON.parse(`{"si":"${si}","${name}":1}`);
    assert.throws(() => validate(header, REQUEST_SCHEMAS[MSG.LIST]), (e: any) => e instanceof ProtocolError && e.details.field === name, name);
  }
  // and a required field is never satisfied by an inherited one
  assert.throws(() => validate(Object.create({ si }), REQUEST_SCHEMAS[MSG.LIST]), (e: any) => e instanceof ProtocolError && /missing field "si"/.test(e.message));
});

describe('live server fuzz', () => {
  let A: TestPeer, B: TestPeer, F: TestPeer;
  const si = randomBytes(16);
  const slotCap = createMutableWriteCap();
  const slotSi = Buffer.from(storageIndexOf(slotCap)!);
  const slotRec = signRecord(slotCap, 1, new TextEncoder().encode('folder head'));
  const digest = async () => {
    const h = createHash('sha256');
    h.update((await B.store.getSlot(slotSi)) ?? new Uint8Array(0));
    for await (const rec of B.store.records()) {
      if (rec.owner !== A.node.peerId.toString()) continue;
      h.update(JSON.stringify(rec));
      h.update(await B.store.read(Buffer.from(rec.siHex, 'hex'), rec.shareNum, 0, rec.size));
    }
    return h.digest('hex');
  };
  async function raw(bytes: Uint8Array): Promise<Frame[]> {
    const s = await F.node.libp2p.dialProtocol(B.node.multiaddrs()[0], STORAGE_PROTOCOL);
    const reader = new FrameReader(s, { idleMs: 5000 });
    const frames: Frame[] = [];
    try {
      if (bytes.length) s.send(bytes);
      await s.close().catch(() => {});
      for (;;) { const f = await reader.next(); if (!f) break; frames.push(f); }
    } catch { /* reset by the server: fine */ } finally {
      reader.release();
      if (s.status === 'open') s.abort(new Error('done'));
    }
    return frames;
  }
  const flat = (...fs: ReturnType<typeof encodeFrame>[]) => Buffer.concat(fs.map((f) => f.subarray()));

  before(async () => {
    [A, B, F] = await Promise.all([makePeer(), makePeer(), makePeer()]);
    const b = A.node.storage(B.node.multiaddrs()[0]);
    await b.writeShare(si, 0, randomBytes(5000), 5000);
    await b.writeShare(si, 1, randomBytes(7000), 7000);
    await b.putSlot(slotSi, slotRec);
  });
  after(async () => { for (const p of [A, B, F]) { await p?.stop().catch(() => {}); await removeHome(p); } });

  test('oversized frame is rejected with ERR_FRAME_TOO_LARGE', async () => {
    const pre = Buffer.alloc(4 + 16);
    pre.writeUInt32BE(MAX_FRAME_BODY + 1);
    const frames = await raw(pre);
    assert.equal(frames.length, 1);
    assert.equal(frames[0].type, MSG.ERROR);
    assert.equal(frames[0].header.code, 'ERR_FRAME_TOO_LARGE');
  });

  test('strict headers: unknown field, wrong type, bad si, owner field ignored not trusted', async () => {
    const siHex = si.toString('hex');
    for (const h of [{ si: siHex, extra: 1 }, { si: 5 }, { si: siHex.toUpperCase() }, { si: siHex, owner: A.node.peerId.toString() }]) {
      const [f] = await raw(flat(encodeFrame(MSG.LIST, h)));
      assert.equal(f.type, MSG.ERROR);
      assert.equal(f.header.code, 'ERR_PROTOCOL');
    }
    const [f] = await raw(flat(encodeFrame(MSG.READ, { si: siHex, shareNum: 0, ranges: [[0, 2 * 1024 * 1024]] })));
    assert.equal(f.header.code, 'ERR_PROTOCOL');
  });

  test('300 random and mutated frames: no crash, still serving, store unchanged', async () => {
    const before = await digest();
    const r = rng(42);
    const siHex = si.toString('hex');
    const other = randomBytes(16).toString('hex');
    const seeds = [
      flat(encodeFrame(MSG.HELLO)),
      flat(encodeFrame(MSG.LIST, { si: siHex })),
      flat(encodeFrame(MSG.READ, { si: siHex, shareNum: 0, ranges: [[0, 100], [4000, 1000]] })),
      flat(encodeFrame(MSG.DELETE, { si: siHex, shareNum: 1 })),
      flat(encodeFrame(MSG.RENEW, { si: siHex, shareNums: 'all', until: 1 })),
      flat(encodeFrame(MSG.RENEW, { si: siHex, shareNums: [0, 1], until: Date.now() + 1e6 })),
      flat(encodeFrame(MSG.ACCEPT, { si: siHex, shareNum: 0, size: 10 })),
      flat(encodeFrame(MSG.WRITE, { si: siHex, shareNum: 0, size: 10 }), encodeFrame(MSG.DATA, {}, randomBytes(10)), encodeFrame(MSG.COMMIT)),
      flat(encodeFrame(MSG.WRITE, { si: other, shareNum: 3, size: 10 }), encodeFrame(MSG.DATA, {}, randomBytes(10)), encodeFrame(MSG.COMMIT)),
      flat(encodeFrame(MSG.SLOT_GET, { si: slotSi.toString('hex') })),
      // Only the stored bytes themselves: a mutation cannot forge a newer record, so the slot must not change.
      flat(encodeFrame(MSG.SLOT_PUT, { si: slotSi.toString('hex') }, slotRec)),
      flat(encodeFrame(MSG.SLOT_PUT, { si: slotSi.toString('hex'), leaseUntil: Date.now() + 1e6 }, slotRec.subarray(0, 200))),
    ];
    let errors = 0;
    for (let i = 0; i < 300; i++) {
      const input = r() < 0.2 ? randomBytes(Math.floor(r() * 200)) : mutate(seeds[Math.floor(r() * seeds.length)], r);
      const frames = await raw(input);
      if (frames.some((f) => f.type === MSG.ERROR)) errors++;
    }
    assert.ok(errors > 100, `most mutated inputs should be refused (${errors})`);
    assert.equal(await digest(), before);
    assert.equal(B.store.stats().reserved, 0);
    assert.deepEqual(await readdir(join(B.home, INCOMING_DIR)), []);
    // Only F could have gained shares (a mutation may still be a valid write of F's own).
    for await (const rec of B.store.records()) assert.ok([A.node.peerId.toString(), F.node.peerId.toString()].includes(rec.owner));
    const st = await A.node.storage(B.node.multiaddrs()[0]).stats();
    assert.ok(st.shares >= 2);
    const [x] = await A.node.storage(B.node.multiaddrs()[0]).read(si, 0, [[0, 5000]]);
    assert.equal(x.byteLength, 5000);
  });
});
