// TEMP erasure stub: Reed-Solomon via the reference WASM package, standing in for the real codec
// (being built on another branch) so the file format can be tested. Drop this file when merging.
// const codec = createCodec({ dataShards: 3, parityShards: 2 });
// const parity = codec.encode(dataShards); const all = codec.reconstruct([null, d1, d2, p0, null]);
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { ReedSolomonErasure } from '@digitaldefiance/reed-solomon-erasure.wasm';

export interface CodecOptions { dataShards: number; parityShards: number }
export interface Codec {
  encode(data: Uint8Array[]): Uint8Array[];
  reconstruct(shards: (Uint8Array | null)[]): Uint8Array[];
}

let wasmBytes: Uint8Array | undefined;
function instance(): ReedSolomonErasure {
  if (!wasmBytes) {
    const require = createRequire(import.meta.url);
    const main = require.resolve('@digitaldefiance/reed-solomon-erasure.wasm');
    wasmBytes = readFileSync(join(dirname(main), 'reed_solomon_erasure_bg.wasm'));
  }
  // A fresh instance per call: the package's reconstruct wrapper frees a buffer twice, so an instance is never reused.
  return ReedSolomonErasure.fromBytes(wasmBytes as Parameters<typeof ReedSolomonErasure.fromBytes>[0]);
}

export function createCodec(opts: CodecOptions): Codec {
  const k = opts.dataShards, m = opts.parityShards;
  const n = k + m;
  let encoder: ReedSolomonErasure | undefined; // encode() frees correctly, so one instance serves every encode
  const encodeAll = (data: Uint8Array[]): Uint8Array => {
    const len = data[0].length;
    const buf = new Uint8Array(len * n);
    for (let i = 0; i < k; i++) buf.set(data[i], i * len);
    if (m > 0) {
      const rc = (encoder ??= instance()).encode(buf, k, m);
      if (rc !== 0) throw new Error(`stub codec encode failed: ${ReedSolomonErasure.getResultMessage(rc)}`);
    }
    return buf;
  };
  return {
    encode(data) {
      if (data.length !== k) throw new Error(`need ${k} data shards`);
      const len = data[0].length;
      const buf = encodeAll(data);
      const out: Uint8Array[] = [];
      for (let i = k; i < n; i++) out.push(buf.slice(i * len, (i + 1) * len));
      return out;
    },
    reconstruct(shards) {
      if (shards.length !== n) throw new Error(`need ${n} shard slots`);
      const present = shards.map((s) => s !== null);
      const first = shards.find((s) => s !== null);
      if (!first || present.filter(Boolean).length < k) throw new Error('too few shards');
      const len = first.length;
      let data: Uint8Array[];
      if (present.slice(0, k).every(Boolean)) {
        data = shards.slice(0, k) as Uint8Array[];
      } else {
        const buf = new Uint8Array(len * n);
        shards.forEach((s, i) => { if (s) buf.set(s, i * len); });
        const rc = instance().reconstruct(buf, k, m, present);
        if (rc !== 0) throw new Error(`stub codec reconstruct failed: ${ReedSolomonErasure.getResultMessage(rc)}`);
        data = [];
        for (let i = 0; i < k; i++) data.push(buf.slice(i * len, (i + 1) * len));
      }
      const all = encodeAll(data);
      const out: Uint8Array[] = [];
      for (let i = 0; i < n; i++) out.push(all.slice(i * len, (i + 1) * len));
      return out;
    },
  };
}
