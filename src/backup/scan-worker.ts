// The scan thread (scan.ts): counts what a backup will cover and posts the totals once.
import { parentPort, workerData } from 'node:worker_threads';
import { scanTree, type ScanRequest } from './scan.ts';

parentPort!.postMessage(scanTree(workerData as ScanRequest));
