// Harnesses for the shared store suites (suite.ts): fresh DiskStores in temp dirs, fresh MemoryStores.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DiskStore, MemoryStore } from '../../src/store/index.ts';
import type { SuiteHarness } from './suite.ts';

export function diskHarness(): SuiteHarness {
  const dirs: string[] = [];
  return {
    async make(offer, now, opts = {}) {
      const d = await mkdtemp(join(tmpdir(), 'p2pb-store-'));
      dirs.push(d);
      return DiskStore.open(d, { offer, now, policy: opts.policy });
    },
    async cleanup() {
      for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
    }
  };
}

export function memoryHarness(): SuiteHarness {
  return {
    async make(offer, now, opts = {}) {
      return new MemoryStore({ offer, now, policy: opts.policy });
    },
    async cleanup() {}
  };
}
