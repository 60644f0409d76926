// One encode + decode of the pipeline bench in a worker thread (bench/pipeline.ts, all-core rows).
import { parentPort, workerData } from 'node:worker_threads';
import { pipeline } from './pipeline.ts';

const { size, k, n } = workerData as { size: number; k: number; n: number };
parentPort!.postMessage(await pipeline(size, k, n));
