import { createCodec } from './src/erasure/codec.ts';
for (const kern of ['relaxed','simd'] as const) {
const c = createCodec({ dataShards: 10, parityShards: 4, kernel: kern });
const set = c.allocShards(1<<20);
for (let i=0;i<10;i++) set.shards[i].fill(i*7+1);
let t0 = performance.now(); let n=0;
while (performance.now()-t0 < 1500) { c.encodeShardSet(set); n++; }
t0 = performance.now(); n=0;
while (performance.now()-t0 < 1500) { c.encodeShardSet(set); n++; }
const dt=(performance.now()-t0)/1000;
console.log(kern, 'encode MB/s', (n*10*(1<<20)/dt/1e6).toFixed(0));
const data = set.shards.slice(0,10).map(s=>s.slice());
t0 = performance.now(); n=0;
while (performance.now()-t0 < 1500) { c.encode(data); n++; }
console.log(kern, 'copy-path encode MB/s', (n*10*(1<<20)/((performance.now()-t0)/1000)/1e6).toFixed(0));
}
