// Fuzz the frame decoder and a live server with random, mutated and structured frames: no crash (no
// ERR_INTERNAL: every refusal is a named error with its code), the server keeps serving, and the shares
// already stored are unchanged. Structured inputs are frames whose header is valid JSON built from the
// protocol's own field names, mostly well typed, so they get past parsing into validation and the
// handlers. Everything comes from one seed, printed at the start: a failure names the seed and the
// case, and `P2PB_FUZZ_SEED=<seed> node --test test/net/fuzz.test.ts` replays it exactly.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { makePeer, removeHome } from './helpers.ts';
import type { TestPeer } from './helpers.ts';
import { decodeBody, encodeFrame, FrameReader, MSG, ProtocolError, STORAGE_PROTOCOL, MAX_FRAME_BODY, validate } from '../../src/net/index.ts';
import { REQUEST_SCHEMAS } from '../../src/net/frame.ts';
import type { Frame } from '../../src/net/index.ts';
import type { Header } from '../../src/net/frame.ts';
import { INCOMING_DIR } from '../../src/store/index.ts';
import { signRecord, storageIndexOf, type MutableWriteCap } from '../../src/caps/index.ts';
import { encodePack, uebOfShare } from '../../src/format/index.ts';

const SEED = process.env.P2PB_FUZZ_SEED ? Number(process.env.P2PB_FUZZ_SEED) >>> 0 : (Math.random() * 2 ** 32) >>> 0;
console.log(`# fuzz seed ${SEED} (replay: P2PB_FUZZ_SEED=${SEED} node --test test/net/fuzz.test.ts)`);

/** Small deterministic PRNG (mulberry32): every input of a run derives from SEED. */
function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
type Rand = () => number;
const int = (r: Rand, n: number) => Math.floor(r() * n);
const pick = <T>(r: Rand, xs: readonly T[]): T => xs[int(r, xs.length)];
const bytes = (r: Rand, n: number) => Uint8Array.from({ length: n }, () => int(r, 256));
const hexOf = (b: Uint8Array) => Buffer.from(b).toString('hex');

/** Which case failed, with the seed: enough to replay it. */
const where = (what: string, i: number, input: Uint8Array) =>
  `${what} case ${i} of seed ${SEED} (P2PB_FUZZ_SEED=${SEED}); input ${hexOf(input.subarray(0, 96))}${input.length > 96 ? '…' : ''}`;

function mutate(buf: Uint8Array, r: Rand): Uint8Array {
  const b = Buffer.from(buf);
  switch (int(r, 5)) {
    case 0: {
      const i = int(r, b.length);
      b[i] ^= 1 << int(r, 8);
      return b;
    }
    case 1:
      return b.subarray(0, int(r, b.length));
    case 2: {
      const i = int(r, b.length);
      return Buffer.concat([b.subarray(0, i), bytes(r, 1 + int(r, 8)), b.subarray(i)]);
    }
    case 3: {
      for (let k = 0; k < 4; k++) b[int(r, b.length)] = int(r, 256);
      return b;
    }
    default:
      return Buffer.concat([b, b]);
  }
}

/** UEBs of real packs (the live fuzz's), so some WRITEs get past the share check to their data. */
const UEBS: string[] = [];
const REQUEST_TYPES = Object.keys(REQUEST_SCHEMAS).map(Number);
const FIELD_NAMES = [...new Set(Object.values(REQUEST_SCHEMAS).flatMap((s) => Object.keys(s)))];

/** Values that pass a field kind's check, and some that do not (wrong type, out of range, bad case). */
function fieldValue(r: Rand, kind: string, sis: string[]): unknown {
  const junk = [null, -1, 1.5, 'x', '', [], {}, true, 2 ** 53, 'A'.repeat(64), [[-1, 2]], [0, 0], 'all'];
  if (r() < 0.2) return pick(r, junk);
  switch (kind) {
    case 'si':
      return r() < 0.9 ? pick(r, sis) : pick(r, sis).toUpperCase();
    case 'shareNum':
      return r() < 0.8 ? int(r, 4) : int(r, 300);
    case 'uint':
      return pick(r, [0, 1, 10, int(r, 10_000), Date.now() + int(r, 1e9)]);
    // Compound values: their entries too are sometimes of the wrong shape.
    case 'ranges':
      return Array.from({ length: 1 + int(r, 3) }, () => (r() < 0.15 ? pick(r, junk) : [int(r, 8000), int(r, 3000)]));
    case 'shareNums':
      return r() < 0.4 ? 'all' : [...new Set(Array.from({ length: 1 + int(r, 3) }, () => (r() < 0.1 ? pick(r, junk) : int(r, 4))))];
    case 'hash':
      return hexOf(bytes(r, 32));
    case 'ueb':
      return r() < 0.5 && UEBS.length ? pick(r, UEBS) : hexOf(bytes(r, 72));
    default:
      return pick(r, junk);
  }
}

/** A request header made of the protocol's field names: well typed most of the time, sometimes with a field missing, extra or wrong. */
function structuredHeader(r: Rand, type: number, sis: string[]): Header {
  const schema = REQUEST_SCHEMAS[type] ?? {};
  const h: Header = {};
  for (const [name, spec] of Object.entries(schema)) {
    if (spec.optional && r() < 0.5) continue;
    if (r() < 0.05) continue; // a required field missing
    h[name] = fieldValue(r, spec.kind, sis);
  }
  if (r() < 0.1) h[pick(r, [...FIELD_NAMES, 'owner', 'extra'])] = fieldValue(r, 'any', sis); // a field this request does not have
  return h;
}

test('decodeBody: random bodies throw ProtocolError (ERR_PROTOCOL); structured ones decode to their header and reach validation', (t) => {
  const CASES = 8000; // microseconds each: pure decoding and validation
  const r = rng(SEED);
  const sis = [hexOf(bytes(r, 16))];
  let decoded = 0;
  let valid = 0;
  for (let i = 0; i < CASES; i++) {
    let body: Uint8Array;
    let header: Header | null = null;
    const type = pick(r, REQUEST_TYPES);
    if (r() < 0.5) {
      body = bytes(r, int(r, 64));
      if (r() < 0.5 && body.length >= 3) {
        body[1] = 0;
        body[2] = Math.min(body.length - 3, int(r, 20));
      }
    } else {
      header = structuredHeader(r, type, sis);
      const json = Buffer.from(Object.keys(header).length ? JSON.stringify(header) : '');
      const payload = bytes(r, int(r, 32));
      body = Buffer.concat([Buffer.from([type, json.length >> 8, json.length & 0xff]), json, payload]);
    }
    let frame: Frame;
    try {
      frame = decodeBody(body);
    } catch (e) {
      assert.ok(e instanceof ProtocolError && e.code === 'ERR_PROTOCOL', `${String(e)}: ${where('decodeBody', i, body)}`);
      assert.equal(header, null, `a well-formed body was refused: ${where('decodeBody', i, body)}`);
      continue;
    }
    decoded++;
    if (header) assert.deepEqual(frame.header, header, where('decodeBody', i, body));
    try {
      validate(frame.header, REQUEST_SCHEMAS[frame.type] ?? {});
      valid++;
    } catch (e) {
      assert.ok(e instanceof ProtocolError && e.code === 'ERR_PROTOCOL', `${String(e)}: ${where('validate', i, body)}`);
      assert.match(e.message, /field "|unknown field|missing field/, where('validate', i, body));
    }
  }
  t.diagnostic(`seed ${SEED}: ${decoded} of ${CASES} bodies decoded, ${valid} valid requests`);
  // The structured half gets past JSON parsing, and much of it past validation too.
  assert.ok(decoded > CASES / 3, `decoded ${decoded} of ${CASES}`);
  assert.ok(valid > CASES / 6, `valid requests ${valid} of ${CASES}`);
});

test('header fields named after Object.prototype members are unknown fields (issue 17 item 11)', () => {
  const si = 'ab'.repeat(16);
  for (const name of ['__proto__', 'constructor', 'toString', 'hasOwnProperty']) {
    // JSON.parse, as decodeBody does, makes each of these an own property of the header.
    const header = JSON.parse(`{"si":"${si}","${name}":1}`);
    assert.throws(
      () => validate(header, REQUEST_SCHEMAS[MSG.LIST]),
      (e: any) => e instanceof ProtocolError && e.details.field === name,
      name
    );
  }
  // and a required field is never satisfied by an inherited one
  assert.throws(
    () => validate(Object.create({ si }), REQUEST_SCHEMAS[MSG.LIST]),
    (e: any) => e instanceof ProtocolError && /missing field "si"/.test(e.message)
  );
});

describe('live server fuzz', () => {
  let A: TestPeer, B: TestPeer, F: TestPeer;
  const r0 = rng(SEED ^ 0x5eed);
  const pack = encodePack(bytes(r0, 7000), { k: 1, n: 4 });
  const si = Buffer.from(pack.storageIndex);
  const shareBytes = pack.shares;
  const ueb = uebOfShare(pack.shares[0]);
  UEBS.push(hexOf(ueb));
  const slotCap: MutableWriteCap = { type: 'mw', seed: bytes(r0, 32) };
  const slotSi = Buffer.from(storageIndexOf(slotCap)!);
  const slotRec = signRecord(slotCap, 1, new TextEncoder().encode('folder head'));
  // What B's server did with each request, by error code ('ok' when it was served).
  const outcomes = new Map<string, number>();
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
  async function raw(input: Uint8Array): Promise<Frame[]> {
    const s = await F.node.libp2p.dialProtocol(B.node.multiaddrs()[0], STORAGE_PROTOCOL);
    const reader = new FrameReader(s, { idleMs: 5000 });
    const frames: Frame[] = [];
    try {
      if (input.length) s.send(input);
      await s.close().catch(() => {});
      for (;;) {
        const f = await reader.next();
        if (!f) break;
        frames.push(f);
      }
    } catch {
      /* reset by the server: fine */
    } finally {
      reader.release();
      if (s.status === 'open') s.abort(new Error('done'));
    }
    return frames;
  }
  const flat = (...fs: ReturnType<typeof encodeFrame>[]) => Buffer.concat(fs.map((f) => f.subarray()));

  before(async () => {
    [A, F] = await Promise.all([makePeer(), makePeer()]);
    B = await makePeer({
      server: {
        onEvent: (e) => {
          if (e.type === 'request') outcomes.set(e.ok ? 'ok' : (e.code ?? '?'), (outcomes.get(e.ok ? 'ok' : (e.code ?? '?')) ?? 0) + 1);
        }
      }
    });
    const b = A.node.storage(B.node.multiaddrs()[0]);
    await b.writeShare(si, 0, shareBytes[0], shareBytes[0].length, { ueb });
    await b.writeShare(si, 1, shareBytes[1], shareBytes[1].length, { ueb });
    await b.putSlot(slotSi, slotRec);
  });
  after(async () => {
    for (const p of [A, B, F]) {
      await p?.stop().catch(() => {});
      await removeHome(p);
    }
  });

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

  test('400 random, mutated and structured frames: named refusals only, still serving, store unchanged', async (t) => {
    const before = await digest();
    outcomes.clear();
    const r = rng(SEED ^ 0xf022);
    const siHex = si.toString('hex');
    const sis = [siHex, siHex, hexOf(bytes(r, 16)), slotSi.toString('hex')];
    const templates = [
      flat(encodeFrame(MSG.HELLO)),
      flat(encodeFrame(MSG.LIST, { si: siHex })),
      flat(
        encodeFrame(MSG.READ, {
          si: siHex,
          shareNum: 0,
          ranges: [
            [0, 100],
            [4000, 1000]
          ]
        })
      ),
      flat(encodeFrame(MSG.DELETE, { si: siHex, shareNum: 1 })),
      flat(encodeFrame(MSG.RENEW, { si: siHex, shareNums: 'all', until: 1 })),
      flat(encodeFrame(MSG.RENEW, { si: siHex, shareNums: [0, 1], until: Date.now() + 1e6 })),
      flat(encodeFrame(MSG.ACCEPT, { si: siHex, shareNum: 0, size: 10 })),
      flat(encodeFrame(MSG.WRITE, { si: siHex, shareNum: 0, size: 10, ueb: hexOf(ueb) }), encodeFrame(MSG.DATA, {}, bytes(r, 10)), encodeFrame(MSG.COMMIT)),
      flat(
        encodeFrame(MSG.WRITE, { si: siHex, shareNum: 3, size: shareBytes[3].length, ueb: hexOf(ueb) }),
        encodeFrame(MSG.DATA, {}, shareBytes[3]),
        encodeFrame(MSG.COMMIT)
      ),
      flat(encodeFrame(MSG.WRITE, { si: sis[2], shareNum: 3, size: 10, ueb: hexOf(ueb) }), encodeFrame(MSG.DATA, {}, bytes(r, 10)), encodeFrame(MSG.COMMIT)),
      flat(encodeFrame(MSG.SLOT_GET, { si: slotSi.toString('hex') })),
      // Only the stored bytes themselves: a mutation cannot forge a newer record, so the slot must not change.
      flat(encodeFrame(MSG.SLOT_PUT, { si: slotSi.toString('hex') }, slotRec)),
      flat(encodeFrame(MSG.SLOT_PUT, { si: slotSi.toString('hex'), leaseUntil: Date.now() + 1e6 }, slotRec.subarray(0, 200)))
    ];
    const structured = (): Uint8Array => {
      const type = pick(r, [...REQUEST_TYPES, MSG.OK, 0x7f]);
      const h = structuredHeader(r, type, sis);
      const payload = type === MSG.SLOT_PUT ? (r() < 0.5 ? slotRec : bytes(r, int(r, 300))) : r() < 0.1 ? bytes(r, 5) : new Uint8Array(0);
      const first = encodeFrame(type, h, payload);
      if (type !== MSG.WRITE) return flat(first);
      // A write: some data frames (their length right or wrong), then COMMIT or not.
      const size = typeof h.size === 'number' && h.size < 20_000 ? h.size : 10;
      const data = Array.from({ length: int(r, 3) }, () => encodeFrame(MSG.DATA, {}, bytes(r, r() < 0.7 ? size : int(r, 40))));
      return flat(first, ...data, ...(r() < 0.8 ? [encodeFrame(MSG.COMMIT)] : []));
    };
    const allowed = new Set([
      'ERR_PROTOCOL',
      'ERR_FRAME_TOO_LARGE',
      'ERR_STREAM_TIMEOUT',
      'ERR_SHARE_NOT_FOUND',
      'ERR_OUT_OF_RANGE',
      'ERR_SHARE_REFUSED',
      'ERR_NOT_OWNER',
      'ERR_SLOT_REFUSED',
      'ERR_SLOT_NOT_FOUND',
      'ERR_INVALID_ARGUMENT',
      'ERR_INVALID_SIZE',
      'ERR_SIZE_MISMATCH',
      'ERR_UNSUPPORTED'
    ]);
    for (let i = 0; i < 400; i++) {
      const kind = r();
      const input = kind < 0.15 ? bytes(r, int(r, 200)) : kind < 0.5 ? mutate(pick(r, templates), r) : structured();
      const frames = await raw(input);
      for (const f of frames.filter((x) => x.type === MSG.ERROR)) {
        assert.equal(typeof f.header.code, 'string', where('live', i, input));
        assert.notEqual(f.header.code, 'ERR_INTERNAL', `the server failed on an unnamed error: ${where('live', i, input)}`);
      }
    }
    t.diagnostic(`seed ${SEED}: ${JSON.stringify(Object.fromEntries(outcomes))}`);
    // Every request the server finished is accounted for by name: served, or refused with a known code.
    const unknown = [...outcomes.keys()].filter((c) => c !== 'ok' && !allowed.has(c));
    assert.deepEqual(unknown, [], `codes seen: ${JSON.stringify(Object.fromEntries(outcomes))} (seed ${SEED})`);
    // The structured inputs reached the handlers: requests served, and refusals past the header checks
    // (about 50 and 40 of 400 for most seeds), besides the malformed ones.
    const seen = JSON.stringify(Object.fromEntries(outcomes));
    const handled = [...outcomes].filter(([c]) => c !== 'ok' && c !== 'ERR_PROTOCOL' && c !== 'ERR_FRAME_TOO_LARGE').reduce((a, [, n]) => a + n, 0);
    // (Seed 3631902577 served 18: the bounds are for "reached at all", not for a typical seed.)
    assert.ok((outcomes.get('ok') ?? 0) > 10, `served: ${seen} (seed ${SEED})`);
    assert.ok(handled > 15, `refused by a handler: ${seen} (seed ${SEED})`);
    assert.ok((outcomes.get('ERR_PROTOCOL') ?? 0) > 40, `refused as malformed: ${seen} (seed ${SEED})`);
    assert.equal(await digest(), before, `seed ${SEED}`);
    assert.equal(B.store.stats().reserved, 0);
    assert.deepEqual(await readdir(join(B.home, INCOMING_DIR)), []);
    // Only F could have gained shares (a mutation may still be a valid write of F's own).
    for await (const rec of B.store.records()) assert.ok([A.node.peerId.toString(), F.node.peerId.toString()].includes(rec.owner));
    const st = await A.node.storage(B.node.multiaddrs()[0]).stats();
    assert.ok(st.shares >= 2);
    const [x] = await A.node.storage(B.node.multiaddrs()[0]).read(si, 0, [[0, shareBytes[0].length]]);
    assert.deepEqual(x, shareBytes[0], 'A still reads its share back');
  });
});
