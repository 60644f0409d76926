// Worker-thread side of the parallel codec: the -shared kernel instantiated on the codec's shared memory,
// sleeping in Atomics.wait until the control block (worker-protocol.ts) posts a job, then claiming column
// ranges of it. It never calls the kernel's _initialize (the codec's thread built the tables; the -shared
// builds have no data segments, so instantiating writes nothing). Started by parallel.ts; not a public entry.
import { parentPort, workerData } from 'node:worker_threads';
import { STRIP_BYTES } from './constants.ts';
import { loadModule } from './kernel.ts';
import type { KernelExports } from './kernel.ts';
import { Wasm } from './wasm-api.ts';
import { CTRL, JOB, STATE_DONE, STATE_POSTED, STATE_RUNNING, codeChunks } from './worker-protocol.ts';
import type { WorkerInit, WorkerNote } from './worker-protocol.ts';

const init = workerData as WorkerInit;
const port = parentPort!;
const mod = loadModule(init.variant, true);
if (!mod) throw new Error(`kernel variant "${init.variant}" (shared memory) is not available in the worker`);
const x = new Wasm.Instance(mod, { env: { memory: init.memory } }).exports as unknown as KernelExports;
const c = new Int32Array(init.ctrl);
const b = init.base;
const { coef, inPtrs, outPtrs, tables } = init.layout;
const run = (start: number, end: number) => x.matMul(coef, c[JOB.rows], c[JOB.cols], inPtrs, outPtrs, start, end, STRIP_BYTES, tables);
port.postMessage({ type: 'ready' } satisfies WorkerNote);

// seq starts at 0 and only the codec changes it; a job posted before this loop starts is still seen as new.
let seen = 0;
for (;;) {
  Atomics.wait(c, b + CTRL.seq, seen);
  const seq = Atomics.load(c, b + CTRL.seq);
  if (seq === seen) continue;
  seen = seq;
  if (Atomics.load(c, b + CTRL.quit)) break;
  // Cancelled (the codec ran out of ranges before we woke): the job is not ours to touch.
  if (Atomics.compareExchange(c, b + CTRL.state, STATE_POSTED, STATE_RUNNING) !== STATE_POSTED) continue;
  try {
    codeChunks(c, run);
  } catch (e) {
    Atomics.store(c, b + CTRL.failed, 1);
    port.postMessage({ type: 'error', message: String((e as Error)?.message ?? e) } satisfies WorkerNote);
  }
  Atomics.store(c, b + CTRL.state, STATE_DONE);
  Atomics.notify(c, b + CTRL.state);
}
