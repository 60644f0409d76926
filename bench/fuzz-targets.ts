// What bench/fuzz.ts fuzzes: one FuzzTarget per decoder of untrusted bytes. A target gives valid seed inputs,
// optionally a structured mutation (one that knows the format, so inputs get past the first checks), runs one
// input, and says which errors are its named refusals (anything else thrown is a crash).
// To add a decoder: append a target to TARGETS (see the format 2 targets at the end: trees, snapshots, heads,
// chunk lists, index parts, repository records, sealed blobs).
import { encodeFrame, decodeBody, validate, ProtocolError, MSG } from '../src/net/index.ts';
import { ERROR_SCHEMA, REQUEST_SCHEMAS, RESPONSE_SCHEMAS } from '../src/net/frame.ts';
import { FRAME_PREFIX_BYTES, MAX_HEADER_BYTES } from '../src/net/constants.ts';
import { base32Encode, capBody, formatCap, InvalidCapError, parseCap, toReadCap, toVerifyCap, type Cap } from '../src/caps/index.ts';
import { CAP_CHECKSUM_BYTES, CAP_PREFIX } from '../src/caps/constants.ts';
import { TAGS } from '../src/crypto/constants.ts';
import { taggedHash } from '../src/crypto/hash.ts';
import { concat, int, mutateBytes, pick, randomBytes, type Rng } from './fuzz-mutate.ts';
import { encodeTree, decodeTree, encodeSnapshot, decodeSnapshot, encodeHead, decodeHead, encodeRef, capOf, InvalidObjectError } from '../src/backup/index.ts';
import {
  encodeChunkList,
  decodeChunkList,
  encodeIndexPart,
  decodeIndexPart,
  encodeRecord,
  decodeRecord,
  sealBlob,
  openBlob,
  InvalidRepoDataError,
  BlobIntegrityError,
  BlobDecompressError
} from '../src/repo/index.ts';

export interface FuzzTarget {
  name: string;
  /** Valid inputs to start from (built with `r`, so a seed reproduces them). */
  seeds(r: Rng): Uint8Array[];
  /** A mutation that knows the format (optional; byte mutations are always used too). */
  mutate?(seed: Uint8Array, r: Rng): Uint8Array;
  /** Decode one input; throw only what the decoder throws. */
  run(input: Uint8Array): unknown;
  /** The decoder's named refusal: expected. Anything else thrown is a crash. */
  expected(err: unknown): boolean;
}

const te = new TextEncoder();
const td = new TextDecoder(); // not fatal: malformed UTF-8 becomes U+FFFD, as a cap pasted from anywhere would

// ---- frame decoder + header schemas -------------------------------------------------------------------------

const SI = 'ab'.repeat(16);
const HASH = 'cd'.repeat(32);
const REQUESTS: [number, Record<string, unknown>, number?][] = [
  [MSG.HELLO, {}],
  [MSG.ACCEPT, { si: SI, shareNum: 3, size: 4096 }],
  [MSG.WRITE, { si: SI, shareNum: 0, size: 1 << 20, leaseUntil: 1_800_000_000_000 }],
  [MSG.DATA, {}, 512],
  [MSG.COMMIT, {}],
  [
    MSG.READ,
    {
      si: SI,
      shareNum: 1,
      ranges: [
        [0, 100],
        [4000, 1000]
      ]
    }
  ],
  [MSG.LIST, { si: SI }],
  [MSG.RENEW, { si: SI, shareNums: [0, 1, 2], until: 1_800_000_000_000 }],
  [MSG.RENEW, { si: SI, shareNums: 'all', until: 1 }],
  [MSG.DELETE, { si: SI, shareNum: 4 }],
  [MSG.SLOT_PUT, { si: SI, leaseUntil: 1_800_000_000_000 }, 300],
  [MSG.SLOT_GET, { si: SI }],
  [MSG.AUDIT, { si: SI, shareNum: 2, segment: 7, nonce: HASH }]
];
const ANSWERS: Record<string, unknown>[] = [
  { offered: 1e10, used: 5, free: 1e10 - 5, shares: 1, maxPayload: 1 << 20 },
  { ok: false, reason: 'quota', message: 'full' },
  { size: 4096, leaseExpiry: 1_800_000_000_000 },
  { lengths: [100, 1000] },
  {
    shares: [
      { shareNum: 0, size: 10 },
      { shareNum: 3, size: 10 }
    ]
  },
  { renewed: 2 },
  { status: 'stored', seq: 3, leaseExpiry: 1 },
  { leaf: HASH, path: [HASH, HASH], proof: HASH },
  { code: 'ERR_SHARE_REFUSED', message: 'no', reason: 'exists' }
];
const ODD: unknown[] = [
  -1,
  2 ** 53,
  1.5,
  1e308,
  '',
  'x'.repeat(2000),
  null,
  [],
  {},
  true,
  '__proto__',
  SI.toUpperCase(),
  SI.slice(1),
  HASH + '0',
  [[0, -1]],
  [[0, 2 ** 31]],
  [[0]],
  Array.from({ length: 300 }, () => [0, 1]),
  256,
  [0, 0],
  'all ',
  [{ shareNum: 0 }],
  [HASH, 5],
  '\u0000',
  '\ud800'
];
const ODD_KEYS = ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'owner', 'si ', '', 'valueOf'];

const bodyOf = (type: number, header: Record<string, unknown>, payload: Uint8Array = new Uint8Array(0)) =>
  encodeFrame(type, header, payload).subarray().subarray(FRAME_PREFIX_BYTES);

function checkFrame(body: Uint8Array): void {
  const f = decodeBody(body);
  const schema = REQUEST_SCHEMAS[f.type];
  if (schema) return validate(f.header, schema);
  if (f.type === MSG.ERROR) return validate(f.header, ERROR_SCHEMA);
  if (f.type !== MSG.OK) throw new ProtocolError(`unknown frame type ${f.type}`);
  // An answer's schema depends on the request it answers: it must fit one of them.
  let last: unknown;
  for (const s of Object.values(RESPONSE_SCHEMAS)) {
    try {
      return validate(f.header, s);
    } catch (e) {
      last = e;
    }
  }
  throw last;
}

const frames: FuzzTarget = {
  name: 'frame',
  seeds: (r) => [
    ...REQUESTS.map(([type, h, payload]) => bodyOf(type, h, payload ? randomBytes(r, payload) : undefined)),
    ...ANSWERS.map((h) => bodyOf(h.code ? MSG.ERROR : MSG.OK, h))
  ],
  mutate(seed, r) {
    // Decode the seed and change its header as JSON: a field given an odd value, an odd key added, one removed;
    // or the header length / type byte changed. Re-encoded, it reaches the schema checks.
    let f;
    try {
      f = decodeBody(seed);
    } catch {
      return mutateBytes(seed, r);
    }
    const h: Record<string, unknown> = { ...f.header };
    const keys = Object.keys(h);
    switch (int(r, 5)) {
      case 0:
        if (keys.length) h[pick(r, keys)] = pick(r, ODD);
        break;
      case 1:
        Object.defineProperty(h, pick(r, ODD_KEYS), { value: pick(r, ODD), enumerable: true, writable: true, configurable: true });
        break;
      case 2:
        if (keys.length) delete h[pick(r, keys)];
        break;
      case 3: {
        const b = Uint8Array.from(seed);
        b[0] = pick(r, [...Object.values(MSG), 0x00, 0x7f, 0xfe]);
        return b;
      }
      default: {
        const b = Uint8Array.from(seed);
        if (b.length >= 3) new DataView(b.buffer).setUint16(1, pick(r, [0, 1, b.length, b.length - 3, MAX_HEADER_BYTES, MAX_HEADER_BYTES + 1, 0xffff]));
        return b;
      }
    }
    try {
      return bodyOf(f.type, h, f.payload);
    } catch {
      // A header past 8 KiB cannot be encoded: send the raw JSON anyway, with a length that claims it fits.
      const json = te.encode(JSON.stringify(h));
      const head = new Uint8Array(3);
      head[0] = f.type;
      new DataView(head.buffer).setUint16(1, Math.min(json.length, 0xffff));
      return concat(head, json, f.payload);
    }
  },
  run: checkFrame,
  expected: (e) => e instanceof ProtocolError
};

// ---- cap parser -----------------------------------------------------------------------------------------------

const TYPES = ['pack', 'blob', 'lit', 'mw', 'mr', 'mv', 'chk', 'chkv', 'slice'];

function sampleCaps(r: Rng): Cap[] {
  const pack: Cap = { type: 'pack', uebHash: randomBytes(r, 32), k: 3, n: 5, size: 1_000_000 };
  const mw: Cap = { type: 'mw', seed: randomBytes(r, 32) }; // seeded, so a run reproduces (createMutableWriteCap is random)
  return [
    pack,
    { type: 'blob', kind: 'list', id: randomBytes(r, 32), key: randomBytes(r, 32), repo: toReadCap(mw) },
    { type: 'blob', kind: 'snapshot', id: randomBytes(r, 32), key: randomBytes(r, 32), repo: toReadCap(mw) },
    { type: 'lit', data: randomBytes(r, 20) },
    { type: 'lit', data: new Uint8Array(0) },
    mw,
    toReadCap(mw),
    toVerifyCap(mw)
  ] as Cap[];
}

/** A cap text whose checksum is right for its (type, body): the parser's field checks are what gets tested. */
function withChecksum(type: string, body: Uint8Array): string {
  const sum = taggedHash(TAGS.capChecksum, te.encode(type), body).slice(0, CAP_CHECKSUM_BYTES);
  return `${CAP_PREFIX}:${type}:${base32Encode(body)}:${base32Encode(sum)}`;
}

const caps: FuzzTarget = {
  name: 'cap',
  seeds: (r) => sampleCaps(r).map((c) => te.encode(formatCap(c))),
  mutate(seed, r) {
    const text = td.decode(seed);
    const parts = text.split(':');
    let cap: Cap;
    try {
      cap = parseCap(text);
    } catch {
      return mutateBytes(seed, r);
    }
    switch (int(r, 6)) {
      case 0:
      case 1:
      case 2: {
        // The binary body changed (a field, a length, the version), then checksummed again; sometimes under another type.
        let body = capBody(cap);
        for (let k = 1 + int(r, 2); k > 0; k--) body = mutateBytes(body, r);
        if (body.length && r() < 0.3) body[0] = pick(r, [0, 1, 2, 255]);
        return te.encode(withChecksum(r() < 0.2 ? pick(r, TYPES) : cap.type, body));
      }
      case 3: // text-level: case, whitespace, separators, the prefix
        return te.encode(
          pick(r, [
            text.toUpperCase(),
            ` \n${text}\t`,
            parts.join('::'),
            parts.slice(0, 3).join(':'),
            `${text}:`,
            text.replace('p2pb', 'P2PB'),
            text.replace(/[a-z2-7]/, '1'),
            `${parts[0]}:${pick(r, TYPES)}:${parts[2]}:${parts[3]}`,
            text.repeat(2),
            text.slice(0, int(r, text.length))
          ])
        );
      case 4: // base32 padding and out-of-alphabet characters in the body
        return te.encode([parts[0], parts[1], parts[2] + pick(r, ['=', '0', '8', '9', 'é', 'a'.repeat(int(r, 9))]), parts[3]].join(':'));
      default: {
        // a huge literal / body within the checksum
        const body = concat(Uint8Array.of(1), randomBytes(r, pick(r, [54, 55, 75, 91, 200, 4096])));
        return te.encode(withChecksum(pick(r, TYPES), body));
      }
    }
  },
  run: (input) => parseCap(td.decode(input)),
  expected: (e) => e instanceof InvalidCapError
};

/** Every target `npm run fuzz` runs, in order. The lead adds the directory, snapshot and pack decoders here. */
// ---- format 2: trees, snapshots, heads, chunk lists, index parts, repository records, sealed blobs ----------

const REPO = toReadCap({ type: 'mw', seed: new Uint8Array(32).fill(9) });
const ref = (r: Rng, kind: 'data' | 'list' | 'tree' | 'snapshot') => encodeRef({ kind, id: randomBytes(r, 32), key: randomBytes(r, 32) });

/** A JSON-aware mutation: replace one value of the object by another of a different shape. */
function mutateJson(seed: Uint8Array, r: Rng): Uint8Array {
  let o: any;
  try {
    o = JSON.parse(td.decode(seed));
  } catch {
    return seed;
  }
  const odd = [null, -1, 1e300, '', 'x'.repeat(int(r, 300)), [], {}, true, '__proto__', { __proto__: { x: 1 } }, '..', 'a/b', 'c:\\d', '9'.repeat(31)];
  const walk = (x: any, depth: number): void => {
    if (!x || typeof x !== 'object' || depth > 4) return;
    const keys = Object.keys(x);
    if (!keys.length) return;
    const k = pick(r, keys);
    if (r() < 0.5) x[k] = pick(r, odd);
    else walk(x[k], depth + 1);
  };
  walk(o, 0);
  if (r() < 0.2 && o && typeof o === 'object') o[pick(r, ['next', 'lit', 'ref', 'extra', 'p2pb', 'v'])] = pick(r, odd);
  return te.encode(JSON.stringify(o));
}

const objectErrors = (e: unknown) => e instanceof InvalidObjectError || e instanceof InvalidCapError || e instanceof InvalidRepoDataError;

const trees: FuzzTarget = {
  name: 'tree',
  seeds: (r) => [
    encodeTree(
      [
        { name: 'a.txt', type: 'file', mode: 0o644, mtimeNs: '1700000000000000000', size: 3000, ref: ref(r, 'data') },
        { name: 'big', type: 'file', mode: 0o600, mtimeNs: '1', size: 9_000_000, ref: ref(r, 'list') },
        { name: 'tiny', type: 'file', mode: 0o600, mtimeNs: '2', size: 2, lit: 'aGk' },
        { name: 'sub', type: 'dir', mode: 0o755, mtimeNs: '3', ref: ref(r, 'tree') },
        { name: 'link', type: 'symlink', mode: 0o777, mtimeNs: '4', target: '../x' }
      ],
      { kind: 'tree', id: randomBytes(r, 32), key: randomBytes(r, 32) }
    )
  ],
  mutate: mutateJson,
  run: (b) => {
    const t = decodeTree(b, REPO);
    for (const e of t.entries) void e.cap;
  },
  expected: objectErrors
};

const snapshots: FuzzTarget = {
  name: 'snapshot',
  seeds: (r) => [
    encodeSnapshot(
      {
        root: capOf(REPO, { kind: 'tree', id: randomBytes(r, 32), key: randomBytes(r, 32) }),
        time: 1700000000000,
        host: 'h',
        paths: ['/p'],
        label: 'l',
        parent: capOf(REPO, { kind: 'snapshot', id: randomBytes(r, 32), key: randomBytes(r, 32) }),
        stats: { files: 1, dirs: 1, symlinks: 0, bytes: 3, added: 100 }
      },
      REPO
    )
  ],
  mutate: mutateJson,
  run: (b) => decodeSnapshot(b, REPO),
  expected: objectErrors
};

const heads: FuzzTarget = {
  name: 'head',
  seeds: (r) => [
    encodeHead({
      repo: formatCap(REPO),
      snapshots: [1, 2].map((t) => ({ cap: capOf(REPO, { kind: 'snapshot', id: randomBytes(r, 32), key: randomBytes(r, 32) }), time: t }))
    })
  ],
  mutate: mutateJson,
  run: (b) => decodeHead(b),
  expected: objectErrors
};

const chunkLists: FuzzTarget = {
  name: 'chunk-list',
  seeds: (r) => [encodeChunkList(Array.from({ length: 3 }, () => ({ id: randomBytes(r, 32), key: randomBytes(r, 32), size: 1 + int(r, 1 << 20) })))],
  run: (b) => decodeChunkList(b),
  expected: objectErrors
};

const indexParts: FuzzTarget = {
  name: 'index-part',
  seeds: (r) => {
    const pack = { type: 'pack' as const, uebHash: randomBytes(r, 32), k: 3, n: 5, size: 16 << 20 };
    return [encodeIndexPart(Array.from({ length: 4 }, (_, i) => ({ id: randomBytes(r, 32), kind: 'data' as const, pack, offset: i * 1000, length: 500 })))];
  },
  run: (b) => decodeIndexPart(b),
  expected: objectErrors
};

const records: FuzzTarget = {
  name: 'repo-record',
  seeds: (r) => {
    const pack = { type: 'pack' as const, uebHash: randomBytes(r, 32), k: 3, n: 5, size: 1 << 20 };
    return [
      encodeRecord({
        generation: 2,
        index: [{ pack, offset: 0, length: 100, id: randomBytes(r, 32), key: randomBytes(r, 32) }],
        folders: [formatCap(REPO)],
        locks: [{ kind: 'backup', holder: 'h/1', until: 5 }],
        garbage: [pack]
      })
    ];
  },
  mutate: mutateJson,
  run: (b) => decodeRecord(b),
  expected: objectErrors
};

const BLOB_KEY = new Uint8Array(32).fill(5);
const blobs: FuzzTarget = {
  name: 'sealed-blob',
  seeds: (r) => [
    sealBlob('data', randomBytes(r, 2000), BLOB_KEY, { nonce: randomBytes(r, 24) }),
    sealBlob('data', new Uint8Array(5000).fill(1), BLOB_KEY, { nonce: randomBytes(r, 24) })
  ],
  run: (b) => openBlob('data', b, BLOB_KEY, { maxPlain: 1 << 20 }),
  expected: (e) => e instanceof BlobIntegrityError || e instanceof BlobDecompressError
};

export const TARGETS: FuzzTarget[] = [frames, caps, trees, snapshots, heads, chunkLists, indexParts, records, blobs];
