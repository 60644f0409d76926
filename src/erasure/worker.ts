// Worker-thread side of the parallel codec: the -shared kernel instantiated on the codec's shared memory,
// sleeping in Atomics.wait until the control block (worker-protocol.ts) hands it a column range. It never
// calls the kernel's _initialize (the codec's thread built the tables; the -shared builds have no data
// segments, so instantiating writes nothing). Started by parallel.ts; not a public entry point.
import { parentPort, workerData } from 'node:worker_threads';
import { STRIP_BYTES } from './constants.ts';
import { loadModule } from './kernel.ts';
import type { KernelExports } from './kernel.ts';
import { Wasm } from './wasm-api.ts';
import { CTRL, OP_QUIT } from './worker-protocol.ts';
import type { WorkerInit, WorkerNote } from './worker-protocol.ts';

const init = workerData as WorkerInit;
const port = parentPort!;
const mod = loadModule(init.variant, true);
if (!mod) throw new Error(`kernel variant "${init.variant}" (shared memory) is not available in the worker`);
const x = new Wasm.Instance(mod, { env: { memory: init.memory } }).exports as unknown as KernelExports;
const c = new Int32Array(init.ctrl);
const b = init.base;
const { coef, inPtrs, outPtrs, tables } = init.layout;
port.postMessage({ type: 'ready' } satisfies WorkerNote);

// seq starts at 0 and only the codec changes it; a job posted before this loop starts is still seen as new.
let seen = 0;
for (;;) {
  Atomics.wait(c, b + CTRL.seq, seen);
  const seq = Atomics.load(c, b + CTRL.seq);
  if (seq === seen) continue;
  seen = seq;
  if (c[b + CTRL.op] === OP_QUIT) break;
  try {
    x.matMul(coef, c[b + CTRL.rows], c[b + CTRL.cols], inPtrs, outPtrs, c[b + CTRL.start], c[b + CTRL.end], STRIP_BYTES, tables);
  } catch (e) {
    c[b + CTRL.failed] = 1;
    port.postMessage({ type: 'error', message: String((e as Error)?.message ?? e) } satisfies WorkerNote);
  }
  Atomics.store(c, b + CTRL.done, seq);
  Atomics.notify(c, b + CTRL.done);
}
