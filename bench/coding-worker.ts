// Worker for the all-cores reference runs of bench/coding.ts: holds one reference stripe in its own wasm
// memory and runs the requested operation in place on each message (the reference has no parallel API).
import { parentPort, workerData } from 'node:worker_threads';
import { ReferenceStripe } from './reference.ts';

const { k, m, len } = workerData as { k: number; m: number; len: number };
const stripe = new ReferenceStripe(k, m, len);
for (let i = 0; i < k; i++) stripe.shard(i).fill(i * 37 + 11);
stripe.encode();

parentPort!.on('message', (msg: { op: 'encode' | 'reconstruct'; present: boolean[] }) => {
  if (msg.op === 'encode') stripe.encode();
  else stripe.reconstruct(msg.present);
  parentPort!.postMessage(0);
});
